/**
 * createGateway: the request path as a list of steps, and the app that serves it. Runtime-neutral:
 * every dependency on a runtime (stores, the client's address, background work) comes in through
 * {@link GatewayDeps}, built by the entry files (`worker.ts`, `bun.ts`, `deno.ts`).
 *
 * Every request takes the request path ({@link requestPath}); the gateway's own endpoints (the
 * management APIs, the Protected Resource Metadata documents) answer on it once the Host and the
 * path are checked. `steps/step.ts` says what a step is and how the runner takes them.
 */
import { Hono } from "hono";
import { type Admin, type AdminSettings, isAdminRequest } from "./admin/admin.ts";
import { activityEndpoint, helloEndpoint, metricsEndpoint } from "./endpoints/observe.ts";
import { prmEndpoint } from "./endpoints/prm.ts";
import { KeyRepository } from "./auth/api-keys.ts";
import type { AuthConfig } from "./auth/config.ts";
import type { ClientAddress, ClientCertificateSource, GatewayEnv, WaitUntil } from "./context.ts";
import { answerError } from "./errors.ts";
import { readObserveConfig } from "./observe/config.ts";
import { Observer } from "./observe/observer.ts";
import { PolicyCache, PolicyRepository } from "./policy/store.ts";
import type { SecretSource } from "./proxy/upstream-auth.ts";
import { pathOfUrl } from "./http/path.ts";
import { RouteRegistry } from "./routing/registry.ts";
import { type ApiRoute, routeBase } from "./routing/route-table.ts";
import { authenticate } from "./steps/authenticate.ts";
import { authorize } from "./steps/authorize.ts";
import { cors } from "./steps/cors.ts";
import { type Endpoint, endpoints } from "./steps/endpoints.ts";
import { forward } from "./steps/forward.ts";
import { ip } from "./steps/ip.ts";
import { limit } from "./steps/limit.ts";
import { host } from "./steps/host.ts";
import { method } from "./steps/method.ts";
import { origin } from "./steps/origin.ts";
import { path as canonicalPath } from "./steps/path.ts";
import { read } from "./steps/read.ts";
import { ToolHeaderBook } from "./mcp/param-headers.ts";
import { record, traceUpstream } from "./steps/record.ts";
import { route } from "./steps/route.ts";
import { RequestPath } from "./steps/step.ts";
import { DEFAULT_STAMP_MAX_AGE_MS } from "./stores/stamp.ts";
import type { KeyValueStore } from "./stores/types.ts";
import type { Limiter } from "./traffic/limiter.ts";
import { MemoryLimiter } from "./traffic/memory.ts";

export interface GatewayDeps {
  /** Definitions, policies and (hashed) API keys live here. */
  store: KeyValueStore;
  /** The fetch used to reach upstreams and JWKS (default: the global fetch). */
  fetch?: typeof fetch;
  /** The client's address as the runtime knows it, for `X-Forwarded-For`. */
  clientAddress?: ClientAddress;
  /** The client certificate the runtime verified (mTLS), where the runtime can tell. */
  clientCertificate?: ClientCertificateSource;
  /** Secrets that definitions name as `$secret_env.NAME` (upstream credentials). */
  secrets?: SecretSource;
  /**
   * Hands work off the response path: `waitUntil` on Workers, tracked promises elsewhere
   * (`background.ts`). Default: the task runs untracked.
   */
  waitUntil?: WaitUntil;
  /**
   * Counters, quotas and circuit breakers (`traffic/limiter.ts`): Durable Objects on Workers,
   * Upstash Redis anywhere, memory for one process. Default: memory.
   */
  limiter?: Limiter;
  /**
   * The origins clients reach this gateway by (`GATEWAY_PUBLIC_ORIGINS`): OAuth audiences and
   * metadata URLs are built from these, never from a client-chosen `Host`.
   */
  publicOrigins?: readonly string[];
  /**
   * How old (ms) the definitions' and policies' version stamps may be before they are read again
   * (`GATEWAY_CONFIG_MAX_AGE_MS`, default 1000; 0 reads them on every request). Admin writes this
   * gateway handles are live on its next request regardless.
   */
  configMaxAgeMs?: number;
  /** Upstream timeout in seconds when a definition sets none (default 30). */
  defaultTimeoutSeconds?: number;
  /**
   * Start every SSE answer with an SSE comment so the response head reaches the client at once
   * (for servers that hold the head back until the first body chunk, as Bun.serve does).
   */
  openSseWithComment?: boolean;
  /**
   * Hop-by-hop response headers (lower case) the runtime's HTTP server removes from every response
   * by itself; the gateway then copies an upstream's headers only to remove others.
   */
  serverDropsHeaders?: readonly string[];
  /** The runtime cancels a request's timers when the request is done (workerd), so none need clearing. */
  timersEndWithRequest?: boolean;
  /**
   * Probe an SSE stream whose upstream has been silent this long (ms) with an SSE comment line: for
   * runtimes whose server notices a client that left only when it writes to it (workerd).
   */
  probeIdleSseMs?: number;
  /** Where warnings go (default: console). */
  log?: (message: string, detail?: unknown) => void;
  /**
   * The management APIs: requests under `/tyk/` and `/api/` (on `settings.host` when set) go to
   * `handler` before routing. Absent, or with `settings.enabled` false, those paths route like any.
   */
  admin?: { settings: AdminSettings; handler: Admin };
  /**
   * Access logs, metrics, traces and analytics (`observe/observer.ts`), built by the entry from the
   * gateway's configuration (`GATEWAY_CONFIG`). Default: none recorded.
   */
  observer?: Observer;
  /** `GATEWAY_METRICS_TOKEN`: a scrape token `/metrics` accepts besides the gateway secret. */
  metricsToken?: string;
}

export type Gateway = Hono<GatewayEnv>;

/** What the request path's steps share: the routing table, the compiled policies, the endpoints. */
interface Shared {
  registry: RouteRegistry;
  policies: PolicyCache;
  /** The keys' sessions as the request path reads them (kept within the max age). */
  keys: KeyRepository;
  limiter: Limiter;
  waitUntil: WaitUntil;
  observer: Observer;
  log: (message: string, detail?: unknown) => void;
  /** The gateway's own endpoints; the PRM endpoint is given what `authenticate` compiled. */
  endpoints: (authenticated: (route: ApiRoute) => AuthConfig | undefined) => Endpoint[];
}

/**
 * The request path, in order. Each step is one module (`steps/<name>.ts`); adding one is a line
 * here. Each compiles its part of every definition with the routing table and runs once per
 * request, waiting only where it must.
 */
function requestPath(deps: GatewayDeps, shared: Shared): RequestPath {
  const publicOrigins = deps.publicOrigins ?? [];
  const authentication = authenticate({
    store: deps.store,
    policies: shared.policies,
    keys: shared.keys,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.clientCertificate ? { clientCertificate: deps.clientCertificate } : {}),
    publicOrigins,
  });
  const traceHook = traceUpstream(shared.observer);
  const path: RequestPath = new RequestPath(
    [
      record({
        observer: shared.observer,
        waitUntil: shared.waitUntil,
        ...(deps.clientAddress ? { clientAddress: deps.clientAddress } : {}),
      }), // one record per request, handed on after the answer
      host({ publicOrigins, adminHost: deps.admin?.settings.host, registry: shared.registry }), // a Host this gateway serves (403)
      canonicalPath, //            the path in its one canonical form (400)
      endpoints(shared.endpoints((route) => path.part(route, authentication))), // the admin APIs, PRM documents
      route(shared.registry), //   the listen path's API (404)
      ip(deps.clientAddress), //   the client's address against the API's IP rules (403)
      origin(publicOrigins), //    a browser's Origin may call it (403)
      cors, //                     a preflight answered; every later answer labelled
      authentication, //           who is calling and what they may do (401, 403)
      method, //                   the transport's HTTP methods (405)
      read({ toolHeaders: new ToolHeaderBook(deps.store, { log: shared.log }), waitUntil: shared.waitUntil }), // the body within its limit, one JSON-RPC message (400, 406, 413, 415)
      authorize, //                the method and the tool, resource or prompt (403)
      limit({ limiter: shared.limiter, waitUntil: shared.waitUntil, log: shared.log }), // rate limits, quotas, breakers (429, 403, 503)
      forward({
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
        ...(deps.clientAddress ? { clientAddress: deps.clientAddress } : {}),
        ...(deps.defaultTimeoutSeconds ? { defaultTimeoutSeconds: deps.defaultTimeoutSeconds } : {}),
        ...(deps.openSseWithComment ? { openSseWithComment: true } : {}),
        ...(deps.serverDropsHeaders ? { serverDropsHeaders: deps.serverDropsHeaders } : {}),
        ...(deps.timersEndWithRequest ? { timersEndWithRequest: true } : {}),
        ...(deps.probeIdleSseMs ? { probeIdleSseMs: deps.probeIdleSseMs } : {}),
        ...(deps.secrets ? { secrets: deps.secrets } : {}),
        ...(traceHook ? { beforeUpstream: traceHook } : {}),
        onUpstreamError: (error, apiId) => shared.log(`upstream of ${apiId} failed`, String(error)),
      }), //                       the upstream's answer, streamed (discovery lists filtered)
    ],
    shared.log,
  );
  return path;
}

/**
 * The management APIs as an endpoint: requests under `/tyk/` and `/api/` (on `ADMIN_HOST` when
 * set) go to `admin.handler`, with the canonical path; a write it accepts is live on this gateway's
 * very next request.
 */
function adminEndpoint(admin: { settings: AdminSettings; handler: Admin }, onWrite: () => void): Endpoint {
  const { settings, handler } = admin;
  return (c, state) => {
    if (!isAdminRequest(settings, state.path, settings.host === undefined ? undefined : state.headers.host)) return undefined;
    const request = c.req.raw;
    const canonical = pathOfUrl(request.url) === state.path ? request : withPath(request, state.path);
    return handler.fetch(canonical).then((response) => {
      if (state.method !== "GET" && state.method !== "HEAD" && response.ok) onWrite();
      return response;
    });
  };
}

/** `request` with its URL's path replaced by `path` (query kept). */
function withPath(request: Request, path: string): Request {
  const url = new URL(request.url);
  url.pathname = path;
  return new Request(url, request);
}

/** Without an observer: no access log, no metrics, no analytics. */
const NOTHING_RECORDED = readObserveConfig({
  access_logs: { enabled: false },
  enable_analytics: false,
  opentelemetry: { metrics: { enabled: false } },
});

export function createGateway(deps: GatewayDeps): Gateway {
  const log = deps.log ?? ((message, detail) => console.warn(message, detail ?? ""));
  const maxAgeMs = deps.configMaxAgeMs;
  const registry = new RouteRegistry(deps.store, {
    // The path is built below; the registry compiles only when a request asks for the table.
    compile: (api) => path.compile(api, routeBase(api)),
    onInvalid: (key, issues) => log(`skipping invalid definition ${key}`, issues),
    ...(maxAgeMs !== undefined ? { maxAgeMs } : {}),
  });
  const policies = new PolicyCache(deps.store, maxAgeMs);
  const keys = new KeyRepository(deps.store, { reuseParsed: true, maxAgeMs: maxAgeMs ?? DEFAULT_STAMP_MAX_AGE_MS });
  const admin = deps.admin?.settings.enabled ? deps.admin : undefined;
  const observer = deps.observer ?? new Observer({ config: NOTHING_RECORDED });
  // Names a policy gives count as known label values (`observe/labels.ts`).
  const policyRepository = new PolicyRepository(deps.store);
  observer.usePolicies(() => policyRepository.all());
  const observe = {
    observer,
    store: deps.store,
    admin: admin?.settings,
    metricsToken: deps.metricsToken,
    ensureTable: () => registry.table(),
  };
  const path = requestPath(deps, {
    registry,
    policies,
    keys,
    limiter: deps.limiter ?? new MemoryLimiter(),
    waitUntil: deps.waitUntil ?? ((_c, task) => void task),
    observer,
    log,
    endpoints: (authenticated) => [
      helloEndpoint(deps.store),
      ...[metricsEndpoint(observe), activityEndpoint(observe)].filter((endpoint) => endpoint !== undefined),
      ...(admin
        ? [
            adminEndpoint(admin, () => {
              registry.invalidate();
              policies.invalidate();
              keys.invalidate();
            }),
          ]
        : []),
      prmEndpoint(registry, (route) => authenticated(route)?.prm, deps.publicOrigins),
    ],
  });

  const app = new Hono<GatewayEnv>();
  // One handler for every request: Hono calls a lone handler directly, with no middleware chain.
  app.all("*", (c) => path.handle(c));
  // The request path answers its own errors; this is a last resort.
  app.onError((error) => answerError(error, null, log));
  return app;
}
