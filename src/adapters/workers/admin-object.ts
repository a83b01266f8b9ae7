/**
 * The admin Durable Object: every management request of a Workers deployment runs here, in one
 * instance (`idFromName("admin")`), so the admin service's mutex serialises every write of the
 * deployment and no read-modify-write (a version map, an id or listen-path check) can lose to a
 * concurrent one. It writes to the same KV namespace the gateway reads, through an
 * {@link OverlayStore} that remembers its own writes while KV propagates them.
 */
import { type Admin, adminFor } from "../../admin/admin.ts";
import { limiterFor, readOptions } from "../../options.ts";
import { DurableObjectLimiter, type LimiterNamespaceLike } from "./limiter-object.ts";
import { OverlayStore } from "../../stores/overlay.ts";
import { WorkersKvStore, type KvNamespaceLike } from "./kv-store.ts";

export interface AdminObjectEnv {
  GATEWAY_KV: KvNamespaceLike;
  /** The limiter's Durable Objects: keys show their live quota (and an update resets it). */
  LIMITER?: LimiterNamespaceLike;
  GATEWAY_SECRET?: string;
  DASHBOARD_API_KEYS?: string;
  ADMIN_API?: string;
  ADMIN_HOST?: string;
}

export class AdminObject {
  readonly #admin: Admin;

  constructor(_state: unknown, env: AdminObjectEnv) {
    // The Worker checked the same options before sending any request here.
    const options = readOptions((name) => (env as unknown as Record<string, unknown>)[name]);
    const limiter = limiterFor(options, "durable-objects", env.LIMITER ? () => new DurableObjectLimiter(env.LIMITER!) : undefined);
    this.#admin = adminFor(new OverlayStore(new WorkersKvStore(env.GATEWAY_KV)), options.admin, limiter);
  }

  fetch(request: Request): Promise<Response> {
    return this.#admin.fetch(request);
  }
}
