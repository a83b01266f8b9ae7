/**
 * A {@link KeyValueStore} that remembers its own writes over an eventually consistent one.
 *
 * Used by the Workers admin Durable Object over Workers KV: every admin write goes through that one
 * object, so the values it wrote (and the keys it deleted) are the newest there are. Reads and
 * listings answer from those first and fall back to KV for everything else (definitions written by
 * seeding, or before the object last restarted), so an admin read never misses an admin write that
 * KV has not yet made visible.
 */
import type { KeyValueStore } from "./types.ts";

export class OverlayStore implements KeyValueStore {
  readonly #base: KeyValueStore;
  /** key → value written, or `null` for a key deleted. */
  readonly #written = new Map<string, string | null>();

  constructor(base: KeyValueStore) {
    this.#base = base;
  }

  async get(key: string): Promise<string | null> {
    const own = this.#written.get(key);
    return own !== undefined ? own : this.#base.get(key);
  }

  async put(key: string, value: string): Promise<void> {
    await this.#base.put(key, value);
    this.#written.set(key, value);
  }

  async delete(key: string): Promise<void> {
    await this.#base.delete(key);
    this.#written.set(key, null);
  }

  async list(prefix: string): Promise<string[]> {
    const keys = new Set(await this.#base.list(prefix));
    for (const [key, value] of this.#written) {
      if (!key.startsWith(prefix)) continue;
      if (value === null) keys.delete(key);
      else keys.add(key);
    }
    return [...keys].sort();
  }
}
