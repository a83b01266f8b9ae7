/**
 * The limiter port: counters, quotas and circuit breakers behind one interface, so the request
 * path's `limit` step is the same over every backend (`memory.ts`; Durable Objects on Workers;
 * Upstash Redis anywhere). upstash/ratelimit-js is the model: an algorithm is a value, a result is
 * an object, and background work (a refund, a breaker's outcome) is handed back for `waitUntil`.
 *
 * State is grouped in **shards**, each held by one owner where the backend has owners (a Durable
 * Object per shard): everything one `take` touches lives in its shard, and a shard's `take` is all
 * or nothing. The shard keys (see `plan.ts`):
 *
 * - `c:<consumer>`: one consumer (an API key's hash, a token's identity): its rate limit, its
 *   per-API, per-method and per-primitive limits, its quota;
 * - `p:<api>:<type>:<name>`: one primitive of one API, for every consumer: its rate limit, its
 *   circuit breaker;
 * - `a:<api>`: one API, for every consumer: the proxy's limit and the upstream's.
 *
 * Pure types only.
 */

/**
 * A fixed window of `windowMs` that lets `limit` requests through. Windows start at multiples of
 * `windowMs` since the epoch, so they follow `per` exactly (no rounding to coarser windows).
 */
export interface RateCounter {
  /** Unique within its shard; names what is limited (`key`, `method:tools/call`, …). */
  id: string;
  limit: number;
  windowMs: number;
}

/** A quota: `max` requests, renewed `renewalMs` after the first request that finds it renewable. */
export interface QuotaSpec {
  id: string;
  max: number;
  renewalMs: number;
}

/**
 * A circuit breaker (Tyk's `circuitBreaker`): once `sampleSize` outcomes are recorded and at least
 * `threshold` (a ratio, 0..1) of them failed, the circuit opens for `coolDownMs`; then, with
 * `halfOpen`, one trial call at a time decides whether it closes again (without: it closes).
 */
export interface BreakerSpec {
  id: string;
  threshold: number;
  sampleSize: number;
  coolDownMs: number;
  halfOpen: boolean;
}

/** What one shard is asked for one request. */
export interface ShardRequest {
  /** Each charged one request, all or none. */
  counters: readonly RateCounter[];
  /** Charged one request when every counter passed. */
  quota?: QuotaSpec | undefined;
  /** Asked first: an open circuit refuses before anything is charged. */
  breaker?: BreakerSpec | undefined;
}

/** A counter after the request: what `X-RateLimit-*` report. */
export interface CounterState {
  id: string;
  limit: number;
  remaining: number;
  /** When the window ends (epoch ms). */
  reset: number;
}

export interface QuotaState {
  max: number;
  remaining: number;
  /** When the quota renews (epoch ms); 0 when it was never used. */
  renews: number;
}

/** The breaker's answer: `closed` and `trial` let the call through (a trial decides the half-open state). */
export type BreakerVerdict = "closed" | "trial" | "open";

export type ShardAnswer =
  | { ok: true; counters: CounterState[]; quota: QuotaState | undefined; breaker: BreakerVerdict | undefined }
  | { ok: false; refused: "rate"; counter: CounterState }
  | { ok: false; refused: "quota"; quota: QuotaState }
  | { ok: false; refused: "breaker"; retryAt: number };

export interface Limiter {
  /** The backend's name, for logs and the README's table (`memory`, `durable-objects`, `upstash`). */
  readonly name: string;
  /** One shard's checks for one request, all or none. @param now epoch ms */
  take(shard: string, request: ShardRequest, now: number): Promise<ShardAnswer>;
  /**
   * `take` answered at once, for a backend that holds its shards in this process (memory): the
   * request path then has nothing to wait for. Optional; the same arithmetic as `take`.
   */
  takeNow?(shard: string, request: ShardRequest, now: number): ShardAnswer;
  /** Gives back what a successful `take` charged (another shard refused the request). */
  refund(shard: string, request: ShardRequest, now: number): Promise<void>;
  /** Records a call's outcome for a breaker (`trial`: the call was the half-open state's trial). */
  record(shard: string, breaker: BreakerSpec, failed: boolean, trial: boolean, now: number): Promise<void>;
  /** A quota's state, as the key object shows it. */
  quota(shard: string, quota: QuotaSpec, now: number): Promise<QuotaState>;
  /** Renews a quota at once (the admin API's reset). */
  resetQuota(shard: string, quotaId: string): Promise<void>;
}
