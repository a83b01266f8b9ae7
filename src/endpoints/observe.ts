/**
 * The gateway's observability endpoints (each an `Endpoint` of the request path, after the Host and
 * path checks):
 *
 * - `GET /metrics`: the metrics as Prometheus text, for `X-Tyk-Authorization: <GATEWAY_SECRET>` or
 *   `Authorization: Bearer <GATEWAY_METRICS_TOKEN>` only (403 otherwise). Records still in the
 *   current batch are counted first.
 * - `GET /hello`: Tyk's health check (`status`, `version`, `description`, `details`), open to all.
 * - Dashboard API (`Authorization: <dashboard key>`, where the admin APIs answer):
 *   `GET /api/activity/mcp` (per proxy), `GET /api/activity/mcp/primitives` (per primitive;
 *   `api_id` narrows), both over `?minutes=` (default 60) or `?from=&to=` (Unix ms), and
 *   `GET /api/activity/mcp/registry` (every MCP proxy with what its upstream exposes; `?refresh=1`
 *   reads the upstreams again).
 * - `GET /api/dashboard` (and its scripts `/api/dashboard/chart.js`, `/api/dashboard/app.js`): the
 *   dashboard page (`ui/dashboard.ts`). The page holds no data: it asks
 *   for the Dashboard API key and reads the endpoints above with it.
 */
import { type AdminSettings, isAdminRequest } from "../admin/admin.ts";
import { matchesSecret } from "../admin/auth.ts";
import type { GatewayContext, RequestState } from "../context.ts";
import { DefinitionRepository } from "../definitions/repository.ts";
import { primitiveActivity, proxyActivity, type Window } from "../observe/analytics.ts";
import { GATEWAY_VERSION, type Observer } from "../observe/observer.ts";
import type { Endpoint } from "../steps/endpoints.ts";
import { APIS_VERSION_KEY } from "../stores/layout.ts";
import type { KeyValueStore } from "../stores/types.ts";
import { CHART_JS } from "../ui/chart-js.generated.ts";
import { DASHBOARD_JS, dashboardHtml } from "../ui/dashboard.ts";

export interface ObserveEndpointOptions {
  observer: Observer;
  store: KeyValueStore;
  admin: AdminSettings | undefined;
  /** `GATEWAY_METRICS_TOKEN`: a scrape token accepted as `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  /** Builds the routing table (which tells the observer every API) when it is not built yet. */
  ensureTable: () => Promise<unknown>;
}

const forbidden = () => Response.json({ status: "error", message: "Forbidden" }, { status: 403 });
const dashboardForbidden = () => Response.json({ Status: "Error", Message: "Not authorised", Meta: null }, { status: 403 });

/** `GET /metrics` in Prometheus text, behind the gateway secret or the scrape token. */
export function metricsEndpoint(options: ObserveEndpointOptions): Endpoint | undefined {
  const metrics = options.observer.metrics;
  if (metrics === undefined) return undefined;
  const secret = options.admin?.gatewaySecret;
  return (_c, state) => {
    if (state.path !== "/metrics") return undefined;
    return (async () => {
      if (state.method !== "GET" && state.method !== "HEAD")
        return new Response("Method Not Allowed", { status: 405, headers: { allow: "GET" } });
      const bearer = state.headers.authorization?.replace(/^Bearer\s+/i, "");
      const allowed =
        (await matchesSecret(state.headers["x-tyk-authorization"], secret === undefined ? [] : [secret])) ||
        (await matchesSecret(bearer, options.metricsToken === undefined ? [] : [options.metricsToken]));
      if (!allowed) return forbidden();
      await options.observer.settle();
      return new Response(await metrics.prometheus(), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } });
    })();
  };
}

/** `GET /hello`: Tyk's health check, with the definition store as its datastore. */
export function helloEndpoint(store: KeyValueStore): Endpoint {
  return (_c, state) => {
    if (state.path !== "/hello") return undefined;
    return (async () => {
      const time = new Date().toISOString();
      let storeStatus: "pass" | "fail" = "pass";
      let output: string | undefined;
      try {
        await store.get(APIS_VERSION_KEY);
      } catch (error) {
        storeStatus = "fail";
        output = error instanceof Error ? error.message : String(error);
      }
      const body = {
        status: storeStatus === "pass" ? "pass" : "fail",
        version: `v${GATEWAY_VERSION}`,
        description: "MCP edge gateway",
        details: {
          store: { status: storeStatus, componentType: "datastore", time, ...(output ? { output } : {}) },
        },
      };
      return Response.json(body, { status: storeStatus === "pass" ? 200 : 503 });
    })();
  };
}

/** The window a query asks for: `?from=&to=` (Unix ms) or the last `?minutes=` (default 60). */
function windowOf(url: URL): Window {
  const now = Date.now();
  const to = Number(url.searchParams.get("to") ?? now) || now;
  const minutes = Math.min(Math.max(Number(url.searchParams.get("minutes") ?? 60) || 60, 1), 7 * 24 * 60);
  const from = Number(url.searchParams.get("from") ?? to - minutes * 60_000) || to - minutes * 60_000;
  return { from, to, stepMs: to - from > 6 * 3600_000 ? 3600_000 : 60_000 };
}

const PAGE_HEADERS = {
  "cache-control": "no-store",
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
};

/** The dashboard page and its two scripts: code only, no data (the page asks for the key). */
const PAGE: Record<string, () => Response> = {
  "/api/dashboard": () => new Response(dashboardHtml(), { headers: { "content-type": "text/html; charset=utf-8", ...PAGE_HEADERS } }),
  "/api/dashboard/chart.js": () =>
    new Response(CHART_JS, { headers: { "content-type": "text/javascript; charset=utf-8", ...PAGE_HEADERS } }),
  "/api/dashboard/app.js": () =>
    new Response(DASHBOARD_JS, { headers: { "content-type": "text/javascript; charset=utf-8", ...PAGE_HEADERS } }),
};

/** The Dashboard API's activity endpoints and the dashboard page. */
export function activityEndpoint(options: ObserveEndpointOptions): Endpoint | undefined {
  const settings = options.admin;
  if (settings === undefined || !settings.enabled) return undefined;
  const { observer } = options;
  const repository = new DefinitionRepository(options.store);
  return (c: GatewayContext, state: RequestState) => {
    const path = state.path;
    const page = PAGE[path];
    if (page === undefined && path !== "/api/activity/mcp" && !path.startsWith("/api/activity/mcp/")) return undefined;
    if (!isAdminRequest(settings, path, state.headers.host)) return undefined;
    if (page !== undefined) return Promise.resolve(page());
    return (async () => {
      if (!(await matchesSecret(state.headers.authorization, settings.dashboardKeys))) return dashboardForbidden();
      const url = new URL(c.req.url);
      if (path === "/api/activity/mcp/registry") {
        await options.ensureTable().catch(() => undefined);
        const refresh = url.searchParams.get("refresh") === "1";
        const apis = (await repository.all()).filter((api) => api.kind === "mcp");
        const proxies = await Promise.all(
          apis.map(async ({ id, definition }) => {
            const tyk = definition["x-tyk-api-gateway"];
            observer.learn(id, definition);
            const catalog = await observer.catalog(id, refresh).catch(() => undefined);
            const schemes = Object.entries(tyk.server.authentication?.securitySchemes ?? {})
              .filter(([, scheme]) => scheme.enabled)
              .map(([name]) => name);
            return {
              api_id: id,
              name: tyk.info.name,
              listen_path: tyk.server.listenPath.value,
              upstream: tyk.upstream.url,
              authentication: tyk.server.authentication?.enabled ? (schemes.length > 0 ? schemes : ["authToken"]) : [],
              state: tyk.info.state.active ? "active" : "inactive",
              versions: (tyk.info.versioning?.versions ?? []).map((v) => v.name),
              tools: catalog?.tools ?? [],
              resources: [...(catalog?.resources ?? []), ...(catalog?.resourceTemplates ?? [])],
              prompts: catalog?.prompts ?? [],
              catalog_error: catalog?.error,
              catalog_read_at: catalog?.readAt,
            };
          }),
        );
        return Response.json({ proxies });
      }
      const store = observer.analytics;
      if (store === undefined)
        return Response.json({ Status: "Error", Message: "Analytics are off (enable_analytics)", Meta: null }, { status: 404 });
      await observer.settle();
      const window = windowOf(url);
      const apiId = url.searchParams.get("api_id") ?? undefined;
      if (path === "/api/activity/mcp") {
        const rows = await store.read(window.from, window.to, apiId);
        return Response.json({ from: window.from, to: window.to, step_ms: window.stepMs, proxies: proxyActivity(rows, window) });
      }
      if (path === "/api/activity/mcp/primitives") {
        const rows = await store.read(window.from, window.to, apiId);
        return Response.json({ from: window.from, to: window.to, step_ms: window.stepMs, ...primitiveActivity(rows, window) });
      }
      return Response.json({ Status: "Error", Message: "Not found", Meta: null }, { status: 404 });
    })();
  };
}
