/**
 * Where definitions live in the key-value store, and the one place that reads and writes them.
 *
 * Key layout (see docs/storage.md):
 * - `api:<id>`: one MCP proxy definition, JSON (a Tyk OAS document);
 * - `meta:apis-version`: a version stamp, rewritten after every definition write. Gateways compare
 *   it with the stamp of their cached routing table on each request and reload when it differs.
 */
import type { KeyValueStore } from "../stores/types.ts";
import { validateDefinition, type McpDefinition } from "./schema.ts";

export const API_PREFIX = "api:";
export const APIS_VERSION_KEY = "meta:apis-version";

/** The API id of a definition (`x-tyk-api-gateway.info.id`). */
export function apiIdOf(definition: McpDefinition): string | undefined {
  return definition["x-tyk-api-gateway"].info.id;
}

/** A fresh version stamp: time-ordered and unique enough for concurrent writers. */
export function newStamp(): string {
  return `${Date.now().toString(36)}-${crypto.randomUUID()}`;
}

export class DefinitionRepository {
  private readonly store: KeyValueStore;

  constructor(store: KeyValueStore) {
    this.store = store;
  }

  /** The current version stamp, `null` when nothing was ever written. */
  version(): Promise<string | null> {
    return this.store.get(APIS_VERSION_KEY);
  }

  /**
   * Every stored definition that passes validation. A stored document that no longer validates is
   * skipped and reported through `onInvalid`, so one bad write cannot take every proxy down.
   */
  async all(onInvalid: (key: string, issues: string[]) => void = () => {}): Promise<McpDefinition[]> {
    const keys = await this.store.list(API_PREFIX);
    const raws = await Promise.all(keys.map((key) => this.store.get(key)));
    const out: McpDefinition[] = [];
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
      if (result.ok) out.push(result.definition);
      else onInvalid(key, result.issues);
    });
    return out;
  }

  async get(id: string): Promise<McpDefinition | null> {
    const raw = await this.store.get(API_PREFIX + id);
    if (raw === null) return null;
    const result = validateDefinition(JSON.parse(raw));
    return result.ok ? result.definition : null;
  }

  /** Writes a definition (its id must be set) and bumps the version stamp. */
  async put(definition: McpDefinition): Promise<void> {
    const id = apiIdOf(definition);
    if (!id) throw new Error("definition has no x-tyk-api-gateway.info.id");
    await this.store.put(API_PREFIX + id, JSON.stringify(definition));
    await this.store.put(APIS_VERSION_KEY, newStamp());
  }

  async delete(id: string): Promise<void> {
    await this.store.delete(API_PREFIX + id);
    await this.store.put(APIS_VERSION_KEY, newStamp());
  }
}
