/**
 * route: match the request path to an API (longest listen path wins) and start the request's
 * `RequestState` with the match. An unknown path, or one whose API is inactive, gets 404 with a
 * JSON-RPC error (-32000).
 */
import { RequestState, type GatewayContext } from "../context.ts";
import { errors } from "../errors.ts";
import type { RouteTable } from "./route-table.ts";

/** The request path's API in `table`: the request's state (`c.get("state")`) starts here. */
export function routeRequest(table: RouteTable, c: GatewayContext): RequestState {
  const path = c.req.path;
  // Hono's request is a RequestView (header, query): nothing to allocate per request.
  const match = table.match(path, c.req);
  if (!match) {
    throw errors.notFound(table.matchesInactive(path) ? "The API on this path is not active" : `No API is listening on ${path}`);
  }
  const state = new RequestState(match);
  c.set("state", state);
  return state;
}
