/**
 * The memory limiter: every shard in this process. For a single Bun or Deno process (and tests):
 * exact, since one event loop runs each `take` whole; counters are not shared with other
 * processes, and are lost when the process ends.
 */
import type { BreakerSpec, Limiter, QuotaSpec, QuotaState, ShardAnswer, ShardRequest } from "./limiter.ts";
import { Shard } from "./shard.ts";

export class MemoryLimiter implements Limiter {
  readonly name = "memory";
  readonly #shards = new Map<string, Shard>();

  #shard(key: string): Shard {
    let shard = this.#shards.get(key);
    if (!shard) {
      shard = new Shard();
      this.#shards.set(key, shard);
    }
    return shard;
  }

  take(shard: string, request: ShardRequest, now: number): Promise<ShardAnswer> {
    return Promise.resolve(this.takeNow(shard, request, now));
  }

  takeNow(shard: string, request: ShardRequest, now: number): ShardAnswer {
    return this.#shard(shard).take(request, now);
  }

  refund(shard: string, request: ShardRequest, now: number): Promise<void> {
    const owner = this.#shard(shard);
    owner.refund(request, now);
    return Promise.resolve();
  }

  record(shard: string, breaker: BreakerSpec, failed: boolean, trial: boolean, now: number): Promise<void> {
    const owner = this.#shard(shard);
    owner.record(breaker, failed, trial, now);
    return Promise.resolve();
  }

  quota(shard: string, quota: QuotaSpec, now: number): Promise<QuotaState> {
    return Promise.resolve(this.#shard(shard).quota(quota, now));
  }

  resetQuota(shard: string, quotaId: string): Promise<void> {
    const owner = this.#shard(shard);
    owner.resetQuota(quotaId);
    return Promise.resolve();
  }
}
