/**
 * Watching a version stamp in the store without reading it on every request.
 *
 * A cache (the routing table, compiled policies) is rebuilt when its stamp changes. Reading the
 * stamp costs a store round trip, so it is read at most once per `maxAgeMs` per isolate or
 * process, and `invalidate()` makes the next request read it again at once. Only the value read is
 * shared between requests, never a read in flight: on Workers a promise belongs to the request that
 * started it, and a request that awaited another's read would fail when that request ended first. The gateway invalidates after every admin write it handles, so a write through
 * the admin API is live on the very next request there; a write made elsewhere (another isolate,
 * a re-seed) within `maxAgeMs` plus the store's own propagation. With `maxAgeMs` 0 every request
 * reads the stamp.
 */

/** Default: read a stamp at most once a second. */
export const DEFAULT_STAMP_MAX_AGE_MS = 1000;

export class StampWatch {
  readonly #read: () => Promise<string | null>;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  #value: string | null | undefined;
  #readAt = Number.NEGATIVE_INFINITY;
  #generation = 0;

  constructor(read: () => Promise<string | null>, maxAgeMs = DEFAULT_STAMP_MAX_AGE_MS, now: () => number = Date.now) {
    this.#read = read;
    this.#maxAgeMs = maxAgeMs;
    this.#now = now;
  }

  /** The stamp if it is fresh (read within `maxAgeMs`, not invalidated), without waiting; else `undefined`. */
  fresh(): string | null | undefined {
    return this.#value !== undefined && this.#now() - this.#readAt < this.#maxAgeMs ? this.#value : undefined;
  }

  /** The stamp, read again when older than `maxAgeMs` or invalidated. */
  async current(): Promise<string | null> {
    if (this.#value !== undefined && this.#now() - this.#readAt < this.#maxAgeMs) return this.#value;
    const generation = this.#generation;
    const startedAt = this.#now();
    const value = await this.#read();
    // A read that started before an invalidation serves its own caller, but is not kept.
    if (generation === this.#generation && startedAt >= this.#readAt) {
      this.#value = value;
      this.#readAt = startedAt;
    }
    return value;
  }

  /** The next `current()` reads the store, whatever the age of the last read. */
  invalidate(): void {
    this.#generation++;
    this.#value = undefined;
  }
}
