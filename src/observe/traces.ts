/**
 * Traces: one span per request (kind server) with the MCP attributes of the OpenTelemetry semantic
 * conventions for MCP (`mcp.method.name`, `gen_ai.tool.name`, `gen_ai.prompt.name`,
 * `mcp.resource.uri`, `jsonrpc.request.id`, `error.type`) and HTTP's, and the upstream call as its
 * child (kind client), exported over OTLP/HTTP (JSON) in batches with the OpenTelemetry JS SDK
 * (`@opentelemetry/sdk-trace`, `@opentelemetry/exporter-trace-otlp-http`).
 *
 * Spans are made after the answer from the request's record, with the ids the request already used
 * (the upstream saw the upstream span's id in its `traceparent`): a small id generator hands the
 * SDK the record's ids. With the API's `server.detailedTracing`, each step of the request path gets
 * a span of its own too.
 */
import { type Context, context as otelContext, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { type IdGenerator, type ReadableSpan, type SpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import type { ObserveConfig } from "./config.ts";
import type { RequestRecord } from "./record.ts";

/** Hands the SDK the ids the request already used. */
class GivenIds implements IdGenerator {
  traceId = "";
  spanId = "";
  generateTraceId(): string {
    return this.traceId;
  }
  generateSpanId(): string {
    return this.spanId;
  }
}

/** Keeps ended spans until the next export. */
class Collect implements SpanProcessor {
  spans: ReadableSpan[] = [];
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    if (this.spans.length < 10_000) this.spans.push(span);
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

export interface TracesOptions {
  config: ObserveConfig["traces"];
  instanceId: string;
  version: string;
}

export class GatewayTraces {
  readonly #ids = new GivenIds();
  readonly #collect = new Collect();
  readonly #provider: TracerProvider;
  readonly #exporter: OTLPTraceExporter;

  constructor(options: TracesOptions) {
    const { config } = options;
    this.#provider = new TracerProvider({
      resource: resourceFromAttributes({
        "service.name": config.serviceName,
        "service.version": options.version,
        "service.instance.id": options.instanceId,
      }),
      idGenerator: this.#ids,
      spanProcessors: [this.#collect],
    });
    this.#exporter = new OTLPTraceExporter({ url: config.endpoint!, headers: config.headers, timeoutMillis: config.timeoutMs });
  }

  /** Makes the spans of one sampled request. */
  record(record: RequestRecord): void {
    if (!record.sampled || record.traceId === "") return;
    const tracer = this.#provider.getTracer("mcp-gateway");
    const ids = this.#ids;
    let parent: Context = ROOT_CONTEXT;
    if (record.parentSpanId !== "") {
      parent = trace.setSpanContext(ROOT_CONTEXT, { traceId: record.traceId, spanId: record.parentSpanId, traceFlags: 1, isRemote: true });
    }
    ids.traceId = record.traceId;
    ids.spanId = record.spanId;
    const start = record.time;
    const end = start + record.latencyTotal;
    const target = record.primitiveType === "tool" || record.primitiveType === "prompt" ? ` ${record.primitiveName}` : "";
    const name = record.mcpMethod !== "" ? `${record.mcpMethod}${target}` : `${record.method} ${record.apiId || "gateway"}`;
    const attributes: Record<string, string | number> = {
      "http.request.method": record.method,
      "url.path": record.path,
      "http.response.status_code": record.status,
      "network.protocol.name": "http",
      "network.transport": "tcp",
    };
    if (record.clientIp !== "") attributes["client.address"] = record.clientIp;
    if (record.apiId !== "") {
      attributes["tyk.api.id"] = record.apiId;
      attributes["tyk.api.name"] = record.apiName;
    }
    if (record.mcpMethod !== "") attributes["mcp.method.name"] = record.mcpMethod;
    if (record.primitiveType === "tool") {
      attributes["gen_ai.tool.name"] = record.primitiveName;
      attributes["gen_ai.operation.name"] = "execute_tool";
    }
    if (record.primitiveType === "prompt") attributes["gen_ai.prompt.name"] = record.primitiveName;
    if (record.primitiveType === "resource") attributes["mcp.resource.uri"] = record.primitiveName;
    if (record.alias !== "") attributes["tyk.session.alias"] = record.alias;
    if (record.errorCode !== undefined) {
      attributes["error.type"] = record.errorReason;
      attributes["rpc.response.status_code"] = String(record.errorCode);
      attributes["tyk.mcp.error_code"] = record.errorCode;
    }
    if (record.arguments !== undefined) attributes["tyk.mcp.arguments"] = record.arguments;
    const span = tracer.startSpan(name, { kind: SpanKind.SERVER, startTime: start, attributes }, parent);
    if (record.errorCode !== undefined || record.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: record.errorReason });
    const own = trace.setSpan(otelContext.active(), span);
    if (record.upstreamOffset >= 0) {
      ids.spanId = record.upstreamSpanId;
      const upstream = tracer.startSpan(
        `${record.method} upstream`,
        {
          kind: SpanKind.CLIENT,
          startTime: start + record.upstreamOffset,
          attributes: { "http.request.method": record.method, ...(record.mcpMethod ? { "mcp.method.name": record.mcpMethod } : {}) },
        },
        own,
      );
      if (record.errorReason.startsWith("upstream_")) upstream.setStatus({ code: SpanStatusCode.ERROR, message: record.errorReason });
      upstream.end(start + record.upstreamOffset + record.latencyUpstream);
    }
    if (record.detailedTracing && record.steps !== undefined) {
      const steps = record.steps;
      for (let i = 0; i < steps.length; i++) {
        ids.spanId = randomSpanId();
        const step = tracer.startSpan(`step ${steps[i]!.name}`, { kind: SpanKind.INTERNAL, startTime: start + steps[i]!.at }, own);
        const next = steps[i + 1]?.at ?? (record.upstreamOffset >= 0 ? record.upstreamOffset : record.latencyTotal);
        step.end(start + Math.max(steps[i]!.at, next));
      }
    }
    span.end(end);
  }

  /** Whether spans wait to be sent. */
  get pending(): number {
    return this.#collect.spans.length;
  }

  /** Sends the spans made so far. Rejects when the collector refuses or cannot be reached. */
  export(): Promise<void> {
    const spans = this.#collect.spans;
    if (spans.length === 0) return Promise.resolve();
    this.#collect.spans = [];
    return new Promise((resolve, reject) =>
      this.#exporter.export(spans, (result) =>
        result.code === 0 ? resolve() : reject(result.error ?? new Error("OTLP trace export failed")),
      ),
    );
  }
}

function randomSpanId(): string {
  let out = "";
  for (let i = 0; i < 16; i++) out += "0123456789abcdef"[(Math.random() * 16) | 0];
  return out;
}
