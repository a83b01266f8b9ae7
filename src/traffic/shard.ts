/**
 * One shard's counters, quotas and breakers, and the arithmetic on them: synchronous, so a `take`
 * is all or nothing wherever one owner runs it (a memory limiter, a Durable Object). Pure.
 *
 * - A rate counter is a fixed window starting at a multiple of its `windowMs`: the request passes
 *   when the window has room for it, and is then counted.
 * - A quota counts up to `max` and renews `renewalMs` after the first request of its period; it
 *   never goes below zero remaining, and never lets a request pass once exhausted.
 * - A breaker keeps the last `sampleSize` outcomes; it opens when at least `threshold` of them
 *   failed, refuses for `coolDownMs`, then closes, or (half-open) lets one trial call decide.
 *
 * Every entry a call changes is reported through {@link Shard.drainChanges}, for backends that
 * persist them (a Durable Object's storage).
 */
import type {
  BreakerSpec,
  BreakerVerdict,
  CounterState,
  QuotaSpec,
  QuotaState,
  RateCounter,
  ShardAnswer,
  ShardRequest,
} from "./limiter.ts";

export interface CounterEntry {
  /** Start of the window counted (epoch ms). */
  window: number;
  /** Its end (epoch ms). */
  end: number;
  used: number;
}

export interface QuotaEntry {
  used: number;
  /** When the quota renews (epoch ms); 0 before its period started. */
  renews: number;
}

export interface BreakerEntry {
  state: "closed" | "open" | "half-open";
  /** The last outcomes, oldest first: 1 a failure, 0 a success. */
  samples: number[];
  /** While open: until when (epoch ms). */
  openUntil: number;
  /** In the half-open state: when the trial in flight started (epoch ms), 0 for none. */
  trialSince: number;
}

/**
 * How long a persisted shard's change may wait before it is written (by the Durable Objects
 * limiter): one write carries every change of that time. The object's memory is the truth while it
 * lives (every call to a shard goes through it, one at a time), so the storage only has to bring a
 * restarted object back; writing every call would cost each request a storage write (a row
 * written, billed, and on workerd a commit on the request's thread) for nothing a live object reads.
 */
export const WRITE_BEHIND_MS = 250;

/** A persisted entry, by its storage key (`c:<id>`, `q:<id>`, `b:<id>`); `undefined`: deleted. */
export type ShardChange = [key: string, value: CounterEntry | QuotaEntry | BreakerEntry | undefined];

function windowOf(counter: RateCounter, now: number): number {
  return Math.floor(now / counter.windowMs) * counter.windowMs;
}

export class Shard {
  readonly #counters = new Map<string, CounterEntry>();
  readonly #quotas = new Map<string, QuotaEntry>();
  readonly #breakers = new Map<string, BreakerEntry>();
  #changes: ShardChange[] = [];
  #operations = 0;
  readonly #persisted: boolean;

  /** @param persisted report changed entries ({@link drainChanges}); off for a memory limiter */
  constructor(persisted = false) {
    this.#persisted = persisted;
  }

  /** Restores persisted entries (keys as {@link ShardChange} names them). */
  load(entries: Iterable<[string, unknown]>): void {
    for (const [key, value] of entries) {
      const id = key.slice(2);
      if (key.startsWith("c:")) this.#counters.set(id, value as CounterEntry);
      else if (key.startsWith("q:")) this.#quotas.set(id, value as QuotaEntry);
      else if (key.startsWith("b:")) this.#breakers.set(id, value as BreakerEntry);
    }
  }

  /** The entries changed since the last call, for persistence. */
  drainChanges(): ShardChange[] {
    const changes = this.#changes;
    this.#changes = [];
    return changes;
  }

  /** Checks the breaker, then every counter and the quota; charges them all, or none. */
  take(request: ShardRequest, now: number): ShardAnswer {
    this.#sweep(now);
    let verdict: BreakerVerdict | undefined;
    if (request.breaker) {
      const answer = this.#admit(request.breaker, now);
      if (typeof answer === "number") return { ok: false, refused: "breaker", retryAt: answer };
      verdict = answer;
    }
    const windows: number[] = [];
    for (const counter of request.counters) {
      const window = windowOf(counter, now);
      windows.push(window);
      const entry = this.#counters.get(counter.id);
      const used = entry && entry.window === window ? entry.used : 0;
      if (used + 1 > counter.limit) {
        this.#release(request.breaker, verdict);
        return {
          ok: false,
          refused: "rate",
          counter: { id: counter.id, limit: counter.limit, remaining: 0, reset: window + counter.windowMs },
        };
      }
    }
    let quota: QuotaState | undefined;
    if (request.quota) {
      const entry = this.#quotaEntry(request.quota, now);
      if (entry.used >= request.quota.max) {
        this.#release(request.breaker, verdict);
        return { ok: false, refused: "quota", quota: { max: request.quota.max, remaining: 0, renews: entry.renews } };
      }
      entry.used += 1;
      if (entry.renews === 0) entry.renews = now + request.quota.renewalMs;
      this.#changed(`q:${request.quota.id}`, entry);
      quota = { max: request.quota.max, remaining: request.quota.max - entry.used, renews: entry.renews };
    }
    const counters: CounterState[] = [];
    request.counters.forEach((counter, i) => {
      const window = windows[i]!;
      let entry = this.#counters.get(counter.id);
      if (!entry || entry.window !== window) {
        entry = { window, end: window + counter.windowMs, used: 0 };
        this.#counters.set(counter.id, entry);
      }
      entry.used += 1;
      this.#changed(`c:${counter.id}`, entry);
      counters.push({ id: counter.id, limit: counter.limit, remaining: counter.limit - entry.used, reset: window + counter.windowMs });
    });
    return { ok: true, counters, quota, breaker: verdict };
  }

  /** Gives back one request to each counter (in the window it was counted in) and to the quota. */
  refund(request: ShardRequest, now: number): void {
    for (const counter of request.counters) {
      const entry = this.#counters.get(counter.id);
      if (entry && entry.window === windowOf(counter, now) && entry.used > 0) {
        entry.used -= 1;
        this.#changed(`c:${counter.id}`, entry);
      }
    }
    if (request.quota) {
      const entry = this.#quotas.get(request.quota.id);
      if (entry && entry.used > 0) {
        entry.used -= 1;
        this.#changed(`q:${request.quota.id}`, entry);
      }
    }
  }

  /** A quota's state now (renewed when its period is over). */
  quota(spec: QuotaSpec, now: number): QuotaState {
    const entry = this.#quotas.get(spec.id);
    if (!entry || (entry.renews !== 0 && now >= entry.renews)) return { max: spec.max, remaining: spec.max, renews: 0 };
    return { max: spec.max, remaining: Math.max(0, spec.max - entry.used), renews: entry.renews };
  }

  resetQuota(id: string): void {
    if (this.#quotas.delete(id)) this.#changed(`q:${id}`, undefined);
  }

  /** Records an outcome: a trial decides the half-open state; other outcomes fill the sample. */
  record(spec: BreakerSpec, failed: boolean, trial: boolean, now: number): void {
    const entry = this.#breaker(spec.id);
    if (trial) {
      if (entry.state !== "half-open") return;
      if (failed) this.#open(entry, spec, now);
      else this.#close(entry);
    } else {
      if (entry.state !== "closed") return;
      entry.samples.push(failed ? 1 : 0);
      const size = Math.max(1, spec.sampleSize);
      if (entry.samples.length > size) entry.samples.splice(0, entry.samples.length - size);
      const failures = entry.samples.reduce((sum, sample) => sum + sample, 0);
      if (entry.samples.length >= size && failures > 0 && failures / entry.samples.length >= spec.threshold) this.#open(entry, spec, now);
    }
    this.#changed(`b:${spec.id}`, entry);
  }

  /** The breaker's verdict for a call, or the time (epoch ms) until which it refuses. */
  #admit(spec: BreakerSpec, now: number): BreakerVerdict | number {
    const entry = this.#breakers.get(spec.id);
    if (!entry || entry.state === "closed") return "closed";
    if (entry.state === "open") {
      if (now < entry.openUntil) return entry.openUntil;
      if (!spec.halfOpen) {
        this.#close(entry);
        this.#changed(`b:${spec.id}`, entry);
        return "closed";
      }
      entry.state = "half-open";
      entry.trialSince = 0;
    }
    // Half-open: one trial at a time (a trial whose outcome never came is given up after the cool-down).
    if (entry.trialSince !== 0 && now - entry.trialSince < spec.coolDownMs) return now + Math.min(1000, spec.coolDownMs);
    entry.trialSince = now;
    this.#changed(`b:${spec.id}`, entry);
    return "trial";
  }

  /** A refused request's trial is no trial: another call may try. */
  #release(spec: BreakerSpec | undefined, verdict: BreakerVerdict | undefined): void {
    if (!spec || verdict !== "trial") return;
    const entry = this.#breakers.get(spec.id);
    if (entry) {
      entry.trialSince = 0;
      this.#changed(`b:${spec.id}`, entry);
    }
  }

  #breaker(id: string): BreakerEntry {
    let entry = this.#breakers.get(id);
    if (!entry) {
      entry = { state: "closed", samples: [], openUntil: 0, trialSince: 0 };
      this.#breakers.set(id, entry);
    }
    return entry;
  }

  #open(entry: BreakerEntry, spec: BreakerSpec, now: number): void {
    entry.state = "open";
    entry.openUntil = now + spec.coolDownMs;
    entry.samples = [];
    entry.trialSince = 0;
  }

  #close(entry: BreakerEntry): void {
    entry.state = "closed";
    entry.samples = [];
    entry.openUntil = 0;
    entry.trialSince = 0;
  }

  #quotaEntry(spec: QuotaSpec, now: number): QuotaEntry {
    let entry = this.#quotas.get(spec.id);
    if (!entry) {
      entry = { used: 0, renews: 0 };
      this.#quotas.set(spec.id, entry);
    } else if (entry.renews !== 0 && now >= entry.renews) {
      entry.used = 0;
      entry.renews = 0;
    }
    return entry;
  }

  #changed(key: string, value: CounterEntry | QuotaEntry | BreakerEntry | undefined): void {
    if (this.#persisted) this.#changes.push([key, value]);
  }

  /** Now and then, counters whose window is over are forgotten. */
  #sweep(now: number): void {
    if (++this.#operations % 256 !== 0) return;
    for (const [id, entry] of this.#counters) {
      if (entry.end <= now) {
        this.#counters.delete(id);
        this.#changed(`c:${id}`, undefined);
      }
    }
  }
}
