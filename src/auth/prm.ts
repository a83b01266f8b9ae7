/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728) for an MCP proxy: the document, and where it is
 * served. The `WWW-Authenticate: Bearer` challenge that points clients at it is built in
 * `challenge.ts`.
 *
 * The resource identifier is the caller's choice: `protectedResourceMetadata.resource` when
 * configured, else a URL the gateway builds. RFC 9728 §3.3 wants it identical to the URL the client
 * dialled, i.e. the MCP endpoint (`<origin><listen path>/mcp`); MCP clients also accept a resource
 * that is a path prefix of that URL (`<origin><listen path>`).
 *
 * Where the document is served (see {@link prmWellKnownPaths}, {@link matchPrmPath}), for a listen
 * path `/proxy/` and endpoint `/mcp`:
 * - `/.well-known/oauth-protected-resource/proxy/mcp`: RFC 9728 §3.1, the well-known string
 *   inserted between the host and the endpoint's path. What the challenge should advertise, and
 *   what a client that got no challenge derives from the URL it dialled.
 * - `/.well-known/oauth-protected-resource/proxy`: the same insertion for the listen path itself
 *   (and for any other path under it, so every endpoint of the proxy has its metadata).
 * - `/proxy/.well-known/oauth-protected-resource`: under the listen path itself, for set-ups that
 *   only route the listen path to the gateway.
 * - when `resource` is configured, also the RFC 9728 path of that URL.
 * The bare root `/.well-known/oauth-protected-resource` is not claimed: it is shared by every API on
 * the host (except for a listen path of `/`, where it is the RFC 9728 path).
 *
 * Pure: no I/O, no runtime globals.
 */
import type * as v from "valibot";
import type { ProtectedResourceMetadata } from "../definitions/schema.ts";

export type PrmConfig = v.InferOutput<typeof ProtectedResourceMetadata>;

/** The well-known URI suffix of RFC 9728 §3. */
export const PRM_WELL_KNOWN = "/.well-known/oauth-protected-resource";

/** The RFC 9728 §2 metadata document (the fields this gateway configures). */
export interface PrmDocument {
  resource: string;
  authorization_servers?: string[];
  scopes_supported?: string[];
  /** Default `["header"]`: the gateway reads bearer tokens from the `Authorization` header. */
  bearer_methods_supported: string[];
  resource_documentation?: string;
  resource_name?: string;
}

/**
 * The metadata document. `resource` is `config.resource` when set, else `resourceUrl` (built by the
 * gateway, e.g. the MCP endpoint URL). `bearer_methods_supported` defaults to `["header"]`; empty
 * lists and blank strings are left out.
 */
export function protectedResourceMetadata(config: PrmConfig, resourceUrl: string): PrmDocument {
  const doc: PrmDocument = {
    resource: config.resource?.trim() || resourceUrl,
    bearer_methods_supported: nonEmpty(config.bearerMethodsSupported) ?? ["header"],
  };
  const servers = nonEmpty(config.authorizationServers);
  if (servers) doc.authorization_servers = servers;
  const scopes = nonEmpty(config.scopesSupported);
  if (scopes) doc.scopes_supported = scopes;
  if (config.resourceDocumentation?.trim()) doc.resource_documentation = config.resourceDocumentation.trim();
  if (config.resourceName?.trim()) doc.resource_name = config.resourceName.trim();
  return doc;
}

/** A listen path without its trailing slash (`/` becomes the empty string). */
export function resourcePath(listenPath: string): string {
  return listenPath.replace(/\/+$/, "");
}

/**
 * The RFC 9728 §3.1 metadata URL of a resource identifier: the well-known string inserted between
 * the host and the path (a path of `/` adds nothing); the query is kept. Throws on a non-URL.
 */
export function prmUrl(resourceUrl: string): string {
  const url = new URL(resourceUrl);
  return `${url.origin}${PRM_WELL_KNOWN}${url.pathname === "/" ? "" : url.pathname}${url.search}`;
}

export interface PrmPathOptions {
  /** The MCP endpoint's path under the listen path, e.g. `/mcp`. */
  endpointPath?: string;
  /** The configured resource identifier: its RFC 9728 path is served too. */
  resource?: string;
}

/**
 * The exact paths the document is served at for a listen path (deduplicated): the RFC 9728 paths
 * of the endpoint and of the listen path, the path under the listen path, and the RFC 9728 path of
 * a configured `resource`. Other sub-paths are matched by {@link matchPrmPath}.
 */
export function prmWellKnownPaths(listenPath: string, options: PrmPathOptions = {}): string[] {
  const base = resourcePath(listenPath);
  const paths: string[] = [];
  const endpoint = options.endpointPath ? `/${options.endpointPath.replace(/^\/+|\/+$/g, "")}` : "";
  if (endpoint !== "" && endpoint !== "/") paths.push(`${PRM_WELL_KNOWN}${base}${endpoint}`);
  paths.push(`${PRM_WELL_KNOWN}${base}`, `${base}${PRM_WELL_KNOWN}`);
  if (options.resource?.trim()) paths.push(new URL(prmUrl(options.resource.trim())).pathname);
  return [...new Set(paths)];
}

/**
 * Whether `pathname` asks for the metadata of the API at `listenPath`: one of
 * {@link prmWellKnownPaths}, or `/.well-known/oauth-protected-resource<listen path>/<any sub-path>`.
 * A trailing slash is ignored. For a listen path of `/`, only the exact paths match.
 */
export function matchPrmPath(pathname: string, listenPath: string, options: PrmPathOptions = {}): boolean {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, "") : pathname;
  if (prmWellKnownPaths(listenPath, options).includes(path)) return true;
  const base = resourcePath(listenPath);
  return base !== "" && path.startsWith(`${PRM_WELL_KNOWN}${base}/`);
}

function nonEmpty(list: string[] | undefined): string[] | undefined {
  const kept = (list ?? []).map((item) => item.trim()).filter((item) => item !== "");
  return kept.length > 0 ? kept : undefined;
}
