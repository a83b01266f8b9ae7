/**
 * limit: rate limits at every level, quotas, throttling and circuit breakers, after `authorize` (a
 * refused message charges nothing) and before `forward`. Each level is counted on its own:
 *
 * | level | from | counted per | shard |
 * | --- | --- | --- | --- |
 * | the consumer | the policy's `rate`/`per`, or the access right's `limit` (then per API) | consumer | `c:<consumer>` |
 * | a JSON-RPC method | the access right's `json_rpc_methods` | consumer | `c:<consumer>` |
 * | a tool, resource or prompt | the access right's `mcp_primitives` | consumer | `c:<consumer>` |
 * | the consumer's quota | `quota_max`/`quota_renewal_rate` | consumer | `c:<consumer>` |
 * | a tool, resource or prompt, for everyone | `middleware.mcpTools.<name>.rateLimit` (and its `circuitBreaker`) | primitive | `p:<api>:<type>:<name>`, or `a:<api>` when every message asks it |
 * | the proxy's endpoint, for everyone | `middleware.operations.<operationId>.rateLimit` | API | `a:<api>` |
 * | the upstream | `upstream.rateLimit` | API | `a:<api>` |
 *
 * A shard is charged all or none, so a consumer who exhausts one tool's budget can still call its
 * other tools (its own rate limit was not charged for the refused calls). The shards a request
 * touches are asked together; when one refuses, the others are given back their charge.
 *
 * Over a rate limit: -32003 with 429, `Retry-After` and `X-RateLimit-Limit`, `-Remaining`, `-Reset`;
 * with throttling (`throttle_interval`, `throttle_retry_limit`) the request first waits and tries
 * again, up to that bound. Over its quota: -32005 with 403. An open circuit: -32004 with 503 and
 * `Retry-After`, without reaching the upstream; other tools keep flowing. A call through a breaker
 * has its outcome recorded after the answer (`finish`), off the response path.
 *
 * A backend that cannot be reached: rate limits let the request through, quotas refuse it (503),
 * unless the definition says otherwise (`middleware.global.limiterUnavailable`). `skipRateLimit` and
 * `skipQuota` turn the consumer's rate limit and quota off for an API.
 */
import type { GatewayContext, RequestState, WaitUntil } from "../context.ts";
import { declaredOperations } from "../definitions/operations.ts";
import { durationMs, type McpDefinition, type Operation } from "../definitions/schema.ts";
import { GatewayError } from "../errors.ts";
import { canonicalKeys } from "../mcp/identifiers.ts";
import type { PrimitiveType } from "../mcp/jsonrpc.ts";
import type { BreakerSpec, CounterState, Limiter, QuotaState, RateCounter, ShardAnswer, ShardRequest } from "../traffic/limiter.ts";
import { watchOutcome } from "../traffic/outcome.ts";
import type { Step } from "./step.ts";

/** A primitive's own limits, for every consumer. */
interface PrimitivePart {
  shard: string;
  counter: RateCounter | undefined;
  breaker: BreakerSpec | undefined;
}

/** What the limit step holds of one API. */
export interface LimitPart {
  apiShard: string;
  /** The endpoint's limits, by HTTP method (`middleware.operations.<operationId>.rateLimit`). */
  operations: ReadonlyMap<string, RateCounter>;
  upstream: RateCounter | undefined;
  primitives: Readonly<Record<PrimitiveType, ReadonlyMap<string, PrimitivePart>>>;
  skipRateLimit: boolean;
  skipQuota: boolean;
  refuseWithoutRateLimits: boolean;
  refuseWithoutQuotas: boolean;
}

type RateLimitField = NonNullable<Operation["rateLimit"]>;

function counterOf(id: string, limit: RateLimitField | undefined): RateCounter | undefined {
  if (!limit?.enabled || !(limit.rate > 0)) return undefined;
  const windowMs = durationMs(limit.per);
  return windowMs > 0 ? { id, limit: limit.rate, windowMs } : undefined;
}

function breakerOf(id: string, operation: Operation): BreakerSpec | undefined {
  const breaker = operation.circuitBreaker;
  if (!breaker?.enabled) return undefined;
  return {
    id,
    threshold: breaker.threshold,
    sampleSize: breaker.sampleSize,
    coolDownMs: breaker.coolDownPeriod * 1000,
    halfOpen: breaker.halfOpenStateEnabled,
  };
}

/** The limit step's part of a definition. */
export function compileLimits(id: string, definition: McpDefinition): LimitPart {
  const tyk = definition["x-tyk-api-gateway"];
  const middleware = tyk.middleware;
  const operations = new Map<string, RateCounter>();
  for (const { method, operation } of declaredOperations(definition)) {
    const operationId = operation.operationId;
    if (typeof operationId !== "string" || operations.has(method)) continue;
    const counter = counterOf(`operation:${method}`, middleware?.operations?.[operationId]?.rateLimit);
    if (counter) operations.set(method, counter);
  }
  const upstream = counterOf("upstream", tyk.upstream.rateLimit);
  const apiShard = `a:${id}`;
  // Every MCP message (a POST) asks the API's shard already when the upstream or the POST endpoint
  // has a limit: then a primitive's own limits and breaker live there too, one call instead of two.
  const apiAskedByEveryMessage = upstream !== undefined || operations.has("POST");
  const primitives = (type: PrimitiveType, entries: Record<string, Operation> | undefined) => {
    const out = new Map<string, PrimitivePart>();
    for (const [name, operation] of canonicalKeys(type, entries)) {
      const part = {
        shard: apiAskedByEveryMessage ? apiShard : `p:${id}:${type}:${name}`,
        counter: counterOf(`${type}:${name}`, operation.rateLimit),
        breaker: breakerOf(`${type}:${name}`, operation),
      };
      if (part.counter || part.breaker) out.set(name, part);
    }
    return out;
  };
  const unavailable = middleware?.global?.limiterUnavailable;
  return {
    apiShard,
    operations,
    upstream,
    primitives: {
      tool: primitives("tool", middleware?.mcpTools),
      resource: primitives("resource", middleware?.mcpResources),
      prompt: primitives("prompt", middleware?.mcpPrompts),
    },
    skipRateLimit: middleware?.global?.skipRateLimit === true,
    skipQuota: middleware?.global?.skipQuota === true,
    refuseWithoutRateLimits: unavailable?.rateLimits === "refuse",
    refuseWithoutQuotas: unavailable?.quotas !== "allow",
  };
}

/** One shard's share of a request. */
export interface Take {
  shard: string;
  request: ShardRequest;
}

/** The shards one request touches, and what each is asked; empty when nothing limits it. */
export function plan(state: RequestState, part: LimitPart): Take[] {
  const takes: Take[] = [];
  const mcp = state.mcp;
  const type: PrimitiveType | undefined = mcp !== undefined && mcp.primitiveType !== "" ? mcp.primitiveType : undefined;
  const name = mcp?.primitiveName ?? "";
  const session = state.session;
  if (session !== undefined) {
    const limits = state.limits;
    const counters: RateCounter[] = [];
    const add = (limit: { id: string; rate: number; perMs: number } | undefined) => {
      if (limit) counters.push({ id: limit.id, limit: limit.rate, windowMs: limit.perMs });
    };
    // The most specific first: its refusal names the tightest budget.
    if (type) add(limits.primitives[type].get(name));
    if (mcp !== undefined && mcp.method !== "") add(limits.methods.get(mcp.method));
    if (!part.skipRateLimit) add(limits.rate);
    const quota =
      part.skipQuota || limits.quota === undefined
        ? undefined
        : { id: limits.quota.id, max: limits.quota.max, renewalMs: limits.quota.renewalMs };
    if (counters.length > 0 || quota) takes.push({ shard: `c:${session.id}`, request: { counters, quota } });
  }
  if (type) {
    const primitive = part.primitives[type].get(name);
    // A breaker judges calls; a notification about a primitive is no call.
    const breaker = mcp?.kind === "request" ? primitive?.breaker : undefined;
    if (primitive && (primitive.counter || breaker)) {
      takes.push({ shard: primitive.shard, request: { counters: primitive.counter ? [primitive.counter] : [], breaker } });
    }
  }
  const operation = part.operations.get(state.method);
  if (operation || part.upstream) {
    const counters: RateCounter[] = [];
    if (operation) counters.push(operation);
    if (part.upstream) counters.push(part.upstream);
    // The primitive's share, when it lives in the API's shard: one request, charged all or none.
    const shared = takes.at(-1);
    if (shared !== undefined && shared.shard === part.apiShard) {
      shared.request = { ...shared.request, counters: [...shared.request.counters, ...counters] };
    } else takes.push({ shard: part.apiShard, request: { counters } });
  }
  return takes;
}

/** The `X-RateLimit-*` and `Retry-After` headers of a refusal. */
function limitHeaders(limit: number, reset: number, now: number): Record<string, string> {
  return {
    "Retry-After": String(Math.max(1, Math.ceil((reset - now) / 1000))),
    "X-RateLimit-Limit": String(limit),
    "X-RateLimit-Remaining": "0",
    "X-RateLimit-Reset": String(Math.ceil(reset / 1000)),
  };
}

/** A call through a breaker, whose outcome is recorded after the answer. */
interface Watched {
  shard: string;
  breaker: BreakerSpec;
  trial: boolean;
}

export interface LimitOptions {
  limiter: Limiter;
  /** Where refunds and breaker outcomes go, off the response path. */
  waitUntil: WaitUntil;
  log: (message: string, detail?: unknown) => void;
}

export function limit(options: LimitOptions): Step<LimitPart> {
  const { limiter, waitUntil, log } = options;
  /** Calls through a breaker, by request. */
  const watched = new WeakMap<RequestState, Watched>();

  const background = (c: GatewayContext, task: Promise<unknown>, what: string) =>
    waitUntil(
      c,
      task.catch((error: unknown) => log(`limiter (${limiter.name}): ${what} failed`, String(error))),
    );

  /**
   * What the shards answered, judged: `undefined` when the request passes; `"retry"` when it is
   * over a rate limit and throttling lets it wait and try again; else it throws the refusal. What
   * the other shards charged for a refused request goes back.
   */
  function judge(
    c: GatewayContext,
    state: RequestState,
    part: LimitPart,
    takes: Take[],
    settled: PromiseSettledResult<ShardAnswer>[],
    now: number,
    attempt: number,
  ): "retry" | undefined {
    let refusal: Exclude<ShardAnswer, { ok: true }> | undefined;
    const charged: Take[] = [];
    let trial: Watched | undefined;
    let unavailable: unknown;
    settled.forEach((result, i) => {
      const take = takes[i]!;
      if (result.status === "rejected") {
        log(`limiter (${limiter.name}) unavailable for ${take.shard}`, String(result.reason));
        const quota = take.request.quota !== undefined;
        const counters = take.request.counters.length > 0;
        // Else let through without this shard's limits.
        if ((quota && part.refuseWithoutQuotas) || (counters && part.refuseWithoutRateLimits)) unavailable ??= result.reason;
        return;
      }
      const answer = result.value;
      if (!answer.ok) {
        refusal ??= answer;
        return;
      }
      charged.push(take);
      if (answer.breaker !== undefined && take.request.breaker) {
        trial = { shard: take.shard, breaker: take.request.breaker, trial: answer.breaker === "trial" };
      }
    });
    if (refusal === undefined && unavailable === undefined) {
      if (trial) watched.set(state, trial);
      return undefined;
    }
    // Refused, here or by another shard: what these charged goes back. (A trial granted here is left
    // to lapse: the breaker lets another call try once its cool-down has passed.)
    for (const take of charged) background(c, limiter.refund(take.shard, take.request, now), "refund");
    if (refusal === undefined) throw new GatewayError("limiter_unavailable", undefined, { cause: unavailable });
    const throttle = state.limits.throttle;
    if (refusal.refused === "rate" && throttle !== undefined && attempt < throttle.retries) return "retry";
    throw refusalError(refusal, now);
  }

  /** Asks the shards (again after each throttling wait) until the request passes or is refused. */
  async function enforce(c: GatewayContext, state: RequestState, part: LimitPart, takes: Take[], first: number): Promise<void> {
    for (let attempt = first; ; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, state.limits.throttle!.intervalMs));
      const now = Date.now();
      const settled = await Promise.allSettled(takes.map((take) => limiter.take(take.shard, take.request, now)));
      if (judge(c, state, part, takes, settled, now, attempt) === undefined) return;
    }
  }

  /** The shards' answers at once, from a backend that has them in this process (`takeNow`). */
  function takeAllNow(takeNow: NonNullable<Limiter["takeNow"]>, takes: Take[], now: number): PromiseSettledResult<ShardAnswer>[] {
    return takes.map((take) => {
      try {
        return { status: "fulfilled", value: takeNow.call(limiter, take.shard, take.request, now) };
      } catch (reason) {
        return { status: "rejected", reason };
      }
    });
  }

  return {
    name: "limit",
    compile: (api) => compileLimits(api.id, api.definition),
    run(c, state, part) {
      const takes = plan(state, part);
      // Nothing limits this request: no wait at all.
      if (takes.length === 0) return;
      const takeNow = limiter.takeNow;
      if (takeNow === undefined) return enforce(c, state, part, takes, 0);
      // In process: judged at once, waiting only to throttle.
      const now = Date.now();
      if (judge(c, state, part, takes, takeAllNow(takeNow, takes, now), now, 0) === undefined) return;
      return enforce(c, state, part, takes, 1);
    },
    finish(c, state, response) {
      const call = watched.get(state);
      // Only a call that went to the upstream is judged (the gateway's own refusals are not its failures).
      if (call === undefined || !state.forwarded) return response;
      const record = (failed: boolean) =>
        background(c, limiter.record(call.shard, call.breaker, failed, call.trial, Date.now()), "breaker outcome");
      return watchOutcome(response, state.mcp?.id ?? null, record);
    },
  };
}

function refusalError(refusal: Exclude<ShardAnswer, { ok: true }>, now: number): GatewayError {
  switch (refusal.refused) {
    case "rate":
      return rateLimited(refusal.counter, now);
    case "quota":
      return quotaExceeded(refusal.quota, now);
    case "breaker":
      return new GatewayError("circuit_open", undefined, {
        headers: { "Retry-After": String(Math.max(1, Math.ceil((refusal.retryAt - now) / 1000))) },
      });
  }
}

function rateLimited(counter: CounterState, now: number): GatewayError {
  return new GatewayError("rate_limited", `Rate limit exceeded: ${counter.limit} requests per window (${counter.id})`, {
    headers: limitHeaders(counter.limit, counter.reset, now),
  });
}

function quotaExceeded(quota: QuotaState, now: number): GatewayError {
  return new GatewayError("quota_exceeded", `Quota exceeded: ${quota.max} requests per period`, {
    headers: limitHeaders(quota.max, quota.renews || now, now),
  });
}
