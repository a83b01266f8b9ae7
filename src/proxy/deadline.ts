/**
 * When an upstream request ends early: past its timeout, or once the client has gone. Pure.
 *
 * One `AbortController` per request. Listening to the client's `request.signal` is not free on
 * every runtime (on Bun it costs a sixth of a bare passthrough's throughput, measured with
 * `scripts/bench/`), and nearly every upstream answers its head within a millisecond, so the
 * client's signal is wired in only for a request still waiting after `linkAfterMs`: then the
 * client's signal is linked (aborting at once if the client has already gone). A client that leaves
 * while its request waits therefore cancels the upstream request at most `linkAfterMs` later.
 *
 * Once the head has arrived (`settle()`), a short body is the client's to read or drop; a stream
 * (`settle({ followClient: true })`), which may last for hours, stays tied to the client's signal,
 * since not every runtime cancels a response body whose client left.
 *
 * Two ways to keep time:
 * - With a {@link DeadlineClock} (Bun, Deno, Node: one event loop for the whole process), no timer
 *   per request: the clock's one interval checks every pending deadline each tick, so the link and
 *   the timeout happen up to one tick ({@link DEFAULT_TICK_MS}) late. A `setTimeout` and
 *   `clearTimeout` per request cost ~3 µs of Bun's CPU with 32 requests in flight (measured against
 *   the bench upstream); adding to and deleting from the clock's set, well under 1 µs.
 * - Without one, a timer per request: it fires at `linkAfterMs`, links the client's signal and
 *   re-arms for the rest of the timeout. This is the way on workerd, where a timer belongs to the
 *   request that set it (it ends with that request, and one request may not abort another's
 *   fetch), so no timer can be shared. There a settled deadline leaves its timer be, and the timer
 *   does nothing if it fires: one `clearTimeout` less per request.
 */
export const DEFAULT_LINK_AFTER_MS = 50;

/** How often a {@link DeadlineClock} checks its pending deadlines (ms). */
export const DEFAULT_TICK_MS = 10;

/** What a {@link DeadlineClock} watches. */
interface Watched {
  /** Called each tick with the time; returns true when it needs watching no longer. */
  tick(now: number): boolean;
}

/**
 * One interval for all pending deadlines of a process. It runs only while something is pending:
 * a tick that finds nothing stops it, and the next deadline starts it again. Where the runtime's
 * timers can be unref'd (Bun, Node), it never keeps the process alive by itself.
 */
export class DeadlineClock {
  readonly #pending = new Set<Watched>();
  readonly #tickMs: number;
  #interval: ReturnType<typeof setInterval> | undefined;

  constructor(tickMs = DEFAULT_TICK_MS) {
    this.#tickMs = tickMs;
  }

  /** How many deadlines are being watched. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Whether the interval runs. */
  get running(): boolean {
    return this.#interval !== undefined;
  }

  watch(entry: Watched): void {
    this.#pending.add(entry);
    if (this.#interval === undefined) {
      const interval = setInterval(tickClock, this.#tickMs, this);
      (interval as { unref?: () => void }).unref?.();
      this.#interval = interval;
    }
  }

  release(entry: Watched): void {
    this.#pending.delete(entry);
  }

  /** The interval's callback. */
  tick(): void {
    if (this.#pending.size === 0) {
      clearInterval(this.#interval);
      this.#interval = undefined;
      return;
    }
    const now = Date.now();
    // Deleting the entry being visited is safe while iterating a Set.
    for (const entry of this.#pending) if (entry.tick(now)) this.#pending.delete(entry);
  }
}

function tickClock(clock: DeadlineClock): void {
  clock.tick();
}

export interface DeadlineOptions {
  /** How long the upstream may take before the client's signal is wired in (default 50 ms). */
  linkAfterMs?: number;
  /** The runtime cancels a request's timers when the request is done: they need no clearing. */
  timersEndWithRequest?: boolean;
  /** Keep time with this clock instead of a timer per request (see above). */
  clock?: DeadlineClock;
}

// Module-level timer callbacks (the deadline comes as the timer's argument): no closure per request.
function expire(deadline: UpstreamDeadline): void {
  deadline.expire();
}
function linkLater(deadline: UpstreamDeadline): void {
  deadline.linkLater();
}

export class UpstreamDeadline implements EventListenerObject, Watched {
  readonly #controller = new AbortController();
  readonly #client: { readonly signal: AbortSignal };
  readonly #timeoutMs: number;
  readonly #linkAfterMs: number;
  readonly #clearTimers: boolean;
  readonly #clock: DeadlineClock | undefined;
  /** With a clock: when the client's signal is linked, and when the request times out (epoch ms). */
  readonly #linkAt: number = 0;
  readonly #expiresAt: number = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #settled = false;
  #linked = false;
  #timedOut = false;

  /**
   * @param client the client's request (its `signal` is read only when needed)
   * @param timeoutMs the upstream timeout, from now
   */
  constructor(client: { readonly signal: AbortSignal }, timeoutMs: number, options: DeadlineOptions = {}) {
    const linkAfterMs = options.linkAfterMs ?? DEFAULT_LINK_AFTER_MS;
    this.#client = client;
    this.#timeoutMs = timeoutMs;
    this.#linkAfterMs = linkAfterMs;
    this.#clearTimers = options.timersEndWithRequest !== true;
    const clock = options.clock;
    this.#clock = clock;
    if (clock) {
      const now = Date.now();
      this.#linkAt = now + linkAfterMs;
      this.#expiresAt = now + timeoutMs;
      clock.watch(this);
    } else {
      this.#timer = timeoutMs <= linkAfterMs ? setTimeout(expire, timeoutMs, this) : setTimeout(linkLater, linkAfterMs, this);
    }
  }

  /** The signal to give the upstream `fetch`. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Whether the upstream request was aborted for taking too long. */
  get timedOut(): boolean {
    return this.#timedOut;
  }

  /** Whether the client went away before the upstream answered. */
  get clientGone(): boolean {
    return this.#client.signal.aborted;
  }

  /**
   * The upstream's head arrived, or the request failed: no more timeout. With `followClient`, the
   * client's leaving still aborts the upstream request (and so its body); without, it no longer does.
   */
  settle(options?: { followClient?: boolean }): void {
    this.#settled = true;
    if (this.#clock) this.#clock.release(this);
    else if (this.#clearTimers) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (options?.followClient) {
      this.#link();
    } else if (this.#linked) {
      this.#linked = false;
      this.#client.signal.removeEventListener("abort", this);
    }
  }

  /** The timeout has passed (timer callback). */
  expire(): void {
    if (this.#settled) return;
    this.#timedOut = true;
    this.#controller.abort(new Error("upstream timeout"));
  }

  /** The link delay has passed (timer callback): tie the waiting request to the client. */
  linkLater(): void {
    if (this.#settled) return;
    this.#link();
    // The rest of the timeout, unless the client has gone already.
    if (!this.#controller.signal.aborted) this.#timer = setTimeout(expire, this.#timeoutMs - this.#linkAfterMs, this);
  }

  /** A clock's tick: link or expire when due. True once nothing is left to watch for. */
  tick(now: number): boolean {
    if (this.#settled || this.#controller.signal.aborted) return true;
    if (now >= this.#expiresAt) {
      this.expire();
      return true;
    }
    if (now >= this.#linkAt) this.#link();
    return this.#controller.signal.aborted;
  }

  /** The client's signal aborted (this object is its listener). */
  handleEvent(): void {
    if (this.#clock) this.#clock.release(this);
    else if (this.#clearTimers) clearTimeout(this.#timer);
    this.#controller.abort(this.#client.signal.reason);
  }

  #link(): void {
    if (this.#linked) return;
    const client = this.#client.signal;
    if (client.aborted) {
      this.#controller.abort(client.reason);
      return;
    }
    this.#linked = true;
    client.addEventListener("abort", this, { once: true });
  }
}
