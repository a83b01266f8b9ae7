/**
 * Cloudflare Workers entry: builds the stores from the bindings and serves the gateway.
 *
 * Bindings (wrangler.toml): `GATEWAY_KV`, the KV namespace holding definitions.
 * Vars: `UPSTREAM_TIMEOUT_SECONDS` (optional).
 */
import type { ExecutionContext } from "hono";
import { WorkersKvStore, type KvNamespaceLike } from "./adapters/workers/kv-store.ts";
import { createGateway, type Gateway } from "./gateway.ts";

export interface WorkerEnv {
  GATEWAY_KV: KvNamespaceLike;
  UPSTREAM_TIMEOUT_SECONDS?: string;
}


let gateway: Gateway | undefined;

function gatewayFor(env: WorkerEnv): Gateway {
  gateway ??= createGateway({
    store: new WorkersKvStore(env.GATEWAY_KV),
    clientAddress: (c) => c.req.header("cf-connecting-ip"),
    ...(env.UPSTREAM_TIMEOUT_SECONDS ? { defaultTimeoutSeconds: Number(env.UPSTREAM_TIMEOUT_SECONDS) } : {}),
  });
  return gateway;
}

export default {
  fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Response | Promise<Response> {
    return gatewayFor(env).fetch(request, env, ctx);
  },
};
