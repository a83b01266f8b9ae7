/**
 * The metrics' own histogram series against the OpenTelemetry SDK's explicit-bucket histogram:
 * the same values under the same attributes collect to the same data, so exporters and the
 * Prometheus serializer see no difference.
 */
import type { Attributes } from "@opentelemetry/api";
import { MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import { describe, expect, test } from "vitest";
import { DEFAULT_BOUNDARIES, HistogramSeries } from "../../src/observe/histograms.ts";

class Reader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** The SDK's collected histogram for `values` under each attribute set, in order. */
async function sdkHistogram(name: string, boundaries: number[] | undefined, values: [Attributes, number][]) {
  const reader = new Reader();
  const provider = new MeterProvider({ readers: [reader] });
  const histogram = provider
    .getMeter("t")
    .createHistogram(name, { description: "d", ...(boundaries ? { advice: { explicitBucketBoundaries: boundaries } } : {}) });
  for (const [attributes, value] of values) histogram.record(value, attributes);
  const { resourceMetrics } = await reader.collect();
  return { reader, histogram, metric: resourceMetrics.scopeMetrics[0]?.metrics[0] };
}

const keyOf = (attributes: Attributes) => JSON.stringify(Object.entries(attributes).sort());

function ownHistogram(name: string, boundaries: number[] | undefined, values: [Attributes, number][]) {
  const series = new HistogramSeries(name, "d", boundaries);
  for (const [attributes, value] of values) series.record(keyOf(attributes), () => attributes, [value], Date.now());
  return series;
}

/** What a collection says, without the times (each side stamps its own). */
function comparable(metric: unknown) {
  const m = metric as {
    descriptor: unknown;
    aggregationTemporality: unknown;
    dataPointType: unknown;
    dataPoints: { attributes: Attributes; value: unknown }[];
  };
  return {
    descriptor: m.descriptor,
    aggregationTemporality: m.aggregationTemporality,
    dataPointType: m.dataPointType,
    dataPoints: m.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value })),
  };
}

describe("HistogramSeries", () => {
  const values: [Attributes, number][] = [
    [{ tool: "add", code: "200" }, 0.004],
    [{ tool: "add", code: "200" }, 0.3],
    [{ tool: "echo", code: "500" }, 12],
    [{ tool: "add", code: "200" }, 0],
    [{ tool: "echo", code: "500" }, 5],
    [{ tool: "add", code: "200" }, -1],
    [{ tool: "add", code: "200" }, Number.NaN],
    [{ tool: "big", code: "200" }, 50_000],
  ];

  test("collects what the SDK collects, with its default boundaries", async () => {
    const { metric } = await sdkHistogram("latency", undefined, values);
    const own = ownHistogram("latency", undefined, values).collect([0, 0]);
    expect(comparable(own)).toEqual(comparable(metric));
    expect((own!.dataPoints[0]!.value as { buckets: { boundaries: number[] } }).buckets.boundaries).toEqual(DEFAULT_BOUNDARIES);
  });

  test("collects what the SDK collects, with configured boundaries out of order and with infinities", async () => {
    const boundaries = [1, 0.1, Number.POSITIVE_INFINITY, 0.01, 10, Number.NEGATIVE_INFINITY];
    const { metric } = await sdkHistogram("latency", boundaries, values);
    const own = ownHistogram("latency", boundaries, values).collect([0, 0]);
    expect(comparable(own)).toEqual(comparable(metric));
  });

  test("keeps counting across collections as a cumulative reader does", async () => {
    const { reader, histogram } = await sdkHistogram("latency", [0.1, 1], values);
    const own = ownHistogram("latency", [0.1, 1], values);
    own.collect([0, 0]);
    const more: [Attributes, number][] = [
      [{ tool: "add", code: "200" }, 0.7],
      [{ tool: "new", code: "200" }, 2],
    ];
    for (const [attributes, value] of more) {
      histogram.record(value, attributes);
      own.record(keyOf(attributes), () => attributes, [value], Date.now());
    }
    const { resourceMetrics } = await reader.collect();
    expect(comparable(own.collect([0, 0]))).toEqual(comparable(resourceMetrics.scopeMetrics[0]?.metrics[0]));
  });

  test("nothing to collect before a value", () => {
    expect(new HistogramSeries("latency", "d", undefined).collect([0, 0])).toBeUndefined();
  });

  test("series past the cardinality limit go to the overflow series, as the SDK's do", async () => {
    const many: [Attributes, number][] = [];
    for (let i = 0; i < 2100; i++) many.push([{ tool: `t${i}` }, 1]);
    const { metric } = await sdkHistogram("latency", [0.5], many);
    const own = ownHistogram("latency", [0.5], many).collect([0, 0]);
    const overflow = (m: unknown) =>
      (m as { dataPoints: { attributes: Attributes; value: { count: number } }[] }).dataPoints.filter(
        (p) => p.attributes["otel.metric.overflow"],
      );
    expect(own?.dataPoints).toHaveLength((metric as { dataPoints: unknown[] }).dataPoints.length);
    expect(overflow(own).map((p) => p.value.count)).toEqual(overflow(metric).map((p) => p.value.count));
    expect(overflow(own)[0]?.value.count).toBe(101);
  });
});
