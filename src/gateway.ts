/**
 * createGateway: composes the request path into one Hono app. Runtime-neutral: every dependency on
 * a runtime (stores, the client's address) comes in through {@link GatewayDeps}, built by the
 * entry files (`worker.ts`, `bun.ts`, `deno.ts`).
 *
 * The request path, in order: (admin dispatch, PRM documents) → route → checkOrigin → (CORS: a
 * preflight answered, every other answer labelled; `auth/cors.ts`) → authenticate → checkMethod →
 * readMessage → authorize → forward (with discovery filtering). Each step is a
 * function of its own module that reads and fills in the request's `RequestState`
 * (`c.get("state")`); they run inside one Hono handler. `app.onError` is the one place an error
 * becomes a response.
 */
import { Hono } from "hono";
import { authenticator } from "./auth/authenticate.ts";
import { checkOrigin } from "./auth/origin.ts";
import { isPreflight, preflightResponse, withCors } from "./auth/cors.ts";
import { isPrmRequest, prmServer } from "./auth/prm-endpoint.ts";
import type { ClientAddress, ClientCertificateSource, GatewayContext, GatewayEnv, RequestState } from "./context.ts";
import { authorize } from "./policy/authorize.ts";
import { PolicyCache } from "./policy/store.ts";
import type { SecretSource } from "./proxy/upstream-auth.ts";
import { ErrorCode, errorResponse, GatewayError } from "./errors.ts";
import { readMessage } from "./mcp/read-message.ts";
import { forwarder } from "./proxy/forward.ts";
import { RouteRegistry } from "./routing/registry.ts";
import { checkMethod, routeRequest } from "./routing/route.ts";
import type { RouteTable } from "./routing/route-table.ts";
import type { KeyValueStore } from "./stores/types.ts";
import { isAdminRequest, type Admin, type AdminSettings } from "./admin/admin.ts";

export interface GatewayDeps {
  /** Definitions (and later policies and keys) live here. */
  store: KeyValueStore;
  /** The fetch used to reach upstreams (default: the global fetch). */
  fetch?: typeof fetch;
  /** The client's address as the runtime knows it, for `X-Forwarded-For`. */
  clientAddress?: ClientAddress;
  /** The client certificate the runtime verified (mTLS), where the runtime can tell. */
  clientCertificate?: ClientCertificateSource;
  /** Secrets that definitions name as `$secret_env.NAME` (upstream credentials). */
  secrets?: SecretSource;
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

export function createGateway(deps: GatewayDeps): Gateway {
  const log = deps.log ?? ((message, detail) => console.warn(message, detail ?? ""));
  const maxAgeMs = deps.configMaxAgeMs;
  const registry = new RouteRegistry(deps.store, {
    onInvalid: (key, issues) => log(`skipping invalid definition ${key}`, issues),
    ...(maxAgeMs !== undefined ? { maxAgeMs } : {}),
  });
  const policies = new PolicyCache(deps.store, maxAgeMs);
  const admin = deps.admin?.settings.enabled ? deps.admin : undefined;
  const serveMetadata = prmServer(registry, deps.publicOrigins);
  const authenticate = authenticator({
    store: deps.store,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.clientCertificate ? { clientCertificate: deps.clientCertificate } : {}),
    ...(deps.publicOrigins ? { publicOrigins: deps.publicOrigins } : {}),
    policies,
  });
  const forward = forwarder({
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.clientAddress ? { clientAddress: deps.clientAddress } : {}),
    ...(deps.defaultTimeoutSeconds ? { defaultTimeoutSeconds: deps.defaultTimeoutSeconds } : {}),
    ...(deps.openSseWithComment ? { openSseWithComment: true } : {}),
    ...(deps.serverDropsHeaders ? { serverDropsHeaders: deps.serverDropsHeaders } : {}),
    ...(deps.timersEndWithRequest ? { timersEndWithRequest: true } : {}),
    ...(deps.secrets ? { secrets: deps.secrets } : {}),
    onUpstreamError: (error, api) => log(`upstream of ${api.id} failed`, String(error)),
  });

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

  // The request path after routing. Each step returns a promise only when it has to wait, so an
  // open API's request reaches the upstream after one wait (the body) instead of one per step.
  function proxy(c: GatewayContext, table: RouteTable): Promise<Response> {
    const state = routeRequest(table, c);
    checkOrigin(c, state);
    const cors = state.match.route.cors;
    const origin = state.headers.origin;
    if (cors !== undefined && origin !== undefined) {
      state.corsOrigin = origin;
      // A preflight carries no credentials: answered before authentication.
      if (!cors.optionsPassthrough && isPreflight(state.method, state.headers))
        return Promise.resolve(preflightResponse(cors, state.headers));
      return afterOrigin(c, state).then((response) => withCors(response, cors, origin));
    }
    return afterOrigin(c, state);
  }

  function afterOrigin(c: GatewayContext, state: RequestState): Promise<Response> {
    const authenticated = authenticate(c, state);
    return authenticated ? authenticated.then(() => afterAuthentication(c, state)) : afterAuthentication(c, state);
  }

  function afterAuthentication(c: GatewayContext, state: RequestState): Promise<Response> {
    checkMethod(state);
    const read = readMessage(c, state);
    if (read) {
      return read.then(() => {
        authorize(state);
        return forward(c, state);
      });
    }
    authorize(state);
    return forward(c, state);
  }

  function routeAndProxy(c: GatewayContext): Promise<Response> {
    // Without a wait when the table is fresh: each await on the request path costs a microtask.
    const table = registry.current();
    return table ? proxy(c, table) : registry.table().then((t) => proxy(c, t));
  }

  const app = new Hono<GatewayEnv>();
  // One handler for every request: Hono calls a lone handler directly, with no middleware chain.
  app.all("*", function handleRequest(c) {
    // The Host header matters only when the admin API has a host of its own.
    if (admin && isAdminRequest(admin.settings, c.req.path, admin.settings.host === undefined ? undefined : c.req.header("host"))) {
      return dispatchAdmin(c, admin.handler);
    }
    if (isPrmRequest(c)) return serveMetadata(c).then((document) => document ?? routeAndProxy(c));
    return routeAndProxy(c);
  });

  app.onError((error, c) => {
    const state = c.get("state") as RequestState | undefined;
    let response: Response;
    if (error instanceof GatewayError) {
      if (error.status >= 500 && error.cause !== undefined) log(error.message, String(error.cause));
      response = errorResponse(error, error.id ?? state?.mcp?.id ?? null);
    } else {
      log("unexpected error", error);
      response = errorResponse(new GatewayError(ErrorCode.Rejected, 500, "Internal gateway error"), state?.mcp?.id ?? null);
    }
    // An allowed browser origin can read the error (a 401's WWW-Authenticate, a JSON-RPC error).
    // `corsOrigin` is set only where the route has a CORS policy.
    return state?.corsOrigin !== undefined ? withCors(response, state.match.route.cors!, state.corsOrigin) : response;
  });

  return app;
}
