/**
 * route: match the request path (`state.path`, canonical) to an API (the longest listen path wins; versions by header, query
 * parameter or URL segment) and set `state.match`. An unknown path, or one whose API is inactive,
 * gets 404 with a JSON-RPC error (-32000).
 *
 * The routing table is cached per isolate or process (`routing/registry.ts`): when it is fresh the
 * step does not wait at all.
 */
import type { GatewayContext, RequestState } from "../context.ts";
import { GatewayError } from "../errors.ts";
import type { RouteRegistry } from "../routing/registry.ts";
import type { RouteTable } from "../routing/route-table.ts";
import type { Step } from "./step.ts";

/** The route step over the registry's table. */
export function route(registry: RouteRegistry): Step {
  return {
    name: "route",
    run(c, state) {
      // Without a wait when the table is fresh: each await on the request path costs a microtask.
      const table = registry.current();
      if (table) return matchRoute(table, c, state);
      return registry.table().then((fresh) => matchRoute(fresh, c, state));
    },
  };
}

function matchRoute(table: RouteTable, c: GatewayContext, state: RequestState): void {
  const path = state.path;
  // Hono's request is a RequestView (header, query): nothing to allocate per request.
  const match = table.match(path, c.req);
  if (!match) {
    throw table.matchesInactive(path) ? new GatewayError("api_inactive") : new GatewayError("no_route", `No API is listening on ${path}`);
  }
  state.match = match;
}
