/**
 * `Mcp-Param-{Name}` headers (MCP 2026-07-28, SEP-2243): a tool's schema may mark arguments with
 * `x-mcp-header: "<Name>"`, and a client then mirrors each such argument of a `tools/call` into the
 * header `Mcp-Param-<Name>`. Pure.
 *
 * The gateway learns which arguments a tool mirrors from the `tools/list` answers that pass
 * through it on 2026-07-28 ({@link ToolHeaders.learn}), per API, shares what it learnt through the
 * store ({@link ToolHeaderBook}: an isolate that never saw the list reads what another learnt), and
 * checks a call against it ({@link ToolHeaders.check}): an argument present in the body
 * (not `null`) needs its header, with the same value once decoded (strings exactly, integers as
 * numbers, booleans as `true`/`false`), and a header without its argument in the body disagrees
 * with it. A tool the gateway has not seen listed is not checked (its upstream still is bound to);
 * headers no schema names pass untouched, as intermediaries must pass them.
 *
 * Only annotations the specification allows are learnt: a token for a name (RFC 9110 `tchar`s),
 * reachable from the schema's root through `properties` alone, on a `string`, `integer` or
 * `boolean`; names unique without regard to case. A tool with any other is one a client must not
 * call with headers (it drops it from its list): the gateway learns nothing of it.
 */
import type { KeyValueStore } from "../stores/types.ts";
import { toolHeadersKey } from "../stores/layout.ts";

/** One mirrored argument: its header (lower case), where it sits in `arguments`, and its type. */
interface Mirrored {
  header: string;
  display: string;
  path: readonly string[];
  type: "string" | "integer" | "boolean";
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** How many tools' annotations an API keeps (the oldest are forgotten first past it). */
const MAX_TOOLS = 4096;
/** How deep `properties` chains are followed. */
const MAX_DEPTH = 8;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The mirrored arguments of one input schema; `undefined` when an annotation is not one the spec allows. */
export function mirroredArguments(schema: unknown): Mirrored[] | undefined {
  const out: Mirrored[] = [];
  const seen = new Set<string>();
  const walk = (node: Record<string, unknown>, path: string[]): boolean => {
    const properties = node.properties;
    if (!isObject(properties)) return true;
    for (const [key, child] of Object.entries(properties)) {
      if (!isObject(child)) continue;
      const annotation = child["x-mcp-header"];
      if (annotation !== undefined) {
        const type = child.type;
        if (typeof annotation !== "string" || !TOKEN.test(annotation)) return false;
        if (type !== "string" && type !== "integer" && type !== "boolean") return false;
        const header = `mcp-param-${annotation.toLowerCase()}`;
        if (seen.has(header)) return false;
        seen.add(header);
        out.push({ header, display: `Mcp-Param-${annotation}`, path: [...path, key], type });
      }
      if (path.length < MAX_DEPTH && !walk(child, [...path, key])) return false;
    }
    return true;
  };
  return isObject(schema) && walk(schema, []) ? out : undefined;
}

function isMirrored(value: unknown): value is Mirrored {
  if (!isObject(value)) return false;
  const { header, display, path, type } = value;
  return (
    typeof header === "string" &&
    header.startsWith("mcp-param-") &&
    TOKEN.test(header) &&
    typeof display === "string" &&
    display.toLowerCase() === header &&
    Array.isArray(path) &&
    path.length > 0 &&
    path.length <= MAX_DEPTH + 1 &&
    path.every((key) => typeof key === "string") &&
    (type === "string" || type === "integer" || type === "boolean")
  );
}

function valueAt(args: unknown, path: readonly string[]): unknown {
  let node = args;
  for (const key of path) {
    if (!isObject(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  return node;
}

/** Whether a decoded header value says the same as the body's value of that type. */
function agrees(type: Mirrored["type"], header: string, body: unknown): boolean {
  switch (type) {
    case "string":
      return typeof body === "string" && header === body;
    case "boolean":
      return typeof body === "boolean" && header === String(body);
    case "integer": {
      if (typeof body !== "number" || header.trim() === "") return false;
      return Number(header) === body;
    }
  }
}

/** What the `x-mcp-header` annotations of an API's tools are, as learnt from its `tools/list` answers. */
export class ToolHeaders {
  readonly #tools = new Map<string, readonly Mirrored[]>();

  /** The number of tools with mirrored arguments known. */
  get size(): number {
    return this.#tools.size;
  }

  /** Whether `tool`'s annotations are known. */
  has(tool: string): boolean {
    return this.#tools.has(tool);
  }

  /** Learns (or forgets) the annotations of every tool in one page of a `tools/list` result; whether anything changed. */
  learn(result: Record<string, unknown>): boolean {
    const tools = result.tools;
    if (!Array.isArray(tools)) return false;
    let changed = false;
    for (const tool of tools) {
      if (!isObject(tool) || typeof tool.name !== "string") continue;
      const mirrored = mirroredArguments(tool.inputSchema);
      const known = this.#tools.get(tool.name);
      const next = mirrored === undefined || mirrored.length === 0 ? undefined : mirrored;
      if (known === undefined ? next === undefined : next !== undefined && JSON.stringify(known) === JSON.stringify(next)) continue;
      changed = true;
      this.#set(tool.name, next);
    }
    return changed;
  }

  /** What is known, as the store keeps it: `{ <tool>: [{ header, display, path, type }, …] }`. */
  toJSON(): Record<string, readonly Mirrored[]> {
    return Object.fromEntries(this.#tools);
  }

  /**
   * Takes in what another isolate or process stored ({@link toJSON}'s form), for the tools this one
   * has not learnt itself since. Entries that are not of that form are passed over.
   */
  merge(stored: unknown, except: ReadonlySet<string> = new Set()): void {
    if (!isObject(stored)) return;
    for (const [name, entries] of Object.entries(stored)) {
      if (except.has(name) || !Array.isArray(entries)) continue;
      const mirrored = entries.filter(isMirrored);
      if (mirrored.length === entries.length) this.#set(name, mirrored.length === 0 ? undefined : mirrored);
    }
  }

  #set(tool: string, mirrored: readonly Mirrored[] | undefined): void {
    this.#tools.delete(tool);
    if (mirrored === undefined) return;
    if (this.#tools.size >= MAX_TOOLS) this.#tools.delete(this.#tools.keys().next().value as string);
    this.#tools.set(tool, mirrored);
  }

  /**
   * Checks a call of `tool` with `args` against its `Mcp-Param-*` headers.
   *
   * @param decode reads a header value (Base64 sentinel), throwing for characters a value may not carry
   * @param mismatch the error for a header that disagrees with the body
   */
  check(
    headers: Readonly<Record<string, string>>,
    tool: string,
    args: unknown,
    decode: (name: string, value: string) => string,
    mismatch: (message: string) => Error,
  ): void {
    const mirrored = this.#tools.get(tool);
    if (mirrored === undefined) return;
    for (const { header, display, path, type } of mirrored) {
      const raw = headers[header];
      const body = valueAt(args, path);
      const argument = path.join(".");
      if (body === undefined || body === null) {
        if (raw !== undefined) throw mismatch(`${display} is sent but the body's arguments carry no ${argument}`);
        continue;
      }
      if (raw === undefined) throw mismatch(`${display} is required: the body's arguments carry ${argument}`);
      if (!agrees(type, decode(display, raw), body)) throw mismatch(`${display} does not match the body's ${argument}`);
    }
  }
}

/** How long an isolate trusts what it read of an API's annotations before a call of a tool it does not know reads them again (ms). */
export const TOOL_HEADERS_MAX_AGE_MS = 10_000;

interface BookEntry {
  headers: ToolHeaders;
  /** When the store was last read for this API (ms), `-Infinity` before. */
  readAt: number;
  /** The tools this isolate learnt from answers since its last read (they win over the store's). */
  learnt: Set<string>;
}

/**
 * Every API's {@link ToolHeaders}, kept per isolate or process and shared through the store
 * (`toolHeadersKey`), so that a `tools/call` is checked wherever it lands, also on an isolate that
 * never saw the tool listed. It outlives routing tables: a definition's reload forgets nothing.
 *
 * Reading: a 2026-07-28 `tools/call` of a tool this isolate does not know reads the API's entry
 * ({@link prepare}) at most once per `maxAgeMs`; calls of known tools never wait. Writing: a
 * `tools/list` answer that changes what is known writes the API's entry after the answer
 * ({@link learn}, through `waitUntil`), merged with what the store holds. Two writers racing lose
 * at most one page until the next listing; the upstream checks the headers too.
 */
export class ToolHeaderBook {
  readonly #store: KeyValueStore;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #log: (message: string, detail?: unknown) => void;
  readonly #apis = new Map<string, BookEntry>();

  constructor(
    store: KeyValueStore,
    options: { maxAgeMs?: number; now?: () => number; log?: (message: string, detail?: unknown) => void } = {},
  ) {
    this.#store = store;
    this.#maxAgeMs = options.maxAgeMs ?? TOOL_HEADERS_MAX_AGE_MS;
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? (() => {});
  }

  /** What is known of `apiId`'s tools. */
  headers(apiId: string): ToolHeaders {
    return this.#entry(apiId).headers;
  }

  /**
   * Ready to check a call of `tool`: nothing to wait for when the tool is known or the store was read
   * within the max age; else a read of the store. A store that cannot be read leaves the tool
   * unchecked here (its upstream checks it): logged, never a refusal of an otherwise good call.
   */
  prepare(apiId: string, tool: string): void | Promise<void> {
    const entry = this.#entry(apiId);
    if (entry.headers.has(tool) || this.#now() - entry.readAt < this.#maxAgeMs) return;
    // Each request that needs the entry reads it (a read in flight is never shared: on Workers a
    // promise belongs to its request); what it read is.
    return this.#read(apiId, entry).then(
      () => {},
      (error) => {
        entry.readAt = this.#now();
        this.#log(`the x-mcp-header annotations of ${apiId} could not be read`, String(error));
      },
    );
  }

  /** Learns a page of `apiId`'s `tools/list`; when it changed anything, the write to hand to `waitUntil`. */
  learn(apiId: string, result: Record<string, unknown>): Promise<void> | undefined {
    const entry = this.#entry(apiId);
    const tools = Array.isArray(result.tools) ? result.tools : [];
    if (!entry.headers.learn(result)) return undefined;
    for (const tool of tools) if (isObject(tool) && typeof tool.name === "string") entry.learnt.add(tool.name);
    return this.#write(apiId, entry).catch((error) =>
      this.#log(`the x-mcp-header annotations of ${apiId} could not be stored`, String(error)),
    );
  }

  async #read(apiId: string, entry: BookEntry): Promise<void> {
    const text = await this.#store.get(toolHeadersKey(apiId));
    entry.readAt = this.#now();
    if (text === null) return;
    let stored: unknown;
    try {
      stored = JSON.parse(text);
    } catch {
      return;
    }
    entry.headers.merge(stored, entry.learnt);
  }

  async #write(apiId: string, entry: BookEntry): Promise<void> {
    const key = toolHeadersKey(apiId);
    const before = await this.#store.get(key);
    let stored: unknown = {};
    try {
      if (before !== null) stored = JSON.parse(before);
    } catch {}
    entry.headers.merge(stored, entry.learnt);
    entry.readAt = this.#now();
    const text = JSON.stringify(entry.headers);
    if (text !== before) await this.#store.put(key, text);
  }

  #entry(apiId: string): BookEntry {
    let entry = this.#apis.get(apiId);
    if (entry === undefined) {
      entry = { headers: new ToolHeaders(), readAt: Number.NEGATIVE_INFINITY, learnt: new Set() };
      this.#apis.set(apiId, entry);
    }
    return entry;
  }
}
