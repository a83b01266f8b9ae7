/**
 * Analytics: "Activity by MCP" at two levels, kept cheaply as per-minute buckets. Pure.
 *
 * A bucket counts the requests of one minute with one API, primitive (type and name, bounded as in
 * `labels.ts`), HTTP status and gateway error code: how many, how many failed (HTTP status 400 or
 * above, or a gateway error code), the sum of their latencies and a latency histogram (for p95).
 * Records are folded into buckets where they are made ({@link AnalyticsBuckets}), and only the
 * buckets travel to the store ({@link AnalyticsStore}: memory on Bun and Deno, a Durable Object's
 * SQLite on Workers), which adds them up.
 *
 * Queries ({@link proxyActivity}, {@link primitiveActivity}) answer:
 * - per proxy: request volume over time, errors by HTTP status and by `mcp_error_code`;
 * - per primitive: calls over time, the most called, the highest error rate, the slowest by average
 *   and by p95 latency.
 */
import type { RequestRecord } from "./record.ts";

/** Upper bounds (ms) of the latency histogram's buckets; one more bucket holds the rest. */
export const LATENCY_BOUNDS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000] as const;

/** How long buckets are kept (ms): a day in memory, a week in a Durable Object. */
export const MEMORY_RETENTION_MS = 24 * 3600_000;
export const STORE_RETENTION_MS = 7 * 24 * 3600_000;

/** One minute's requests of one API, primitive, status and error code. */
export interface BucketRow {
  /** The minute (Unix ms, a multiple of 60 000). */
  minute: number;
  apiId: string;
  apiName: string;
  /** `tool`, `resource`, `prompt`, or `""`. */
  type: string;
  name: string;
  /** `mcp_method` (bounded). */
  method: string;
  status: number;
  /** The gateway's error code, `""` when none. */
  code: string;
  count: number;
  errors: number;
  latencySum: number;
  /** Counts per latency bucket ({@link LATENCY_BOUNDS_MS}, then the rest). */
  histogram: number[];
}

/** Where buckets are added up and read back. */
export interface AnalyticsStore {
  /** Adds `rows` to what is stored. */
  write(rows: readonly BucketRow[]): Promise<void>;
  /** Every bucket from `from` to `to` (Unix ms, inclusive), of one API when `apiId` is given. */
  read(from: number, to: number, apiId?: string): Promise<BucketRow[]>;
}

const keyOf = (row: Omit<BucketRow, "count" | "errors" | "latencySum" | "histogram">) =>
  `${row.minute}\u0000${row.apiId}\u0000${row.type}\u0000${row.name}\u0000${row.method}\u0000${row.status}\u0000${row.code}`;

function histogramIndex(ms: number): number {
  for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) if (ms <= LATENCY_BOUNDS_MS[i]!) return i;
  return LATENCY_BOUNDS_MS.length;
}

/** Buckets being filled, keyed by minute, API, primitive, status and code. */
export class AnalyticsBuckets {
  #rows = new Map<string, BucketRow>();

  get size(): number {
    return this.#rows.size;
  }

  /** Counts one record; `name` and `method` are its labels, already bounded. */
  add(record: RequestRecord, name: string, method: string): void {
    const minute = record.time - (record.time % 60_000);
    const code = record.errorCode === undefined ? "" : String(record.errorCode);
    const key = `${minute}\u0000${record.apiId}\u0000${record.primitiveType}\u0000${name}\u0000${method}\u0000${record.status}\u0000${code}`;
    let row = this.#rows.get(key);
    if (row === undefined) {
      row = {
        minute,
        apiId: record.apiId,
        apiName: record.apiName,
        type: record.primitiveType,
        name,
        method,
        status: record.status,
        code,
        count: 0,
        errors: 0,
        latencySum: 0,
        histogram: new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0),
      };
      this.#rows.set(key, row);
    }
    row.count++;
    if (record.status >= 400 || record.errorCode !== undefined) row.errors++;
    row.latencySum += record.latencyTotal;
    row.histogram[histogramIndex(record.latencyTotal)]!++;
  }

  /** Adds rows to these buckets. */
  merge(rows: readonly BucketRow[]): void {
    for (const row of rows) {
      const key = keyOf(row);
      const have = this.#rows.get(key);
      if (have === undefined) {
        this.#rows.set(key, { ...row, histogram: [...row.histogram] });
        continue;
      }
      have.count += row.count;
      have.errors += row.errors;
      have.latencySum += row.latencySum;
      have.apiName = row.apiName;
      for (let i = 0; i < have.histogram.length; i++) have.histogram[i]! += row.histogram[i] ?? 0;
    }
  }

  /** The buckets, and empties this set. */
  drain(): BucketRow[] {
    const rows = [...this.#rows.values()];
    this.#rows = new Map();
    return rows;
  }

  /** The buckets from `from` to `to`, of one API when given. */
  read(from: number, to: number, apiId?: string): BucketRow[] {
    const out: BucketRow[] = [];
    for (const row of this.#rows.values()) {
      if (row.minute >= from - 59_999 && row.minute <= to && (apiId === undefined || row.apiId === apiId)) out.push(row);
    }
    return out;
  }

  /** Forgets buckets older than `before` (Unix ms). */
  prune(before: number): void {
    for (const [key, row] of this.#rows) if (row.minute < before) this.#rows.delete(key);
  }
}

/** The analytics store of one process (Bun, Deno, tests): buckets in memory, kept a day. */
export class MemoryAnalytics implements AnalyticsStore {
  readonly #buckets = new AnalyticsBuckets();
  readonly #retentionMs: number;
  constructor(retentionMs = MEMORY_RETENTION_MS) {
    this.#retentionMs = retentionMs;
  }
  async write(rows: readonly BucketRow[]): Promise<void> {
    this.#buckets.merge(rows);
    this.#buckets.prune(Date.now() - this.#retentionMs);
  }
  async read(from: number, to: number, apiId?: string): Promise<BucketRow[]> {
    return this.#buckets.read(from, to, apiId);
  }
}

/** A latency percentile (ms) from a histogram, interpolated within its bucket. */
export function percentile(histogram: readonly number[], q: number): number {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    const n = histogram[i]!;
    if (n > 0 && seen + n >= rank) {
      const low = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      const high = LATENCY_BOUNDS_MS[i] ?? low * 2;
      return Math.round((low + ((rank - seen) / n) * (high - low)) * 1000) / 1000;
    }
    seen += n;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
}

/** A time series point: the start of a step (Unix ms), requests and errors in it. */
export interface Point {
  t: number;
  requests: number;
  errors: number;
}

function series(rows: readonly BucketRow[], from: number, to: number, stepMs: number): Point[] {
  const start = from - (from % stepMs);
  const points: Point[] = [];
  for (let t = start; t <= to && points.length < 2000; t += stepMs) points.push({ t, requests: 0, errors: 0 });
  for (const row of rows) {
    const point = points[Math.floor((row.minute - start) / stepMs)];
    if (point === undefined) continue;
    point.requests += row.count;
    point.errors += row.errors;
  }
  return points;
}

export interface Window {
  from: number;
  to: number;
  /** The series' step (ms): a minute, or an hour over long windows. */
  stepMs: number;
}

/** Per proxy: volume over time, errors by HTTP status and by `mcp_error_code`. */
export function proxyActivity(rows: readonly BucketRow[], window: Window) {
  const byApi = new Map<string, BucketRow[]>();
  for (const row of rows) {
    const list = byApi.get(row.apiId);
    if (list) list.push(row);
    else byApi.set(row.apiId, [row]);
  }
  return [...byApi.entries()]
    .map(([apiId, list]) => {
      const byStatus: Record<string, number> = {};
      const byCode: Record<string, number> = {};
      let requests = 0;
      let errors = 0;
      for (const row of list) {
        requests += row.count;
        errors += row.errors;
        byStatus[row.status] = (byStatus[row.status] ?? 0) + row.count;
        if (row.code !== "") byCode[row.code] = (byCode[row.code] ?? 0) + row.count;
      }
      return {
        api_id: apiId,
        api_name: list[list.length - 1]!.apiName,
        requests,
        errors,
        by_status: byStatus,
        by_error_code: byCode,
        series: series(list, window.from, window.to, window.stepMs),
      };
    })
    .sort((a, b) => b.requests - a.requests);
}

/** Per primitive: calls over time, error rate, average and p95 latency, and the top lists. */
export function primitiveActivity(rows: readonly BucketRow[], window: Window, top = 10) {
  const byPrimitive = new Map<string, BucketRow[]>();
  for (const row of rows) {
    if (row.type === "") continue;
    const key = `${row.apiId}\u0000${row.type}\u0000${row.name}`;
    const list = byPrimitive.get(key);
    if (list) list.push(row);
    else byPrimitive.set(key, [row]);
  }
  const primitives = [...byPrimitive.values()].map((list) => {
    const first = list[0]!;
    const histogram = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
    let calls = 0;
    let errors = 0;
    let latencySum = 0;
    for (const row of list) {
      calls += row.count;
      errors += row.errors;
      latencySum += row.latencySum;
      for (let i = 0; i < histogram.length; i++) histogram[i]! += row.histogram[i] ?? 0;
    }
    return {
      api_id: first.apiId,
      type: first.type,
      name: first.name,
      calls,
      errors,
      error_rate: calls === 0 ? 0 : errors / calls,
      avg_ms: calls === 0 ? 0 : Math.round((latencySum / calls) * 1000) / 1000,
      p95_ms: percentile(histogram, 0.95),
      series: series(list, window.from, window.to, window.stepMs),
    };
  });
  const ranked = (by: (p: (typeof primitives)[number]) => number) =>
    [...primitives]
      .filter((p) => by(p) > 0)
      .sort((a, b) => by(b) - by(a))
      .slice(0, top)
      .map(({ series: _series, ...rest }) => rest);
  return {
    primitives,
    most_called: ranked((p) => p.calls),
    highest_error_rate: ranked((p) => p.error_rate),
    slowest_avg: ranked((p) => p.avg_ms),
    slowest_p95: ranked((p) => p.p95_ms),
  };
}
