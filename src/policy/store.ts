/**
 * Where policies and keys live (see docs/storage.md):
 * - `policy:<id>`: one policy, JSON;
 * - `meta:policies-version`: a stamp rewritten after every policy write; gateways keep compiled
 *   policies per isolate and reload when it changes (see `src/stores/stamp.ts`);
 * - `key:<sha256 hex of the key>`: one key's session, JSON. The key itself is never stored: it is
 *   shown once, when created. A key is read on every request that presents it, so a revoked,
 *   expired or deactivated key stops working on the next request.
 */
import { newStamp } from "../definitions/repository.ts";
import { DEFAULT_STAMP_MAX_AGE_MS, StampWatch } from "../stores/stamp.ts";
import type { KeyValueStore } from "../stores/types.ts";
import { compileAccess, type CompiledAccess } from "./evaluate.ts";
import { KeySessionSchema, PolicySchema, type KeySession, type Policy } from "./model.ts";
import * as v from "valibot";
import type { ApiAccess } from "./types.ts";

export const POLICY_PREFIX = "policy:";
export const POLICIES_VERSION_KEY = "meta:policies-version";
export const KEY_PREFIX = "key:";

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

export class PolicyRepository {
  readonly #store: KeyValueStore;
  constructor(store: KeyValueStore) {
    this.#store = store;
  }

  version(): Promise<string | null> {
    return this.#store.get(POLICIES_VERSION_KEY);
  }

  async all(): Promise<Policy[]> {
    const keys = await this.#store.list(POLICY_PREFIX);
    const raws = await Promise.all(keys.map((k) => this.#store.get(k)));
    const out: Policy[] = [];
    raws.forEach((raw, i) => {
      if (raw === null) return;
      const parsed = v.safeParse(PolicySchema, safeJson(raw));
      if (parsed.success) out.push({ ...parsed.output, id: keys[i]!.slice(POLICY_PREFIX.length) });
    });
    return out;
  }

  async get(id: string): Promise<Policy | null> {
    const raw = await this.#store.get(POLICY_PREFIX + id);
    if (raw === null) return null;
    const parsed = v.safeParse(PolicySchema, safeJson(raw));
    return parsed.success ? { ...parsed.output, id } : null;
  }

  async put(id: string, policy: Policy): Promise<void> {
    await this.#store.put(POLICY_PREFIX + id, JSON.stringify({ ...policy, id }));
    await this.#store.put(POLICIES_VERSION_KEY, newStamp());
  }

  async delete(id: string): Promise<void> {
    await this.#store.delete(POLICY_PREFIX + id);
    await this.#store.put(POLICIES_VERSION_KEY, newStamp());
  }
}

export class KeyRepository {
  readonly #store: KeyValueStore;
  constructor(store: KeyValueStore) {
    this.#store = store;
  }

  /** Hashes of every stored key. */
  async hashes(): Promise<string[]> {
    return (await this.#store.list(KEY_PREFIX)).map((k) => k.slice(KEY_PREFIX.length));
  }

  async get(hash: string): Promise<KeySession | null> {
    const raw = await this.#store.get(KEY_PREFIX + hash);
    if (raw === null) return null;
    const parsed = v.safeParse(KeySessionSchema, safeJson(raw));
    return parsed.success ? parsed.output : null;
  }

  put(hash: string, session: KeySession): Promise<void> {
    return this.#store.put(KEY_PREFIX + hash, JSON.stringify(session));
  }

  delete(hash: string): Promise<void> {
    return this.#store.delete(KEY_PREFIX + hash);
  }
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/** A policy, with its access rights compiled per API. */
export interface CompiledPolicy {
  policy: Policy;
  grants: ReadonlyMap<string, CompiledAccess>;
}

/**
 * Compiled policies, cached per isolate or process and rebuilt when the policies' stamp changes,
 * like the routing table. A stored policy whose patterns no longer compile grants nothing.
 */
export class PolicyCache {
  readonly #repo: PolicyRepository;
  readonly #stamp$: StampWatch;
  #stamp: string | null | undefined;
  #policies: Map<string, CompiledPolicy> | undefined;

  /** @param maxAgeMs read the policies' stamp at most this often (default 1000; 0: every request) */
  constructor(store: KeyValueStore, maxAgeMs = DEFAULT_STAMP_MAX_AGE_MS) {
    this.#repo = new PolicyRepository(store);
    this.#stamp$ = new StampWatch(() => this.#repo.version(), maxAgeMs);
  }

  /** Re-read the stamp on the next request (after a write this process made). */
  invalidate(): void {
    this.#stamp$.invalidate();
  }

  async policies(): Promise<ReadonlyMap<string, CompiledPolicy>> {
    const stamp = await this.#stamp$.current();
    if (this.#policies && stamp === this.#stamp) return this.#policies;
    // Built by the request that finds them out of date (never shared in flight: see stamp.ts).
    const map = new Map<string, CompiledPolicy>();
    for (const policy of await this.#repo.all()) {
      const grants = new Map<string, CompiledAccess>();
      for (const [apiId, access] of Object.entries(policy.access_rights ?? {})) {
        try {
          grants.set(apiId, compileAccess(access as ApiAccess));
        } catch {
          // Fail closed: an entry that no longer compiles grants nothing.
        }
      }
      map.set(policy.id!, { policy, grants });
    }
    this.#policies = map;
    this.#stamp = stamp;
    return map;
  }
}
