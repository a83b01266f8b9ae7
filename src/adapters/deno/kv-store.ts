/**
 * A {@link KeyValueStore} over Deno KV. Typed structurally (the few methods used). Keys are stored
 * as `["gateway", key]`; `list` reads the key range of a prefix.
 */
import type { KeyValueStore } from "../../stores/types.ts";

type KvKey = readonly unknown[];

/** The part of `Deno.Kv` this store uses. */
export interface DenoKvLike {
  get<T>(key: KvKey): Promise<{ value: T | null }>;
  set(key: KvKey, value: unknown): Promise<unknown>;
  delete(key: KvKey): Promise<void>;
  list<T>(selector: { start: KvKey; end: KvKey }): AsyncIterable<{ key: KvKey; value: T }>;
}

const ROOT = "gateway";

export class DenoKvStore implements KeyValueStore {
  readonly #kv: DenoKvLike;

  constructor(kv: DenoKvLike) {
    this.#kv = kv;
  }

  async get(key: string): Promise<string | null> {
    return (await this.#kv.get<string>([ROOT, key])).value;
  }

  async put(key: string, value: string): Promise<void> {
    await this.#kv.set([ROOT, key], value);
  }

  delete(key: string): Promise<void> {
    return this.#kv.delete([ROOT, key]);
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const entry of this.#kv.list<string>({ start: [ROOT, prefix], end: [ROOT, `${prefix}\uffff`] })) {
      keys.push(entry.key[1] as string);
    }
    return keys;
  }
}
