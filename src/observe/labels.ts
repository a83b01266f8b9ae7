/**
 * Bounded label values: a client that calls thousands of made-up tool names, or sends made-up
 * methods, cannot grow the metrics' series (or the analytics' rows) without limit. Pure.
 *
 * - `mcp_method`: the methods of the MCP specification (and `""` for a client's response); any
 *   other is {@link OTHER}.
 * - `mcp_primitive_name`: a name this API knows: its definition's `mcpTools`/`mcpResources`/
 *   `mcpPrompts` keys, the plain names its policies' `mcp_access_rights` list, and what its upstream
 *   lists (its `tools/list`, `resources/list`, `resources/templates/list` and `prompts/list` answers
 *   to clients, read by the record step when {@link ListLearning} says so, and the catalog the
 *   dashboard reads, `catalog.ts`). A resource URI that matches a listed template counts as the
 *   template. Any other name is {@link OTHER}, and so is every name past {@link MAX_NAMES} of one API.
 * - Anything else that comes from outside (a session alias, a JWT subject): the first
 *   `cap` distinct values (default {@link MAX_VALUES}), then {@link OTHER}.
 */
import { listMethod, type PrimitiveType } from "../mcp/jsonrpc.ts";

/** The one value every unknown name is counted under. */
export const OTHER = "__other__";

/** At most this many names of one type per API. */
export const MAX_NAMES = 1000;
/** At most this many distinct values of an outside label (aliases, subjects). */
export const MAX_VALUES = 1000;

/** Every JSON-RPC method of MCP 2025-11-25 (and the 2026-07-28 revision's tasks). */
export const MCP_METHODS: ReadonlySet<string> = new Set([
  "",
  "initialize",
  "ping",
  "tools/list",
  "tools/call",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  "resources/subscribe",
  "resources/unsubscribe",
  "prompts/list",
  "prompts/get",
  "completion/complete",
  "logging/setLevel",
  "sampling/createMessage",
  "elicitation/create",
  "roots/list",
  "tasks/get",
  "tasks/result",
  "tasks/list",
  "tasks/cancel",
  "notifications/initialized",
  "notifications/cancelled",
  "notifications/progress",
  "notifications/message",
  "notifications/roots/list_changed",
  "notifications/tools/list_changed",
  "notifications/resources/list_changed",
  "notifications/resources/updated",
  "notifications/prompts/list_changed",
  "notifications/elicitation/complete",
  "notifications/tasks/status",
]);

/** A method as a label: itself when MCP has it, else {@link OTHER}. */
export function methodLabel(method: string): string {
  return MCP_METHODS.has(method) ? method : OTHER;
}

/** Outside values, the first `cap` distinct ones kept. */
export class BoundedValues {
  readonly #seen = new Set<string>();
  readonly #cap: number;
  constructor(cap = MAX_VALUES) {
    this.#cap = cap;
  }
  value(value: string): string {
    if (value === "" || this.#seen.has(value)) return value;
    if (this.#seen.size >= this.#cap) return OTHER;
    this.#seen.add(value);
    return value;
  }
}

/** What one API knows of its primitives. */
interface ApiNames {
  tool: Set<string>;
  resource: Set<string>;
  prompt: Set<string>;
  /** Resource templates, as patterns. */
  templates: { template: string; pattern: RegExp }[];
}

/** A resource template (`file:///{path}`) as a pattern of the URIs it stands for. */
function templatePattern(template: string): RegExp {
  const parts = template.split(/\{[^}]*\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join("[^/?#]+")}$`);
}

/** The names each API knows, by type. */
export class KnownNames {
  readonly #apis = new Map<string, ApiNames>();

  #of(apiId: string): ApiNames {
    let names = this.#apis.get(apiId);
    if (names === undefined) {
      names = { tool: new Set(), resource: new Set(), prompt: new Set(), templates: [] };
      this.#apis.set(apiId, names);
    }
    return names;
  }

  /** Adds names of `type` to what `apiId` knows (past {@link MAX_NAMES}, no more). */
  add(apiId: string, type: PrimitiveType, names: Iterable<string>): void {
    const set = this.#of(apiId)[type];
    for (const name of names) {
      if (set.size >= MAX_NAMES) break;
      set.add(name);
    }
  }

  /** Adds resource templates `apiId` knows. */
  addTemplates(apiId: string, templates: Iterable<string>): void {
    const known = this.#of(apiId).templates;
    for (const template of templates) {
      if (known.length >= MAX_NAMES) break;
      if (!known.some((t) => t.template === template)) known.push({ template, pattern: templatePattern(template) });
    }
  }

  /** Whether `apiId` can learn no more names of `type` (it has {@link MAX_NAMES}). */
  full(apiId: string, type: PrimitiveType): boolean {
    return (this.#apis.get(apiId)?.[type].size ?? 0) >= MAX_NAMES;
  }

  /** Whether `apiId` knows the name (or, for a resource, a template it matches). */
  knows(apiId: string, type: PrimitiveType, name: string): boolean {
    return this.label(apiId, type, name) !== OTHER;
  }

  /** The name as a label: itself when known, a resource's template when it matches one, else {@link OTHER}. */
  label(apiId: string, type: PrimitiveType | "", name: string): string {
    if (type === "" || name === "") return name;
    const names = this.#apis.get(apiId);
    if (names === undefined) return OTHER;
    if (names[type].has(name)) return name;
    if (type === "resource") {
      for (const { template, pattern } of names.templates) if (pattern.test(name)) return template;
    }
    return OTHER;
  }

  /** Forgets what the upstream said of `apiId` (the definition's and policies' names are added again). */
  reset(apiId: string): void {
    this.#apis.delete(apiId);
  }
}

/**
 * How long what one list answer taught is trusted (ms): a page of an API's list (its method and
 * cursor) is read again, on its next answer, once this long has passed.
 */
export const LIST_RELEARN_MS = 60_000;
/** How soon (ms) a page is read again once a call has named a primitive of its type that the API does not know. */
export const LIST_RELEARN_UNKNOWN_MS = 5_000;
/** At most this many pages (method and cursor) of one API remembered; past it, pages not read for {@link LIST_RELEARN_MS} are forgotten. */
export const MAX_LIST_PAGES = 64;

/**
 * Which list answers are read for names. Reading one (a copy of its body, decoded and parsed again
 * off the response path) costs about what passing it on does, so a page is read when this process
 * or isolate has not read it for {@link LIST_RELEARN_MS}, or for {@link LIST_RELEARN_UNKNOWN_MS}
 * once a call has named a primitive of its type that the API does not know; every other list
 * answer passes untouched. Per API, per page (method and cursor); time is handed in (Unix ms).
 */
export class ListLearning {
  readonly #apis = new Map<string, { read: Map<string, number>; unknown: Set<PrimitiveType> }>();

  /**
   * Whether the answer to a list request should be read for names now; when it should, the page
   * counts as read from `now` on (one answer read per page and interval, whether it teaches or not).
   */
  claim(apiId: string, method: string, cursor: string, now: number): boolean {
    const type = listMethod(method)?.type;
    if (type === undefined) return false;
    let api = this.#apis.get(apiId);
    if (api === undefined) {
      api = { read: new Map(), unknown: new Set() };
      this.#apis.set(apiId, api);
    }
    // A long cursor is known by its ends and length (a page key stays small).
    const page = `${method}\u0000${cursor.length <= 512 ? cursor : `${cursor.slice(0, 256)}${cursor.length}${cursor.slice(-256)}`}`;
    const last = api.read.get(page);
    const wanted = api.unknown.has(type);
    if (last !== undefined && now - last < (wanted ? LIST_RELEARN_UNKNOWN_MS : LIST_RELEARN_MS)) return false;
    if (last === undefined && api.read.size >= MAX_LIST_PAGES) {
      for (const [key, at] of api.read) if (now - at >= LIST_RELEARN_MS) api.read.delete(key);
      if (api.read.size >= MAX_LIST_PAGES) return false;
    }
    api.read.set(page, now);
    api.unknown.delete(type);
    return true;
  }

  /** A call named a primitive of `type` that `apiId` does not know: its lists are read again sooner. */
  unknown(apiId: string, type: PrimitiveType): void {
    this.#apis.get(apiId)?.unknown.add(type);
  }
}
