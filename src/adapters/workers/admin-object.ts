/**
 * The admin Durable Object: every management request of a Workers deployment runs here, in one
 * instance (`idFromName("admin")`), so the admin service's mutex serialises every write of the
 * deployment and no read-modify-write (a version map, an id or listen-path check) can lose to a
 * concurrent one. It writes to the same KV namespace the gateway reads, through an
 * {@link OverlayStore} that remembers its own writes while KV propagates them.
 */
import { adminFor, adminSettings, type Admin } from "../../admin/admin.ts";
import { OverlayStore } from "../../stores/overlay.ts";
import { WorkersKvStore, type KvNamespaceLike } from "./kv-store.ts";

export interface AdminObjectEnv {
  GATEWAY_KV: KvNamespaceLike;
  GATEWAY_SECRET?: string;
  DASHBOARD_API_KEYS?: string;
  ADMIN_API?: string;
  ADMIN_HOST?: string;
}

export class AdminObject {
  readonly #admin: Admin;

  constructor(_state: unknown, env: AdminObjectEnv) {
    const settings = adminSettings((name) => (env as unknown as Record<string, string | undefined>)[name]);
    this.#admin = adminFor(new OverlayStore(new WorkersKvStore(env.GATEWAY_KV)), settings);
  }

  fetch(request: Request): Promise<Response> {
    return this.#admin.fetch(request);
  }
}
