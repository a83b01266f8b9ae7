/**
 * When an upstream request ends early: past its timeout, or once the client has gone. Pure.
 *
 * One `AbortController` per request, one timer. Listening to the client's `request.signal` is not
 * free on every runtime (on Bun it costs a sixth of a bare passthrough's throughput, measured with
 * `scripts/bench/`), and nearly every upstream answers its head within a millisecond, so the
 * client's signal is wired in only for a request still waiting after `linkAfterMs`: the first timer
 * fires then, links the client's signal (aborting at once if the client has already gone) and
 * re-arms for the rest of the timeout. A client that leaves while its request waits therefore
 * cancels the upstream request at most `linkAfterMs` later.
 *
 * Once the head has arrived (`settle()`), a short body is the client's to read or drop; a stream
 * (`settle({ followClient: true })`), which may last for hours, stays tied to the client's signal,
 * since not every runtime cancels a response body whose client left.
 *
 * Where a request's timers end with it (workerd cancels them when its request is done), a settled
 * deadline leaves its timer be, and the timer does nothing if it fires: one `clearTimeout` less
 * per request.
 */
export const DEFAULT_LINK_AFTER_MS = 50;

export interface DeadlineOptions {
  /** How long the upstream may take before the client's signal is wired in (default 50 ms). */
  linkAfterMs?: number;
  /** The runtime cancels a request's timers when the request is done: they need no clearing. */
  timersEndWithRequest?: boolean;
}

// Module-level timer callbacks (the deadline comes as the timer's argument): no closure per request.
function expire(deadline: UpstreamDeadline): void {
  deadline.expire();
}
function linkLater(deadline: UpstreamDeadline): void {
  deadline.linkLater();
}

export class UpstreamDeadline implements EventListenerObject {
  readonly #controller = new AbortController();
  readonly #client: { readonly signal: AbortSignal };
  readonly #timeoutMs: number;
  readonly #linkAfterMs: number;
  readonly #clearTimers: boolean;
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
    this.#timer = timeoutMs <= linkAfterMs ? setTimeout(expire, timeoutMs, this) : setTimeout(linkLater, linkAfterMs, this);
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
    if (this.#clearTimers) clearTimeout(this.#timer);
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

  /** The client's signal aborted (this object is its listener). */
  handleEvent(): void {
    if (this.#clearTimers) clearTimeout(this.#timer);
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
