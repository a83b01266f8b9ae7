/**
 * Serving Protected Resource Metadata (RFC 9728) for every MCP proxy that enables it, without
 * authentication, at both places clients look:
 *
 * - the host's well-known path, the suffix inserted before the resource's path:
 *   `/.well-known/oauth-protected-resource/<listen path>/mcp` (and `…/<listen path>`);
 * - under the listen path: `/<listen path>/.well-known/oauth-protected-resource`.
 *
 * The document is public: it is served with `Access-Control-Allow-Origin: *` so browser-based
 * clients can read it. A path that names no proxy with metadata gets the usual 404.
 */
import type { MiddlewareHandler, Next } from "hono";
import type { GatewayEnv } from "../context.ts";
import type { RouteRegistry } from "../routing/registry.ts";
import type { ApiRoute } from "../routing/route-table.ts";
import { PRM_WELL_KNOWN, protectedResourceMetadata } from "./prm.ts";
import { publicOrigin, resourceUrlFor } from "./resource.ts";

function document(origin: string, route: ApiRoute): Response {
  const body = protectedResourceMetadata(route.auth!.prm!, resourceUrlFor(origin, route));
  return Response.json(body, {
    headers: { "access-control-allow-origin": "*", "cache-control": "public, max-age=300" },
  });
}

export function servePrm(registry: RouteRegistry, publicOrigins: readonly string[] = []): MiddlewareHandler<GatewayEnv> {
  return function serveProtectedResourceMetadata(c, next) {
    const path = c.req.path;
    if ((c.req.method !== "GET" && c.req.method !== "HEAD") || !path.includes(PRM_WELL_KNOWN)) return next();
    return serve(c, next, path);
  };

  async function serve(c: Parameters<MiddlewareHandler<GatewayEnv>>[0], next: Next, path: string) {
    const table = await registry.table();
    const origin = (route: ApiRoute) => publicOrigin(c.req.url, route, publicOrigins);
    // Host-level: /.well-known/oauth-protected-resource/<resource path>
    if (path.startsWith(`${PRM_WELL_KNOWN}/`)) {
      const match = table.match(path.slice(PRM_WELL_KNOWN.length));
      if (match?.route.auth?.prm && match.route.kind === "mcp") return document(origin(match.route), match.route);
      return next();
    }
    // Under the listen path: /<listen path>/.well-known/oauth-protected-resource
    if (path.endsWith(PRM_WELL_KNOWN)) {
      const match = table.match(path.slice(0, -PRM_WELL_KNOWN.length) || "/");
      if (match?.route.auth?.prm && match.route.kind === "mcp" && path === `${match.route.prefix}${PRM_WELL_KNOWN}`) {
        return document(origin(match.route), match.route);
      }
    }
    return next();
  }
}
