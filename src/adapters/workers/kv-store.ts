/**
 * A {@link KeyValueStore} over a Workers KV namespace binding.
 *
 * Typed structurally (the few methods used), so the core never depends on Workers types. KV is
 * eventually consistent: a write is visible at once in the location that made it and within about
 * 60 seconds elsewhere (see docs/storage.md).
 */
import type { KeyValueStore } from "../../stores/types.ts";

/** The part of a Workers `KVNamespace` this store uses. */
export interface KvNamespaceLike {
  get(key: string, type: "text"): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  list(options: { prefix: string; cursor?: string }): Promise<{
    keys: { name: string }[];
    list_complete: boolean;
    cursor?: string;
  }>;
}

export class WorkersKvStore implements KeyValueStore {
  private readonly kv: KvNamespaceLike;

  constructor(kv: KvNamespaceLike) {
    this.kv = kv;
  }

  get(key: string): Promise<string | null> {
    return this.kv.get(key, "text");
  }

  put(key: string, value: string): Promise<void> {
    return this.kv.put(key, value);
  }

  delete(key: string): Promise<void> {
    return this.kv.delete(key);
  }

  async list(prefix: string): Promise<string[]> {
    const names: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await this.kv.list(cursor === undefined ? { prefix } : { prefix, cursor });
      for (const key of page.keys) names.push(key.name);
      if (page.list_complete || !page.cursor) break;
      cursor = page.cursor;
    }
    return names;
  }
}
