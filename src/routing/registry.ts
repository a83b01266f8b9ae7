/**
 * The routing table, cached per isolate or process and kept live.
 *
 * The registry watches the store's version stamp (see `src/stores/stamp.ts`: read at most once per
 * `maxAgeMs`, and at once after `invalidate()`) and, when it differs from the stamp its table was
 * built from, rebuilds the table from the stored definitions. The gateway invalidates after every
 * admin write it handles, so such a write serves on the very next request; a write made elsewhere
 * (a re-seed, another isolate) within `maxAgeMs`.
 *
 * Failure is closed: when the store cannot be read, the request fails with 503 rather than being
 * routed with a table of unknown age.
 */
import { DefinitionRepository } from "../definitions/repository.ts";
import { DEFAULT_STAMP_MAX_AGE_MS, StampWatch } from "../stores/stamp.ts";
import type { KeyValueStore } from "../stores/types.ts";
import { GatewayError } from "../errors.ts";
import { type CompileRoute, RouteTable, routeOnly } from "./route-table.ts";

export interface RegistryOptions {
  /** How a stored definition becomes a route (the request path's steps compile their parts). */
  compile?: CompileRoute;
  /** Called for a stored definition that fails validation or cannot be compiled (it is skipped). */
  onInvalid?: (key: string, issues: string[]) => void;
  /** Read the version stamp at most this often, in ms (default 1000; 0: every request). */
  maxAgeMs?: number;
}

export class RouteRegistry {
  readonly #repo: DefinitionRepository;
  readonly #onInvalid: (key: string, issues: string[]) => void;
  readonly #compile: CompileRoute;
  readonly #stamp$: StampWatch;
  #table: RouteTable | undefined;
  #stamp: string | null | undefined;

  constructor(store: KeyValueStore, options: RegistryOptions = {}) {
    this.#repo = new DefinitionRepository(store);
    this.#onInvalid = options.onInvalid ?? ((key, issues) => console.warn(`skipping ${key}: ${issues.join("; ")}`));
    this.#compile = options.compile ?? routeOnly;
    this.#stamp$ = new StampWatch(() => this.#repo.version(), options.maxAgeMs ?? DEFAULT_STAMP_MAX_AGE_MS);
  }

  /** Re-read the stamp on the next request (after a write this process made). */
  invalidate(): void {
    this.#stamp$.invalidate();
  }

  /** The table, without waiting, when its stamp is fresh and it was built from it; else `undefined`. */
  current(): RouteTable | undefined {
    const stamp = this.#stamp$.fresh();
    return stamp !== undefined && this.#table !== undefined && stamp === this.#stamp ? this.#table : undefined;
  }

  /** The current routing table. */
  async table(): Promise<RouteTable> {
    let stamp: string | null;
    try {
      stamp = await this.#stamp$.current();
    } catch (cause) {
      throw unavailable(cause);
    }
    if (this.#table !== undefined && stamp === this.#stamp) return this.#table;
    // Each request that finds the table out of date builds it itself (a Workers promise belongs to
    // its request, so a build is never shared in flight); the newest stamp's table is kept.
    let table: RouteTable;
    try {
      table = RouteTable.fromApis(await this.#repo.all(this.#onInvalid), this.#compile, this.#onInvalid);
    } catch (cause) {
      throw unavailable(cause);
    }
    if (this.#table === undefined || stamp === null || this.#stamp === null || this.#stamp === undefined || stamp >= this.#stamp) {
      this.#table = table;
      this.#stamp = stamp;
    }
    return table;
  }
}

function unavailable(cause: unknown): GatewayError {
  return new GatewayError("definition_store_unavailable", undefined, { cause });
}
