/**
 * Browser origins: which `Origin` may call an API. Pure.
 *
 * Allowed: the origins an API lists (`middleware.global.cors.allowedOrigins`: `*` allows any; an
 * entry may hold one `*` for any run of characters, as Tyk's do: `https://*.example.com`); without
 * a list, the origins the gateway is known by (`GATEWAY_PUBLIC_ORIGINS`, the API's custom domain),
 * or a loopback origin when the request itself came to a loopback host (a local tool such as the
 * MCP Inspector; a rebinding attack shows its own, non-loopback origin).
 */

/**
 * An `allowedOrigins` entry or an `Origin` value as compared: trimmed, lower case, no trailing
 * slash. The definition's validator and the Origin check both read entries through it, so a rule
 * about `"*"` holds for every spelling the Origin check takes as `"*"`.
 */
export function normaliseOrigin(origin: string): string {
  return origin.trim().toLowerCase().replace(/\/+$/, "");
}

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

/** The rule for a list of allowed origins (`allowedOrigins`). */
export function originRule(entries: readonly string[]): OriginRule {
  const list = new Set<string>();
  const wildcards: { prefix: string; suffix: string }[] = [];
  for (const entry of entries) {
    const origin = normaliseOrigin(entry);
    const star = origin.indexOf("*");
    if (origin === "*" || star === -1) list.add(origin);
    else wildcards.push({ prefix: origin.slice(0, star), suffix: origin.slice(star + 1) });
  }
  return { any: list.has("*"), list, wildcards };
}

/** The loopback host names a local server answers to (the MCP SDKs' `localhostHostValidation`). */
export const LOOPBACK_HOSTS: readonly string[] = ["localhost", "127.0.0.1", "[::1]"];

const LOOPBACK = new Set([...LOOPBACK_HOSTS, "::1"]);

/** Whether a host name (no port; IPv6 in brackets or bare) is a loopback name or address. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.endsWith(".localhost") || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The host name of a `Host` value, lower case, without its port (`[::1]:8787` → `[::1]`). */
export function hostName(host: string): string {
  const lower = host.toLowerCase();
  if (lower.startsWith("[")) return lower.slice(0, lower.indexOf("]") + 1);
  const colon = lower.indexOf(":");
  return colon === -1 ? lower : lower.slice(0, colon);
}

/**
 * Whether `origin` may call an API reached at `requestHost` (a Host header value the host check has
 * already accepted).
 *
 * @param rule the API's own list (`allowedOrigins`); without one, the default rule: an origin this
 *   gateway is known by (`trusted`: `GATEWAY_PUBLIC_ORIGINS` and the API's custom domain), or a
 *   loopback origin calling a gateway reached on a loopback host (a local tool). Never "the same
 *   host as the request": the client chooses its Host.
 */
export function originAllowed(
  origin: string,
  requestHost: string,
  rule: OriginRule | undefined,
  trusted: ReadonlySet<string> = NONE,
): boolean {
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
  if (url.protocol !== "http:" && url.protocol !== "https:") return false;
  if (trusted.has(url.origin)) return true;
  return isLoopback(url.hostname) && isLoopback(hostName(requestHost));
}

const NONE: ReadonlySet<string> = new Set();
