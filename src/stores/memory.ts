/** An in-memory {@link KeyValueStore}: for tests and single-process runs. */
import type { KeyValueStore } from "./types.ts";

export class MemoryStore implements KeyValueStore {
  readonly #data = new Map<string, string>();

  async get(key: string): Promise<string | null> {
    return this.#data.get(key) ?? null;
  }

  async put(key: string, value: string): Promise<void> {
    this.#data.set(key, value);
  }

  async delete(key: string): Promise<void> {
    this.#data.delete(key);
  }

  async list(prefix: string): Promise<string[]> {
    return [...this.#data.keys()].filter((key) => key.startsWith(prefix)).sort();
  }
}
