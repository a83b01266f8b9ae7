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
import { createGateway, type Gateway } from "./gateway.ts";

/** The part of a Durable Object namespace binding used here. */
interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

export interface WorkerEnv extends AdminObjectEnv {
  ADMIN: DurableObjectNamespaceLike;
  UPSTREAM_TIMEOUT_SECONDS?: string;
}

let gateway: Gateway | undefined;

function gatewayFor(env: WorkerEnv): Gateway {
  if (gateway) return gateway;
  const settings = adminSettings((name) => (env as unknown as Record<string, string | undefined>)[name]);
  const adminId = env.ADMIN.idFromName("admin");
  gateway = createGateway({
    store: new WorkersKvStore(env.GATEWAY_KV),
    clientAddress: (c) => c.req.header("cf-connecting-ip"),
    ...(env.UPSTREAM_TIMEOUT_SECONDS ? { defaultTimeoutSeconds: Number(env.UPSTREAM_TIMEOUT_SECONDS) } : {}),
    // A stub is bound to the request that made it: get a fresh one for every admin request.
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
