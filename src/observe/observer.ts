/**
 * The observer: takes the record of every request and hands it, in batches, to the sinks: the
 * access log, the metrics, the traces, and the analytics. Pure: the store, the log writer and the
 * fetch come in from the entry.
 *
 * Off the response path: {@link Observer.add} only puts the record in the current batch. The first
 * record of a batch gets the batch's promise back, for the caller to hand to `waitUntil`; the batch
 * is flushed {@link ObserverOptions.flushMs} later (a batch holds at most `maxBatch` records). A
 * flush learns the names the upstream's list answers gave, writes the access-log lines, counts the
 * records in the metrics, makes their spans, folds
 * them into analytics buckets, and then sends what is due (OTLP metrics and spans, the buckets),
 * each bounded in time: a sink that fails is logged and never fails a request or another sink.
 */
import type { McpDefinition } from "../definitions/schema.ts";
import { canonicalKeys } from "../mcp/identifiers.ts";
import { listMethod, type PrimitiveType } from "../mcp/jsonrpc.ts";
import type { Policy } from "../policy/model.ts";
import type { SecretSource } from "../proxy/upstream-auth.ts";
import { AnalyticsBuckets, type AnalyticsStore } from "./analytics.ts";
import { CATALOG_MAX_AGE_MS, type Catalog, namesInListAnswer, readCatalog } from "./catalog.ts";
import type { ObserveConfig } from "./config.ts";
import { KnownNames, ListLearning, methodLabel, OTHER } from "./labels.ts";
import { GatewayMetrics } from "./metrics.ts";
import { accessLogWriter, type RequestRecord, redactedArguments } from "./record.ts";
import { randomHex } from "./trace-context.ts";
import { GatewayTraces } from "./traces.ts";

/** The gateway's version, as `/hello` and the telemetry's resource say it. */
export const GATEWAY_VERSION = "0.1.0";

/** The longest a batch waits for the next metrics export (Workers keep `waitUntil` work 30 s). */
const MAX_EXPORT_WAIT_MS = 20_000;

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
  /** At most this many records in a batch (default 512); the next record opens another. */
  maxBatch?: number;
}

interface CatalogEntry {
  definition: McpDefinition;
  catalog: Catalog | undefined;
  /** When a reading was last started (Unix ms). */
  startedAt: number;
}

export class Observer {
  readonly config: ObserveConfig;
  readonly names = new KnownNames();
  /** Which list answers the record step keeps and reads for names. */
  readonly lists = new ListLearning();
  readonly metrics: GatewayMetrics | undefined;
  readonly traces: GatewayTraces | undefined;
  readonly analytics: AnalyticsStore | undefined;
  /** Writes a record's access-log line (the template's fields). */
  readonly #line: (record: RequestRecord) => string;
  readonly #redact: ReadonlySet<string>;
  readonly #writeLog: (lines: string[]) => void;
  readonly #log: (message: string, detail?: unknown) => void;
  readonly #fetch: typeof fetch;
  readonly #secrets: SecretSource;
  #policyNames: ObserverOptions["policyNames"];
  readonly #flushMs: number;
  readonly #maxBatch: number;
  readonly #buckets = new AnalyticsBuckets();
  readonly #catalogs = new Map<string, CatalogEntry>();
  #batch: RequestRecord[] = [];
  /** A flush is planned for when the metrics counted since the last export are due. */
  #exportPlanned = false;
  /** Batches being flushed now. */
  #counting = 0;

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
    this.#line = accessLogWriter(config.accessLogs.template ? new Set(config.accessLogs.template) : undefined);
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
    if (entry === undefined) this.#catalogs.set(apiId, { definition, catalog: undefined, startedAt: 0 });
    else entry.definition = definition;
  }

  /**
   * Puts a record in the current batch.
   * @returns the batch's promise when this record opened it (hand it to `waitUntil`), else `undefined`
   */
  add(record: RequestRecord): Promise<void> | undefined {
    let batch = this.#batch;
    // A full batch is left to its own timer; this record opens the next one.
    if (batch.length >= this.#maxBatch) batch = this.#batch = [];
    batch.push(record);
    if (batch.length > 1) return undefined;
    // The batch belongs to the request that opened it: its timer, its flush and its promise are
    // made and settled in that request (on Workers a promise must not cross requests).
    return new Promise<void>((resolve) => {
      setTimeout(() => {
        if (this.#batch === batch) this.#batch = [];
        this.#flushBatch(batch).then(resolve, resolve);
      }, this.#flushMs);
    });
  }

  /** Hands the records waiting to every sink now (before `/metrics` or an analytics query answers). Never rejects. */
  flush(): Promise<void> {
    const batch = this.#batch;
    this.#batch = [];
    return this.#flushBatch(batch);
  }

  /**
   * Flushes the records waiting, then waits (at most 3 s) until every batch being flushed has been
   * counted: what `/metrics` and the analytics queries answer includes every request answered before.
   * (It polls rather than waiting on another request's promise, which Workers do not allow.)
   */
  async settle(): Promise<void> {
    await this.flush();
    for (let i = 0; i < 300 && this.#counting > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  async #flushBatch(batch: RequestRecord[]): Promise<void> {
    // Taken whole, so that a batch flushed early is not flushed again by its timer.
    const records = batch.splice(0, batch.length);
    let later: { later: Promise<void> } | undefined;
    this.#counting++;
    try {
      later = await this.#process(records);
    } catch (error) {
      this.#log("recording failed", String(error));
    } finally {
      this.#counting--;
    }
    if (later !== undefined) await later.later;
  }

  /**
   * Hands `batch` to the sinks, then sends what is due.
   * @returns a later flush this batch's owner should wait for (the next metrics export), if any
   */
  async #process(batch: RequestRecord[]): Promise<{ later: Promise<void> } | undefined> {
    const now = Date.now();
    // Names the upstream listed to clients are known from now on (this batch's calls included).
    for (const record of batch) {
      if (record.listAnswer === undefined) continue;
      const names = namesInListAnswer(record.mcpMethod, record.listAnswerSse, record.listAnswer, record.listId);
      if (record.mcpMethod === "resources/templates/list") this.names.addTemplates(record.apiId, names);
      else this.names.add(record.apiId, listMethod(record.mcpMethod)?.type ?? "tool", names);
      record.listAnswer = undefined;
    }
    const lines: string[] = [];
    const logs = this.config.accessLogs.enabled;
    for (const record of batch) {
      if (record.rawBody !== undefined) {
        record.arguments = argumentsOf(record.rawBody, this.#redact);
        record.rawBody = undefined;
      }
      if (logs) lines.push(this.#line(record));
      this.traces?.record(record);
      const type = record.primitiveType as PrimitiveType | "";
      let name = record.primitiveName;
      if (type !== "" && name !== "" && record.apiId !== "") {
        name = this.names.label(record.apiId, type, name);
        // A name the API does not know (and could still learn): its list is read again sooner.
        if (name === OTHER && !this.names.full(record.apiId, type)) this.lists.unknown(record.apiId, type);
      }
      if (this.analytics !== undefined && record.tracked && record.apiId !== "")
        this.#buckets.add(record, name, methodLabel(record.mcpMethod));
    }
    this.metrics?.record(batch);
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
    // Numbers counted since the last export go out when due, traffic or not: this batch's owner
    // waits for that flush (so `waitUntil` covers it on Workers) when it is due soon enough.
    const wait = this.metrics?.exportWait(Date.now());
    if (wait === undefined || this.#exportPlanned || wait > MAX_EXPORT_WAIT_MS) return undefined;
    this.#exportPlanned = true;
    // Wrapped: an async function would otherwise wait for the promise it returns.
    const later = new Promise<void>((resolve) => setTimeout(resolve, wait)).then(() => {
      this.#exportPlanned = false;
      return this.flush();
    });
    return { later };
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

  /**
   * What the upstream of `apiId` exposes, read again when older than {@link CATALOG_MAX_AGE_MS} (or
   * when `fresh` and older than {@link CATALOG_RETRY_MS}); `undefined` for an API the observer has
   * not seen. Each caller reads for itself (on Workers a promise must not cross requests).
   */
  async catalog(apiId: string, fresh = false): Promise<Catalog | undefined> {
    const entry = this.#catalogs.get(apiId);
    if (entry === undefined) return undefined;
    const now = Date.now();
    const age = entry.catalog === undefined ? Number.POSITIVE_INFINITY : now - entry.catalog.readAt;
    const maxAge = entry.catalog?.error === undefined ? CATALOG_MAX_AGE_MS : CATALOG_MAX_AGE_MS / 10;
    if (entry.catalog !== undefined && age < maxAge && !(fresh && age >= CATALOG_RETRY_MS)) return entry.catalog;
    entry.startedAt = now;
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
    if (entry.catalog === undefined || catalog.readAt >= entry.catalog.readAt) entry.catalog = catalog;
    return catalog;
  }

  /** Where the names policies give come from (the gateway sets this from its policy store). */
  usePolicies(all: () => Promise<readonly Policy[]>): void {
    this.#policyNames ??= async (apiId) => policyNamesOf(await all(), apiId);
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

/** What {@link policyNamesOf} reads of one access right. */
interface PolicyRights {
  mcp_access_rights?: Partial<Record<"tools" | "resources" | "prompts", { allowed?: unknown[]; blocked?: unknown[] }>>;
  mcp_primitives?: { type?: unknown; name?: unknown }[];
}

/** A pattern that is a plain name (no RE2 metacharacter): the one name it matches. */
const PLAIN_NAME = /^[^.*+?()[\]{}|^$\\]+$/;

/**
 * The names policies give an API: plain names in `mcp_access_rights` (allowed and blocked) and
 * `mcp_primitives`. A pattern (`get_.*`) names no one name, and adds none.
 */
export function policyNamesOf(policies: readonly Policy[], apiId: string): { type: PrimitiveType; names: string[] }[] {
  const out: Record<PrimitiveType, string[]> = { tool: [], resource: [], prompt: [] };
  for (const policy of policies) {
    const rights = (policy.access_rights as Record<string, PolicyRights> | undefined)?.[apiId];
    if (rights === undefined) continue;
    const lists = rights.mcp_access_rights ?? {};
    for (const [type, key] of [
      ["tool", "tools"],
      ["resource", "resources"],
      ["prompt", "prompts"],
    ] as const) {
      for (const name of [...(lists[key]?.allowed ?? []), ...(lists[key]?.blocked ?? [])]) {
        if (typeof name === "string" && PLAIN_NAME.test(name)) out[type].push(name);
      }
    }
    for (const primitive of rights.mcp_primitives ?? []) {
      if (primitive && typeof primitive.name === "string" && PLAIN_NAME.test(primitive.name))
        out[primitive.type as PrimitiveType]?.push(primitive.name);
    }
  }
  return (Object.keys(out) as PrimitiveType[]).map((type) => ({ type, names: out[type] }));
}
