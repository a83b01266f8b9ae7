/**
 * The metrics' histograms, aggregated here in the shape the OpenTelemetry SDK gives them. Pure.
 *
 * The SDK's synchronous histogram hashes a value's attributes (keys sorted, then JSON) on every
 * `record`, and a request records a value in each histogram. Here a series is found by the key
 * `metrics.ts` already made of its labels, and a value costs a bucket search. A collection gives
 * what the SDK's explicit-bucket histogram gives a cumulative reader, field for field: the
 * instrument's descriptor; one data point per series, in the order the series began, with its
 * attributes, start time (its first value), end time, buckets (the SDK's default boundaries when
 * none are configured), count, sum (added up per collection, as the SDK merges them), min and max.
 * Between two collections at most 1999 series take values; values of any other go to the series
 * `{"otel.metric.overflow": true}`, as the SDK's cardinality limit (2000) sends them. Negative and
 * NaN values are dropped, as the SDK drops them.
 */
import { type Attributes, type HrTime, ValueType } from "@opentelemetry/api";
import { millisToHrTime } from "@opentelemetry/core";
import { AggregationTemporality, DataPointType, type HistogramMetricData } from "@opentelemetry/sdk-metrics";

/** The SDK's bucket boundaries for a histogram that names none. */
export const DEFAULT_BOUNDARIES: readonly number[] = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10_000];

/** Series that may take values between two collections (the SDK's default limit, less its overflow series). */
const CARDINALITY_LIMIT = 2000 - 1;
/** The overflow series' key: a label key is empty or ends with NUL, so no label key is this. */
const OVERFLOW = "\u0001";
const OVERFLOW_ATTRIBUTES = (): Attributes => ({ "otel.metric.overflow": true });

interface Series {
  attributes: Attributes;
  startTime: HrTime;
  counts: number[];
  /** The sum up to the last collection, and what was added since (the SDK adds per collection). */
  sum: number;
  pending: number;
  count: number;
  min: number;
  max: number;
}

/** The index of the bucket `value` falls in: the first boundary not below it (the SDK's `binarySearchUB`). */
function bucketOf(boundaries: readonly number[], value: number): number {
  let lo = 0;
  let hi = boundaries.length - 1;
  let found = boundaries.length;
  while (hi >= lo) {
    const mid = lo + Math.trunc((hi - lo) / 2);
    if (boundaries[mid]! < value) lo = mid + 1;
    else {
      found = mid;
      hi = mid - 1;
    }
  }
  return found;
}

/** One histogram instrument's series. */
export class HistogramSeries {
  readonly #descriptor: HistogramMetricData["descriptor"];
  readonly #boundaries: readonly number[];
  readonly #series = new Map<string, Series>();
  /** Series given a value since the last collection (what the cardinality limit counts). */
  readonly #active = new Set<string>();

  /** @param boundaries the configured bucket boundaries (`histogram_buckets`); default {@link DEFAULT_BOUNDARIES} */
  constructor(name: string, description: string, boundaries: readonly number[] | undefined) {
    // As the SDK's explicit-bucket aggregation takes them: sorted, without infinities.
    const sorted = [...(boundaries ?? DEFAULT_BOUNDARIES)].sort((a, b) => a - b);
    const infinity = sorted.indexOf(Number.POSITIVE_INFINITY);
    this.#boundaries = sorted.slice(sorted.lastIndexOf(Number.NEGATIVE_INFINITY) + 1, infinity === -1 ? undefined : infinity);
    // The SDK's instrument descriptor (`createInstrumentDescriptor`).
    this.#descriptor = {
      name,
      type: "HISTOGRAM",
      description,
      unit: "",
      valueType: ValueType.DOUBLE,
      advice: boundaries === undefined ? {} : { explicitBucketBoundaries: boundaries },
    } as HistogramMetricData["descriptor"];
  }

  /**
   * Adds `values` to the series `key` (the key of its labels); `attributes` makes its attributes
   * when the series is new. `now` is Unix ms.
   */
  record(key: string, attributes: () => Attributes, values: readonly number[], now: number): void {
    if (values.length === 0) return;
    if (!this.#active.has(key)) {
      if (this.#active.size >= CARDINALITY_LIMIT) {
        key = OVERFLOW;
        attributes = OVERFLOW_ATTRIBUTES;
      } else {
        this.#active.add(key);
      }
    }
    let series = this.#series.get(key);
    for (const value of values) {
      if (!(value >= 0)) continue;
      if (series === undefined) {
        series = {
          attributes: attributes(),
          startTime: millisToHrTime(now),
          counts: new Array<number>(this.#boundaries.length + 1).fill(0),
          sum: 0,
          pending: 0,
          count: 0,
          min: Number.POSITIVE_INFINITY,
          max: Number.NEGATIVE_INFINITY,
        };
        this.#series.set(key, series);
      }
      series.count++;
      series.pending += value;
      if (value < series.min) series.min = value;
      if (value > series.max) series.max = value;
      series.counts[bucketOf(this.#boundaries, value)]!++;
    }
  }

  /** The series as the SDK's collection gives them at `endTime`; `undefined` before any value. Starts the next collection's count. */
  collect(endTime: HrTime): HistogramMetricData | undefined {
    this.#active.clear();
    if (this.#series.size === 0) return undefined;
    const dataPoints: HistogramMetricData["dataPoints"] = [];
    for (const series of this.#series.values()) {
      series.sum += series.pending;
      series.pending = 0;
      dataPoints.push({
        attributes: series.attributes,
        startTime: series.startTime,
        endTime,
        value: {
          min: series.min,
          max: series.max,
          sum: series.sum,
          buckets: { boundaries: this.#boundaries as number[], counts: [...series.counts] },
          count: series.count,
        },
      });
    }
    return {
      descriptor: this.#descriptor,
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints,
    };
  }
}
