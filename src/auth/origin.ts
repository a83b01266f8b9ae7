/**
 * checkOrigin: a request whose `Origin` is present and not allowed for the proxy gets 403 before
 * anything else is read (MCP Streamable HTTP: servers must validate Origin, against DNS rebinding).
 *
 * Allowed: the origins in `middleware.global.cors.allowedOrigins` when CORS is enabled (`*` allows
 * any; an entry may hold one `*` for any run of characters, as Tyk's do: `https://*.example.com`);
 * otherwise an origin on the same host as the request, or a loopback origin when the
 * request itself came to a loopback host (a local tool such as the MCP Inspector; a rebinding attack
 * shows its own, non-loopback origin). A request without `Origin` (not from a browser) passes.
 */
import type { GatewayContext, RequestState } from "../context.ts";
import { normaliseOrigin, type McpDefinition } from "../definitions/schema.ts";
import { ErrorCode, GatewayError } from "../errors.ts";

export interface OriginRule {
  any: boolean;
  list: ReadonlySet<string>;
  /**
   * Entries with one `*` (`https://*.example.com`), split around it: an origin matches when it
   * starts with `prefix` and ends with `suffix`. Compared as strings, never as a pattern, so no
   * entry can make matching slow.
   */
  wildcards: readonly { prefix: string; suffix: string }[];
}

/** The definition's configured origins, or `undefined` for the default rule. */
export function compileOrigins(definition: McpDefinition): OriginRule | undefined {
  const cors = definition["x-tyk-api-gateway"].middleware?.global?.cors;
  if (!cors?.enabled || !cors.allowedOrigins?.length) return undefined;
  const list = new Set<string>();
  const wildcards: { prefix: string; suffix: string }[] = [];
  for (const entry of cors.allowedOrigins) {
    const origin = normaliseOrigin(entry);
    const star = origin.indexOf("*");
    if (origin === "*" || star === -1) list.add(origin);
    else wildcards.push({ prefix: origin.slice(0, star), suffix: origin.slice(star + 1) });
  }
  return { any: list.has("*"), list, wildcards };
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);
const isLoopback = (host: string) => LOOPBACK.has(host) || host.endsWith(".localhost") || /^127\.\d+\.\d+\.\d+$/.test(host);

/** Whether `origin` may call a proxy reached at `requestHost` (a Host header value). */
export function originAllowed(origin: string, requestHost: string, rule: OriginRule | undefined): boolean {
  const normalised = normaliseOrigin(origin);
  if (rule) {
    if (rule.any || rule.list.has(normalised)) return true;
    for (const { prefix, suffix } of rule.wildcards) {
      if (normalised.length >= prefix.length + suffix.length && normalised.startsWith(prefix) && normalised.endsWith(suffix)) return true;
    }
    return false;
  }
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
