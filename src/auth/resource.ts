/**
 * The URLs of an MCP proxy as an OAuth protected resource (RFC 9728, RFC 8707): its resource
 * identifier (the MCP endpoint clients connect to) and where its Protected Resource Metadata lives.
 */
import type { ApiRoute } from "../routing/route-table.ts";
import { prmUrl } from "./prm.ts";

/**
 * The origin this gateway is known by, for resource identifiers and metadata URLs. The request's
 * own origin comes from its `Host` header, which a client chooses: trusting it would let a token
 * minted for another server (`aud` = that server's URL) pass here with `Host` set to match. So:
 * the origin of `server.customDomain` when enabled; else, when the deployment lists its public
 * origins (`GATEWAY_PUBLIC_ORIGINS`), the request's origin if listed, or the first listed; only
 * with neither, the request's origin (fine where the platform admits only known hosts, as Workers
 * routes do; set `GATEWAY_PUBLIC_ORIGINS` elsewhere).
 */
export function publicOrigin(requestUrl: string, route: ApiRoute, publicOrigins: readonly string[]): string {
  const domain = route.definition["x-tyk-api-gateway"].server.customDomain;
  const origin = new URL(requestUrl).origin;
  if (domain?.enabled && domain.name) {
    const scheme = new URL(requestUrl).protocol === "http:" && publicOrigins.length === 0 ? "http" : "https";
    return `${scheme}://${domain.name.toLowerCase()}`;
  }
  if (publicOrigins.length > 0) return publicOrigins.includes(origin) ? origin : publicOrigins[0]!;
  return origin;
}

/** Parses `GATEWAY_PUBLIC_ORIGINS` (comma-separated origins) into normalised origins. */
export function parsePublicOrigins(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((o) => o.trim())
    .filter((o) => o !== "")
    .map((o) => new URL(o).origin);
}

/** The MCP endpoint's path under the listen path: the definition's first path (`/mcp` by default). */
export function endpointPath(route: ApiRoute): string {
  const first = Object.keys(route.definition.paths)[0];
  return first?.startsWith("/") ? first : "/mcp";
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
