/**
 * record: the first step, and the last to finish. It notes when the request arrived; its `finish`
 * sees every answer (the gateway's own errors included), builds the request's one record
 * (`observe/record.ts`) and hands it to the observer, which writes the access log, the metrics,
 * the spans and the analytics in batches, off the response path (`deps.waitUntil`). Nothing here
 * waits, and nothing that fails later can fail or slow the request.
 *
 * - Latencies end with the answer: an SSE answer to a request when its end has passed (its body is
 *   watched for its end, or the client's leaving), any other answer when its head is handed back.
 *   Upstream latency runs from the upstream request to that same end; the gateway's is the rest.
 * - A list answer (`tools/list`, …) names what the upstream has: the names metrics and analytics
 *   count as themselves (`observe/labels.ts`). When the observer wants a page read again
 *   (`ListLearning`: not read for a minute in this process or isolate, or a call named a primitive
 *   the API does not know), its body is kept as it passes and read off the response path; every
 *   other list answer passes untouched.
 * - The gateway's own endpoints (management APIs, `/metrics`, `/hello`, the dashboard, PRM
 *   documents) are not recorded.
 * - Tracing (`opentelemetry.enabled`): {@link traceUpstream} continues the client's `traceparent`
 *   (header, else `params._meta`) or starts a trace, and gives the upstream the upstream call's span
 *   as parent. Without it, the client's `traceparent` passes as it came and its trace id is logged.
 * - Per API: `middleware.global.trafficLogs.enabled: false` keeps the API out of analytics;
 *   `doNotTrackEndpoint` on a tool, resource or prompt (or on an operation) keeps those calls out;
 *   `server.detailedActivityLogs` turns argument capture on (as `analytics_config.
 *   enable_detailed_recording` does for every API), with the configured fields redacted;
 *   `server.detailedTracing` adds a span per step.
 */
import type { ClientAddress, GatewayContext, RequestState, WaitUntil } from "../context.ts";
import { declaredOperations } from "../definitions/operations.ts";
import type { Operation } from "../definitions/schema.ts";
import type { UpstreamHeaders } from "../http/headers.ts";
import { wireCode } from "../errors.ts";
import { canonicalKeys } from "../mcp/identifiers.ts";
import { headerRevision } from "../mcp/revision.ts";
import { listMethod, type PrimitiveType } from "../mcp/jsonrpc.ts";
import type { Observer } from "../observe/observer.ts";
import { RequestRecord } from "../observe/record.ts";
import { metaTraceContext, parseTraceparent, sampler, startTrace, traceparentFor } from "../observe/trace-context.ts";
import type { Step } from "./step.ts";

/** What the record step keeps of one API. */
export interface RecordPart {
  kind: string;
  /** `trafficLogs.enabled` is not false. */
  tracked: boolean;
  /** Primitives with `doNotTrackEndpoint`, by type (canonical names). */
  untracked: Readonly<Record<PrimitiveType, ReadonlySet<string>>> | undefined;
  /** HTTP methods whose operation has `doNotTrackEndpoint`. */
  untrackedMethods: ReadonlySet<string> | undefined;
  /** `server.detailedActivityLogs`: tool arguments recorded (redacted). */
  detailed: boolean;
  /** `server.detailedTracing`: a span per step. */
  detailedTracing: boolean;
}

function untrackedNames(type: PrimitiveType, entries: Record<string, Operation> | undefined): Set<string> {
  const out = new Set<string>();
  for (const [name, operation] of canonicalKeys(type, entries)) if (operation.doNotTrackEndpoint?.enabled) out.add(name);
  return out;
}

export interface RecordOptions {
  observer: Observer;
  waitUntil: WaitUntil;
  clientAddress?: ClientAddress;
}

/** The most of a list answer kept to learn names from (a bigger one teaches nothing). */
const MAX_LIST_ANSWER_BYTES = 4 * 1024 * 1024;

/**
 * Ends when the body has passed, or the client has left; calls `done` once either way, with the
 * body's bytes when `keep` asked for them (and they stayed within {@link MAX_LIST_ANSWER_BYTES}).
 */
function watchEnd(
  body: ReadableStream<Uint8Array>,
  keep: boolean,
  done: (bytes: Uint8Array[] | undefined) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let kept: Uint8Array[] | undefined = keep ? [] : undefined;
  let size = 0;
  let ended = false;
  const end = (complete: boolean) => {
    if (!ended) {
      ended = true;
      done(complete ? kept : undefined);
    }
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done: finished, value } = await reader.read();
          if (finished) {
            controller.close();
            end(true);
          } else {
            if (kept !== undefined) {
              size += value.byteLength;
              if (size > MAX_LIST_ANSWER_BYTES) kept = undefined;
              else kept.push(value);
            }
            controller.enqueue(value);
          }
        } catch (error) {
          controller.error(error);
          end(false);
        }
      },
      cancel(reason) {
        end(false);
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** The record step. */
export function record(options: RecordOptions): Step<RecordPart> {
  const { observer, waitUntil } = options;
  const config = observer.config;
  const active = observer.active;
  const detailedEverywhere = config.analytics.detailedRecording;
  const tracing = observer.traces !== undefined;
  /** Some API asks for a span per step: only then are the steps' starts noted. */
  let detailedSomewhere = false;

  function complete(c: GatewayContext, state: RequestState, response: Response, part: RecordPart | undefined, end: number): RequestRecord {
    const r = new RequestRecord();
    const started = state.startedAt;
    r.time = Date.now() - (end - started);
    const match = state.match;
    if (match !== undefined) {
      r.apiId = match.route.id;
      r.apiName = match.route.name;
      r.apiType = match.route.kind;
    }
    let ip = state.clientAddress;
    if (ip === null) ip = state.clientAddress = options.clientAddress?.(c, state.headers);
    r.clientIp = ip ?? "";
    r.method = state.method;
    r.path = state.path;
    r.status = response.status;
    r.latencyTotal = end - started;
    if (state.upstreamStart !== 0) {
      r.upstreamOffset = state.upstreamStart - started;
      r.latencyUpstream = Math.max(0, (streamed(state) ? end : state.upstreamHead || end) - state.upstreamStart);
    }
    r.latencyGateway = Math.max(0, r.latencyTotal - r.latencyUpstream);
    const mcp = state.mcp;
    if (mcp !== undefined) {
      r.mcpMethod = mcp.method;
      r.primitiveType = mcp.primitiveType;
      r.primitiveName = mcp.primitiveName;
    }
    const error = state.error;
    if (error !== undefined) {
      // The code the client got: the -33000 range on MCP 2026-07-28.
      r.errorCode = wireCode(error, state.revision ?? headerRevision(state.headers["mcp-protocol-version"]));
      r.errorReason = error.reason;
      const limit = error.headers["X-RateLimit-Limit"];
      if (limit !== undefined) {
        r.rateLimitLimit = Number(limit);
        r.rateLimitReset = Number(error.headers["X-RateLimit-Reset"]);
      }
    }
    const session = state.session;
    if (session !== undefined) {
      r.alias = session.alias;
      r.authKind = session.kind;
      r.policies = session.policies;
      if (session.kind === "token") r.keyHash = session.id;
    }
    let trace = state.trace;
    if (trace === undefined && tracing) trace = state.trace = traceOf(state, sample);
    if (trace !== undefined) {
      r.traceId = trace.traceId;
      r.spanId = trace.spanId;
      r.parentSpanId = trace.parentSpanId;
      r.upstreamSpanId = trace.upstreamSpanId;
      r.sampled = trace.sampled;
    } else {
      const incoming = state.headers.traceparent;
      if (incoming !== undefined) r.traceId = parseTraceparent(incoming)?.traceId ?? "";
    }
    if (part !== undefined) {
      r.tracked =
        part.tracked &&
        !(part.untrackedMethods?.has(state.method) ?? false) &&
        !(mcp !== undefined && mcp.primitiveType !== "" && (part.untracked?.[mcp.primitiveType].has(mcp.primitiveName) ?? false));
      r.detailedTracing = part.detailedTracing;
      if ((part.detailed || detailedEverywhere) && mcp?.primitiveType === "tool") r.rawBody = state.body;
    } else if (detailedEverywhere && mcp?.primitiveType === "tool") {
      r.rawBody = state.body;
    }
    const marks = state.marks;
    if (marks !== undefined && r.detailedTracing) r.steps = marks.map((m) => ({ name: m.name, at: m.at - started }));
    return r;
  }

  const sample = sampler(config.traces.sampling.type, config.traces.sampling.rate, config.traces.sampling.parentBased);

  const hand = (c: GatewayContext, r: RequestRecord) => {
    const flushed = observer.add(r);
    if (flushed !== undefined) waitUntil(c, flushed);
  };

  return {
    name: "record",
    compile(api) {
      const tyk = api.definition["x-tyk-api-gateway"];
      observer.learn(api.id, api.definition);
      const middleware = tyk.middleware;
      if (tyk.server.detailedTracing?.enabled === true) detailedSomewhere = true;
      const untracked = {
        tool: untrackedNames("tool", middleware?.mcpTools),
        resource: untrackedNames("resource", middleware?.mcpResources),
        prompt: untrackedNames("prompt", middleware?.mcpPrompts),
      };
      const untrackedMethods = new Set<string>();
      for (const { method, operation } of declaredOperations(api.definition)) {
        const id = operation.operationId;
        if (typeof id === "string" && middleware?.operations?.[id]?.doNotTrackEndpoint?.enabled) untrackedMethods.add(method);
      }
      return {
        kind: api.kind,
        tracked: middleware?.global?.trafficLogs?.enabled !== false,
        untracked: untracked.tool.size + untracked.resource.size + untracked.prompt.size > 0 ? untracked : undefined,
        untrackedMethods: untrackedMethods.size > 0 ? untrackedMethods : undefined,
        detailed: tyk.server.detailedActivityLogs?.enabled === true,
        detailedTracing: tyk.server.detailedTracing?.enabled === true,
      };
    },
    run(_c, state) {
      if (!active) return;
      state.startedAt = performance.now();
      if (tracing && detailedSomewhere) state.marks = [];
    },
    finish(c, state, response, part) {
      // Nothing to record, or one of the gateway's own endpoints answered (no API, no error).
      if (!active || (state.match === undefined && state.error === undefined)) return response;
      const head = performance.now();
      const body = response.body;
      const mcp = state.mcp;
      if (body !== null && mcp?.kind === "request") {
        const sse = streamed(state);
        // A list answer is read for names only when the observer wants that page read again.
        const list =
          state.error === undefined &&
          state.upstreamStart !== 0 &&
          mcp.id !== null &&
          listMethod(mcp.method) !== undefined &&
          observer.lists.claim(state.match.route.id, mcp.method, mcp.cursor ?? "", Date.now());
        if (list || sse) {
          // An SSE answer ends with its last event, and a list answer read for names is kept whole:
          // the record waits for the body's end, off the response path.
          let finished!: (bytes: Uint8Array[] | undefined) => void;
          const ended = new Promise<Uint8Array[] | undefined>((resolve) => {
            finished = resolve;
          });
          const watched = new Response(watchEnd(body, list, finished), response);
          waitUntil(
            c,
            ended.then((bytes) => {
              const r = complete(c, state, response, part, sse ? performance.now() : head);
              if (bytes !== undefined && mcp.id !== null) {
                r.listAnswer = decodeAll(bytes);
                r.listAnswerSse = sse;
                r.listId = mcp.id;
              }
              return observer.add(r);
            }),
          );
          return watched;
        }
      }
      hand(c, complete(c, state, response, part, head));
      return response;
    },
  };
}

function decodeAll(chunks: Uint8Array[]): string {
  const decoder = new TextDecoder();
  let text = "";
  for (const chunk of chunks) text += decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}

/** Whether the answer is the upstream's SSE stream (no header read: `forward` noted it). */
function streamed(state: RequestState): boolean {
  return state.upstreamSse && state.error === undefined;
}

/** The trace a request continues (its `traceparent`, else the one in `params._meta`) or starts. */
function traceOf(state: RequestState, sample: ReturnType<typeof sampler>) {
  let traceparent = state.headers.traceparent;
  let tracestate = state.headers.tracestate;
  if (traceparent === undefined || parseTraceparent(traceparent) === undefined) {
    const meta = metaTraceContext(state.body);
    if (meta !== undefined) {
      traceparent = meta.traceparent;
      tracestate = meta.tracestate;
    }
  }
  return startTrace(traceparent, tracestate, sample);
}

/**
 * The forward step's hook when tracing is on: the trace this request continues or starts, and its
 * `traceparent` (the upstream call's span as parent) and `tracestate` for the upstream.
 */
export function traceUpstream(observer: Observer): ((state: RequestState, headers: UpstreamHeaders) => void) | undefined {
  if (observer.traces === undefined) return undefined;
  const sampling = observer.config.traces.sampling;
  const sample = sampler(sampling.type, sampling.rate, sampling.parentBased);
  return (state, headers) => {
    const trace = traceOf(state, sample);
    state.trace = trace;
    headers.traceparent = traceparentFor(trace);
    if (trace.traceState !== undefined) headers.tracestate = trace.traceState;
    else delete headers.tracestate;
  };
}
