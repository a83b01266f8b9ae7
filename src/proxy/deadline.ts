/**
 * When an upstream request ends early: past its timeout, or once the client has gone. Pure.
 *
 * One `AbortController` per request, one timer. Listening to the client's `request.signal` is not
 * free on every runtime (on Bun it costs a sixth of a bare passthrough's throughput, measured with
 * `scripts/bench/`), and nearly every upstream answers its head within a millisecond, so the
 * client's signal is wired in only for a request still waiting after `linkAfterMs`: the first timer
 * fires then, links the client's signal (aborting at once if the client has already gone) and
 * re-arms for the rest of the timeout. A client that leaves while its request waits therefore
 * cancels the upstream request at most `linkAfterMs` later. Once the head has arrived (`settle()`),
 * the body is the client's stream: a client that leaves cancels it, and the cancel reaches the
 * upstream.
 */
export const DEFAULT_LINK_AFTER_MS = 50;

// Module-level timer callbacks (the deadline comes as the timer's argument): no closure per request.
function expire(deadline: UpstreamDeadline): void {
  deadline.expire();
}
function link(deadline: UpstreamDeadline): void {
  deadline.link();
}

export class UpstreamDeadline implements EventListenerObject {
  readonly #controller = new AbortController();
  readonly #client: { readonly signal: AbortSignal };
  readonly #timeoutMs: number;
  readonly #linkAfterMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #linked = false;
  #timedOut = false;

  /**
   * @param client the client's request (its `signal` is read only when needed)
   * @param timeoutMs the upstream timeout, from now
   */
  constructor(client: { readonly signal: AbortSignal }, timeoutMs: number, linkAfterMs = DEFAULT_LINK_AFTER_MS) {
    this.#client = client;
    this.#timeoutMs = timeoutMs;
    this.#linkAfterMs = linkAfterMs;
    this.#timer = timeoutMs <= linkAfterMs ? setTimeout(expire, timeoutMs, this) : setTimeout(link, linkAfterMs, this);
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
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (options?.followClient) {
      if (!this.#linked) this.link();
    } else if (this.#linked) {
      this.#linked = false;
      this.#client.signal.removeEventListener("abort", this);
    }
  }

  /** The timeout has passed (timer callback). */
  expire(): void {
    this.#timedOut = true;
    this.#controller.abort(new Error("upstream timeout"));
  }

  /** The client's signal aborted (this object is its listener). */
  handleEvent(): void {
    clearTimeout(this.#timer);
    this.#controller.abort(this.#client.signal.reason);
  }

  /** Ties the upstream request to the client's signal (timer callback, or a stream that starts). */
  link(): void {
    const client = this.#client.signal;
    if (client.aborted) {
      this.#controller.abort(client.reason);
      return;
    }
    this.#linked = true;
    client.addEventListener("abort", this, { once: true });
    // Still waiting for the head (not settled): the rest of the timeout.
    if (this.#timer !== undefined) this.#timer = setTimeout(expire, this.#timeoutMs - this.#linkAfterMs, this);
  }
}
