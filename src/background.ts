/**
 * Work handed off the response path where the runtime has no `waitUntil` (Bun, Deno): each task is
 * tracked until it settles, and {@link BackgroundTasks.drain} waits for those in flight when the
 * process shuts down, so counters and records written after an answer are not lost. Pure.
 *
 * On Workers the entry hands tasks to `ExecutionContext.waitUntil` instead.
 */
export class BackgroundTasks {
  readonly #pending = new Set<Promise<unknown>>();
  readonly #onError: (error: unknown) => void;

  /** @param onError where a task's failure goes (default: console.warn); a failure never escapes */
  constructor(onError: (error: unknown) => void = (error) => console.warn("background task failed", error)) {
    this.#onError = onError;
  }

  /** Tracks `task` until it settles. */
  add(task: Promise<unknown>): void {
    const tracked = task.then(
      () => undefined,
      (error: unknown) => this.#onError(error),
    );
    this.#pending.add(tracked);
    tracked.finally(() => this.#pending.delete(tracked));
  }

  /** How many tasks are in flight. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Waits for every task in flight, tasks added meanwhile included, for at most `timeoutMs`.
   * @returns whether all of them settled in time
   */
  async drain(timeoutMs = 10_000): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      while (this.#pending.size > 0) {
        const settled = await Promise.race([Promise.all(this.#pending).then(() => true as const), late]);
        if (!settled) return false;
      }
      return true;
    } finally {
      clearTimeout(timer);
    }
  }
}
