/**
 * checkOrigin: a request whose `Origin` is present and not allowed for the proxy gets 403 before
 * anything else is read (MCP Streamable HTTP: servers must validate Origin, against DNS rebinding).
 *
 * Allowed: the origins in `middleware.global.cors.allowedOrigins` when CORS is enabled (`*` allows
 * any); otherwise an origin on the same host as the request, or a loopback origin when the
 * request itself came to a loopback host (a local tool such as the MCP Inspector; a rebinding attack
 * shows its own, non-loopback origin). A request without `Origin` (not from a browser) passes.
 */
import type { GatewayContext, RequestState } from "../context.ts";
import type { McpDefinition } from "../definitions/schema.ts";
import { ErrorCode, GatewayError } from "../errors.ts";

export interface OriginRule {
  any: boolean;
  list: ReadonlySet<string>;
}

/** The definition's configured origins, or `undefined` for the default rule. */
export function compileOrigins(definition: McpDefinition): OriginRule | undefined {
  const cors = definition["x-tyk-api-gateway"].middleware?.global?.cors;
  if (!cors?.enabled || !cors.allowedOrigins?.length) return undefined;
  const list = new Set(cors.allowedOrigins.map((o) => o.trim().toLowerCase().replace(/\/+$/, "")));
  return { any: list.has("*"), list };
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);
const isLoopback = (host: string) => LOOPBACK.has(host) || host.endsWith(".localhost") || /^127\.\d+\.\d+\.\d+$/.test(host);

/** Whether `origin` may call a proxy reached at `requestHost` (a Host header value). */
export function originAllowed(origin: string, requestHost: string, rule: OriginRule | undefined): boolean {
  const normalised = origin.trim().toLowerCase().replace(/\/+$/, "");
  if (rule) return rule.any || rule.list.has(normalised);
  let url: URL;
  try {
    url = new URL(normalised);
  } catch {
    return false;
  }
  const host = requestHost.toLowerCase();
  if (url.host === host) return true;
  const hostname = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0]!;
  return isLoopback(url.hostname) && isLoopback(hostname);
}

/**
 * The Origin check of the request path: throws 403 when the request carries an `Origin` that may
 * not call `route`. A request without `Origin` (not from a browser) passes.
 */
export function checkOrigin(c: GatewayContext, state: RequestState): void {
  const origin = state.headers.origin;
  if (origin === undefined) return;
  const host = state.headers.host ?? new URL(c.req.url).host;
  if (!originAllowed(origin, host, state.match.route.origins)) {
    throw new GatewayError(ErrorCode.Rejected, 403, "Forbidden: this Origin may not call this MCP server");
  }
}
