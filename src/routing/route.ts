/**
 * route: match the request path to an API (longest listen path wins) and set `c.var.route`.
 * An unknown path, or one whose API is inactive, gets 404 with a JSON-RPC error (-32000).
 */
import type { MiddlewareHandler, Next } from "hono";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { errors } from "../errors.ts";
import type { RouteRegistry } from "./registry.ts";
import type { RouteTable } from "./route-table.ts";

export function route(registry: RouteRegistry): MiddlewareHandler<GatewayEnv> {
  function routeWith(table: RouteTable, c: GatewayContext, next: Next) {
    const path = c.req.path;
    const match = table.match(path, { header: (name) => c.req.header(name), query: (name) => c.req.query(name) });
    if (!match) {
      throw errors.notFound(
        table.matchesInactive(path) ? "The API on this path is not active" : `No API is listening on ${path}`,
      );
    }
    c.set("route", match);
    return next();
  }
  // Without an await when the table is fresh: each await on the request path costs a microtask.
  return function routeToApi(c, next) {
    const table = registry.current();
    return table ? routeWith(table, c, next) : registry.table().then((t) => routeWith(t, c, next));
  };
}
