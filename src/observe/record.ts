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

/** JSON string literals of the values written lately: most fields repeat from line to line. */
const quoted = new Map<string, string>();

/** `value` as a JSON string literal (`JSON.stringify`), remembered for the next lines. */
function quote(value: string): string {
  if (value.length > 256) return JSON.stringify(value);
  let literal = quoted.get(value);
  if (literal === undefined) {
    literal = JSON.stringify(value);
    if (quoted.size >= 1024) quoted.clear();
    quoted.set(value, literal);
  }
  return literal;
}

/**
 * The access log's line writer for a `template` (or every field): what each line writes is decided
 * here, once, and a line is one string built field by field (no object, no closure per line).
 * Fields are left out when empty; with a template, only its fields (`prefix` and `time` always).
 */
export function accessLogWriter(template?: ReadonlySet<string>): (record: RequestRecord) => string {
  const want = (field: AccessLogField) => template === undefined || template.has(field);
  const level = want("level") ? `,"level":"info"` : "";
  const apiType = want("api_type");
  const apiId = want("api_id");
  const apiName = want("api_name");
  const clientIp = want("client_ip");
  const method = want("method");
  const path = want("path");
  const status = want("status");
  const total = want("latency_total");
  const upstream = want("upstream_latency");
  const gateway = want("gateway_latency");
  const mcpMethod = want("mcp_method");
  const type = want("mcp_primitive_type");
  const name = want("mcp_primitive_name");
  const code = want("mcp_error_code");
  const reason = want("error_reason");
  const alias = want("alias");
  const trace = want("trace_id");
  const limit = want("ratelimit_limit");
  const reset = want("ratelimit_reset");
  const args = want("mcp_arguments");
  const finite = (value: number | undefined): value is number => value !== undefined && Number.isFinite(value);
  return (r) => {
    let out = `{"time":"${isoTime(r.time)}"${level},"prefix":"access-log"`;
    if (apiType && r.apiType === "mcp") out += `,"api_type":"mcp"`;
    if (apiId && r.apiId !== "") out += `,"api_id":${quote(r.apiId)}`;
    if (apiName && r.apiName !== "") out += `,"api_name":${quote(r.apiName)}`;
    if (clientIp && r.clientIp !== "") out += `,"client_ip":${quote(r.clientIp)}`;
    if (method && r.method !== "") out += `,"method":${quote(r.method)}`;
    if (path && r.path !== "") out += `,"path":${quote(r.path)}`;
    if (status && finite(r.status)) out += `,"status":${r.status}`;
    if (total && finite(r.latencyTotal)) out += `,"latency_total":${ms(r.latencyTotal)}`;
    if (upstream && r.upstreamOffset >= 0 && finite(r.latencyUpstream)) out += `,"upstream_latency":${ms(r.latencyUpstream)}`;
    if (gateway && finite(r.latencyGateway)) out += `,"gateway_latency":${ms(r.latencyGateway)}`;
    if (mcpMethod && r.mcpMethod !== "") out += `,"mcp_method":${quote(r.mcpMethod)}`;
    if (type && r.primitiveType !== "") out += `,"mcp_primitive_type":${quote(r.primitiveType)}`;
    if (name && r.primitiveName !== "") out += `,"mcp_primitive_name":${quote(r.primitiveName)}`;
    if (code && finite(r.errorCode)) out += `,"mcp_error_code":${r.errorCode}`;
    if (reason && r.errorReason !== "") out += `,"error_reason":${quote(r.errorReason)}`;
    if (alias && r.alias !== "") out += `,"alias":${quote(r.alias)}`;
    if (trace && r.traceId !== "") out += `,"trace_id":${quote(r.traceId)}`;
    if (limit && finite(r.rateLimitLimit)) out += `,"ratelimit_limit":${r.rateLimitLimit}`;
    if (reset && finite(r.rateLimitReset)) out += `,"ratelimit_reset":${r.rateLimitReset}`;
    // Arguments are seldom alike: not remembered.
    if (args && r.arguments !== undefined && r.arguments !== "") out += `,"mcp_arguments":${JSON.stringify(r.arguments)}`;
    return `${out}}`;
  };
}

/**
 * The access log's line for one record: JSON, fields left out when empty, only `template`'s fields
 * when one is given (`prefix` and `time` always). {@link accessLogWriter} makes the writer once.
 */
export function accessLogLine(record: RequestRecord, template?: ReadonlySet<string>): string {
  return accessLogWriter(template)(record);
}

/**
 * The tool's arguments as JSON with every member named in `redact` (at any depth, compared without
 * regard to case) replaced by `"[REDACTED]"`. `undefined` when there are none.
 */
export function redactedArguments(args: unknown, redact: ReadonlySet<string>): string | undefined {
  if (args === undefined || args === null) return undefined;
  return JSON.stringify(args, (key, value) => (key !== "" && redact.has(key.toLowerCase()) ? "[REDACTED]" : value));
}
