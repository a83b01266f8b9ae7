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
 * Typed structurally (the few methods used), so the core never depends on Workers types.
 */
import type { BreakerSpec, Limiter, QuotaSpec, QuotaState, ShardAnswer, ShardRequest } from "../../traffic/limiter.ts";
import { Shard } from "../../traffic/shard.ts";

/** The part of a Durable Object namespace binding used here. */
export interface LimiterNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
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

type Call =
  | { op: "take"; request: ShardRequest; now: number }
  | { op: "refund"; request: ShardRequest; now: number }
  | { op: "record"; breaker: BreakerSpec; failed: boolean; trial: boolean; now: number }
  | { op: "quota"; quota: QuotaSpec; now: number }
  | { op: "resetQuota"; quotaId: string };

/**
 * How long a change may wait before it is written: one write carries every change of that time.
 * The object's memory is the truth while it lives (every call to a shard goes through it, one at a
 * time), so the storage only has to bring a restarted object back; writing every call would cost
 * each request a storage write (a row written, billed, and on workerd a commit on the request's
 * thread) for nothing a live object reads.
 */
export const WRITE_BEHIND_MS = 250;

/** Writes that do not hold the answers back (the object's memory answered them). */
const UNCONFIRMED = { allowUnconfirmed: true };

/** One shard, held by one Durable Object. */
export class LimiterObject {
  readonly #state: ObjectStateLike;
  readonly #shard = new Shard(true);
  /** Changes not written yet, latest value per entry (`undefined`: deleted). */
  readonly #pending = new Map<string, unknown>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(state: ObjectStateLike) {
    this.#state = state;
    void state.blockConcurrencyWhile(async () => this.#shard.load(await state.storage.list()));
  }

  async fetch(request: Request): Promise<Response> {
    const call = (await request.json()) as Call;
    const shard = this.#shard;
    let answer: unknown = null;
    switch (call.op) {
      case "take":
        answer = shard.take(call.request, call.now);
        break;
      case "refund":
        shard.refund(call.request, call.now);
        break;
      case "record":
        shard.record(call.breaker, call.failed, call.trial, call.now);
        break;
      case "quota":
        answer = shard.quota(call.quota, call.now);
        break;
      case "resetQuota":
        shard.resetQuota(call.quotaId);
        break;
    }
    this.#persist();
    return Response.json(answer);
  }

  /** Notes what the call changed, and writes it within {@link WRITE_BEHIND_MS}. */
  #persist(): void {
    for (const [key, value] of this.#shard.drainChanges()) this.#pending.set(key, value);
    if (this.#pending.size === 0 || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#write();
    }, WRITE_BEHIND_MS);
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

  async #call<T>(shard: string, call: Call): Promise<T> {
    const stub = this.#namespace.get(this.#namespace.idFromName(shard));
    const response = await stub.fetch(new Request("https://limiter.internal/", { method: "POST", body: JSON.stringify(call) }));
    if (!response.ok) throw new Error(`limiter object for ${shard} answered HTTP ${response.status}`);
    return (await response.json()) as T;
  }

  take(shard: string, request: ShardRequest, now: number): Promise<ShardAnswer> {
    return this.#call(shard, { op: "take", request, now });
  }

  async refund(shard: string, request: ShardRequest, now: number): Promise<void> {
    await this.#call(shard, { op: "refund", request, now });
  }

  async record(shard: string, breaker: BreakerSpec, failed: boolean, trial: boolean, now: number): Promise<void> {
    await this.#call(shard, { op: "record", breaker, failed, trial, now });
  }

  quota(shard: string, quota: QuotaSpec, now: number): Promise<QuotaState> {
    return this.#call(shard, { op: "quota", quota, now });
  }

  async resetQuota(shard: string, quotaId: string): Promise<void> {
    await this.#call(shard, { op: "resetQuota", quotaId });
  }
}
