/**
 * The part of the Workers runtime's `cloudflare:workers` module used here: the base class a
 * Durable Object extends to be called over RPC. The runtime provides the module (wrangler and the
 * bundles of the tests and benchmarks leave it external).
 */
declare module "cloudflare:workers" {
  export abstract class DurableObject<Env = unknown> {
    protected ctx: unknown;
    protected env: Env;
    constructor(ctx: unknown, env: Env);
  }
}
