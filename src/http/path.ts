/**
 * The request path in one canonical form, made once before anything looks at it: the admin and
 * metadata endpoints, routing, and the URL forwarded upstream all read this form, so the gateway
 * decides on the path the upstream will read. Pure.
 *
 * Bun and workerd hand the gateway a request URL their WHATWG URL parsers have already normalised
 * (dot segments resolved, `%2e` forms included; `\` read as `/`); Deno hands it over as the client
 * sent it. The same rules applied to either give the same path, so a request is routed, refused or
 * forwarded alike on every runtime:
 *
 * 1. `\` is a `/`, as WHATWG reads it in an http(s) URL;
 * 2. percent-encoded unreserved characters (RFC 3986 §2.3: letters, digits, `-`, `.`, `_`, `~`) are
 *    decoded, and the hex digits of every other percent-encoding upper-cased (§6.2.2.1-2);
 * 3. dot segments are removed (§5.2.4 `remove_dot_segments`; `..` at the root stays at the root);
 * 4. refused: an encoded slash or backslash (`%2F`, `%5C`: one segment to the gateway, two to an
 *    upstream that decodes them), a malformed percent-encoding, a control character, and an empty
 *    segment (`//`), which upstreams route differently (merged by some, kept by others).
 */

export type PathResult = { ok: true; path: string } | { ok: false; problem: string };

const HEX = "0123456789ABCDEF";

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const upper = code & ~0x20;
  if (upper >= 0x41 && upper <= 0x46) return upper - 0x41 + 10;
  return -1;
}

/** Whether a character code is one of RFC 3986's unreserved characters (ALPHA / DIGIT / `-._~`). */
export function isUnreserved(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) ||
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x61 && code <= 0x7a) ||
    code === 0x2d ||
    code === 0x2e ||
    code === 0x5f ||
    code === 0x7e
  );
}

/**
 * One segment with its percent-encoding normalised, or a problem. (`/` never occurs inside: the path
 * was split on it.)
 */
function segment(raw: string): string | { problem: string } {
  // The common case: nothing to decode, nothing to refuse.
  let plain = true;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25 || c < 0x20 || c === 0x7f) {
      plain = false;
      break;
    }
  }
  if (plain) return raw;
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return { problem: "a control character" };
    if (c !== 0x25) {
      out += raw[i];
      continue;
    }
    const high = hexValue(raw.charCodeAt(i + 1));
    const low = hexValue(raw.charCodeAt(i + 2));
    if (high < 0 || low < 0) return { problem: "a malformed percent-encoding" };
    const byte = high * 16 + low;
    if (byte === 0x2f) return { problem: "an encoded slash (%2F)" };
    if (byte === 0x5c) return { problem: "an encoded backslash (%5C)" };
    if (byte < 0x20 || byte === 0x7f) return { problem: "an encoded control character" };
    out += isUnreserved(byte) ? String.fromCharCode(byte) : `%${HEX[high]}${HEX[low]}`;
    i += 2;
  }
  return out;
}

/**
 * The canonical form of a request path (the URL's path, from its first `/` to before `?` or `#`).
 * Already canonical paths (nearly every request) come back as they are.
 */
export function normalisePath(raw: string): PathResult {
  if (isPlain(raw)) return { ok: true, path: raw };
  const slashed = raw.includes("\\") ? raw.replaceAll("\\", "/") : raw;
  const parts = slashed.split("/");
  const out: string[] = [];
  const last = parts.length - 1;
  // parts[0] is the empty string before the leading slash.
  for (let i = 1; i <= last; i++) {
    const value = segment(parts[i]!);
    if (typeof value !== "string") return { ok: false, problem: value.problem };
    if (value === ".") {
      if (i === last) out.push("");
      continue;
    }
    if (value === "..") {
      out.pop();
      if (i === last) out.push("");
      continue;
    }
    if (value === "" && i !== last) return { ok: false, problem: "an empty path segment (//)" };
    out.push(value);
  }
  return { ok: true, path: `/${out.join("/")}` };
}

/**
 * Whether a path is canonical as it stands (nearly every request): no `%`, `\\` or control
 * character, no empty segment and no segment starting with a dot. One pass, no allocation.
 */
function isPlain(path: string): boolean {
  let previous = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x25 || c === 0x5c || c < 0x20 || c === 0x7f) return false;
    // "//" anywhere, or "/." (a dot segment, or a segment that merely starts with a dot: the slow path decides).
    if (previous === 0x2f && (c === 0x2f || c === 0x2e)) return false;
    previous = c;
  }
  return path.charCodeAt(0) === 0x2f;
}

/** The path of a request URL (`http://host/a/b?q` → `/a/b`), as the runtime gave it. */
export function pathOfUrl(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  let end = url.length;
  for (let i = start; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 0x3f || c === 0x23) {
      end = i;
      break;
    }
  }
  return url.slice(start, end);
}

/**
 * Why a path written in configuration (a listen path, an upstream URL's path) is not in canonical
 * form, or `undefined` when it is: a configured path is compared with canonical request paths, so it
 * may hold no dot segment, no percent-encoding, no backslash and no empty segment (a trailing slash
 * aside).
 */
export function configuredPathProblem(path: string): string | undefined {
  if (path.includes("%")) return "percent-encoded characters";
  if (path.includes("\\")) return "a backslash";
  const segments = path.split("/").slice(1);
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment === "." || segment === "..") return "a dot segment";
    if (segment === "" && i !== segments.length - 1) return "an empty segment (//)";
  }
  return undefined;
}

/** The path of an absolute URL as written (before the URL parser resolves anything), or `undefined`. */
export function writtenPathOf(url: string): string | undefined {
  const match = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#\\]*([^?#]*)/.exec(url);
  return match ? match[1] : undefined;
}
