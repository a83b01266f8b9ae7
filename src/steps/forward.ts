/**
 * forward: send the request to the upstream MCP server and stream its answer back.
 *
 * - The body forwarded is the exact bytes the client sent (already read within the size limit).
 * - The upstream's body is handed to the client as a stream, never buffered: a JSON body as it
 *   comes, an SSE stream event by event. A POST's SSE answer is guarded (see `sse-guard.ts`) so that
 *   an upstream dying mid-stream ends in a JSON-RPC error instead of a hung request.
 * - Timeout: the time until the upstream's response headers, from the primitive's
 *   `enforceTimeout`, else the operation's, else the gateway default (30 s). A stream that has
 *   started stays open as long as both ends want it. Past the timeout: -32004 with 504.
 * - A client that disconnects aborts the upstream request (see `deadline.ts`), or, once the answer
 *   streams, cancels its body.
 * - Upstream unreachable: -32004 with 502. An upstream 5xx whose body is not JSON-RPC (not JSON,
 *   not SSE): -32004 with 502. Every other upstream answer, errors included, passes untouched.
 * - Redirects are not followed: a 3xx goes back to the client as the upstream sent it.
 */
import type { ClientAddress, GatewayContext, RequestState } from "../context.ts";
import { declaredOperations } from "../definitions/operations.ts";
import type { McpDefinition, Operation } from "../definitions/schema.ts";
import { errorBody, GatewayError } from "../errors.ts";
import { forClient, mediaType, type UpstreamHeaders, upstreamRequestHeaders } from "../http/headers.ts";
import { FilteredAnswers, filterResponseBody, needsFiltering } from "../mcp/discovery.ts";
import type { McpMessage, PrimitiveType } from "../mcp/jsonrpc.ts";
import { canonicalKeys } from "../mcp/identifiers.ts";
import { MODERN } from "../mcp/revision.ts";
import { guardSseStream } from "../mcp/sse-guard.ts";
import { UpstreamDeadline } from "../proxy/deadline.ts";
import {
  applyHeaderTransform,
  applyUpstreamAuth,
  compileUpstreamAuth,
  type HeaderTransform,
  type SecretSource,
  type UpstreamAuth,
} from "../proxy/upstream-auth.ts";
import type { ApiKind } from "../stores/layout.ts";
import { upstreamUrl } from "../routing/route-table.ts";
import { clientAddressOf } from "./ip.ts";
import type { Step } from "./step.ts";

export interface ForwardOptions {
  /** The fetch used to reach upstreams (default: the global fetch). */
  fetch?: typeof fetch;
  /** The client's address, for `X-Forwarded-For`. */
  clientAddress?: ClientAddress;
  /** Upstream timeout in seconds when the definition sets none (default 30). */
  defaultTimeoutSeconds?: number;
  /** Called with upstream failures, for logs (`apiId`: the API whose upstream failed). */
  onUpstreamError?: (error: unknown, apiId: string) => void;
  /** Secrets named by `$secret_env.NAME` in upstream credentials (default: none). */
  secrets?: SecretSource;
  /**
   * Start every SSE answer with an SSE comment ({@link SSE_OPENING_COMMENT}) so the client gets the
   * response head at once. Needed where the server holds back a response's head until the body's
   * first chunk: Bun.serve does (oven-sh/bun#33660), so an idle GET stream would show the client no
   * status and no headers until the upstream's first event. Default off; the Bun entry turns it on.
   */
  openSseWithComment?: boolean;
  /**
   * Hop-by-hop response headers (lower case) the runtime's HTTP server removes by itself, so an
   * upstream response carrying only those is handed on without a copy (see `forClient`).
   */
  serverDropsHeaders?: readonly string[];
  /** The runtime cancels a request's timers when the request is done (workerd): none are cleared. */
  timersEndWithRequest?: boolean;
  /**
   * Send an SSE comment line on a stream whose upstream has been silent this long (ms), so that a
   * runtime whose server notices a client that left only when writing to it (workerd) notices it
   * on an idle stream too, and cancels the upstream request (see `guardSseStream`). Default off.
   */
  probeIdleSseMs?: number;
  /**
   * Called just before the upstream request goes out, with the headers it will carry: tracing
   * sets `state.trace` and adds `traceparent`/`tracestate` (see `steps/record.ts`). Default: none.
   */
  beforeUpstream?: (state: RequestState, headers: UpstreamHeaders) => void;
}

/** Ignored by every SSE parser (a comment line, then a blank line that dispatches nothing). */
export const SSE_OPENING_COMMENT = ": stream open\n\n";

export const DEFAULT_UPSTREAM_TIMEOUT_SECONDS = 30;

/** What the forward step needs of an API, compiled. */
export interface ForwardPart {
  kind: ApiKind;
  /**
   * Upstream timeouts (seconds) set by `middleware.operations.<operationId>.enforceTimeout`, by the
   * HTTP method of the operation (`paths.*.<method>.operationId`).
   */
  operationTimeouts: ReadonlyMap<string, number>;
  /** Per-primitive timeouts (`mcpTools/mcpResources/mcpPrompts.<name>.enforceTimeout`), by type and name. */
  primitiveTimeouts: Readonly<Record<PrimitiveType, ReadonlyMap<string, number>>>;
  /** The upstream's own credential and header transforms, `undefined` when there are none. */
  upstreamAuth: UpstreamAuth | undefined;
  /**
   * `transformRequestHeaders` and `transformResponseHeaders` of an operation (by HTTP method) and of
   * a tool, resource or prompt, applied after the global ones; `undefined` when there are none.
   */
  transforms: Transforms | undefined;
}

interface TransformPair {
  request: HeaderTransform | undefined;
  response: HeaderTransform | undefined;
}

interface Transforms {
  global: HeaderTransform | undefined;
  operations: ReadonlyMap<string, TransformPair>;
  primitives: Readonly<Record<PrimitiveType, ReadonlyMap<string, TransformPair>>>;
}

function transformPair(operation: Operation | undefined): TransformPair | undefined {
  const request = operation?.transformRequestHeaders?.enabled ? operation.transformRequestHeaders : undefined;
  const response = operation?.transformResponseHeaders?.enabled ? operation.transformResponseHeaders : undefined;
  return request || response ? { request, response } : undefined;
}

function compileTransforms(definition: McpDefinition): Transforms | undefined {
  const middleware = definition["x-tyk-api-gateway"].middleware;
  const globalResponse = middleware?.global?.transformResponseHeaders;
  const operations = new Map<string, TransformPair>();
  for (const { method, operation } of declaredOperations(definition)) {
    const operationId = operation.operationId;
    const pair = typeof operationId === "string" ? transformPair(middleware?.operations?.[operationId]) : undefined;
    if (pair && !operations.has(method)) operations.set(method, pair);
  }
  const primitives = (type: PrimitiveType, entries: Record<string, Operation> | undefined) => {
    const out = new Map<string, TransformPair>();
    for (const [name, operation] of canonicalKeys(type, entries)) {
      const pair = transformPair(operation);
      if (pair) out.set(name, pair);
    }
    return out;
  };
  const transforms = {
    global: globalResponse?.enabled ? globalResponse : undefined,
    operations,
    primitives: {
      tool: primitives("tool", middleware?.mcpTools),
      resource: primitives("resource", middleware?.mcpResources),
      prompt: primitives("prompt", middleware?.mcpPrompts),
    },
  };
  const any =
    transforms.global ||
    operations.size + transforms.primitives.tool.size + transforms.primitives.resource.size + transforms.primitives.prompt.size > 0;
  return any ? transforms : undefined;
}

/** The transforms that apply to a request: its operation's, then its primitive's. */
function pairsFor(transforms: Transforms, method: string, mcp: McpMessage | undefined): TransformPair[] {
  const pairs: TransformPair[] = [];
  const operation = transforms.operations.get(method);
  if (operation) pairs.push(operation);
  if (mcp && mcp.primitiveType !== "") {
    const primitive = transforms.primitives[mcp.primitiveType].get(mcp.primitiveName);
    if (primitive) pairs.push(primitive);
  }
  return pairs;
}

function operationTimeouts(definition: McpDefinition): Map<string, number> {
  const out = new Map<string, number>();
  const operations = definition["x-tyk-api-gateway"].middleware?.operations;
  if (!operations) return out;
  for (const { method, operation } of declaredOperations(definition)) {
    const operationId = operation.operationId;
    if (typeof operationId !== "string") continue;
    const timeout = operations[operationId]?.enforceTimeout;
    if (timeout?.enabled && timeout.value > 0 && !out.has(method)) out.set(method, timeout.value);
  }
  return out;
}

function primitiveTimeouts(type: PrimitiveType, entries: Record<string, Operation> | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, operation] of canonicalKeys(type, entries)) {
    const timeout = operation.enforceTimeout;
    if (timeout?.enabled && timeout.value > 0) out.set(name, timeout.value);
  }
  return out;
}

/** The forward step's part of a definition. */
export function compileForward(definition: McpDefinition, kind: ApiKind): ForwardPart {
  const middleware = definition["x-tyk-api-gateway"].middleware;
  return {
    kind,
    operationTimeouts: operationTimeouts(definition),
    primitiveTimeouts: {
      tool: primitiveTimeouts("tool", middleware?.mcpTools),
      resource: primitiveTimeouts("resource", middleware?.mcpResources),
      prompt: primitiveTimeouts("prompt", middleware?.mcpPrompts),
    },
    upstreamAuth: compileUpstreamAuth(definition),
    transforms: compileTransforms(definition),
  };
}

const NO_PAIRS: TransformPair[] = [];

/** The timeout (seconds) for a request: the primitive's, then the operation's, then the default. */
export function timeoutFor(part: ForwardPart, mcp: McpMessage | undefined, method: string, fallback: number): number {
  if (mcp && mcp.primitiveType !== "") {
    const timeout = part.primitiveTimeouts[mcp.primitiveType].get(mcp.primitiveName);
    if (timeout !== undefined) return timeout;
  }
  return part.operationTimeouts.get(method) ?? fallback;
}

/** The header names never forwarded for this request: the credential headers, a version header. */
function dropped(credentialHeaders: ReadonlySet<string> | undefined, versionHeader: string | undefined): ReadonlySet<string> | undefined {
  if (versionHeader === undefined) return credentialHeaders;
  return new Set([...(credentialHeaders ?? []), versionHeader]);
}

function isJsonRpcBody(contentType: string | null): boolean {
  const type = mediaType(contentType);
  return type === "application/json" || type === "text/event-stream";
}

/**
 * The forward step, the last of the request path: sets `state.response` to the upstream's answer,
 * for the client.
 */
export function forward(options: ForwardOptions = {}): Step<ForwardPart> {
  const fetchUpstream = options.fetch ?? ((input, init) => fetch(input, init));
  const fallbackTimeout = options.defaultTimeoutSeconds ?? DEFAULT_UPSTREAM_TIMEOUT_SECONDS;
  const onUpstreamError = options.onUpstreamError ?? ((error, apiId) => console.warn(`upstream of ${apiId}:`, error));
  const sseOpening = options.openSseWithComment ? SSE_OPENING_COMMENT : undefined;
  const probeMs = options.probeIdleSseMs ?? 0;
  const secrets: SecretSource = options.secrets ?? (() => undefined);
  const serverDrops: ReadonlySet<string> = new Set(options.serverDropsHeaders ?? []);
  const deadlineOptions = { timersEndWithRequest: options.timersEndWithRequest === true };
  /** The last list answers filtered, reused while an upstream answers the same (`mcp/discovery.ts`). */
  const filteredAnswers = new FilteredAnswers();

  async function forwardToUpstream(c: GatewayContext, state: RequestState, part: ForwardPart): Promise<void> {
    const match = state.match;
    const apiId = match.route.id;
    const request = c.req.raw;
    const mcp = state.mcp;
    const requestUrl = request.url;
    const queryAt = requestUrl.indexOf("?");
    const target = upstreamUrl(match, queryAt === -1 ? "" : requestUrl.slice(queryAt));
    const clientHeaders = state.headers;
    const upstreamHeaders = upstreamRequestHeaders(
      clientHeaders,
      {
        clientAddress: clientAddressOf(c, state, options.clientAddress),
        host: clientHeaders.host ?? new URL(requestUrl).host,
        proto: requestUrl.startsWith("https:") ? "https" : "http",
      },
      dropped(state.credentialHeaders, match.dropHeader),
      // A plain HTTP API keeps the client's own credentials unless the gateway consumed them (the
      // credential headers above); an MCP upstream never sees them.
      part.kind === "oas",
    );
    if (options.beforeUpstream !== undefined) options.beforeUpstream(state, upstreamHeaders);
    const method = state.method;
    let headers: UpstreamHeaders | Headers = upstreamHeaders;
    const pairs = part.transforms === undefined ? NO_PAIRS : pairsFor(part.transforms, method, mcp);
    if (part.upstreamAuth !== undefined || pairs.length > 0) {
      headers = new Headers(upstreamHeaders);
      if (part.upstreamAuth !== undefined) await applyUpstreamAuth(headers, part.upstreamAuth, secrets, fetchUpstream);
      for (const { request } of pairs) if (request) applyHeaderTransform(headers, request, secrets);
    }

    const seconds = timeoutFor(part, mcp, method, fallbackTimeout);
    // Ends the upstream request early: past the timeout (until the response head arrives), or once
    // the client has gone.
    const deadline = new UpstreamDeadline(request, seconds * 1000, deadlineOptions);

    // The exact bytes `read` read and checked; a plain HTTP API's body streams as it comes. An MCP
    // upstream gets no body on anything but a (checked) POST.
    let body: BodyInit | null = state.body ?? null;
    if (body === null && part.kind !== "mcp" && method !== "GET" && method !== "HEAD") body = request.body;

    let response: Response;
    state.forwarded = true;
    try {
      const init: RequestInit & { duplex?: "half" } = { method, headers, body, redirect: "manual", signal: deadline.signal };
      // Needed by Node and Deno for a streamed request body; ignored elsewhere.
      if (body instanceof ReadableStream) init.duplex = "half";
      state.upstreamStart = performance.now();
      response = await fetchUpstream(target, init);
      state.upstreamHead = performance.now();
    } catch (cause) {
      state.upstreamHead = performance.now();
      deadline.settle();
      if (deadline.timedOut) throw new GatewayError("upstream_timeout", `Upstream MCP server did not answer within ${seconds}s`);
      if (deadline.clientGone) throw new GatewayError("client_closed", undefined, { cause });
      onUpstreamError(cause, apiId);
      throw new GatewayError("upstream_unreachable", undefined, { cause });
    }
    // Each read of a response's `headers` or `body` is a call into the runtime: read them once.
    let answerHeaders = response.headers;
    const contentType = answerHeaders.get("content-type");
    const isSse = contentType?.toLowerCase().startsWith("text/event-stream") === true;
    state.upstreamSse = isSse;
    // A stream may last long: the client's leaving must end it on every runtime.
    deadline.settle({ followClient: isSse });

    if (response.status >= 500 && !isJsonRpcBody(contentType)) {
      await response.body?.cancel().catch(() => {});
      onUpstreamError(new Error(`HTTP ${response.status}`), apiId);
      throw new GatewayError("upstream_failed", `Upstream MCP server failed with HTTP ${response.status}`);
    }

    const visibility = state.visibility;
    if (mcp?.kind === "request" && mcp.id !== null && needsFiltering(mcp.method)) {
      const restricted = visibility !== undefined && !visibility.unrestricted ? visibility : undefined;
      // A 2026-07-28 tools/list is read even when nothing is filtered: the API learns its tools' x-mcp-header arguments.
      const toolHeaders = state.toolHeaders;
      if (restricted !== undefined || toolHeaders !== undefined) {
        const modern = state.revision === MODERN;
        response = filterResponseBody(response, mcp.id, mcp.method, {
          visibility: restricted,
          modern,
          learn: toolHeaders === undefined ? undefined : (result) => toolHeaders.learn(result),
          memo: filteredAnswers,
        });
        answerHeaders = response.headers;
      }
    }

    const upstreamBody = response.body;
    let responseBody = upstreamBody;
    if (responseBody && isSse) {
      const errorEvent =
        mcp?.kind === "request" ? errorBody(new GatewayError("upstream_stream_broken"), mcp.id, state.revision) : undefined;
      // A read that fails because the client went away (its abort cancels the upstream) is no
      // upstream failure: nothing to log.
      const onStreamError = (error: unknown) => {
        if (!request.signal.aborted) onUpstreamError(error, apiId);
      };
      responseBody = guardSseStream(responseBody, errorEvent, onStreamError, sseOpening, probeMs);
    }
    // The upstream's own response where nothing but its headers changes (runtimes pipe it natively).
    let answer = forClient(response, responseBody, serverDrops, answerHeaders, upstreamBody);
    const transforms = part.transforms;
    if (transforms !== undefined && (transforms.global !== undefined || pairs.some((pair) => pair.response !== undefined))) {
      const out = new Headers(answer.headers);
      if (transforms.global) applyHeaderTransform(out, transforms.global, secrets);
      for (const { response: transform } of pairs) if (transform) applyHeaderTransform(out, transform, secrets);
      answer = new Response(answer.body, { status: answer.status, statusText: answer.statusText, headers: out });
    }
    state.response = answer;
  }

  return {
    name: "forward",
    compile: (api) => compileForward(api.definition, api.kind),
    run: forwardToUpstream,
  };
}
