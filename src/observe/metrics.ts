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
import type { Attributes, Counter } from "@opentelemetry/api";
import { millisToHrTime } from "@opentelemetry/core";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider, type MetricData, MetricReader, type ResourceMetrics } from "@opentelemetry/sdk-metrics";
// The serializer alone: the package's index also loads its HTTP server (node:http), which workerd
// has not, and its exports map names only the index.
import { PrometheusSerializer } from "../../node_modules/@opentelemetry/exporter-prometheus/dist/PrometheusSerializer.mjs";
import type { ApiMetric, Dimension, ObserveConfig } from "./config.ts";
import { HistogramSeries } from "./histograms.ts";
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
  histogram: HistogramSeries | undefined;
  values: { label: string; value: Value; fallback: string }[];
}

/**
 * Records of one batch that every dimension and filter reads alike: counted together, their
 * labels worked out once. The latencies are in seconds; `upstream` only of forwarded requests.
 */
interface Group {
  record: RequestRecord;
  count: number;
  upstream: number[];
  gateway: number[];
  total: number[];
}

/** A key of the fields `fields` of a record (separated by NUL, which no field value holds unescaped). */
function signatureOf(fields: readonly (keyof RequestRecord)[]): (record: RequestRecord) => string {
  return (record) => {
    let key = "";
    for (const field of fields) {
      const value = record[field];
      key += `${Array.isArray(value) ? value.join(",") : String(value)}\u0000`;
    }
    return key;
  };
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
  readonly #scope: { name: string; version: string; schemaUrl: undefined };
  readonly #exporter: OTLPMetricExporter | undefined;
  readonly #serializer = new PrometheusSerializer(undefined, false, undefined, false, false);
  readonly #intervalMs: number;
  /** The key records are grouped by: every field a dimension or a filter reads. */
  readonly #signature: (record: RequestRecord) => string;
  /** Which latencies some histogram measures. */
  readonly #sources: { upstream: boolean; gateway: boolean; total: boolean };
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
    this.#scope = { name: "mcp-gateway", version: options.version, schemaUrl: undefined };
    const meter = this.#provider.getMeter(this.#scope.name, this.#scope.version);
    const outside = new BoundedValues();
    const paths = new BoundedValues();
    const clients = new BoundedValues();
    /**
     * What a dimension reads of a record, and from which fields: records alike in these fields get
     * the same label (a batch is labelled once per such group).
     */
    const valueFor = (dimension: Dimension): { value: Value; fields: readonly (keyof RequestRecord)[] } => {
      const { source, key } = dimension;
      if (source === "metadata") {
        switch (key) {
          case "api_id":
            return { value: (r) => r.apiId, fields: ["apiId"] };
          case "api_name":
            return { value: (r) => r.apiName, fields: ["apiName"] };
          case "method":
            return { value: (r) => r.method, fields: ["method"] };
          case "path":
            return { value: (r) => paths.value(r.path), fields: ["path"] };
          case "status":
          case "response_code":
            return { value: (r) => String(r.status), fields: ["status"] };
          case "client_ip":
            return { value: (r) => clients.value(r.clientIp), fields: ["clientIp"] };
          case "mcp_method":
            return { value: (r) => methodLabel(r.mcpMethod), fields: ["mcpMethod"] };
          case "mcp_primitive_type":
            return { value: (r) => r.primitiveType, fields: ["primitiveType"] };
          case "mcp_primitive_name":
            return {
              value: (r) => names.label(r.apiId, r.primitiveType as "tool" | "resource" | "prompt" | "", r.primitiveName),
              fields: ["apiId", "primitiveType", "primitiveName"],
            };
          case "mcp_error_code":
            return { value: (r) => (r.errorCode === undefined ? "" : String(r.errorCode)), fields: ["errorCode"] };
        }
      }
      if (source === "session") {
        switch (key) {
          case "alias":
            return { value: (r) => outside.value(r.alias), fields: ["alias"] };
          case "key_hash":
            return { value: (r) => outside.value(r.keyHash), fields: ["keyHash"] };
          case "oauth_id":
            return { value: (r) => (r.authKind === "oauth" ? outside.value(r.alias) : ""), fields: ["authKind", "alias"] };
          case "policy_id":
            return { value: (r) => outside.value(r.policies.join(",")), fields: ["policies"] };
        }
      }
      // context: a token's subject is the one claim the gateway keeps.
      if (key === "jwt_claims_sub") {
        return {
          value: (r) => (r.authKind === "jwt" || r.authKind === "oauth" ? outside.value(r.alias) : ""),
          fields: ["authKind", "alias"],
        };
      }
      return { value: () => "", fields: [] };
    };
    const histograms = new Map<string, HistogramSeries>();
    const fields = new Set<keyof RequestRecord>();
    this.#instruments = config.instruments.map((spec) => {
      let histogram: HistogramSeries | undefined;
      if (spec.type === "histogram") {
        // Instruments of one name share their series, as the SDK's do (the first one's buckets).
        histogram = histograms.get(spec.name) ?? new HistogramSeries(spec.name, spec.description, spec.histogramBuckets);
        histograms.set(spec.name, histogram);
      }
      return {
        spec,
        counter: spec.type === "counter" ? meter.createCounter(spec.name, { description: spec.description }) : undefined,
        histogram,
        values: spec.dimensions.map((d) => {
          const { value, fields: read } = valueFor(d);
          for (const field of read) fields.add(field);
          return { label: d.label, value, fallback: d.default };
        }),
      };
    });
    // The filters read a record too.
    for (const spec of config.instruments) {
      if (spec.methods !== undefined) fields.add("method");
      if (spec.statusCodes !== undefined) fields.add("status");
    }
    this.#signature = signatureOf([...fields]);
    const source = (name: ApiMetric["histogramSource"]) =>
      config.instruments.some((i) => i.type === "histogram" && i.histogramSource === name);
    this.#sources = { upstream: source("upstream"), gateway: source("gateway"), total: source("total") };
    this.#exporter =
      config.endpoint === undefined
        ? undefined
        : new OTLPMetricExporter({ url: config.endpoint, headers: config.headers, timeoutMillis: 5000 });
    this.#intervalMs = config.exportIntervalMs;
  }

  /**
   * Counts a batch of requests in every instrument whose filters let them through. Records alike
   * in every field the instruments read are grouped first, so labels are worked out once per
   * group; counters take one SDK call per series and batch, histograms add each value to their
   * own buckets ({@link HistogramSeries}).
   */
  record(records: readonly RequestRecord[]): void {
    if (records.length === 0) return;
    this.#dirty = true;
    const sources = this.#sources;
    const groups = new Map<string, Group>();
    for (const record of records) {
      const key = this.#signature(record);
      let group = groups.get(key);
      if (group === undefined) {
        group = { record, count: 0, upstream: [], gateway: [], total: [] };
        groups.set(key, group);
      }
      group.count++;
      if (sources.upstream && record.upstreamOffset >= 0) group.upstream.push(record.latencyUpstream / 1000);
      if (sources.gateway) group.gateway.push(record.latencyGateway / 1000);
      if (sources.total) group.total.push(record.latencyTotal / 1000);
    }
    const now = Date.now();
    for (const instrument of this.#instruments) {
      const { spec, values, counter, histogram } = instrument;
      const counts = new Map<string, { attributes: Attributes; count: number }>();
      for (const group of groups.values()) {
        const record = group.record;
        if (spec.methods !== undefined && !spec.methods.has(record.method)) continue;
        if (spec.statusCodes !== undefined && !spec.statusCodes.has(record.status)) continue;
        let key = "";
        const labels: string[] = [];
        for (const { value, fallback } of values) {
          const v = value(record);
          const label = v === "" ? fallback : v;
          labels.push(label);
          key += `${label}\u0000`;
        }
        const attributes = () => {
          const out: Attributes = {};
          for (let i = 0; i < values.length; i++) out[values[i]!.label] = labels[i]!;
          return out;
        };
        if (histogram !== undefined) {
          histogram.record(key, attributes, group[spec.histogramSource], now);
        } else {
          const seen = counts.get(key);
          if (seen === undefined) counts.set(key, { attributes: attributes(), count: group.count });
          else seen.count += group.count;
        }
      }
      if (counter !== undefined) for (const { attributes, count } of counts.values()) counter.add(count, attributes);
    }
  }

  /**
   * The numbers as the SDK collects them, with the histograms' series put in their instruments'
   * places (one scope, in the configured order, as the SDK would give them).
   */
  async #collect(): Promise<ResourceMetrics> {
    const { resourceMetrics } = await this.#reader.collect();
    const scopes = resourceMetrics.scopeMetrics;
    let scope = scopes.find((s) => s.scope.name === this.#scope.name);
    const collected = scope?.metrics ?? [];
    const endTime = collected[0]?.dataPoints[0]?.endTime ?? millisToHrTime(Date.now());
    const metrics: MetricData[] = [];
    const placed = new Set<string>();
    for (const { spec, histogram } of this.#instruments) {
      if (placed.has(spec.name)) continue;
      placed.add(spec.name);
      const data = histogram !== undefined ? histogram.collect(endTime) : collected.find((m) => m.descriptor.name === spec.name);
      if (data !== undefined) metrics.push(data);
    }
    if (metrics.length === 0) return resourceMetrics;
    if (scope === undefined) {
      scope = { scope: { ...this.#scope }, metrics: [] };
      scopes.push(scope);
    }
    scope.metrics = metrics;
    return resourceMetrics;
  }

  /** The numbers as Prometheus text (exposition format 0.0.4). */
  async prometheus(): Promise<string> {
    return this.#serializer.serialize(await this.#collect());
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
    await sendMetrics(exporter, await this.#collect());
  }
}

function sendMetrics(exporter: OTLPMetricExporter, metrics: ResourceMetrics): Promise<void> {
  return new Promise((resolve, reject) =>
    exporter.export(metrics, (result) => (result.code === 0 ? resolve() : reject(result.error ?? new Error("OTLP metrics export failed")))),
  );
}
