/**
 * The analytics store on Workers: one Durable Object (`ANALYTICS`, `idFromName("analytics")`) whose
 * SQLite database adds up the per-minute buckets every isolate sends (`observe/analytics.ts`), one
 * request per batch, and answers the Dashboard API's queries. Buckets older than a week are dropped
 * as new ones arrive.
 *
 * Typed structurally (the few methods used), so the core never depends on Workers types.
 */
import { type AnalyticsStore, type BucketRow, LATENCY_BOUNDS_MS, STORE_RETENTION_MS } from "../../observe/analytics.ts";

/** The part of a Durable Object namespace binding used here. */
export interface AnalyticsNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

interface SqlCursor {
  toArray(): Record<string, unknown>[];
}

/** The part of a Durable Object's state used here (SQLite-backed storage). */
interface ObjectStateLike {
  storage: { sql: { exec(query: string, ...bindings: unknown[]): SqlCursor } };
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS buckets (
  minute INTEGER NOT NULL, api_id TEXT NOT NULL, api_name TEXT NOT NULL, type TEXT NOT NULL, name TEXT NOT NULL,
  method TEXT NOT NULL, status INTEGER NOT NULL, code TEXT NOT NULL,
  count INTEGER NOT NULL, errors INTEGER NOT NULL, latency_sum REAL NOT NULL, histogram TEXT NOT NULL,
  PRIMARY KEY (minute, api_id, type, name, method, status, code)
)`;

export class AnalyticsObject {
  readonly #sql: ObjectStateLike["storage"]["sql"];
  #lastPrune = 0;

  constructor(state: ObjectStateLike) {
    this.#sql = state.storage.sql;
    this.#sql.exec(SCHEMA);
  }

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === "POST") {
      this.#write((await request.json()) as BucketRow[]);
      return new Response(null, { status: 204 });
    }
    const from = Number(url.searchParams.get("from"));
    const to = Number(url.searchParams.get("to"));
    const apiId = url.searchParams.get("api_id");
    const rows = this.#sql
      .exec(
        `SELECT * FROM buckets WHERE minute >= ? AND minute <= ?${apiId === null ? "" : " AND api_id = ?"}`,
        from - 59_999,
        to,
        ...(apiId === null ? [] : [apiId]),
      )
      .toArray();
    return Response.json(
      rows.map(
        (row): BucketRow => ({
          minute: Number(row.minute),
          apiId: String(row.api_id),
          apiName: String(row.api_name),
          type: String(row.type),
          name: String(row.name),
          method: String(row.method),
          status: Number(row.status),
          code: String(row.code),
          count: Number(row.count),
          errors: Number(row.errors),
          latencySum: Number(row.latency_sum),
          histogram: JSON.parse(String(row.histogram)) as number[],
        }),
      ),
    );
  }

  #write(rows: BucketRow[]): void {
    for (const row of rows) {
      const have = this.#sql
        .exec(
          "SELECT histogram FROM buckets WHERE minute = ? AND api_id = ? AND type = ? AND name = ? AND method = ? AND status = ? AND code = ?",
          row.minute,
          row.apiId,
          row.type,
          row.name,
          row.method,
          row.status,
          row.code,
        )
        .toArray()[0];
      const histogram = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
      const old = have === undefined ? [] : (JSON.parse(String(have.histogram)) as number[]);
      for (let i = 0; i < histogram.length; i++) histogram[i] = (old[i] ?? 0) + (row.histogram[i] ?? 0);
      this.#sql.exec(
        `INSERT INTO buckets (minute, api_id, api_name, type, name, method, status, code, count, errors, latency_sum, histogram)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (minute, api_id, type, name, method, status, code) DO UPDATE SET
           api_name = excluded.api_name, count = count + excluded.count, errors = errors + excluded.errors,
           latency_sum = latency_sum + excluded.latency_sum, histogram = excluded.histogram`,
        row.minute,
        row.apiId,
        row.apiName,
        row.type,
        row.name,
        row.method,
        row.status,
        row.code,
        row.count,
        row.errors,
        row.latencySum,
        JSON.stringify(histogram),
      );
    }
    const now = Date.now();
    if (now - this.#lastPrune > 3600_000) {
      this.#lastPrune = now;
      this.#sql.exec("DELETE FROM buckets WHERE minute < ?", now - STORE_RETENTION_MS);
    }
  }
}

/** The analytics store over the `ANALYTICS` Durable Object. */
export class DurableObjectAnalytics implements AnalyticsStore {
  readonly #namespace: AnalyticsNamespaceLike;

  constructor(namespace: AnalyticsNamespaceLike) {
    this.#namespace = namespace;
  }

  #stub() {
    return this.#namespace.get(this.#namespace.idFromName("analytics"));
  }

  async write(rows: readonly BucketRow[]): Promise<void> {
    const response = await this.#stub().fetch(new Request("https://analytics.internal/", { method: "POST", body: JSON.stringify(rows) }));
    if (!response.ok) throw new Error(`analytics object answered HTTP ${response.status}`);
  }

  async read(from: number, to: number, apiId?: string): Promise<BucketRow[]> {
    const query = new URLSearchParams({ from: String(from), to: String(to), ...(apiId === undefined ? {} : { api_id: apiId }) });
    const response = await this.#stub().fetch(new Request(`https://analytics.internal/?${query}`));
    if (!response.ok) throw new Error(`analytics object answered HTTP ${response.status}`);
    return (await response.json()) as BucketRow[];
  }
}
