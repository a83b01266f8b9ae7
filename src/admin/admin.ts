/**
 * createAdmin: the two management APIs over one store, as one fetch handler.
 *
 * Runtime-neutral. On Bun and Deno the gateway calls it in-process; on Workers the gateway hands
 * admin requests to one Durable Object that runs it (so one mutex serialises every admin write of
 * the deployment; see `src/adapters/workers/admin-object.ts`).
 */
import type { KeyValueStore } from "../stores/types.ts";
import type { Limiter } from "../traffic/limiter.ts";
import { DEFAULT_ADMIN_MAX_BODY_BYTES } from "./body.ts";
import { dashboardApi } from "./dashboard-api.ts";
import { gatewayApi } from "./gateway-api.ts";
import { ConsumerService } from "./consumers.ts";
import { Mutex } from "./mutex.ts";
import { ApiService } from "./service.ts";

/** Path prefixes the admin API answers on. */
export const ADMIN_PREFIXES = ["/tyk", "/api"] as const;

export interface AdminOptions {
  store: KeyValueStore;
  /** `GATEWAY_SECRET`: the Gateway API's `X-Tyk-Authorization` secret. Without one, `/tyk/` is closed. */
  gatewaySecret?: string | undefined;
  /** Dashboard API keys (`DASHBOARD_API_KEYS`, comma-separated). Without any, `/api/` is closed. */
  dashboardKeys?: readonly string[];
  /** Admin path prefixes that listen paths may not use (empty when the admin API has its own host). */
  reservedPaths?: readonly string[];
  maxBodyBytes?: number;
  pageSize?: number;
  /** Where the gateway counts quotas: keys then show their live quota, and an update resets it. */
  limiter?: Limiter;
}

export interface Admin {
  fetch(request: Request): Promise<Response>;
}

export function createAdmin(options: AdminOptions): Admin {
  const mutex = new Mutex();
  const service = new ApiService(options.store, { reservedPaths: options.reservedPaths ?? ADMIN_PREFIXES, mutex });
  const consumers = new ConsumerService(options.store, mutex, undefined, options.limiter);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_ADMIN_MAX_BODY_BYTES;
  const tyk = gatewayApi({ service, consumers, secrets: options.gatewaySecret ? [options.gatewaySecret] : [], maxBodyBytes });
  const dashboard = dashboardApi({
    service,
    consumers,
    keys: options.dashboardKeys ?? [],
    maxBodyBytes,
    ...(options.pageSize ? { pageSize: options.pageSize } : {}),
  });
  return {
    async fetch(request) {
      const path = new URL(request.url).pathname;
      return path === "/tyk" || path.startsWith("/tyk/") ? tyk.fetch(request) : dashboard.fetch(request);
    },
  };
}

/** Admin settings, read from the environment by `options.ts`. */
export interface AdminSettings {
  /** `ADMIN_API=off` turns the admin API off: its paths then route like any other. */
  enabled: boolean;
  /** `ADMIN_HOST`: answer admin requests only on this host name (its own host). */
  host: string | undefined;
  gatewaySecret: string | undefined;
  dashboardKeys: string[];
}

/** The listen-path prefixes the admin API reserves under these settings. */
export function reservedPaths(settings: AdminSettings): readonly string[] {
  return settings.enabled && settings.host === undefined ? ADMIN_PREFIXES : [];
}

/**
 * Whether a request is for the admin API under these settings.
 *
 * @param path the request path
 * @param host the request's `Host` (name, optionally with a port)
 */
export function isAdminRequest(settings: AdminSettings, path: string, host: string | undefined): boolean {
  if (!settings.enabled) return false;
  if (!ADMIN_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`))) return false;
  if (settings.host === undefined) return true;
  const name = (host ?? "").toLowerCase();
  const bare = name.startsWith("[") ? name.slice(0, name.indexOf("]") + 1) : name.split(":")[0];
  return bare === settings.host;
}

/** The admin API a runtime serves under its settings (credentials, reserved paths) over `store`. */
export function adminFor(store: KeyValueStore, settings: AdminSettings, limiter?: Limiter): Admin {
  return createAdmin({
    store,
    ...(limiter ? { limiter } : {}),
    gatewaySecret: settings.gatewaySecret,
    dashboardKeys: settings.dashboardKeys,
    reservedPaths: reservedPaths(settings),
  });
}
