/**
 * One record per request: what the `record` step learnt of it, handed to every sink (access log,
 * metrics, traces, analytics) off the response path. Pure.
 *
 * A record never holds a secret: no key (a key's alias, or a token's subject, names the caller), no
 * credential header, no tool arguments unless argument capture is on (`arguments`, already redacted).
 *
 * {@link accessLogLine} writes the access log's JSON line in Tyk's shape: `prefix: "access-log"`,
 * Tyk's standard fields, the four MCP fields, and this gateway's own (latency split, error reason,
 * alias, trace id, limits). Empty fields are left out; a `template` keeps only the fields it names.
 */

/** Everything recorded of one request. A class so that every record has the same shape. */
export class RequestRecord {
  /** When the request arrived (Unix ms). */
  time = 0;
  apiId = "";
  apiName = "";
  /** `"mcp"` for an MCP proxy, `"oas"` for a plain OAS API, `""` when no API answered. */
  apiType = "";
  clientIp = "";
  method = "";
  path = "";
  status = 0;
  /** Milliseconds from arrival to the end of the answer (an SSE answer's last event). */
  latencyTotal = 0;
  /** Milliseconds the upstream took (0: not forwarded). */
  latencyUpstream = 0;
  /** Milliseconds the gateway itself took (total − upstream). */
  latencyGateway = 0;
  /** Offset (ms, from `time`) at which the upstream request went out; -1: never. */
  upstreamOffset = -1;
  mcpMethod = "";
  primitiveType = "";
  primitiveName = "";
  /** The gateway's own JSON-RPC code, on a gateway failure only. */
  errorCode: number | undefined = undefined;
  /** The gateway's reason for a refusal (`errors.ts`' REASONS). */
  errorReason = "";
  /** The key's alias or the token's subject; never the key. */
  alias = "";
  /** The key's hash (never the key), for the `key_hash` session dimension. */
  keyHash = "";
  /** The caller's policies (for the `policy_id` session dimension). */
  policies: readonly string[] = [];
  traceId = "";
  spanId = "";
  parentSpanId = "";
  /** The upstream call's span (its parent is `spanId`). */
  upstreamSpanId = "";
  sampled = false;
  /** The refusal's limit, where a rate limit or quota refused (`X-RateLimit-Limit`). */
  rateLimitLimit: number | undefined = undefined;
  /** When that limit renews (Unix seconds). */
  rateLimitReset: number | undefined = undefined;
  /** Tool arguments (JSON, redacted), only with argument capture on. */
  arguments: string | undefined = undefined;
  /** A list answer's text (`tools/list`, …), read off the response path for the names it gives (then dropped). */
  listAnswer: string | undefined = undefined;
  /** Whether `listAnswer` came as SSE. */
  listAnswerSse = false;
  /** The list request's id. */
  listId: number | string = 0;
  /** With argument capture on: the message's bytes, read (and dropped) off the response path. */
  rawBody: Uint8Array | undefined = undefined;
  /** Counted in analytics (the API's `trafficLogs`, the primitive's `doNotTrackEndpoint`). */
  tracked = true;
  /** The API asked for detailed tracing: one span per step. */
  detailedTracing = false;
  /** With detailed tracing: each step's name and start offset (ms from `time`). */
  steps: { name: string; at: number }[] | undefined = undefined;
  /** How the caller authenticated: `token`, `jwt`, `oauth`, or `""` on an open API. */
  authKind = "";
}

/** Every field the access log can carry, in the order it writes them. */
export const ACCESS_LOG_FIELDS = [
  "time",
  "level",
  "prefix",
  "api_type",
  "api_id",
  "api_name",
  "client_ip",
  "method",
  "path",
  "status",
  "latency_total",
  "upstream_latency",
  "gateway_latency",
  "mcp_method",
  "mcp_primitive_type",
  "mcp_primitive_name",
  "mcp_error_code",
  "error_reason",
  "alias",
  "trace_id",
  "ratelimit_limit",
  "ratelimit_reset",
  "mcp_arguments",
] as const;

export type AccessLogField = (typeof ACCESS_LOG_FIELDS)[number];

/** Milliseconds rounded to the microsecond. */
const ms = (value: number) => Math.round(value * 1000) / 1000;

/** The ISO form of the second last written, reused within it (lines of one batch share seconds). */
let lastSecond = Number.NaN;
let lastPrefix = "";

/** `time` (Unix ms) as ISO 8601 in UTC, like `Date.prototype.toISOString`. */
function isoTime(time: number): string {
  const second = Math.floor(time / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastPrefix = new Date(second * 1000).toISOString().slice(0, 19);
  }
  const millis = time - second * 1000;
  return `${lastPrefix}.${millis < 10 ? "00" : millis < 100 ? "0" : ""}${Math.floor(millis)}Z`;
}

/**
 * The access log's line for one record: JSON, fields left out when empty, only `template`'s fields
 * when one is given (`prefix` and `time` always). Written as text directly (no object per line).
 */
export function accessLogLine(record: RequestRecord, template?: ReadonlySet<string>): string {
  let out = `{"time":"${isoTime(record.time)}"`;
  const want = (field: AccessLogField) => template === undefined || template.has(field);
  const text = (field: AccessLogField, value: string) => {
    if (value !== "" && want(field)) out += `,"${field}":${JSON.stringify(value)}`;
  };
  const number = (field: AccessLogField, value: number | undefined) => {
    if (value !== undefined && Number.isFinite(value) && want(field)) out += `,"${field}":${value}`;
  };
  if (want("level")) out += `,"level":"info"`;
  out += `,"prefix":"access-log"`;
  if (record.apiType === "mcp" && want("api_type")) out += `,"api_type":"mcp"`;
  text("api_id", record.apiId);
  text("api_name", record.apiName);
  text("client_ip", record.clientIp);
  text("method", record.method);
  text("path", record.path);
  number("status", record.status);
  number("latency_total", ms(record.latencyTotal));
  if (record.upstreamOffset >= 0) number("upstream_latency", ms(record.latencyUpstream));
  number("gateway_latency", ms(record.latencyGateway));
  text("mcp_method", record.mcpMethod);
  text("mcp_primitive_type", record.primitiveType);
  text("mcp_primitive_name", record.primitiveName);
  number("mcp_error_code", record.errorCode);
  text("error_reason", record.errorReason);
  text("alias", record.alias);
  text("trace_id", record.traceId);
  number("ratelimit_limit", record.rateLimitLimit);
  number("ratelimit_reset", record.rateLimitReset);
  if (record.arguments !== undefined) text("mcp_arguments", record.arguments);
  return `${out}}`;
}

/**
 * The tool's arguments as JSON with every member named in `redact` (at any depth, compared without
 * regard to case) replaced by `"[REDACTED]"`. `undefined` when there are none.
 */
export function redactedArguments(args: unknown, redact: ReadonlySet<string>): string | undefined {
  if (args === undefined || args === null) return undefined;
  return JSON.stringify(args, (key, value) => (key !== "" && redact.has(key.toLowerCase()) ? "[REDACTED]" : value));
}
