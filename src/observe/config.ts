/**
 * The gateway's observability configuration, in the shape of Tyk's `tyk.conf` (the parts this
 * gateway reads), checked with valibot. Pure. `options.ts` reads it from `GATEWAY_CONFIG` (JSON
 * text: a Worker var, or the environment) or `GATEWAY_CONFIG_FILE` (a JSON file, Bun and Deno).
 *
 * ```json
 * {
 *   "access_logs": { "enabled": true, "template": ["api_id", "status", "mcp_method"] },
 *   "enable_analytics": true,
 *   "analytics_config": { "enable_detailed_recording": false, "redact_fields": ["password"] },
 *   "opentelemetry": {
 *     "enabled": false, "exporter": "http", "endpoint": "http://127.0.0.1:4318", "headers": {},
 *     "connection_timeout": 1, "resource_name": "mcp-gateway",
 *     "sampling": { "type": "AlwaysOn", "rate": 1, "parent_based": false },
 *     "metrics": { "enabled": true, "endpoint": "…", "export_interval": 60, "api_metrics": [ … ] }
 *   }
 * }
 * ```
 *
 * Defaults: access logs on, analytics on, traces off (no collector), metrics on with the reference's
 * "complete configuration example" (`DEFAULT_API_METRICS`), exported over OTLP only when an endpoint
 * is set and always served at `/metrics`.
 */
import * as v from "valibot";

/** A dimension of a metric instrument: where its value comes from, and the label it goes by. */
export interface Dimension {
  source: "metadata" | "session" | "context";
  key: string;
  label: string;
  default: string;
}

/** One instrument of `opentelemetry.metrics.api_metrics`. */
export interface ApiMetric {
  name: string;
  type: "counter" | "histogram";
  description: string;
  /** Histograms: which latency they measure. */
  histogramSource: "upstream" | "gateway" | "total";
  /** Histograms: bucket boundaries, in seconds. */
  histogramBuckets: number[] | undefined;
  dimensions: Dimension[];
  /** Only requests with these HTTP methods (upper case); `undefined`: any. */
  methods: ReadonlySet<string> | undefined;
  /** Only answers with these HTTP status codes; `undefined`: any. */
  statusCodes: ReadonlySet<number> | undefined;
}

export interface ObserveConfig {
  accessLogs: { enabled: boolean; template: readonly string[] | undefined };
  analytics: { enabled: boolean; detailedRecording: boolean; redactFields: readonly string[] };
  traces: {
    enabled: boolean;
    endpoint: string | undefined;
    headers: Record<string, string>;
    timeoutMs: number;
    serviceName: string;
    sampling: { type: "AlwaysOn" | "AlwaysOff" | "TraceIDRatioBased"; rate: number; parentBased: boolean };
  };
  metrics: {
    enabled: boolean;
    /** The OTLP/HTTP metrics URL (`…/v1/metrics`); `undefined`: served at `/metrics` only. */
    endpoint: string | undefined;
    headers: Record<string, string>;
    exportIntervalMs: number;
    instruments: ApiMetric[];
  };
}

const RAW_DEFAULT_METRICS = [
  {
    name: "tyk.mcp.requests.total",
    type: "counter",
    description: "MCP request count by method, tool, API, and session",
    dimensions: [
      { source: "metadata", key: "mcp_method", label: "mcp_method", default: "" },
      { source: "metadata", key: "mcp_primitive_type", label: "primitive_type", default: "" },
      { source: "metadata", key: "mcp_primitive_name", label: "tool_name", default: "" },
      { source: "metadata", key: "mcp_error_code", label: "error_code", default: "" },
      { source: "metadata", key: "api_id", label: "api_id" },
      { source: "session", key: "alias", label: "session", default: "unknown" },
    ],
  },
  {
    name: "tyk.mcp.upstream.duration",
    type: "histogram",
    description: "Upstream MCP server latency per tool and API",
    histogram_source: "upstream",
    histogram_buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    dimensions: [
      { source: "metadata", key: "mcp_primitive_name", label: "tool_name", default: "" },
      { source: "metadata", key: "api_id", label: "api_id" },
    ],
  },
  {
    name: "tyk.mcp.request.duration",
    type: "histogram",
    description: "End-to-end MCP request latency per tool and API",
    histogram_source: "total",
    histogram_buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    dimensions: [
      { source: "metadata", key: "mcp_primitive_name", label: "tool_name", default: "" },
      { source: "metadata", key: "mcp_method", label: "mcp_method", default: "" },
      { source: "metadata", key: "api_id", label: "api_id" },
    ],
  },
  {
    name: "tyk.mcp.method.distribution",
    type: "counter",
    description: "Distribution of MCP method types for session efficiency analysis",
    dimensions: [
      { source: "metadata", key: "mcp_method", label: "mcp_method", default: "" },
      { source: "metadata", key: "api_id", label: "api_id" },
    ],
  },
] as const;

/** Metadata keys a dimension may name (Tyk's request metadata, with the four MCP fields). */
export const METADATA_KEYS = [
  "api_id",
  "api_name",
  "method",
  "path",
  "status",
  "response_code",
  "client_ip",
  "mcp_method",
  "mcp_primitive_type",
  "mcp_primitive_name",
  "mcp_error_code",
] as const;

/** Session keys a dimension may name. */
export const SESSION_KEYS = ["alias", "key_hash", "oauth_id", "policy_id"] as const;

const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const INSTRUMENT_NAME = /^[a-zA-Z][a-zA-Z0-9_.\-/]{0,254}$/;

const DimensionSchema = v.pipe(
  v.object({
    source: v.picklist(["metadata", "session", "context"], "must be metadata, session or context"),
    key: v.pipe(v.string(), v.minLength(1, "must not be empty")),
    label: v.pipe(v.string(), v.regex(LABEL, "must be a Prometheus label name (letters, digits, _)")),
    default: v.optional(v.string(), ""),
  }),
  v.check(
    (d) => d.source !== "metadata" || (METADATA_KEYS as readonly string[]).includes(d.key),
    `a metadata key must be one of ${METADATA_KEYS.join(", ")}`,
  ),
  v.check(
    (d) => d.source !== "session" || (SESSION_KEYS as readonly string[]).includes(d.key),
    `a session key must be one of ${SESSION_KEYS.join(", ")}`,
  ),
  v.check(
    (d) => d.source !== "context" || /^(jwt_claims_[A-Za-z0-9_.-]+|request_id|trace_id)$/.test(d.key),
    "a context key must be jwt_claims_<name>, request_id or trace_id",
  ),
);

const ApiMetricSchema = v.pipe(
  v.object({
    name: v.pipe(v.string(), v.regex(INSTRUMENT_NAME, "must be an instrument name (letters, digits, . _ - /)")),
    type: v.picklist(["counter", "histogram"], "must be counter or histogram"),
    description: v.optional(v.string(), ""),
    histogram_source: v.optional(v.picklist(["upstream", "gateway", "total"], "must be upstream, gateway or total")),
    histogram_buckets: v.optional(
      v.pipe(
        v.array(v.pipe(v.number(), v.minValue(0))),
        v.minLength(1),
        v.check((b) => b.every((x, i) => i === 0 || x > b[i - 1]!), "must be in increasing order"),
      ),
    ),
    dimensions: v.optional(v.pipe(v.array(DimensionSchema), v.maxLength(10, "at most 10 dimensions per instrument")), []),
    filters: v.optional(
      v.object({
        methods: v.optional(v.array(v.pipe(v.string(), v.toUpperCase()))),
        status_codes: v.optional(v.array(v.pipe(v.number(), v.integer(), v.minValue(100), v.maxValue(599)))),
      }),
    ),
  }),
  v.check((m) => new Set(m.dimensions.map((d) => d.label)).size === m.dimensions.length, "two dimensions share a label"),
);

const Headers = v.record(v.string(), v.string());
const Url = v.pipe(v.string(), v.url("must be an absolute URL"), v.regex(/^https?:\/\//i, "must be an http(s) URL"));

const Exporter = v.optional(v.picklist(["http"], 'only "http" (OTLP/HTTP) is supported'));

export const ObserveConfigSchema = v.object({
  access_logs: v.optional(v.object({ enabled: v.optional(v.boolean(), true), template: v.optional(v.array(v.string())) }), {}),
  enable_analytics: v.optional(v.boolean(), true),
  analytics_config: v.optional(
    v.object({
      enable_detailed_recording: v.optional(v.boolean(), false),
      redact_fields: v.optional(v.array(v.pipe(v.string(), v.minLength(1))), []),
    }),
    {},
  ),
  opentelemetry: v.optional(
    v.object({
      enabled: v.optional(v.boolean(), false),
      exporter: Exporter,
      endpoint: v.optional(Url),
      headers: v.optional(Headers, {}),
      connection_timeout: v.optional(v.pipe(v.number(), v.minValue(0.05)), 1),
      resource_name: v.optional(v.pipe(v.string(), v.minLength(1)), "mcp-gateway"),
      context_propagation: v.optional(v.picklist(["tracecontext"], 'only "tracecontext" (W3C) is supported')),
      sampling: v.optional(
        v.object({
          type: v.optional(v.picklist(["AlwaysOn", "AlwaysOff", "TraceIDRatioBased"]), "AlwaysOn"),
          rate: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1)), 1),
          parent_based: v.optional(v.boolean(), false),
        }),
        {},
      ),
      metrics: v.optional(
        v.object({
          enabled: v.optional(v.boolean(), true),
          exporter: Exporter,
          endpoint: v.optional(Url),
          headers: v.optional(Headers),
          export_interval: v.optional(v.pipe(v.number(), v.minValue(1)), 60),
          api_metrics: v.optional(v.array(ApiMetricSchema)),
        }),
        {},
      ),
    }),
    {},
  ),
});

/** The OTLP/HTTP URL of a signal: an endpoint that names no path gets `/v1/<signal>`. */
function signalUrl(endpoint: string | undefined, signal: "traces" | "metrics"): string | undefined {
  if (endpoint === undefined) return undefined;
  const url = new URL(endpoint);
  if (url.pathname === "/" || url.pathname === "") url.pathname = `/v1/${signal}`;
  return url.href;
}

function instrumentOf(raw: v.InferOutput<typeof ApiMetricSchema>): ApiMetric {
  return {
    name: raw.name,
    type: raw.type,
    description: raw.description,
    histogramSource: raw.histogram_source ?? "total",
    histogramBuckets: raw.histogram_buckets,
    dimensions: raw.dimensions.map((d) => ({ source: d.source, key: d.key, label: d.label, default: d.default })),
    methods: raw.filters?.methods ? new Set(raw.filters.methods) : undefined,
    statusCodes: raw.filters?.status_codes ? new Set(raw.filters.status_codes) : undefined,
  };
}

/** The reference's "complete configuration example", plus its session-efficiency counter. */
export const DEFAULT_API_METRICS: readonly ApiMetric[] = RAW_DEFAULT_METRICS.map((raw) =>
  instrumentOf(v.parse(ApiMetricSchema, structuredClone(raw))),
);

/** A configuration that cannot be used: `path` names the field. */
export class ObserveConfigError extends Error {
  override readonly name = "ObserveConfigError";
}

/**
 * Reads a configuration document (already parsed JSON).
 * @throws ObserveConfigError naming the first field that cannot be used
 */
export function readObserveConfig(document: unknown): ObserveConfig {
  const result = v.safeParse(ObserveConfigSchema, document ?? {});
  if (!result.success) {
    const issue = result.issues[0];
    const path = (issue.path ?? []).map((item) => String(item.key)).join(".");
    throw new ObserveConfigError(`${path || "the document"}: ${issue.message}`);
  }
  const raw = result.output;
  const otel = raw.opentelemetry;
  const metrics = otel.metrics;
  return {
    accessLogs: { enabled: raw.access_logs.enabled, template: raw.access_logs.template },
    analytics: {
      enabled: raw.enable_analytics,
      detailedRecording: raw.analytics_config.enable_detailed_recording,
      redactFields: raw.analytics_config.redact_fields,
    },
    traces: {
      enabled: otel.enabled && otel.endpoint !== undefined,
      endpoint: signalUrl(otel.endpoint, "traces"),
      headers: otel.headers,
      timeoutMs: otel.connection_timeout * 1000,
      serviceName: otel.resource_name,
      sampling: { type: otel.sampling.type, rate: otel.sampling.rate, parentBased: otel.sampling.parent_based },
    },
    metrics: {
      enabled: metrics.enabled,
      endpoint: signalUrl(metrics.endpoint ?? otel.endpoint, "metrics"),
      headers: metrics.headers ?? otel.headers,
      exportIntervalMs: metrics.export_interval * 1000,
      instruments: metrics.api_metrics ? metrics.api_metrics.map(instrumentOf) : [...DEFAULT_API_METRICS],
    },
  };
}

/** The configuration when none is given. */
export const DEFAULT_OBSERVE_CONFIG: ObserveConfig = readObserveConfig({});
