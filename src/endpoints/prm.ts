/**
 * Serving Protected Resource Metadata (RFC 9728) for every MCP proxy that enables it, without
 * authentication, at both places clients look:
 *
 * - the host's well-known path, the suffix inserted before the resource's path:
 *   `/.well-known/oauth-protected-resource/<listen path>/mcp` (and `…/<listen path>`);
 * - under the listen path: `/<listen path>/.well-known/oauth-protected-resource`.
 *
 * The document is public: it is served with `Access-Control-Allow-Origin: *` so browser-based
 * clients can read it, and a preflight for it (`OPTIONS`: the MCP SDK's discovery sends
 * `MCP-Protocol-Version`, a header that needs one) is answered with 204 for any origin. A path that
 * names no proxy with metadata gets the usual 404.
 */
import { publicOrigin, resourceUrlFor } from "../auth/resource.ts";
import type { ProtectedResource } from "../auth/config.ts";
import { PRM_WELL_KNOWN, protectedResourceMetadata } from "../auth/prm.ts";
import type { GatewayContext, RequestState } from "../context.ts";
import { PUBLIC_DOCUMENT, preflightResponse } from "../http/cors.ts";
import type { RouteRegistry } from "../routing/registry.ts";
import type { ApiRoute } from "../routing/route-table.ts";
import type { Endpoint } from "../steps/endpoints.ts";

function metadataAnswer(state: RequestState, origin: string, prm: ProtectedResource): Response {
  if (state.method === "OPTIONS") {
    const requested = state.headers["access-control-request-headers"];
    return preflightResponse(PUBLIC_DOCUMENT, requested === undefined ? {} : { "access-control-request-headers": requested });
  }
  const body = protectedResourceMetadata(prm.config, resourceUrlFor(origin, prm));
  return Response.json(body, {
    headers: { "access-control-allow-origin": "*", "cache-control": "public, max-age=300" },
  });
}

/** Whether the request asks for Protected Resource Metadata (a GET or HEAD, or its preflight, on a well-known path). */
function isPrmRequest(state: RequestState): boolean {
  const method = state.method;
  return (method === "GET" || method === "HEAD" || method === "OPTIONS") && state.path.includes(PRM_WELL_KNOWN);
}

/**
 * The Protected Resource Metadata endpoint: the document for a PRM request, or nothing when the
 * path names no proxy with metadata (the request then routes like any other).
 *
 * @param resourceOf an MCP proxy's compiled Protected Resource Metadata, `undefined` without any
 */
export function prmEndpoint(
  registry: RouteRegistry,
  resourceOf: (route: ApiRoute) => ProtectedResource | undefined,
  publicOrigins: readonly string[] = [],
): Endpoint {
  async function serveProtectedResourceMetadata(c: GatewayContext, state: RequestState): Promise<Response | undefined> {
    const path = state.path;
    const table = await registry.table();
    const answer = (route: ApiRoute) => {
      const prm = route.kind === "mcp" ? resourceOf(route) : undefined;
      return prm && metadataAnswer(state, publicOrigin(c.req.url, prm.customDomain, publicOrigins), prm);
    };
    // Host-level: /.well-known/oauth-protected-resource/<resource path>
    if (path.startsWith(`${PRM_WELL_KNOWN}/`)) {
      const match = table.match(path.slice(PRM_WELL_KNOWN.length));
      return match && answer(match.route);
    }
    // Under the listen path: /<listen path>/.well-known/oauth-protected-resource
    if (path.endsWith(PRM_WELL_KNOWN)) {
      const match = table.match(path.slice(0, -PRM_WELL_KNOWN.length) || "/");
      if (match && path === `${match.route.prefix}${PRM_WELL_KNOWN}`) return answer(match.route);
    }
    return undefined;
  }
  return (c, state) => (isPrmRequest(state) ? serveProtectedResourceMetadata(c, state) : undefined);
}
