/**
 * The URLs of an MCP proxy as an OAuth protected resource (RFC 9728, RFC 8707): its resource
 * identifier (the MCP endpoint clients connect to) and where its Protected Resource Metadata lives.
 * Pure.
 */
import type { ProtectedResource } from "./config.ts";
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
export function publicOrigin(requestUrl: string, customDomain: string | undefined, publicOrigins: readonly string[]): string {
  const url = new URL(requestUrl);
  if (customDomain !== undefined) {
    const scheme = url.protocol === "http:" && publicOrigins.length === 0 ? "http" : "https";
    return `${scheme}://${customDomain}`;
  }
  if (publicOrigins.length > 0) return publicOrigins.includes(url.origin) ? url.origin : publicOrigins[0]!;
  return url.origin;
}

/** The resource identifier: the configured `resource`, else this gateway's URL of the MCP endpoint. */
export function resourceUrlFor(origin: string, prm: ProtectedResource): string {
  return prm.config.resource ?? `${origin}${prm.endpointPath}`;
}

/**
 * The metadata URL for the challenge: the well-known suffix inserted between the host and the
 * resource identifier's path (RFC 9728 §3.1), so a client that checks the document's `resource`
 * against the URL it fetched finds them consistent.
 */
export function prmUrlFor(origin: string, prm: ProtectedResource): string {
  return prmUrl(resourceUrlFor(origin, prm));
}
