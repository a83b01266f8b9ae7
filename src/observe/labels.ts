/**
 * Bounded label values: a client that calls thousands of made-up tool names, or sends made-up
 * methods, cannot grow the metrics' series (or the analytics' rows) without limit. Pure.
 *
 * - `mcp_method`: the methods of the MCP specification (and `""` for a client's response); any
 *   other is {@link OTHER}.
 * - `mcp_primitive_name`: a name this API knows: its definition's `mcpTools`/`mcpResources`/
 *   `mcpPrompts` keys, the plain names its policies' `mcp_access_rights` list, and what its upstream
 *   lists (its `tools/list`, `resources/list`, `resources/templates/list` and `prompts/list` answers
 *   to clients, read by the record step, and the catalog the dashboard reads, `catalog.ts`). A
 *   resource URI that matches a listed template counts as the template.
 *   Any other name is {@link OTHER}, and so is every name past {@link MAX_NAMES} of one API.
 * - Anything else that comes from outside (a session alias, a JWT subject): the first
 *   `cap` distinct values (default {@link MAX_VALUES}), then {@link OTHER}.
 */
import type { PrimitiveType } from "../mcp/jsonrpc.ts";

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
