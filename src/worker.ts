/**
 * Cloudflare Workers entry: builds the stores from the bindings and serves the gateway.
 *
 * Bindings (wrangler.toml): `GATEWAY_KV`, the KV namespace holding definitions; `ADMIN`, the
 * Durable Object that runs the management APIs. Vars and secrets: `UPSTREAM_TIMEOUT_SECONDS`,
 * `GATEWAY_SECRET`, `DASHBOARD_API_KEYS`, `ADMIN_API`, `ADMIN_HOST`.
 */
import type { ExecutionContext } from "hono";
import { adminSettings } from "./admin/admin.ts";
import { AdminObject, type AdminObjectEnv } from "./adapters/workers/admin-object.ts";
import { WorkersKvStore } from "./adapters/workers/kv-store.ts";
import type { ClientCertificate } from "./context.ts";
import { parsePublicOrigins } from "./auth/resource.ts";
import { createGateway, type Gateway } from "./gateway.ts";

/** The part of a Durable Object namespace binding used here. */
interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

export interface WorkerEnv extends AdminObjectEnv {
  ADMIN: DurableObjectNamespaceLike;
  UPSTREAM_TIMEOUT_SECONDS?: string;
  GATEWAY_PUBLIC_ORIGINS?: string;
  GATEWAY_CONFIG_MAX_AGE_MS?: string;
}

let gateway: Gateway | undefined;

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

function gatewayFor(env: WorkerEnv): Gateway {
  if (gateway) return gateway;
  const settings = adminSettings((name) => (env as unknown as Record<string, string | undefined>)[name]);
  const adminId = env.ADMIN.idFromName("admin");
  gateway = createGateway({
    store: new WorkersKvStore(env.GATEWAY_KV),
    clientAddress: (_c, headers) => headers["cf-connecting-ip"],
    clientCertificate: (c) => clientCertificateOf(c.req.raw),
    // workerd's HTTP server writes these itself and drops a response's own (test/e2e/transport).
    serverDropsHeaders: ["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"],
    // A request's timers are cancelled when it is done: the upstream timeout needs no clearTimeout.
    timersEndWithRequest: true,
    // Worker vars and secrets, for `$secret_env.NAME` in upstream credentials.
    secrets: (name) => {
      const value = (env as unknown as Record<string, unknown>)[name];
      return typeof value === "string" ? value : undefined;
    },
    ...(env.UPSTREAM_TIMEOUT_SECONDS ? { defaultTimeoutSeconds: Number(env.UPSTREAM_TIMEOUT_SECONDS) } : {}),
    // A stub is bound to the request that made it: get a fresh one for every admin request.
    publicOrigins: parsePublicOrigins(env.GATEWAY_PUBLIC_ORIGINS),
    ...(env.GATEWAY_CONFIG_MAX_AGE_MS ? { configMaxAgeMs: Number(env.GATEWAY_CONFIG_MAX_AGE_MS) } : {}),
    admin: { settings, handler: { fetch: (request) => env.ADMIN.get(adminId).fetch(request) } },
  });
  return gateway;
}

export { AdminObject };

export default {
  fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Response | Promise<Response> {
    return gatewayFor(env).fetch(request, env, ctx);
  },
};
