/**
 * Where policies live (key names in `stores/layout.ts`, described in docs/storage.md): `policy:<id>`,
 * one policy as JSON, and `meta:policies-version`, a stamp rewritten after every policy write;
 * gateways keep compiled policies per isolate and reload when it changes (see `stores/stamp.ts`).
 */
import * as v from "valibot";
import { newStamp, POLICIES_VERSION_KEY, POLICY_PREFIX } from "../stores/layout.ts";
import { DEFAULT_STAMP_MAX_AGE_MS, StampWatch } from "../stores/stamp.ts";
import type { KeyValueStore } from "../stores/types.ts";
import { type CompiledAccess, compileAccess } from "./evaluate.ts";
import { type Policy, PolicySchema } from "./model.ts";
import type { ApiAccess } from "./types.ts";

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

/** The parsed JSON of a stored value, or `undefined` when it is not JSON. */
export function safeJson(raw: string): unknown {
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
