/**
 * The URLs of an MCP proxy as an OAuth protected resource (RFC 9728, RFC 8707): its resource
 * identifier (the MCP endpoint clients connect to) and where its Protected Resource Metadata lives.
 */
import type { ApiRoute } from "../routing/route-table.ts";
import { prmUrl } from "./prm.ts";

/** The MCP endpoint's path under the listen path: the definition's first path (`/mcp` by default). */
export function endpointPath(route: ApiRoute): string {
  const first = Object.keys(route.definition.paths)[0];
  return first && first.startsWith("/") ? first : "/mcp";
}

/** The resource identifier: the configured `resource`, else this gateway's URL of the MCP endpoint. */
export function resourceUrlFor(origin: string, route: ApiRoute): string {
  return route.auth?.prm?.resource ?? `${origin}${route.prefix}${endpointPath(route)}`;
}

/**
 * The metadata URL for the challenge: the well-known suffix inserted between the host and the
 * resource identifier's path (RFC 9728 §3.1), so a client that checks the document's `resource`
 * against the URL it fetched finds them consistent.
 */
export function prmUrlFor(origin: string, route: ApiRoute): string {
  return prmUrl(resourceUrlFor(origin, route));
}
