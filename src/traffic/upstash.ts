/**
 * The Upstash Redis limiter: counters shared by every gateway process, runtime and region that
 * reaches the same Upstash database, over Upstash's REST API (Web `fetch` only, so it runs on
 * workerd, Bun and Deno alike).
 *
 * - Rate counters: `@upstash/ratelimit`'s fixed window, one counter at a time, the shard's most
 *   specific first. When a counter refuses, those already charged are given back (a charge of -1):
 *   each counter lets exactly its limit through; a shard's counters are not charged as one.
 * - Quotas and breakers: one Lua script each, run by `@upstash/redis` (atomic in Redis): the same
 *   arithmetic as `shard.ts`.
 * - Keys: `<prefix>:<shard>:…`; counters expire with their window, quotas with their period,
 *   breakers a day after their last change.
 *
 * Unreachable (a failed request, or no answer within `timeoutMs`): `take` rejects, and the `limit`
 * step applies the API's choice (rate limits fail open, quotas closed, unless the definition says
 * otherwise).
 */
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import type {
  BreakerSpec,
  BreakerVerdict,
  CounterState,
  Limiter,
  QuotaSpec,
  QuotaState,
  RateCounter,
  ShardAnswer,
  ShardRequest,
} from "./limiter.ts";

export interface UpstashOptions {
  url: string;
  token: string;
  /** Key prefix (default `mcp-gateway`). */
  prefix?: string;
  /** How long one limiter call may take before the backend counts as unreachable (ms; default 1000). */
  timeoutMs?: number;
}

/** Quota: KEYS[1] the quota; ARGV max, renewal ms, now ms, mode ("take" | "read" | "refund"). Returns {ok, used, renews}. */
const QUOTA_SCRIPT = `
local used = tonumber(redis.call("HGET", KEYS[1], "used") or "0")
local renews = tonumber(redis.call("HGET", KEYS[1], "renews") or "0")
local max, renewal, now, mode = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
if renews ~= 0 and now >= renews then used = 0; renews = 0 end
if mode == "read" then return {1, used, renews} end
if mode == "refund" then
  if used > 0 then redis.call("HSET", KEYS[1], "used", used - 1) end
  return {1, used - 1, renews}
end
if used >= max then return {0, used, renews} end
used = used + 1
if renews == 0 then renews = now + renewal end
redis.call("HSET", KEYS[1], "used", used, "renews", renews)
redis.call("PEXPIREAT", KEYS[1], renews)
return {1, used, renews}
`;

/**
 * Breaker: KEYS[1] the breaker; ARGV mode ("admit" | "release" | "record"), now, threshold, sample
 * size, cool-down ms, half-open (1|0), failed (1|0), trial (1|0). `admit` returns {verdict} where
 * 0 closed, 1 trial, 2 open (then {2, retryAt}).
 */
const BREAKER_SCRIPT = `
local key, mode, now = KEYS[1], ARGV[1], tonumber(ARGV[2])
local threshold, size, cool, half = tonumber(ARGV[3]), math.max(1, tonumber(ARGV[4])), tonumber(ARGV[5]), ARGV[6] == "1"
local state = redis.call("HGET", key, "state") or "closed"
local openUntil = tonumber(redis.call("HGET", key, "openUntil") or "0")
local trialSince = tonumber(redis.call("HGET", key, "trialSince") or "0")
local function close() redis.call("DEL", key) end
local function open() redis.call("HSET", key, "state", "open", "openUntil", now + cool, "trialSince", 0, "samples", "") end
local function keep() redis.call("PEXPIRE", key, 86400000 + cool) end
if mode == "admit" then
  if state == "closed" then return {0, 0} end
  if state == "open" then
    if now < openUntil then return {2, openUntil} end
    if not half then close(); return {0, 0} end
    state = "half-open"; trialSince = 0
  end
  if trialSince ~= 0 and now - trialSince < cool then return {2, now + math.min(1000, cool)} end
  redis.call("HSET", key, "state", "half-open", "trialSince", now); keep()
  return {1, 0}
end
if mode == "release" then
  if state == "half-open" then redis.call("HSET", key, "trialSince", 0) end
  return {0, 0}
end
local failed, trial = ARGV[7] == "1", ARGV[8] == "1"
if trial then
  if state ~= "half-open" then return {0, 0} end
  if failed then open(); keep() else close() end
  return {0, 0}
end
if state ~= "closed" then return {0, 0} end
local samples = (redis.call("HGET", key, "samples") or "") .. (failed and "1" or "0")
if #samples > size then samples = string.sub(samples, #samples - size + 1) end
local failures = 0
for i = 1, #samples do if string.sub(samples, i, i) == "1" then failures = failures + 1 end end
if #samples >= size and failures > 0 and failures / #samples >= threshold then open() else redis.call("HSET", key, "state", "closed", "samples", samples) end
keep()
return {0, 0}
`;

export class UpstashLimiter implements Limiter {
  readonly name = "upstash";
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  /** One `Ratelimit` per limit and window. */
  readonly #windows = new Map<string, Ratelimit>();

  constructor(options: UpstashOptions) {
    this.#redis = new Redis({
      url: options.url,
      token: options.token,
      // A failed call must reach the `limit` step, which decides (fail open or closed): no retries.
      retry: false,
      enableTelemetry: false,
    });
    this.#prefix = options.prefix ?? "mcp-gateway";
    this.#timeoutMs = options.timeoutMs ?? 1000;
  }

  #ratelimit(counter: RateCounter): Ratelimit {
    const name = `${counter.limit}:${counter.windowMs}`;
    let limiter = this.#windows.get(name);
    if (!limiter) {
      limiter = new Ratelimit({
        redis: this.#redis,
        limiter: Ratelimit.fixedWindow(counter.limit, `${counter.windowMs} ms`),
        prefix: `${this.#prefix}:rl`,
        // The gateway decides what an unreachable backend means; the library would let it pass.
        timeout: 0,
        // Exact counts: no local cache of identifiers seen blocked (a refund would not reach it).
        ephemeralCache: false,
        analytics: false,
      });
      this.#windows.set(name, limiter);
    }
    return limiter;
  }

  /** `work`, or a rejection once it takes longer than the timeout. */
  #bounded<T>(work: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`Upstash did not answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
    });
    return Promise.race([work, late]).finally(() => clearTimeout(timer));
  }

  take(shard: string, request: ShardRequest, now: number): Promise<ShardAnswer> {
    return this.#bounded(this.#take(shard, request, now));
  }

  async #take(shard: string, request: ShardRequest, now: number): Promise<ShardAnswer> {
    let verdict: BreakerVerdict | undefined;
    if (request.breaker) {
      const [code, retryAt] = (await this.#breakerCall(shard, request.breaker, "admit", now)) as [number, number];
      if (code === 2) return { ok: false, refused: "breaker", retryAt };
      verdict = code === 1 ? "trial" : "closed";
    }
    const charged: RateCounter[] = [];
    const counters: CounterState[] = [];
    const giveBack = async () => {
      await Promise.all(charged.map((counter) => this.#ratelimit(counter).limit(`${shard}:${counter.id}`, { rate: -1 })));
      if (verdict === "trial" && request.breaker) await this.#breakerCall(shard, request.breaker, "release", now);
    };
    for (const counter of request.counters) {
      const result = await this.#ratelimit(counter).limit(`${shard}:${counter.id}`);
      const state = { id: counter.id, limit: counter.limit, remaining: Math.max(0, result.remaining), reset: result.reset };
      if (!result.success) {
        // The refused request was counted too (the script counts first): give that back as well.
        charged.push(counter);
        await giveBack();
        return { ok: false, refused: "rate", counter: { ...state, remaining: 0 } };
      }
      charged.push(counter);
      counters.push(state);
    }
    let quota: QuotaState | undefined;
    if (request.quota) {
      const [ok, used, renews] = await this.#quotaCall(shard, request.quota, now, "take");
      quota = { max: request.quota.max, remaining: Math.max(0, request.quota.max - used), renews };
      if (!ok) {
        await giveBack();
        return { ok: false, refused: "quota", quota };
      }
    }
    return { ok: true, counters, quota, breaker: verdict };
  }

  refund(shard: string, request: ShardRequest, now: number): Promise<void> {
    return this.#bounded(
      (async () => {
        await Promise.all(request.counters.map((counter) => this.#ratelimit(counter).limit(`${shard}:${counter.id}`, { rate: -1 })));
        if (request.quota) await this.#quotaCall(shard, request.quota, now, "refund");
      })(),
    );
  }

  async record(shard: string, breaker: BreakerSpec, failed: boolean, trial: boolean, now: number): Promise<void> {
    await this.#bounded(this.#breakerCall(shard, breaker, "record", now, failed, trial));
  }

  async quota(shard: string, quota: QuotaSpec, now: number): Promise<QuotaState> {
    const [, used, renews] = await this.#bounded(this.#quotaCall(shard, quota, now, "read"));
    return { max: quota.max, remaining: Math.max(0, quota.max - used), renews };
  }

  async resetQuota(shard: string, quotaId: string): Promise<void> {
    await this.#bounded(this.#redis.del(`${this.#prefix}:${shard}:q:${quotaId}`));
  }

  async #quotaCall(shard: string, quota: QuotaSpec, now: number, mode: "take" | "read" | "refund"): Promise<[boolean, number, number]> {
    const [ok, used, renews] = (await this.#redis.eval(
      QUOTA_SCRIPT,
      [`${this.#prefix}:${shard}:q:${quota.id}`],
      [String(quota.max), String(quota.renewalMs), String(now), mode],
    )) as [number, number, number];
    return [ok === 1, used, renews];
  }

  #breakerCall(shard: string, spec: BreakerSpec, mode: "admit" | "release" | "record", now: number, failed = false, trial = false) {
    return this.#redis.eval(
      BREAKER_SCRIPT,
      [`${this.#prefix}:${shard}:b:${spec.id}`],
      [
        mode,
        String(now),
        String(spec.threshold),
        String(spec.sampleSize),
        String(spec.coolDownMs),
        spec.halfOpen ? "1" : "0",
        failed ? "1" : "0",
        trial ? "1" : "0",
      ],
    );
  }
}
