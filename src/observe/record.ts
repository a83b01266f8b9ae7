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

/**
 * The access log's line for one record: JSON, fields left out when empty, only `template`'s fields
 * when one is given (`prefix` and `time` always).
 */
export function accessLogLine(record: RequestRecord, template?: ReadonlySet<string>): string {
  const out: Record<string, unknown> = {};
  const put = (field: AccessLogField, value: unknown) => {
    if (value === "" || value === undefined) return;
    if (template !== undefined && !template.has(field) && field !== "prefix" && field !== "time") return;
    out[field] = value;
  };
  put("time", new Date(record.time).toISOString());
  put("level", "info");
  put("prefix", "access-log");
  put("api_type", record.apiType === "mcp" ? "mcp" : "");
  put("api_id", record.apiId);
  put("api_name", record.apiName);
  put("client_ip", record.clientIp);
  put("method", record.method);
  put("path", record.path);
  put("status", record.status);
  put("latency_total", ms(record.latencyTotal));
  if (record.upstreamOffset >= 0) put("upstream_latency", ms(record.latencyUpstream));
  put("gateway_latency", ms(record.latencyGateway));
  put("mcp_method", record.mcpMethod);
  put("mcp_primitive_type", record.primitiveType);
  put("mcp_primitive_name", record.primitiveName);
  put("mcp_error_code", record.errorCode);
  put("error_reason", record.errorReason);
  put("alias", record.alias);
  put("trace_id", record.traceId);
  put("ratelimit_limit", record.rateLimitLimit);
  put("ratelimit_reset", record.rateLimitReset);
  put("mcp_arguments", record.arguments);
  return JSON.stringify(out);
}

/**
 * The tool's arguments as JSON with every member named in `redact` (at any depth, compared without
 * regard to case) replaced by `"[REDACTED]"`. `undefined` when there are none.
 */
export function redactedArguments(args: unknown, redact: ReadonlySet<string>): string | undefined {
  if (args === undefined || args === null) return undefined;
  return JSON.stringify(args, (key, value) => (key !== "" && redact.has(key.toLowerCase()) ? "[REDACTED]" : value));
}
