/**
 * The one place that reads and writes API definitions in the key-value store (key names in
 * `stores/layout.ts`, described in docs/storage.md): `mcp:<id>` for an MCP proxy, `oas:<id>` for a
 * plain OAS API (proxied as plain HTTP, managed apart from MCP), and the `meta:apis-version` stamp,
 * rewritten after every write, which gateways compare with the stamp of their cached routing table.
 *
 * Every key is written whole by one writer: there is no index to read-modify-write. A listing is a
 * prefix list of the store.
 */
import { APIS_VERSION_KEY, type ApiKind, DEFINITION_PREFIX, definitionKey, newStamp, toolHeadersKey } from "../stores/layout.ts";
import type { KeyValueStore } from "../stores/types.ts";
import { type McpDefinition, validateDefinition } from "./schema.ts";

/** A stored definition with its kind and id. */
export interface StoredApi {
  kind: ApiKind;
  id: string;
  definition: McpDefinition;
}

/** API and policy ids: 1-128 letters, digits, `.`, `_`, `-`, and not `.` or `..` (safe as a store key and a path segment). */
export function isSafeId(id: string): boolean {
  return /^[A-Za-z0-9._-]{1,128}$/.test(id) && id !== "." && id !== "..";
}

/** The API id of a definition (`x-tyk-api-gateway.info.id`). */
export function apiIdOf(definition: McpDefinition): string | undefined {
  return definition["x-tyk-api-gateway"].info.id;
}

export class DefinitionRepository {
  readonly #store: KeyValueStore;

  constructor(store: KeyValueStore) {
    this.#store = store;
  }

  /** The current version stamp, `null` when nothing was ever written. */
  version(): Promise<string | null> {
    return this.#store.get(APIS_VERSION_KEY);
  }

  /**
   * Every stored definition that passes validation, MCP proxies first, each kind in id order. A
   * stored document that no longer validates is skipped and reported through `onInvalid`, so one
   * bad write cannot take every proxy down.
   */
  async all(onInvalid: (key: string, issues: string[]) => void = () => {}): Promise<StoredApi[]> {
    const out: StoredApi[] = [];
    for (const kind of ["mcp", "oas"] as const) {
      const prefix = DEFINITION_PREFIX[kind];
      const keys = await this.#store.list(prefix);
      const raws = await Promise.all(keys.map((key) => this.#store.get(key)));
      raws.forEach((raw, i) => {
        const key = keys[i]!;
        if (raw === null) return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(raw);
        } catch {
          onInvalid(key, ["not valid JSON"]);
          return;
        }
        const result = validateDefinition(parsed);
        if (result.ok) out.push({ kind, id: key.slice(prefix.length), definition: result.definition });
        else onInvalid(key, result.issues);
      });
    }
    return out;
  }

  /** Writes one definition (its `info.id` must be set). Call {@link touch} when a change is complete. */
  async write(kind: ApiKind, definition: McpDefinition): Promise<void> {
    const id = apiIdOf(definition);
    if (!id) throw new Error("definition has no x-tyk-api-gateway.info.id");
    await this.#store.put(definitionKey(kind, id), JSON.stringify(definition));
  }

  /** Removes one definition, and what the gateway learnt of its upstream. Call {@link touch} when a change is complete. */
  async remove(kind: ApiKind, id: string): Promise<void> {
    await this.#store.delete(definitionKey(kind, id));
    if (kind === "mcp") await this.#store.delete(toolHeadersKey(id)).catch(() => {});
  }

  /** Bumps the version stamp, so every gateway reloads its routing table on its next request. */
  touch(): Promise<void> {
    return this.#store.put(APIS_VERSION_KEY, newStamp());
  }

  /** Writes one definition and bumps the stamp. */
  async put(kind: ApiKind, definition: McpDefinition): Promise<void> {
    await this.write(kind, definition);
    await this.touch();
  }

  /** Removes one definition and bumps the stamp. */
  async delete(kind: ApiKind, id: string): Promise<void> {
    await this.remove(kind, id);
    await this.touch();
  }
}
