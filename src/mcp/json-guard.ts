/**
 * Structural checks on JSON text that `JSON.parse` cannot make, because it silently keeps the last
 * of two equal member names.
 *
 * A gateway and an upstream that read different members of the same message are a policy bypass:
 * `{"method":"tools/list","method":"tools/call"}` is `tools/call` to JavaScript and may be
 * `tools/list` to another parser; Go's `encoding/json` even matches member names without regard to
 * case, so `{"name":"safe","Name":"dangerous"}` reaches a Go server as `dangerous`. This scanner
 * rejects, in any object, a member name that appears twice, and in the objects whose members the
 * gateway reads (the message and its `params`, listed by path), two names that differ only in case.
 *
 * Written by hand: no JSON library reports duplicate names. The common case is made cheap:
 * {@link isUnambiguous} counts the member names in the text (one pass, no allocation) and the keys
 * `JSON.parse` kept; they differ exactly when a name was repeated, and only then (or for a deep or
 * case-colliding message) does {@link findAmbiguousMember} run to say which name it was.
 */

/** What {@link findAmbiguousMember} found wrong, or `undefined` when the text is unambiguous. */
export interface AmbiguousMember {
  /** Dotted path of the object holding the member, `""` for the top level. */
  path: string;
  /** The member name as written (escapes decoded). */
  name: string;
  reason: "duplicate" | "case-duplicate" | "too-deep";
}

/** Default nesting limit: deeper documents are refused rather than risk a stack overflow. */
export const MAX_JSON_DEPTH = 256;

interface Frame {
  isObject: boolean;
  names: Set<string> | undefined;
  folded: Set<string> | undefined;
  path: string;
  /** The name of the member whose value is being read (objects only). */
  pendingName: string | undefined;
}

/**
 * Scans JSON text that is already known to be valid and reports the first duplicate member.
 *
 * @param text valid JSON text
 * @param caseFoldPaths object paths (`""` = top level, `"params"`, `"params.ref"`) where two names
 *   equal without regard to case are also refused
 * @param maxDepth nesting limit (default {@link MAX_JSON_DEPTH})
 */
export function findAmbiguousMember(
  text: string,
  caseFoldPaths: ReadonlySet<string>,
  maxDepth = MAX_JSON_DEPTH,
): AmbiguousMember | undefined {
  const stack: Frame[] = [];
  let expectName = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const ch = text.charCodeAt(i);
    switch (ch) {
      case 0x7b: {
        // {
        const parent = stack[stack.length - 1];
        const path = childPath(parent, stack.length);
        if (stack.length >= maxDepth) return { path, name: "", reason: "too-deep" };
        stack.push({
          isObject: true,
          names: undefined,
          folded: caseFoldPaths.has(path) ? new Set() : undefined,
          path,
          pendingName: undefined,
        });
        expectName = true;
        break;
      }
      case 0x5b: {
        // [
        const parent = stack[stack.length - 1];
        if (stack.length >= maxDepth) return { path: childPath(parent, stack.length), name: "", reason: "too-deep" };
        stack.push({ isObject: false, names: undefined, folded: undefined, path: "[]", pendingName: undefined });
        expectName = false;
        break;
      }
      case 0x7d /* } */:
      case 0x5d /* ] */:
        stack.pop();
        expectName = false;
        break;
      case 0x2c: {
        // ,
        const top = stack[stack.length - 1];
        expectName = top?.isObject === true;
        break;
      }
      case 0x22: {
        // "
        // Find the end of the string, noting whether it has escapes.
        let j = i + 1;
        let escaped = false;
        for (; j < n; j++) {
          const c = text.charCodeAt(j);
          if (c === 0x5c /* \ */) {
            escaped = true;
            j++;
          } else if (c === 0x22) break;
        }
        if (expectName) {
          const top = stack[stack.length - 1]!;
          const raw = text.slice(i + 1, j);
          const name = escaped ? (JSON.parse(`"${raw}"`) as string) : raw;
          top.names ??= new Set();
          const names = top.names;
          if (names.has(name)) return { path: top.path, name, reason: "duplicate" };
          names.add(name);
          if (top.folded) {
            const key = name.toLowerCase();
            if (top.folded.has(key)) return { path: top.path, name, reason: "case-duplicate" };
            top.folded.add(key);
          }
          top.pendingName = name;
          expectName = false;
        }
        i = j;
        break;
      }
      default:
        break;
    }
  }
  return undefined;
}

function childPath(parent: Frame | undefined, depth: number): string {
  if (depth === 0 || parent === undefined) return "";
  if (!parent.isObject) return "[]";
  const name = parent.pendingName ?? "";
  return parent.path === "" ? name : `${parent.path}.${name}`;
}

/**
 * The number of member names in valid JSON text, or -1 when it nests deeper than `maxDepth` (at
 * most 31). One pass, no allocation.
 */
function countNames(text: string, maxDepth: number): number {
  let names = 0;
  let depth = 0;
  let expectName = false;
  const n = text.length;
  // Whether each open container is an object, as bits (maxDepth ≤ 31 keeps them exact).
  let objects = 0;
  for (let i = 0; i < n; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      let j = i + 1;
      for (; j < n; j++) {
        const c = text.charCodeAt(j);
        if (c === 0x5c) j++;
        else if (c === 0x22) break;
      }
      if (expectName) {
        names++;
        expectName = false;
      }
      i = j;
    } else if (ch === 0x7b /* { */) {
      if (++depth > maxDepth) return -1;
      objects |= 1 << (depth - 1);
      expectName = true;
    } else if (ch === 0x5b /* [ */) {
      if (++depth > maxDepth) return -1;
      objects &= ~(1 << (depth - 1));
      expectName = false;
    } else if (ch === 0x7d || ch === 0x5d) {
      depth--;
      expectName = false;
    } else if (ch === 0x2c /* , */) {
      expectName = depth > 0 && (objects & (1 << (depth - 1))) !== 0;
    }
  }
  return names;
}

/** The number of object keys in a parsed JSON value (all levels). */
export function countKeys(value: unknown): number {
  if (value === null || typeof value !== "object") return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (const item of value) count += countKeys(item);
    return count;
  }
  for (const key in value as Record<string, unknown>) {
    count += 1 + countKeys((value as Record<string, unknown>)[key]);
  }
  return count;
}

/** Whether a name has no ASCII capital (`A`–`Z`); a name with other cased letters is left to the full check. */
function isLowerAscii(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a) || c > 0x7f) return false;
  }
  return true;
}

/**
 * Whether an object's keys are all lower-case ASCII (so no two can differ only in case: equal
 * names were already counted), else whether its keys fold to distinct names.
 */
function foldsApart(obj: unknown): boolean {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj) || hasLowerAsciiKeys(obj)) return true;
  const keys = Object.keys(obj);
  return new Set(keys.map((k) => k.toLowerCase())).size === keys.length;
}

/** Whether every key of `obj` (an object, or nothing) is lower-case ASCII. */
export function hasLowerAsciiKeys(obj: unknown): boolean {
  if (obj === null || typeof obj !== "object") return true;
  for (const key in obj) if (!isLowerAscii(key)) return false;
  return true;
}

/**
 * Whether valid JSON text, already parsed to `value`, repeats no member name anywhere, has no two
 * names differing only in case in the objects at `caseFoldPaths` (for a message: its top level,
 * `params` and `params.ref`), and nests no deeper than `maxDepth`. When this is false,
 * {@link findAmbiguousMember} says what is wrong.
 */
export function isUnambiguous(text: string, value: unknown, maxDepth = MAX_JSON_DEPTH): boolean {
  // Deeper than 31 (the bits tracked) is left to the full scan, which also enforces maxDepth.
  const names = countNames(text, Math.min(maxDepth, 31));
  if (names < 0 || names !== countKeys(value)) return false;
  const message = value as Record<string, unknown>;
  const params = message?.params as Record<string, unknown> | undefined;
  return foldsApart(message) && foldsApart(params) && foldsApart(params?.ref);
}
