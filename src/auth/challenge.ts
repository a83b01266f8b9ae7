/**
 * `WWW-Authenticate` challenges: the one place they are built (RFC 6750 §3, RFC 9728 §5.1, MCP
 * 2025-11-25 authorization). Pure.
 *
 * Every 401 carries a challenge; with Protected Resource Metadata it is `Bearer
 * resource_metadata="…"` (and `scope="…"`) so MCP clients can discover the authorization server.
 * An OAuth caller refused for want of scope gets `error="insufficient_scope"` with its 403.
 */
import type { AuthConfig, ProtectedResource } from "./config.ts";
import { prmUrlFor } from "./resource.ts";

/** RFC 6750 §3.1 error codes. */
export type BearerErrorCode = "invalid_request" | "invalid_token" | "insufficient_scope";

export interface BearerChallenge {
  /** The metadata URL (RFC 9728 §5.1 `resource_metadata`): usually `prmUrl(resource)`. */
  resourceMetadataUrl?: string;
  /** Scopes the request needs (MCP scope challenge): a list or a space-separated string. */
  scope?: string | string[];
  /**
   * A {@link BearerErrorCode} (or an extension code). Omit on a request that carried no credentials
   * (RFC 6750 §3.1); `invalid_token` goes with 401, `insufficient_scope` with 403.
   */
  error?: BearerErrorCode | (string & {});
  errorDescription?: string;
}

/**
 * The `WWW-Authenticate` value: `Bearer resource_metadata="…", scope="…", error="…",
 * error_description="…"` (only the parameters given). Values are quoted-strings (RFC 9110 §11.2);
 * characters RFC 6750 §3 forbids in `scope` and `error_description` (`"`, `\`, controls, non-ASCII)
 * are dropped, as are scope tokens left empty. Throws a `TypeError` for a metadata URL that is not
 * an absolute http(s) URL, or an `error` with such characters.
 */
export function bearerChallenge(challenge: BearerChallenge): string {
  const params: string[] = [];
  if (challenge.resourceMetadataUrl !== undefined) {
    const url = new URL(challenge.resourceMetadataUrl);
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new TypeError("resource_metadata must be an http(s) URL");
    params.push(`resource_metadata="${url.href}"`);
  }
  const scopes = (Array.isArray(challenge.scope) ? challenge.scope : (challenge.scope ?? "").split(" "))
    .map((token) => token.replace(/[^\x21\x23-\x5b\x5d-\x7e]/g, ""))
    .filter((token) => token !== "");
  if (scopes.length > 0) params.push(`scope="${[...new Set(scopes)].join(" ")}"`);
  if (challenge.error !== undefined) {
    if (!/^[\x20\x21\x23-\x5b\x5d-\x7e]+$/.test(challenge.error)) throw new TypeError("error must be an RFC 6750 error code");
    params.push(`error="${challenge.error}"`);
  }
  const description = challenge.errorDescription?.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "").trim();
  if (description) params.push(`error_description="${description}"`);
  return params.length > 0 ? `Bearer ${params.join(", ")}` : "Bearer";
}

/**
 * The challenge of an API's 401 (and of a 403 with `error`), for a request that reached the gateway
 * at `publicOrigin` (see `resource.ts`; only read with Protected Resource Metadata).
 */
export function challengeFor(auth: AuthConfig, publicOrigin: string, extra: { error?: string; scope?: string } = {}): string {
  const prm = auth.prm;
  if (prm) return resourceChallenge(prm, publicOrigin, extra);
  return extra.error ? `Bearer realm="mcp-gateway", error="${extra.error}"` : 'Bearer realm="mcp-gateway"';
}

/** The challenge pointing at an MCP proxy's Protected Resource Metadata (scope: `scopesSupported` unless given). */
export function resourceChallenge(prm: ProtectedResource, publicOrigin: string, extra: { error?: string; scope?: string } = {}): string {
  const scope = extra.scope ?? prm.scopes;
  return bearerChallenge({
    resourceMetadataUrl: prmUrlFor(publicOrigin, prm),
    ...(scope ? { scope } : {}),
    ...(extra.error ? { error: extra.error } : {}),
  });
}
