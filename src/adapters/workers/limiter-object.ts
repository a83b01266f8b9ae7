/**
 * The Durable Objects limiter, the default on Workers: one Durable Object per shard
 * (`idFromName(<shard key>)`, see `src/traffic/limiter.ts`), which runs the shard's arithmetic
 * (`src/traffic/shard.ts`) one request at a time and keeps its entries in the object's storage.
 * Strongly consistent: every isolate in every location that asks about a shard asks the same object.
 *
 * Sharding: by consumer (`c:<key hash or token identity>`), by API (`a:<api id>`), and by primitive
 * (`p:<api id>:<type>:<name>`), so no single object carries all traffic: a consumer's limits load
 * its own object, an API-wide limit its API's, a shared per-tool limit or breaker its tool's (its
 * API's when that is asked for every message anyway). Counts are kept in memory and written behind.
 *
 * Its methods are called over Workers RPC, which needs the `DurableObject` base class of
 * `cloudflare:workers` (declared in `cloudflare-workers.d.ts`; bundles leave the module to the
 * runtime); the bindings are typed structurally (the few methods used).
 */
import { DurableObject } from "cloudflare:workers";
import type { BreakerSpec, Limiter, QuotaSpec, QuotaState, ShardAnswer, ShardRequest } from "../../traffic/limiter.ts";
import { Shard, WRITE_BEHIND_MS } from "../../traffic/shard.ts";

/** A limiter object's stub: its methods called over Workers RPC. */
export interface LimiterStubLike {
  take(request: ShardRequest, now: number): Promise<ShardAnswer>;
  refund(request: ShardRequest, now: number): Promise<void>;
  record(breaker: BreakerSpec, failed: boolean, trial: boolean, now: number): Promise<void>;
  quota(quota: QuotaSpec, now: number): Promise<QuotaState>;
  resetQuota(quotaId: string): Promise<void>;
}

/** The part of a Durable Object namespace binding used here. */
export interface LimiterNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): LimiterStubLike;
}

/** The part of a Durable Object's state used here. */
interface ObjectStateLike {
  storage: {
    list(): Promise<Map<string, unknown>>;
    put(entries: Record<string, unknown>, options?: { allowUnconfirmed?: boolean }): Promise<void>;
    delete(keys: string[], options?: { allowUnconfirmed?: boolean }): Promise<number>;
  };
  blockConcurrencyWhile<T>(callback: () => Promise<T>): Promise<T>;
}

/** Writes that do not hold the answers back (the object's memory answered them). */
const UNCONFIRMED = { allowUnconfirmed: true };

/**
 * One shard, held by one Durable Object, called over Workers RPC (its methods, arguments and
 * answers structured-cloned: no HTTP request, body or JSON per call).
 */
export class LimiterObject extends DurableObject {
  readonly #state: ObjectStateLike;
  readonly #shard = new Shard(true);
  /** Changes not written yet, latest value per entry (`undefined`: deleted). */
  readonly #pending = new Map<string, unknown>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(state: ObjectStateLike, env: unknown) {
    super(state, env);
    this.#state = state;
    void state.blockConcurrencyWhile(async () => this.#shard.load(await state.storage.list()));
  }

  take(request: ShardRequest, now: number): ShardAnswer {
    return this.#persisting(this.#shard.take(request, now));
  }

  refund(request: ShardRequest, now: number): void {
    this.#persisting(this.#shard.refund(request, now));
  }

  record(breaker: BreakerSpec, failed: boolean, trial: boolean, now: number): void {
    this.#persisting(this.#shard.record(breaker, failed, trial, now));
  }

  quota(quota: QuotaSpec, now: number): QuotaState {
    return this.#shard.quota(quota, now);
  }

  resetQuota(quotaId: string): void {
    this.#persisting(this.#shard.resetQuota(quotaId));
  }

  /** Notes what the call changed, to be written within {@link WRITE_BEHIND_MS}; returns `answer`. */
  #persisting<T>(answer: T): T {
    for (const [key, value] of this.#shard.drainChanges()) this.#pending.set(key, value);
    if (this.#pending.size > 0 && this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#write();
      }, WRITE_BEHIND_MS);
    }
    return answer;
  }

  #write(): void {
    const puts: Record<string, unknown> = {};
    const deletes: string[] = [];
    for (const [key, value] of this.#pending) {
      if (value === undefined) deletes.push(key);
      else puts[key] = value;
    }
    this.#pending.clear();
    if (Object.keys(puts).length > 0) void this.#state.storage.put(puts, UNCONFIRMED);
    if (deletes.length > 0) void this.#state.storage.delete(deletes, UNCONFIRMED);
  }
}

/** The limiter over the `LIMITER` Durable Object namespace. */
export class DurableObjectLimiter implements Limiter {
  readonly name = "durable-objects";
  readonly #namespace: LimiterNamespaceLike;

  constructor(namespace: LimiterNamespaceLike) {
    this.#namespace = namespace;
  }

  #stub(shard: string): LimiterStubLike {
    return this.#namespace.get(this.#namespace.idFromName(shard));
  }

  take(shard: string, request: ShardRequest, now: number): Promise<ShardAnswer> {
    return this.#stub(shard).take(request, now);
  }

  async refund(shard: string, request: ShardRequest, now: number): Promise<void> {
    await this.#stub(shard).refund(request, now);
  }

  async record(shard: string, breaker: BreakerSpec, failed: boolean, trial: boolean, now: number): Promise<void> {
    await this.#stub(shard).record(breaker, failed, trial, now);
  }

  quota(shard: string, quota: QuotaSpec, now: number): Promise<QuotaState> {
    return this.#stub(shard).quota(quota, now);
  }

  async resetQuota(shard: string, quotaId: string): Promise<void> {
    await this.#stub(shard).resetQuota(quotaId);
  }
}
