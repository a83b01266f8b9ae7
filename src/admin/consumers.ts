/**
 * The management operations on policies and keys, shared by the Gateway API and the Dashboard API.
 * Results, not exceptions; every write runs under the admin mutex (shared with the API service).
 *
 * Keys are stored only as SHA-256 hashes: the key itself is returned once, by create (and by
 * regenerate), and never again. Policies are validated with the reference's MCP rules against the
 * stored APIs (`src/policy/model.ts`).
 */
import { DefinitionRepository, isSafeId } from "../definitions/repository.ts";
import type { ApiKind } from "../stores/layout.ts";
import { appliedPolicies, checkKeySession, checkPolicy, type KeySession, type Policy } from "../policy/model.ts";
import { hashKey, isKeyHash, KeyRepository, newKey } from "../auth/api-keys.ts";
import { consumerLimits, type QuotaLimit } from "../policy/limits.ts";
import { PolicyCache, PolicyRepository } from "../policy/store.ts";
import type { KeyValueStore } from "../stores/types.ts";
import type { Limiter } from "../traffic/limiter.ts";
import type { Mutex } from "./mutex.ts";

export type ConsumerFailure = { ok: false; code: "invalid" | "not_found" | "id_mismatch" | "already_exists"; message: string };
export type ConsumerOutcome<T> = { ok: true; value: T } | ConsumerFailure;

/** HTTP status per failure; the same on the Gateway API and the Dashboard API. */
export const CONSUMER_FAILURE_STATUS: Record<ConsumerFailure["code"], number> = {
  invalid: 400,
  id_mismatch: 400,
  already_exists: 400,
  not_found: 404,
};

const fail = (code: ConsumerFailure["code"], message: string): ConsumerFailure => ({ ok: false, code, message });

/** A custom key: 8-256 visible ASCII characters, no spaces. */
const CUSTOM_KEY = /^[\x21-\x7e]{8,256}$/;

export interface CreatedKey {
  key: string;
  hash: string;
  session: KeySession;
}

export class ConsumerService {
  readonly #apis: DefinitionRepository;
  readonly #policies: PolicyRepository;
  readonly #keys: KeyRepository;
  readonly #mutex: Mutex;
  readonly #now: () => number;
  readonly #compiled: PolicyCache;
  readonly #limiter: Limiter | undefined;

  /** @param limiter where the request path counts quotas: a key then shows and resets its live quota */
  constructor(store: KeyValueStore, mutex: Mutex, now: () => number = () => Math.floor(Date.now() / 1000), limiter?: Limiter) {
    this.#apis = new DefinitionRepository(store);
    this.#policies = new PolicyRepository(store);
    this.#keys = new KeyRepository(store);
    this.#mutex = mutex;
    this.#now = now;
    this.#compiled = new PolicyCache(store, 0);
    this.#limiter = limiter;
  }

  /**
   * The quotas a key's requests are counted against (`limits.ts`), each with the API it is counted
   * for when it is an access right's own (`undefined`: the key's quota across its APIs).
   */
  async #quotas(session: KeySession): Promise<{ quota: QuotaLimit; apiId: string | undefined }[]> {
    const policyIds = appliedPolicies(session);
    const compiled = await this.#compiled.policies();
    const apiIds = new Set<string>(Object.keys(session.access_rights ?? {}));
    for (const id of policyIds) for (const apiId of compiled.get(id)?.grants.keys() ?? []) apiIds.add(apiId);
    const found = new Map<string, { quota: QuotaLimit; apiId: string | undefined }>();
    for (const apiId of apiIds) {
      const own = { fields: session, access: session.access_rights as Parameters<typeof consumerLimits>[1]["access"] };
      const quota = consumerLimits(policyIds, own, [apiId], compiled).quota;
      if (quota && !found.has(quota.id)) found.set(quota.id, { quota, apiId: quota.id === "quota" ? undefined : apiId });
    }
    return [...found.values()];
  }

  /** The session with its live quota (Tyk's `quota_remaining`, `quota_renews` in Unix seconds), where there is one. */
  async #withQuota(hash: string, session: KeySession): Promise<KeySession> {
    if (!this.#limiter) return session;
    const out: KeySession & Record<string, unknown> = { ...session };
    for (const { quota, apiId } of await this.#quotas(session)) {
      const state = await this.#limiter.quota(`c:${hash}`, { id: quota.id, max: quota.max, renewalMs: quota.renewalMs }, Date.now());
      const view = { quota_max: state.max, quota_remaining: state.remaining, quota_renews: Math.ceil(state.renews / 1000) };
      if (apiId === undefined) Object.assign(out, view);
      else if (out.access_rights?.[apiId]) {
        const right = out.access_rights[apiId]!;
        out.access_rights = { ...out.access_rights, [apiId]: { ...right, limit: { ...(right.limit ?? {}), ...view } } };
      }
    }
    return out;
  }

  async #kinds(): Promise<(id: string) => ApiKind | undefined> {
    const kinds = new Map((await this.#apis.all()).map((a) => [a.id, a.kind]));
    return (id) => kinds.get(id);
  }

  // ---- policies ----

  listPolicies(): Promise<Policy[]> {
    return this.#policies.all();
  }

  async getPolicy(id: string): Promise<ConsumerOutcome<Policy>> {
    if (!isSafeId(id)) return fail("invalid", `Invalid policy ID "${id.slice(0, 80)}"`);
    const policy = await this.#policies.get(id);
    return policy ? { ok: true, value: policy } : fail("not_found", `Policy "${id}" not found`);
  }

  createPolicy(body: unknown): Promise<ConsumerOutcome<string>> {
    return this.#mutex.run(async () => {
      const checked = checkPolicy(body, await this.#kinds());
      if (!checked.ok) return fail("invalid", checked.message);
      const id = checked.value.id || checked.value._id || crypto.randomUUID().replace(/-/g, "");
      if (!isSafeId(id)) return fail("invalid", `Invalid policy ID "${id.slice(0, 80)}": use letters, digits, ".", "_" or "-"`);
      if (await this.#policies.get(id)) return fail("already_exists", `Policy with ID "${id}" already exists`);
      await this.#policies.put(id, withDefaults(checked.value));
      return { ok: true, value: id };
    });
  }

  updatePolicy(id: string, body: unknown): Promise<ConsumerOutcome<string>> {
    return this.#mutex.run(async () => {
      if (!isSafeId(id)) return fail("invalid", `Invalid policy ID "${id.slice(0, 80)}"`);
      const checked = checkPolicy(body, await this.#kinds());
      if (!checked.ok) return fail("invalid", checked.message);
      const bodyId = checked.value.id || checked.value._id;
      if (bodyId && bodyId !== id) return fail("id_mismatch", `The policy's id "${bodyId}" does not match "${id}" in the URL`);
      if (!(await this.#policies.get(id))) return fail("not_found", `Policy "${id}" not found`);
      await this.#policies.put(id, withDefaults(checked.value));
      return { ok: true, value: id };
    });
  }

  deletePolicy(id: string): Promise<ConsumerOutcome<string>> {
    return this.#mutex.run(async () => {
      if (!isSafeId(id)) return fail("invalid", `Invalid policy ID "${id.slice(0, 80)}"`);
      if (!(await this.#policies.get(id))) return fail("not_found", `Policy "${id}" not found`);
      await this.#policies.delete(id);
      return { ok: true, value: id };
    });
  }

  // ---- keys ----

  /** Hashes of every key. */
  listKeys(): Promise<string[]> {
    return this.#keys.hashes();
  }

  /** The hash a path segment names: the hash itself (`hashed`), or the key, hashed. */
  async #hashOf(keyOrHash: string, hashed: boolean): Promise<string> {
    return hashed || isKeyHash(keyOrHash) ? keyOrHash.toLowerCase() : await hashKey(keyOrHash);
  }

  async getKey(keyOrHash: string, hashed: boolean): Promise<ConsumerOutcome<{ hash: string; session: KeySession }>> {
    const hash = await this.#hashOf(keyOrHash, hashed);
    const session = await this.#keys.get(hash);
    return session ? { ok: true, value: { hash, session: await this.#withQuota(hash, session) } } : fail("not_found", "Key not found");
  }

  async #checkSession(body: unknown): Promise<ConsumerOutcome<KeySession>> {
    const checked = checkKeySession(body, await this.#kinds());
    if (!checked.ok) return fail("invalid", checked.message);
    const session = checked.value;
    for (const id of appliedPolicies(session)) {
      if (!(await this.#policies.get(id))) return fail("invalid", `Invalid key: policy "${id}" does not exist`);
    }
    return { ok: true, value: session };
  }

  /** Creates a key (a new random one, or `customKey`). The key is returned this once. */
  createKey(body: unknown, customKey?: string): Promise<ConsumerOutcome<CreatedKey>> {
    return this.#mutex.run(async () => {
      if (customKey !== undefined && !CUSTOM_KEY.test(customKey)) {
        return fail("invalid", "A custom key must be 8-256 visible ASCII characters without spaces");
      }
      if (customKey !== undefined && /^[0-9a-fA-F]{64}$/.test(customKey)) {
        // It could not be told apart from a key hash in the management paths.
        return fail("invalid", "A custom key may not be 64 hexadecimal digits (the form of a key hash)");
      }
      const checked = await this.#checkSession(body);
      if (!checked.ok) return checked;
      const session = await this.#withPolicyExpiry(checked.value);
      const key = customKey ?? newKey();
      const hash = await hashKey(key);
      if (await this.#keys.get(hash)) return fail("already_exists", "Key already exists");
      await this.#keys.put(hash, session);
      return { ok: true, value: { key, hash, session } };
    });
  }

  /**
   * Replaces a key's session. As in Tyk, its quota starts again (renewed in full) unless
   * `suppressReset` (`?suppress_reset=1`).
   */
  updateKey(
    keyOrHash: string,
    hashed: boolean,
    body: unknown,
    suppressReset = false,
  ): Promise<ConsumerOutcome<{ hash: string; session: KeySession }>> {
    return this.#mutex.run(async () => {
      const hash = await this.#hashOf(keyOrHash, hashed);
      if (!(await this.#keys.get(hash))) return fail("not_found", "Key not found");
      const checked = await this.#checkSession(body);
      if (!checked.ok) return checked;
      await this.#keys.put(hash, checked.value);
      if (!suppressReset && this.#limiter) {
        for (const { quota } of await this.#quotas(checked.value)) await this.#limiter.resetQuota(`c:${hash}`, quota.id);
      }
      return { ok: true, value: { hash, session: checked.value } };
    });
  }

  deleteKey(keyOrHash: string, hashed: boolean): Promise<ConsumerOutcome<string>> {
    return this.#mutex.run(async () => {
      const hash = await this.#hashOf(keyOrHash, hashed);
      if (!(await this.#keys.get(hash))) return fail("not_found", "Key not found");
      await this.#keys.delete(hash);
      return { ok: true, value: hash };
    });
  }

  /** A new key for the same session; the old key stops working at once. */
  regenerateKey(keyOrHash: string, hashed: boolean): Promise<ConsumerOutcome<CreatedKey>> {
    return this.#mutex.run(async () => {
      const oldHash = await this.#hashOf(keyOrHash, hashed);
      const session = await this.#keys.get(oldHash);
      if (!session) return fail("not_found", "Key not found");
      const key = newKey();
      const hash = await hashKey(key);
      await this.#keys.put(hash, session);
      try {
        await this.#keys.delete(oldHash);
      } catch (error) {
        await this.#keys.delete(hash).catch(() => {});
        throw error;
      }
      return { ok: true, value: { key, hash, session } };
    });
  }

  /** A key without `expires` takes its policies' shortest `key_expires_in`. */
  async #withPolicyExpiry(session: KeySession): Promise<KeySession> {
    if (session.expires !== undefined && session.expires !== 0) return session;
    let shortest: number | undefined;
    for (const id of appliedPolicies(session)) {
      const seconds = (await this.#policies.get(id))?.key_expires_in;
      if (seconds !== undefined && seconds > 0) shortest = Math.min(shortest ?? seconds, seconds);
    }
    return shortest === undefined ? session : { ...session, expires: this.#now() + shortest };
  }
}

function withDefaults(policy: Policy): Policy {
  const { _id: _ignored, ...rest } = policy;
  return { ...rest, state: policy.state ?? "active" };
}
