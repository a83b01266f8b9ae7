/**
 * A step of the request path, and the runner that takes the steps in order.
 *
 * A step is one module with one job (`route`, `origin`, `cors`, `authenticate`, …). It may:
 *
 * - **compile** its part of each API definition when the routing table is built (per isolate or
 *   process, and again when a definition changes). The runner keeps the parts on the route, in the
 *   steps' order, and hands each step its own at request time; a part that cannot work throws a
 *   `DefinitionError` naming the field, and the API is skipped with a warning;
 * - **run** once per request on the request's {@link RequestState}: it returns nothing, or a
 *   promise only when it has to wait, so a request waits only where a step really waits. It refuses
 *   by throwing a `GatewayError`; it answers early by setting `state.response`;
 * - **finish** every answer of a request whose `run` it began, errors included, last step first
 *   (CORS labels the answer; record logs it).
 *
 * The first step that sets `state.response` ends the run (the last step, `forward`, always does).
 * Errors become answers in one place, {@link RequestPath.handle}, with `answerError`.
 */
import { type GatewayContext, RequestState } from "../context.ts";
import type { StoredApi } from "../definitions/repository.ts";
import { answerError, GatewayError } from "../errors.ts";
import { readHeaders } from "../http/headers.ts";
import { headerRevision } from "../mcp/revision.ts";
import type { ApiRoute, RouteBase } from "../routing/route-table.ts";

export interface Step<Part = undefined> {
  /** The step's name, for messages. */
  readonly name: string;
  /**
   * This step's part of one API, compiled once per routing table (`route` is routing's part of it).
   * @throws DefinitionError for settings that cannot work
   */
  compile?(api: StoredApi, route: RouteBase): Part;
  /** The step for one request; `part` is what `compile` made of the request's API. */
  run(c: GatewayContext, state: RequestState, part: Part): void | Promise<void>;
  /** Sees (and may replace) the answer of every request whose `run` this step began. */
  finish?(c: GatewayContext, state: RequestState, response: Response, part: Part): Response;
}

/** What the record sees of an error that is no `GatewayError` (answered as a 500). */
const INTERNAL_ERROR = new GatewayError("internal_error");

/** A step of any part, as the runner holds it. */
// biome-ignore lint/suspicious/noExplicitAny: the runner hands each step the part its own compile made.
type AnyStep = Step<any>;

/** The request path: its steps, in order. */
export class RequestPath {
  readonly #steps: readonly AnyStep[];
  /** The steps with a `finish`, last first, each with its index. */
  readonly #finishers: readonly { index: number; step: AnyStep }[];
  readonly #log: (message: string, detail?: unknown) => void;

  constructor(steps: readonly AnyStep[], log: (message: string, detail?: unknown) => void) {
    this.#steps = steps;
    this.#finishers = steps
      .map((step, index) => ({ index, step }))
      .filter(({ step }) => step.finish !== undefined)
      .reverse();
    this.#log = log;
  }

  /** One API as the request path serves it: routing's part, then every step's. */
  compile(api: StoredApi, base: RouteBase): ApiRoute {
    return { ...base, parts: this.#steps.map((step) => step.compile?.(api, base)) };
  }

  /** What `step` compiled of `route` (for code outside the path that needs it, such as the PRM endpoint). */
  part<Part>(route: ApiRoute, step: Step<Part>): Part {
    const index = this.#steps.indexOf(step);
    if (index === -1) throw new Error(`step ${step.name} is not on the request path`);
    return route.parts[index] as Part;
  }

  /** Takes one request through the steps and finishes its answer (errors included). */
  handle(c: GatewayContext): Response | Promise<Response> {
    const request = c.req.raw;
    const state = new RequestState(request.method, readHeaders(request.headers));
    c.set("state", state);
    let waited: void | Promise<void>;
    try {
      waited = this.#run(c, state, 0);
    } catch (error) {
      return this.#finish(c, state, this.#answerError(error, state));
    }
    if (waited === undefined) return this.#finish(c, state, this.#answer(state));
    return waited.then(
      () => this.#finish(c, state, this.#answer(state)),
      (error: unknown) => this.#finish(c, state, this.#answerError(error, state)),
    );
  }

  /** Runs the steps from `from` until one answers; waits only where a step returns a promise. */
  #run(c: GatewayContext, state: RequestState, from: number): void | Promise<void> {
    const steps = this.#steps;
    for (let i = from; i < steps.length; i++) {
      state.step = i;
      if (state.marks !== undefined) state.marks.push({ name: steps[i]!.name, at: performance.now() });
      // Steps before `route` (which sets `match`) have no part.
      const waited = steps[i]!.run(c, state, state.match?.route.parts[i]);
      if (waited !== undefined) return waited.then(() => (state.response === undefined ? this.#run(c, state, i + 1) : undefined));
      if (state.response !== undefined) return;
    }
  }

  #answer(state: RequestState): Response {
    return state.response ?? this.#answerError(new Error("the request path ended without an answer"), state);
  }

  #answerError(error: unknown, state: RequestState): Response {
    // Kept for the record step: the reason and the gateway's own code.
    state.error = error instanceof GatewayError ? error : INTERNAL_ERROR;
    // Kept for the record step: the reason and the gateway's own code.
    state.error = error instanceof GatewayError ? error : INTERNAL_ERROR;
    // The codes of the request's MCP revision: as `read` decided it, else as the header says.
    const revision = state.revision ?? headerRevision(state.headers["mcp-protocol-version"]);
    return answerError(error, state.mcp?.id ?? null, this.#log, revision);
  }

  #finish(c: GatewayContext, state: RequestState, response: Response): Response {
    let out = response;
    for (const { index, step } of this.#finishers) {
      if (index <= state.step) out = step.finish!(c, state, out, state.match?.route.parts[index]);
    }
    return out;
  }
}
