/**
 * createGateway: the request path as a list of steps, and the app that serves it. Runtime-neutral:
 * every dependency on a runtime (stores, the client's address, background work) comes in through
 * {@link GatewayDeps}, built by the entry files (`worker.ts`, `bun.ts`, `deno.ts`).
 *
 * Before the request path, two endpoints of the gateway's own: the management APIs (`/tyk/`,
 * `/api/`) and the Protected Resource Metadata documents. Everything else takes the request path
 * (see {@link requestPath}); `steps/step.ts` says what a step is and how the runner takes them.
 */
import { Hono } from "hono";
import { type Admin, type AdminSettings, isAdminRequest } from "./admin/admin.ts";
import { isPrmRequest, prmServer } from "./endpoints/prm.ts";
import type { ClientAddress, ClientCertificateSource, GatewayContext, GatewayEnv, WaitUntil } from "./context.ts";
import { answerError } from "./errors.ts";
import { PolicyCache } from "./policy/store.ts";
import type { SecretSource } from "./proxy/upstream-auth.ts";
import { RouteRegistry } from "./routing/registry.ts";
import { routeBase } from "./routing/route-table.ts";
import { authenticate } from "./steps/authenticate.ts";
import { authorize } from "./steps/authorize.ts";
import { cors } from "./steps/cors.ts";
import { forward } from "./steps/forward.ts";
import { method } from "./steps/method.ts";
import { origin } from "./steps/origin.ts";
import { read } from "./steps/read.ts";
import { route } from "./steps/route.ts";
import { RequestPath } from "./steps/step.ts";
import type { KeyValueStore } from "./stores/types.ts";

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
  /** Where warnings go (default: console). */
  log?: (message: string, detail?: unknown) => void;
  /**
   * The management APIs: requests under `/tyk/` and `/api/` (on `settings.host` when set) go to
   * `handler` before routing. Absent, or with `settings.enabled` false, those paths route like any.
   */
  admin?: { settings: AdminSettings; handler: Admin };
}

export type Gateway = Hono<GatewayEnv>;

/** What the request path's steps share: the routing table and the compiled policies. */
interface Shared {
  registry: RouteRegistry;
  policies: PolicyCache;
  log: (message: string, detail?: unknown) => void;
}

/**
 * The request path, in order. Each step is one module (`steps/<name>.ts`); adding one is a line
 * here. Each compiles its part of every definition with the routing table and runs once per
 * request, waiting only where it must.
 */
function requestPath(deps: GatewayDeps, shared: Shared): { path: RequestPath; authentication: ReturnType<typeof authenticate> } {
  // Named: the Protected Resource Metadata endpoint reads what it compiled.
  const authentication = authenticate({
    store: deps.store,
    policies: shared.policies,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.clientCertificate ? { clientCertificate: deps.clientCertificate } : {}),
    ...(deps.publicOrigins ? { publicOrigins: deps.publicOrigins } : {}),
  });
  const path = new RequestPath(
    [
      route(shared.registry), //   the listen path's API (404)
      origin, //                   a browser's Origin may call it (403)
      cors, //                     a preflight answered; every later answer labelled
      authentication, //           who is calling and what they may do (401, 403)
      method, //                   the transport's HTTP methods (405)
      read, //                     the body within its limit, one JSON-RPC message (400, 406, 413, 415)
      authorize, //                the method and the tool, resource or prompt (403)
      forward({
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
        ...(deps.clientAddress ? { clientAddress: deps.clientAddress } : {}),
        ...(deps.defaultTimeoutSeconds ? { defaultTimeoutSeconds: deps.defaultTimeoutSeconds } : {}),
        ...(deps.openSseWithComment ? { openSseWithComment: true } : {}),
        ...(deps.serverDropsHeaders ? { serverDropsHeaders: deps.serverDropsHeaders } : {}),
        ...(deps.timersEndWithRequest ? { timersEndWithRequest: true } : {}),
        ...(deps.secrets ? { secrets: deps.secrets } : {}),
        onUpstreamError: (error, apiId) => shared.log(`upstream of ${apiId} failed`, String(error)),
      }), //                       the upstream's answer, streamed (discovery lists filtered)
    ],
    shared.log,
  );
  return { path, authentication };
}

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
  const { path, authentication } = requestPath(deps, { registry, policies, log });
  const admin = deps.admin?.settings.enabled ? deps.admin : undefined;
  const serveMetadata = prmServer(registry, (r) => path.part(r, authentication)?.prm, deps.publicOrigins);

  function dispatchAdmin(c: GatewayContext, handler: Admin): Promise<Response> {
    return handler.fetch(c.req.raw).then((response) => {
      // A write this gateway handled is live on its very next request.
      if (c.req.method !== "GET" && c.req.method !== "HEAD" && response.ok) {
        registry.invalidate();
        policies.invalidate();
      }
      return response;
    });
  }

  const app = new Hono<GatewayEnv>();
  // One handler for every request: Hono calls a lone handler directly, with no middleware chain.
  app.all("*", function handleRequest(c): Response | Promise<Response> {
    // The Host header matters only when the admin API has a host of its own.
    if (admin && isAdminRequest(admin.settings, c.req.path, admin.settings.host === undefined ? undefined : c.req.header("host"))) {
      return dispatchAdmin(c, admin.handler);
    }
    if (isPrmRequest(c)) return serveMetadata(c).then((document): Response | Promise<Response> => document ?? path.handle(c));
    return path.handle(c);
  });
  // The request path answers its own errors; this catches the endpoints' (a store that cannot be read).
  app.onError((error) => answerError(error, null, log));
  return app;
}
