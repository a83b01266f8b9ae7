/**
 * The observer: takes the record of every request and hands it, in batches, to the sinks: the
 * access log, the metrics, the traces, and the analytics. Pure: the store, the log writer and the
 * fetch come in from the entry.
 *
 * Off the response path: {@link Observer.add} only puts the record in the current batch. The first
 * record of a batch gets the batch's promise back, for the caller to hand to `waitUntil`; the batch
 * is flushed {@link ObserverOptions.flushMs} later, or as soon as it holds `maxBatch` records. A
 * flush writes the access-log lines, counts the records in the metrics, makes their spans, folds
 * them into analytics buckets, and then sends what is due (OTLP metrics and spans, the buckets),
 * each bounded in time: a sink that fails is logged and never fails a request or another sink.
 */
import type { McpDefinition } from "../definitions/schema.ts";
import { canonicalKeys } from "../mcp/identifiers.ts";
import type { PrimitiveType } from "../mcp/jsonrpc.ts";
import type { SecretSource } from "../proxy/upstream-auth.ts";
import { AnalyticsBuckets, type AnalyticsStore } from "./analytics.ts";
import { CATALOG_MAX_AGE_MS, type Catalog, readCatalog } from "./catalog.ts";
import type { ObserveConfig } from "./config.ts";
import { KnownNames, methodLabel, OTHER } from "./labels.ts";
import { GatewayMetrics } from "./metrics.ts";
import { accessLogLine, type RequestRecord, redactedArguments } from "./record.ts";
import { randomHex } from "./trace-context.ts";
import { GatewayTraces } from "./traces.ts";

/** The gateway's version, as `/hello` and the telemetry's resource say it. */
export const GATEWAY_VERSION = "0.1.0";

/** How soon an upstream's catalog is read again when a name it did not list turns up (ms). */
const CATALOG_RETRY_MS = 30_000;

export interface ObserverOptions {
  config: ObserveConfig;
  /** Where analytics buckets are added up; `undefined` with analytics off. */
  analytics?: AnalyticsStore | undefined;
  /** Writes access-log lines (default: one `console.log` each). */
  writeLog?: (lines: string[]) => void;
  /** Where the observer's own warnings go. */
  log?: (message: string, detail?: unknown) => void;
  /** Reaches upstreams (catalogs) and collectors. */
  fetch?: typeof fetch;
  secrets?: SecretSource;
  /** The names each API's policies give (plain names of `mcp_access_rights` and `mcp_primitives`). */
  policyNames?: (apiId: string) => Promise<{ type: PrimitiveType; names: string[] }[]>;
  /** How long a batch waits before it is flushed (ms, default 250). */
  flushMs?: number;
  /** A batch is flushed at once when it holds this many records (default 512). */
  maxBatch?: number;
}

interface CatalogEntry {
  definition: McpDefinition;
  catalog: Catalog | undefined;
  reading: Promise<Catalog> | undefined;
  /** When a reading was last started (Unix ms). */
  startedAt: number;
}

export class Observer {
  readonly config: ObserveConfig;
  readonly names = new KnownNames();
  readonly metrics: GatewayMetrics | undefined;
  readonly traces: GatewayTraces | undefined;
  readonly analytics: AnalyticsStore | undefined;
  readonly #template: ReadonlySet<string> | undefined;
  readonly #redact: ReadonlySet<string>;
  readonly #writeLog: (lines: string[]) => void;
  readonly #log: (message: string, detail?: unknown) => void;
  readonly #fetch: typeof fetch;
  readonly #secrets: SecretSource;
  readonly #policyNames: ObserverOptions["policyNames"];
  readonly #flushMs: number;
  readonly #maxBatch: number;
  readonly #buckets = new AnalyticsBuckets();
  readonly #catalogs = new Map<string, CatalogEntry>();
  #batch: RequestRecord[] = [];
  #flushed: Promise<void> | undefined;
  #release: (() => void) | undefined;

  constructor(options: ObserverOptions) {
    const config = options.config;
    this.config = config;
    const instanceId = randomHex(8);
    this.metrics = config.metrics.enabled
      ? new GatewayMetrics({
          config: config.metrics,
          serviceName: config.traces.serviceName,
          names: this.names,
          instanceId,
          version: GATEWAY_VERSION,
        })
      : undefined;
    this.traces = config.traces.enabled ? new GatewayTraces({ config: config.traces, instanceId, version: GATEWAY_VERSION }) : undefined;
    this.analytics = config.analytics.enabled ? options.analytics : undefined;
    this.#template = config.accessLogs.template ? new Set(config.accessLogs.template) : undefined;
    this.#redact = new Set(config.analytics.redactFields.map((field) => field.toLowerCase()));
    this.#writeLog =
      options.writeLog ??
      ((lines) => {
        for (const line of lines) console.log(line);
      });
    this.#log = options.log ?? ((message, detail) => console.warn(message, detail ?? ""));
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#secrets = options.secrets ?? (() => undefined);
    this.#policyNames = options.policyNames;
    this.#flushMs = options.flushMs ?? 250;
    this.#maxBatch = options.maxBatch ?? 512;
  }

  /** Whether any sink wants records at all. */
  get active(): boolean {
    return this.config.accessLogs.enabled || this.metrics !== undefined || this.traces !== undefined || this.analytics !== undefined;
  }

  /** Learns an API's definition: the primitive names it configures, and where its upstream is. */
  learn(apiId: string, definition: McpDefinition): void {
    const middleware = definition["x-tyk-api-gateway"].middleware;
    this.names.add(apiId, "tool", canonicalKeys("tool", middleware?.mcpTools).keys());
    this.names.add(apiId, "resource", canonicalKeys("resource", middleware?.mcpResources).keys());
    this.names.add(apiId, "prompt", canonicalKeys("prompt", middleware?.mcpPrompts).keys());
    const entry = this.#catalogs.get(apiId);
    if (entry === undefined) this.#catalogs.set(apiId, { definition, catalog: undefined, reading: undefined, startedAt: 0 });
    else entry.definition = definition;
  }

  /**
   * Puts a record in the current batch.
   * @returns the batch's promise when this record opened it (hand it to `waitUntil`), else `undefined`
   */
  add(record: RequestRecord): Promise<void> | undefined {
    const batch = this.#batch;
    batch.push(record);
    if (batch.length === 1) {
      return new Promise<void>((resolve) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        let ran = false;
        const run = () => {
          if (ran) return;
          ran = true;
          clearTimeout(timer);
          if (this.#release === run) this.#release = undefined;
          this.flush().then(resolve, resolve);
        };
        this.#release = run;
        timer = setTimeout(run, this.#flushMs);
      });
    }
    if (batch.length >= this.#maxBatch) this.#release?.();
    return undefined;
  }

  /** Hands the records waiting to every sink. Never rejects. */
  async flush(): Promise<void> {
    const batch = this.#batch;
    this.#batch = [];
    // One flush at a time: metrics and buckets are shared.
    const previous = this.#flushed;
    const done = (async () => {
      if (previous) await previous;
      await this.#process(batch);
    })().catch((error: unknown) => this.#log("recording failed", String(error)));
    this.#flushed = done;
    return done;
  }

  async #process(batch: RequestRecord[]): Promise<void> {
    const now = Date.now();
    if (batch.length > 0 && (this.metrics !== undefined || this.analytics !== undefined)) await this.#learnNames(batch, now);
    const lines: string[] = [];
    const logs = this.config.accessLogs.enabled;
    for (const record of batch) {
      if (record.rawBody !== undefined) {
        record.arguments = argumentsOf(record.rawBody, this.#redact);
        record.rawBody = undefined;
      }
      if (logs) lines.push(accessLogLine(record, this.#template));
      this.metrics?.record(record);
      this.traces?.record(record);
      if (this.analytics !== undefined && record.tracked && record.apiId !== "") {
        const type = record.primitiveType as PrimitiveType | "";
        this.#buckets.add(record, this.names.label(record.apiId, type, record.primitiveName), methodLabel(record.mcpMethod));
      }
    }
    if (lines.length > 0) {
      try {
        this.#writeLog(lines);
      } catch (error) {
        this.#log("access log write failed", String(error));
      }
    }
    const sends: Promise<void>[] = [];
    if (this.analytics !== undefined && this.#buckets.size > 0) {
      sends.push(this.#bounded("analytics store", this.analytics.write(this.#buckets.drain())));
    }
    if (this.traces !== undefined && this.traces.pending > 0) sends.push(this.#bounded("trace export", this.traces.export()));
    if (this.metrics?.exportDue(now)) sends.push(this.#bounded("metrics export", this.metrics.export(now)));
    await Promise.all(sends);
  }

  /** Waits for `task` at most 10 s; its failure is logged. */
  #bounded(what: string, task: Promise<void>): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.#log(`${what} took too long`);
        resolve();
      }, 10_000);
    });
    return Promise.race([task.catch((error: unknown) => this.#log(`${what} failed`, String(error))), late]).finally(() =>
      clearTimeout(timer),
    );
  }

  /** Reads the catalog of each API in `batch` that named a primitive it does not know yet. */
  async #learnNames(batch: RequestRecord[], now: number): Promise<void> {
    const wanted = new Set<string>();
    for (const record of batch) {
      const type = record.primitiveType as PrimitiveType | "";
      if (type !== "" && record.apiId !== "" && this.names.label(record.apiId, type, record.primitiveName) === OTHER)
        wanted.add(record.apiId);
    }
    const readings: Promise<unknown>[] = [];
    for (const apiId of wanted) {
      const entry = this.#catalogs.get(apiId);
      if (entry === undefined || now - entry.startedAt < CATALOG_RETRY_MS) continue;
      readings.push(this.catalog(apiId, true).catch(() => undefined));
    }
    await Promise.all(readings);
  }

  /**
   * What the upstream of `apiId` exposes, read when older than {@link CATALOG_MAX_AGE_MS} (or when
   * `fresh`); `undefined` for an API the observer has not seen.
   */
  async catalog(apiId: string, fresh = false): Promise<Catalog | undefined> {
    const entry = this.#catalogs.get(apiId);
    if (entry === undefined) return undefined;
    const now = Date.now();
    if (entry.reading !== undefined) return entry.reading;
    const age = entry.catalog === undefined ? Number.POSITIVE_INFINITY : now - entry.catalog.readAt;
    const maxAge = entry.catalog?.error === undefined ? CATALOG_MAX_AGE_MS : CATALOG_MAX_AGE_MS / 10;
    if (entry.catalog !== undefined && age < maxAge && !(fresh && age >= CATALOG_RETRY_MS)) return entry.catalog;
    entry.startedAt = now;
    const reading = (async () => {
      const catalog = await readCatalog(entry.definition, this.#fetch, this.#secrets, now);
      this.names.add(
        apiId,
        "tool",
        catalog.tools.map((t) => t.name),
      );
      this.names.add(
        apiId,
        "resource",
        catalog.resources.map((r) => r.name),
      );
      this.names.addTemplates(
        apiId,
        catalog.resourceTemplates.map((r) => r.name),
      );
      this.names.add(
        apiId,
        "prompt",
        catalog.prompts.map((p) => p.name),
      );
      if (this.#policyNames) {
        for (const { type, names } of await this.#policyNames(apiId).catch(() => [])) this.names.add(apiId, type, names);
      }
      entry.catalog = catalog;
      return catalog;
    })().finally(() => {
      entry.reading = undefined;
    });
    entry.reading = reading;
    return reading;
  }

  /** The ids of the APIs the observer has seen. */
  apiIds(): string[] {
    return [...this.#catalogs.keys()];
  }
}

/** The `params.arguments` of a message's bytes, redacted, as JSON. */
function argumentsOf(body: Uint8Array, redact: ReadonlySet<string>): string | undefined {
  try {
    const message = JSON.parse(new TextDecoder().decode(body)) as { params?: { arguments?: unknown } };
    return redactedArguments(message.params?.arguments, redact);
  } catch {
    return undefined;
  }
}
