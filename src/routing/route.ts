/**
 * route: match the request path to an API (longest listen path wins) and start the request's
 * `RequestState` with the match. An unknown path, or one whose API is inactive, gets 404 with a
 * JSON-RPC error (-32000).
 *
 * checkMethod: an MCP proxy serves the HTTP methods its OAS `paths` declare for the requested
 * path; any other (a GET where the proxy offers no SSE stream, a DELETE, a PUT) gets 405 with
 * `Allow`, as MCP's Streamable HTTP transport has a server answer. POST, the transport itself, is
 * always served; OPTIONS is left to the upstream; a path the document does not declare passes.
 */
import { RequestState, type GatewayContext } from "../context.ts";
import { ErrorCode, errors, GatewayError } from "../errors.ts";
import { readHeaders } from "../proxy/headers.ts";
import { relativePath, transportPath, type RouteTable } from "./route-table.ts";

/** The request path's API in `table`: the request's state (`c.get("state")`) starts here. */
export function routeRequest(table: RouteTable, c: GatewayContext): RequestState {
  const path = c.req.path;
  // Hono's request is a RequestView (header, query): nothing to allocate per request.
  const match = table.match(path, c.req);
  if (!match) {
    throw errors.notFound(table.matchesInactive(path) ? "The API on this path is not active" : `No API is listening on ${path}`);
  }
  const state = new RequestState(match, c.req.raw.method, readHeaders(c.req.raw.headers));
  c.set("state", state);
  return state;
}

/** Refuses (405, with `Allow`) a method the request's MCP proxy does not offer on its path. */
export function checkMethod(state: RequestState): void {
  const { match, method } = state;
  if (method === "POST" || method === "OPTIONS") return;
  const declared = transportPath(match.route, relativePath(match));
  if (declared === undefined || declared.methods.includes(method)) return;
  throw new GatewayError(ErrorCode.Rejected, 405, `This MCP proxy does not serve ${method} here; it serves ${declared.allow}`, {
    headers: { allow: declared.allow },
  });
}
