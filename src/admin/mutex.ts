/**
 * A FIFO async mutex: admin writes that read before they write (id uniqueness, listen-path
 * collisions, a base proxy's version map) run one at a time, so none loses another's update.
 *
 * It serialises within one isolate or process. On Workers every admin request runs inside one
 * Durable Object, so one mutex covers the whole deployment; on Bun and Deno it covers the process
 * that serves the admin API.
 */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` after every earlier `run` has settled; a failure does not block later runs. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn, fn);
    this.#tail = result.catch(() => {});
    return result;
  }
}
