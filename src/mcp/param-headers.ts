/**
 * `Mcp-Param-{Name}` headers (MCP 2026-07-28, SEP-2243): a tool's schema may mark arguments with
 * `x-mcp-header: "<Name>"`, and a client then mirrors each such argument of a `tools/call` into the
 * header `Mcp-Param-<Name>`. Pure.
 *
 * The gateway learns which arguments a tool mirrors from the `tools/list` answers that pass
 * through it on 2026-07-28 ({@link ToolHeaders.learn}), per API and per isolate or process, and
 * checks a call against what it learnt ({@link ToolHeaders.check}): an argument present in the body
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

  /** Learns (or forgets) the annotations of every tool in one page of a `tools/list` result. */
  learn(result: Record<string, unknown>): void {
    const tools = result.tools;
    if (!Array.isArray(tools)) return;
    for (const tool of tools) {
      if (!isObject(tool) || typeof tool.name !== "string") continue;
      const mirrored = mirroredArguments(tool.inputSchema);
      this.#tools.delete(tool.name);
      if (mirrored === undefined || mirrored.length === 0) continue;
      if (this.#tools.size >= MAX_TOOLS) this.#tools.delete(this.#tools.keys().next().value as string);
      this.#tools.set(tool.name, mirrored);
    }
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
