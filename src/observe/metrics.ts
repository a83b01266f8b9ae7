/**
 * Metrics as Tyk configures them (`opentelemetry.metrics.api_metrics`), on the OpenTelemetry JS SDK:
 * each instrument a counter or a histogram (`histogram_source` upstream, gateway or total, in
 * seconds, with `histogram_buckets`), its attributes from `metadata`, `session` and `context`
 * dimensions (`key`, `label`, `default`), counted only for the HTTP methods and statuses its
 * `filters` name. Label values are bounded (`labels.ts`).
 *
 * Read by a manual reader: {@link GatewayMetrics.prometheus} writes the Prometheus text
 * (`@opentelemetry/exporter-prometheus`' serializer) for `/metrics`, and
 * {@link GatewayMetrics.export} sends OTLP/HTTP (JSON) to the configured collector
 * (`@opentelemetry/exporter-metrics-otlp-http`, which uses `fetch` on workerd and `node:http` on Bun
 * and Deno). Counters are cumulative per process or isolate, which carries its own
 * `service.instance.id`.
 */
import type { Attributes, Counter, Histogram } from "@opentelemetry/api";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider, MetricReader, type ResourceMetrics } from "@opentelemetry/sdk-metrics";
// The serializer alone: the package's index also loads its HTTP server (node:http), which workerd
// has not, and its exports map names only the index.
import { PrometheusSerializer } from "../../node_modules/@opentelemetry/exporter-prometheus/dist/PrometheusSerializer.mjs";
import type { ApiMetric, Dimension, ObserveConfig } from "./config.ts";
import { BoundedValues, type KnownNames, methodLabel } from "./labels.ts";
import type { RequestRecord } from "./record.ts";

/** A reader the gateway asks when it wants the numbers (for `/metrics`, and for an export). */
class ManualReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

type Value = (record: RequestRecord) => string;

interface Instrument {
  spec: ApiMetric;
  counter: Counter | undefined;
  histogram: Histogram | undefined;
  values: { label: string; value: Value; fallback: string }[];
}

export interface MetricsOptions {
  config: ObserveConfig["metrics"];
  serviceName: string;
  /** The names each API knows: others are counted as `__other__`. */
  names: KnownNames;
  /** A random id of this process or isolate. */
  instanceId: string;
  /** The gateway's version, as a resource attribute. */
  version: string;
}

export class GatewayMetrics {
  readonly #instruments: Instrument[];
  readonly #reader = new ManualReader();
  readonly #provider: MeterProvider;
  readonly #exporter: OTLPMetricExporter | undefined;
  readonly #serializer = new PrometheusSerializer(undefined, false, undefined, false, false);
  readonly #intervalMs: number;
  #lastExport = 0;
  /** Counted since the last export. */
  #dirty = false;

  constructor(options: MetricsOptions) {
    const { config, names } = options;
    this.#provider = new MeterProvider({
      resource: resourceFromAttributes({
        "service.name": options.serviceName,
        "service.version": options.version,
        "service.instance.id": options.instanceId,
      }),
      readers: [this.#reader],
    });
    const meter = this.#provider.getMeter("mcp-gateway", options.version);
    const outside = new BoundedValues();
    const paths = new BoundedValues();
    const clients = new BoundedValues();
    const valueFor = (dimension: Dimension): Value => {
      const { source, key } = dimension;
      if (source === "metadata") {
        switch (key) {
          case "api_id":
            return (r) => r.apiId;
          case "api_name":
            return (r) => r.apiName;
          case "method":
            return (r) => r.method;
          case "path":
            return (r) => paths.value(r.path);
          case "status":
          case "response_code":
            return (r) => String(r.status);
          case "client_ip":
            return (r) => clients.value(r.clientIp);
          case "mcp_method":
            return (r) => methodLabel(r.mcpMethod);
          case "mcp_primitive_type":
            return (r) => r.primitiveType;
          case "mcp_primitive_name":
            return (r) => names.label(r.apiId, r.primitiveType as "tool" | "resource" | "prompt" | "", r.primitiveName);
          case "mcp_error_code":
            return (r) => (r.errorCode === undefined ? "" : String(r.errorCode));
        }
      }
      if (source === "session") {
        switch (key) {
          case "alias":
            return (r) => outside.value(r.alias);
          case "key_hash":
            return (r) => outside.value(r.keyHash);
          case "oauth_id":
            return (r) => (r.authKind === "oauth" ? outside.value(r.alias) : "");
          case "policy_id":
            return (r) => outside.value(r.policies.join(","));
        }
      }
      // context: a token's subject is the one claim the gateway keeps.
      if (key === "jwt_claims_sub") return (r) => (r.authKind === "jwt" || r.authKind === "oauth" ? outside.value(r.alias) : "");
      return () => "";
    };
    this.#instruments = config.instruments.map((spec) => ({
      spec,
      counter: spec.type === "counter" ? meter.createCounter(spec.name, { description: spec.description }) : undefined,
      histogram:
        spec.type === "histogram"
          ? meter.createHistogram(spec.name, {
              description: spec.description,
              ...(spec.histogramBuckets ? { advice: { explicitBucketBoundaries: spec.histogramBuckets } } : {}),
            })
          : undefined,
      values: spec.dimensions.map((d) => ({ label: d.label, value: valueFor(d), fallback: d.default })),
    }));
    this.#exporter =
      config.endpoint === undefined
        ? undefined
        : new OTLPMetricExporter({ url: config.endpoint, headers: config.headers, timeoutMillis: 5000 });
    this.#intervalMs = config.exportIntervalMs;
  }

  /**
   * Counts a batch of requests in every instrument whose filters let them through. Counters are
   * added up per label set first (one SDK call per series and batch); histograms take each value.
   */
  record(records: readonly RequestRecord[]): void {
    if (records.length === 0) return;
    this.#dirty = true;
    for (const instrument of this.#instruments) {
      const { spec, values } = instrument;
      const groups = new Map<string, { attributes: Attributes; count: number; latencies: number[] }>();
      for (const record of records) {
        if (spec.methods !== undefined && !spec.methods.has(record.method)) continue;
        if (spec.statusCodes !== undefined && !spec.statusCodes.has(record.status)) continue;
        if (spec.histogramSource === "upstream" && instrument.histogram && record.upstreamOffset < 0) continue;
        let key = "";
        const labels: string[] = [];
        for (const { value, fallback } of values) {
          const v = value(record);
          const label = v === "" ? fallback : v;
          labels.push(label);
          key += `${label}\u0000`;
        }
        let group = groups.get(key);
        if (group === undefined) {
          const attributes: Attributes = {};
          for (let i = 0; i < values.length; i++) attributes[values[i]!.label] = labels[i]!;
          group = { attributes, count: 0, latencies: [] };
          groups.set(key, group);
        }
        group.count++;
        if (instrument.histogram) {
          const ms =
            spec.histogramSource === "upstream"
              ? record.latencyUpstream
              : spec.histogramSource === "gateway"
                ? record.latencyGateway
                : record.latencyTotal;
          group.latencies.push(ms / 1000);
        }
      }
      for (const { attributes, count, latencies } of groups.values()) {
        if (instrument.counter) instrument.counter.add(count, attributes);
        else for (const seconds of latencies) instrument.histogram!.record(seconds, attributes);
      }
    }
  }

  /** The numbers as Prometheus text (exposition format 0.0.4). */
  async prometheus(): Promise<string> {
    const { resourceMetrics } = await this.#reader.collect();
    return this.#serializer.serialize(resourceMetrics);
  }

  /** Whether an OTLP export is due at `now` (an endpoint is set and the interval has passed). */
  exportDue(now: number): boolean {
    return this.#exporter !== undefined && now - this.#lastExport >= this.#intervalMs;
  }

  /**
   * How long (ms) until numbers counted since the last export are due to be sent; `undefined` when
   * nothing waits (or no collector is set).
   */
  exportWait(now: number): number | undefined {
    if (this.#exporter === undefined || !this.#dirty) return undefined;
    return Math.max(0, this.#lastExport + this.#intervalMs - now);
  }

  /** Sends the numbers to the collector over OTLP/HTTP. Rejects when the collector refuses. */
  async export(now = Date.now()): Promise<void> {
    const exporter = this.#exporter;
    if (exporter === undefined) return;
    this.#lastExport = now;
    this.#dirty = false;
    const { resourceMetrics } = await this.#reader.collect();
    await sendMetrics(exporter, resourceMetrics);
  }
}

function sendMetrics(exporter: OTLPMetricExporter, metrics: ResourceMetrics): Promise<void> {
  return new Promise((resolve, reject) =>
    exporter.export(metrics, (result) => (result.code === 0 ? resolve() : reject(result.error ?? new Error("OTLP metrics export failed")))),
  );
}
