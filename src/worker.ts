/**
 * Cloudflare Workers entry: builds the stores from the bindings and serves the gateway.
 *
 * Bindings (wrangler.toml): `GATEWAY_KV`, the KV namespace holding definitions; `ADMIN`, the
 * Durable Object that runs the management APIs; `LIMITER`, the limiter's Durable Objects. Vars and secrets are read and checked by
 * `options.ts`; a value that cannot be used makes every request fail closed (500), with the
 * variable named in the Worker's log.
 */
import type { ExecutionContext } from "hono";
import { AdminObject, type AdminObjectEnv } from "./adapters/workers/admin-object.ts";
import { AnalyticsObject, type AnalyticsNamespaceLike, DurableObjectAnalytics } from "./adapters/workers/analytics-object.ts";
import { DurableObjectLimiter, LimiterObject } from "./adapters/workers/limiter-object.ts";
import { WorkersKvStore } from "./adapters/workers/kv-store.ts";
import type { ClientCertificate } from "./context.ts";
import { errorResponse, GatewayError } from "./errors.ts";
import { createGateway, type Gateway } from "./gateway.ts";
import { Observer } from "./observe/observer.ts";
import { gatewayOptions, limiterFor, OptionsError, readOptions } from "./options.ts";

/** The part of a Durable Object namespace binding used here. */
interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

export interface WorkerEnv extends AdminObjectEnv {
  ADMIN: DurableObjectNamespaceLike;
  /** The analytics store (one Durable Object with SQLite); without it, no analytics. */
  ANALYTICS?: AnalyticsNamespaceLike;
}

let gateway: Gateway | OptionsError | undefined;

/**
 * How long an SSE stream may stay silent before the gateway probes it with a comment line. A client
 * that left is noticed on the second write after it left (the first draws the reset): within two
 * periods plus the hops (~0.4 s in Miniflare, ~0.6 s behind `wrangler dev`, whose proxy adds one).
 */
const SSE_PROBE_MS = 200;

/** Cloudflare's verdict on the client certificate (mTLS), from `request.cf.tlsClientAuth`. */
function clientCertificateOf(request: Request): ClientCertificate | undefined {
  const auth = (request as { cf?: { tlsClientAuth?: { certPresented?: string; certVerified?: string; certFingerprintSHA256?: string } } })
    .cf?.tlsClientAuth;
  if (auth?.certPresented !== "1") return undefined;
  return {
    verified: auth.certVerified === "SUCCESS",
    fingerprintSha256: auth.certFingerprintSHA256 ? auth.certFingerprintSHA256.toLowerCase() : undefined,
  };
}

function gatewayFor(env: WorkerEnv): Gateway | OptionsError {
  if (gateway) return gateway;
  const bindings = env as unknown as Record<string, unknown>;
  let options: ReturnType<typeof readOptions>;
  let limiter: ReturnType<typeof limiterFor>;
  try {
    options = readOptions((name) => bindings[name]);
    limiter = limiterFor(options, "durable-objects", env.LIMITER ? () => new DurableObjectLimiter(env.LIMITER!) : undefined);
  } catch (error) {
    if (!(error instanceof OptionsError)) throw error;
    gateway = error;
    return error;
  }
  const adminId = env.ADMIN.idFromName("admin");
  const secrets = (name: string) => {
    const value = bindings[name];
    return typeof value === "string" ? value : undefined;
  };
  // Access-log lines go to the Workers log (Logpush) one by one: each is one JSON event there.
  const observer = new Observer({
    config: options.observe,
    analytics: env.ANALYTICS ? new DurableObjectAnalytics(env.ANALYTICS) : undefined,
    secrets,
  });
  gateway = createGateway({
    observer,
    store: new WorkersKvStore(env.GATEWAY_KV),
    ...gatewayOptions(options),
    clientAddress: (_c, headers) => headers["cf-connecting-ip"],
    clientCertificate: (c) => clientCertificateOf(c.req.raw),
    waitUntil: (c, task) => c.executionCtx.waitUntil(task),
    limiter,
    // workerd's HTTP server writes these itself and drops a response's own (test/e2e/transport).
    serverDropsHeaders: ["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"],
    // A request's timers are cancelled when it is done: the upstream timeout needs no clearTimeout.
    timersEndWithRequest: true,
    // workerd notices a client that left only when it writes to it: an idle SSE stream (a GET
    // stream, a tool call with nothing to report yet) gets a comment line after this long, so the
    // client's leaving cancels the upstream request within about two periods (test/e2e/transport).
    probeIdleSseMs: SSE_PROBE_MS,
    // Worker vars and secrets, for `$secret_env.NAME` in upstream credentials.
    secrets,
    // A stub is bound to the request that made it: get a fresh one for every admin request.
    admin: { settings: options.admin, handler: { fetch: (request) => env.ADMIN.get(adminId).fetch(request) } },
  });
  return gateway;
}

export { AdminObject, AnalyticsObject, LimiterObject };

export default {
  fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Response | Promise<Response> {
    const app = gatewayFor(env);
    if (app instanceof OptionsError) {
      console.error(`MCP gateway misconfigured: ${app.message}`);
      return errorResponse(new GatewayError("gateway_misconfigured"));
    }
    return app.fetch(request, env, ctx);
  },
};
