/**
 * API keys: how they are made, hashed and stored. The key itself is never stored: it is shown once,
 * when created, and kept as `key:<sha256 hex>` (`stores/layout.ts`) holding the key's session. A
 * key is read on every request that presents it, so a revoked, expired or deactivated key stops
 * working on the next request.
 */
import * as v from "valibot";
import { type KeySession, KeySessionSchema } from "../policy/model.ts";
import { safeJson } from "../policy/store.ts";
import { API_KEY_PREFIX } from "../stores/layout.ts";
import type { KeyValueStore } from "../stores/types.ts";

/** SHA-256 of a key, lower-case hex: the only form in which keys are stored. */
export async function hashKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A new key: 32 random bytes, base64url (43 characters). */
export function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export const isKeyHash = (value: string) => /^[0-9a-f]{64}$/.test(value);

export class KeyRepository {
  readonly #store: KeyValueStore;
  constructor(store: KeyValueStore) {
    this.#store = store;
  }

  /** Hashes of every stored key. */
  async hashes(): Promise<string[]> {
    return (await this.#store.list(API_KEY_PREFIX)).map((k) => k.slice(API_KEY_PREFIX.length));
  }

  async get(hash: string): Promise<KeySession | null> {
    const raw = await this.#store.get(API_KEY_PREFIX + hash);
    if (raw === null) return null;
    const parsed = v.safeParse(KeySessionSchema, safeJson(raw));
    return parsed.success ? parsed.output : null;
  }

  put(hash: string, session: KeySession): Promise<void> {
    return this.#store.put(API_KEY_PREFIX + hash, JSON.stringify(session));
  }

  delete(hash: string): Promise<void> {
    return this.#store.delete(API_KEY_PREFIX + hash);
  }
}
