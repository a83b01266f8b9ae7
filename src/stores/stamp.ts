/**
 * Watching a version stamp in the store without reading it on every request.
 *
 * A cache (the routing table, compiled policies) is rebuilt when its stamp changes. Reading the
 * stamp costs a store round trip, so it is read at most once per `maxAgeMs` per isolate or
 * process, concurrent readers share one read, and `invalidate()` makes the next request read it
 * again at once. The gateway invalidates after every admin write it handles, so a write through
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
  #reading: Promise<string | null> | undefined;
  #generation = 0;

  constructor(read: () => Promise<string | null>, maxAgeMs = DEFAULT_STAMP_MAX_AGE_MS, now: () => number = Date.now) {
    this.#read = read;
    this.#maxAgeMs = maxAgeMs;
    this.#now = now;
  }

  /** The stamp, read again when older than `maxAgeMs` or invalidated. */
  current(): Promise<string | null> {
    if (this.#value !== undefined && this.#now() - this.#readAt < this.#maxAgeMs) return Promise.resolve(this.#value);
    if (this.#reading) return this.#reading;
    const generation = this.#generation;
    const startedAt = this.#now();
    const reading = this.#read().then(
      (value) => {
        // A read that started before an invalidation is used by its own waiters, not cached.
        if (generation === this.#generation) {
          this.#value = value;
          this.#readAt = startedAt;
        }
        return value;
      },
    );
    this.#reading = reading;
    const clear = () => {
      if (this.#reading === reading) this.#reading = undefined;
    };
    reading.then(clear, clear);
    return reading;
  }

  /** The next `current()` reads the store, whatever the age of the last read. */
  invalidate(): void {
    this.#generation++;
    this.#value = undefined;
    this.#reading = undefined;
  }
}
