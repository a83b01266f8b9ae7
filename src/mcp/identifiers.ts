/**
 * Identifiers as the upstream will read them: the one form that authorization and discovery
 * filtering compare against patterns. Pure.
 *
 * An upstream does not compare a resource URI as a string: the official SDKs parse it (the
 * TypeScript SDK looks a resource up by `new URL(uri).href`), so `FILE:///secret`, ` file:///secret`,
 * `file:///sec\tret` and `file:///public/../secret` all reach the resource `file:///secret`. A
 * policy checked against the string as sent would let each of them past a rule that blocks it. So:
 *
 * - an identifier with a control character (Unicode `Cc`: C0, DEL, C1) anywhere, or with
 *   whitespace at either end, is refused: no parser agrees on what it names;
 * - tool and prompt names are otherwise exact: the SDKs compare them as strings;
 * - a resource URI must parse (WHATWG URL) and is compared in its canonical form (RFC 3986 §6.2.2):
 *   scheme and host in lower case, percent-encoded unreserved characters decoded and other
 *   percent-encodings in upper case, dot segments resolved, the fragment (never sent to a server's
 *   resource) dropped. The form merges every spelling a parsing upstream can merge, and more, so a
 *   rule on it holds for all of them;
 * - a URI template (`file:///{path}`: resource templates, completion references) cannot be parsed
 *   as a URL: its scheme is compared in lower case, the rest as written.
 */
import { isUnreserved } from "../http/path.ts";

export type Canonical = { ok: true; value: string } | { ok: false; problem: string };

const CONTROL = /\p{Cc}/u;
const SURROUNDING_SPACE = /^\s|\s$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

function unsafe(identifier: string): string | undefined {
  if (identifier === "") return "is empty";
  if (CONTROL.test(identifier)) return "contains a control character";
  if (SURROUNDING_SPACE.test(identifier)) return "has whitespace at its start or end";
  return undefined;
}

/** A tool or prompt name: exact, once it holds no control character and no surrounding whitespace. */
export function canonicalName(name: string): Canonical {
  const problem = unsafe(name);
  return problem === undefined ? { ok: true, value: name } : { ok: false, problem };
}

/** Percent-encodings normalised: unreserved characters decoded, the hex of the others upper-cased. */
function normalisePercent(text: string): string {
  if (!text.includes("%")) return text;
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_match, hex: string) => {
    const code = Number.parseInt(hex, 16);
    return isUnreserved(code) ? String.fromCharCode(code) : `%${hex.toUpperCase()}`;
  });
}

function parsed(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  url.hash = "";
  // WHATWG lower-cases the host of http(s), file, ws(s) and ftp URLs only; RFC 3986 says every host.
  if (url.hostname !== "" && url.hostname !== url.hostname.toLowerCase()) url.hostname = url.hostname.toLowerCase();
  return url.href;
}

/** A resource URI (or a URI template, when it holds `{`) in the form rules compare against. */
export function canonicalResource(uri: string): Canonical {
  const problem = unsafe(uri);
  if (problem !== undefined) return { ok: false, problem };
  const scheme = SCHEME.exec(uri)?.[0];
  if (scheme === undefined) return { ok: false, problem: "is not an absolute URI (it has no scheme)" };
  if (uri.includes("{")) return { ok: true, value: scheme.toLowerCase() + uri.slice(scheme.length) };
  const first = parsed(uri);
  if (first === undefined) return { ok: false, problem: "is not a URI that can be parsed" };
  // Decoding can make new dot segments (`%2E%2E`): parse once more, then the form is stable.
  const decoded = normalisePercent(first);
  const again = decoded === first ? first : parsed(decoded);
  if (again === undefined) return { ok: false, problem: "is not a URI that can be parsed" };
  return { ok: true, value: normalisePercent(again) };
}

/** The canonical form of a primitive's identifier: by URI for resources, exact for tools and prompts. */
export function canonicalIdentifier(type: "tool" | "resource" | "prompt", identifier: string): Canonical {
  return type === "resource" ? canonicalResource(identifier) : canonicalName(identifier);
}

/**
 * A per-primitive middleware map keyed by canonical identifiers (`mcp/identifiers.ts`), the form
 * the message's target is compared in. A key with no canonical form is kept as written: no call
 * can name it.
 */
export function canonicalKeys<T>(type: "tool" | "resource" | "prompt", entries: Record<string, T> | undefined): Map<string, T> {
  const out = new Map<string, T>();
  for (const [name, value] of Object.entries(entries ?? {})) {
    const canonical = canonicalIdentifier(type, name);
    out.set(canonical.ok ? canonical.value : name, value);
  }
  return out;
}
