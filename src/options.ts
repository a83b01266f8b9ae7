/**
 * Runtime options: every environment variable (Bun, Deno) and Worker var or secret the gateway
 * reads, read and checked in one place for all three entries. Pure: the entry hands in a lookup
 * over its environment or bindings.
 *
 * A value that cannot be used stops the start with an {@link OptionsError} naming the variable,
 * instead of being ignored. An empty value counts as unset.
 *
 * | variable | meaning | default |
 * | --- | --- | --- |
 * | `HOST`, `PORT` | where Bun and Deno listen (PORT 0: any free port) | `127.0.0.1`, `8787` |
 * | `UPSTREAM_TIMEOUT_SECONDS` | upstream timeout where a definition sets none (seconds, > 0) | 30 |
 * | `GATEWAY_CONFIG_MAX_AGE_MS` | how often the config's version stamps are re-read, and how long a key's session is kept (ms, ≥ 0) | 1000 |
 * | `GATEWAY_PUBLIC_ORIGINS` | the origins clients reach the gateway by (comma-separated http(s) origins) | none |
 * | `GATEWAY_SECRET` | the Gateway API's `X-Tyk-Authorization` secret | none: `/tyk/` closed |
 * | `DASHBOARD_API_KEYS` | the Dashboard API's keys (comma-separated) | none: `/api/` closed |
 * | `ADMIN_API` | `on`/`off` (also true/false, 1/0, yes/no) | on |
 * | `ADMIN_HOST` | a host name the admin APIs answer on alone | any host |
 * | `GATEWAY_SEED_DIR` | definitions seeded at start (Bun, Deno) | none |
 * | `GATEWAY_STORE_DIR` | the file store's folder (Bun) | memory |
 * | `GATEWAY_KV_PATH` | the Deno KV database file (Deno) | Deno's default |
 * | `GATEWAY_LIMITER` | where counters live: `durable-objects` (Workers), `upstash`, `memory` | Workers: `durable-objects`; else `memory` |
 * | `UPSTASH_REDIS_REST_URL`, `UPSTASH_REDIS_REST_TOKEN` | the Upstash database (with `upstash`) | none |
 * | `GATEWAY_CONFIG` | the gateway's configuration (JSON, tyk.conf's shape: access logs, metrics, traces, analytics; `observe/config.ts`) | access logs, metrics, analytics on |
 * | `GATEWAY_CONFIG_FILE` | the same, from a JSON file (Bun, Deno; `GATEWAY_CONFIG` wins) | none |
 * | `GATEWAY_METRICS_TOKEN` | a scrape token `/metrics` accepts (`Authorization: Bearer …`) besides the gateway secret | none |
 */
import * as v from "valibot";
import type { AdminSettings } from "./admin/admin.ts";
import type { GatewayDeps } from "./gateway.ts";
import { DEFAULT_OBSERVE_CONFIG, type ObserveConfig, ObserveConfigError, readObserveConfig } from "./observe/config.ts";
import type { Limiter } from "./traffic/limiter.ts";
import { MemoryLimiter } from "./traffic/memory.ts";
import { UpstashLimiter } from "./traffic/upstash.ts";

/** What the environment says, checked. */
export interface RuntimeOptions {
  host: string;
  port: number;
  upstreamTimeoutSeconds: number | undefined;
  configMaxAgeMs: number | undefined;
  publicOrigins: string[];
  admin: AdminSettings;
  seedDir: string | undefined;
  storeDir: string | undefined;
  kvPath: string | undefined;
  /** `undefined`: the runtime's default. */
  limiter: LimiterChoice | undefined;
  /** Access logs, metrics, traces, analytics (`GATEWAY_CONFIG`). */
  observe: ObserveConfig;
  /** `GATEWAY_CONFIG_FILE`: the entry reads it ({@link observeConfigFromText}) when `GATEWAY_CONFIG` is unset. */
  configFile: string | undefined;
  metricsToken: string | undefined;
}

export type LimiterChoice = { kind: "memory" } | { kind: "durable-objects" } | { kind: "upstash"; url: string; token: string };

/** A variable whose value cannot be used. */
export class OptionsError extends Error {
  override readonly name = "OptionsError";
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.variable = variable;
  }
}

const ON = ["on", "true", "1", "yes"];
const OFF = ["off", "false", "0", "no"];

const text = v.pipe(v.string(), v.trim());
const number = (check: (n: number) => boolean, expected: string) =>
  v.pipe(
    text,
    v.check((value) => /^\d+(\.\d+)?$/.test(value) && check(Number(value)), `must be ${expected}`),
    v.transform(Number),
  );
const list = v.pipe(
  v.string(),
  v.transform((value) =>
    value
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== ""),
  ),
);

/** An http(s) origin, normalised (`https://Example.com/` → `https://example.com`). */
const origin = v.pipe(
  text,
  v.check((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "http:" || url.protocol === "https:") && (url.pathname === "/" || url.pathname === "") && !url.search;
    } catch {
      return false;
    }
  }, "each entry must be an http(s) origin such as https://mcp.example.com (no path)"),
  v.transform((value) => new URL(value).origin),
);

const Environment = v.object({
  HOST: v.optional(text, "127.0.0.1"),
  PORT: v.optional(
    number((n) => Number.isInteger(n) && n <= 65535, "a port number (0-65535)"),
    "8787",
  ),
  UPSTREAM_TIMEOUT_SECONDS: v.optional(number((n) => n > 0, "a number of seconds above 0")),
  GATEWAY_CONFIG_MAX_AGE_MS: v.optional(number((n) => Number.isInteger(n), "a whole number of milliseconds")),
  GATEWAY_PUBLIC_ORIGINS: v.optional(v.pipe(list, v.array(origin))),
  GATEWAY_SECRET: v.optional(v.string()),
  DASHBOARD_API_KEYS: v.optional(list),
  ADMIN_API: v.optional(
    v.pipe(
      text,
      v.toLowerCase(),
      v.check((value) => ON.includes(value) || OFF.includes(value), `must be one of ${[...ON, ...OFF].join(", ")}`),
    ),
  ),
  ADMIN_HOST: v.optional(v.pipe(text, v.toLowerCase(), v.regex(/^[a-z0-9.-]+$/, "must be a host name, without scheme, port or path"))),
  GATEWAY_SEED_DIR: v.optional(text),
  GATEWAY_STORE_DIR: v.optional(text),
  GATEWAY_KV_PATH: v.optional(text),
  GATEWAY_LIMITER: v.optional(
    v.pipe(text, v.picklist(["memory", "durable-objects", "upstash"], "must be memory, durable-objects or upstash")),
  ),
  UPSTASH_REDIS_REST_URL: v.optional(origin),
  UPSTASH_REDIS_REST_TOKEN: v.optional(text),
  GATEWAY_CONFIG: v.optional(v.string()),
  GATEWAY_CONFIG_FILE: v.optional(text),
  GATEWAY_METRICS_TOKEN: v.optional(text),
});

const isObject = (value: unknown): value is object => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * `GATEWAY_CONFIG` as JSON text, or as an object (a Worker var written as a TOML table or JSON
 * object in `wrangler.toml` arrives as one).
 */
function observeConfigOf(text: string | undefined, binding: unknown): ObserveConfig {
  if (text !== undefined) return observeConfigFromText(text, "GATEWAY_CONFIG");
  if (!isObject(binding)) return DEFAULT_OBSERVE_CONFIG;
  try {
    return readObserveConfig(binding);
  } catch (error) {
    if (error instanceof ObserveConfigError) throw new OptionsError("GATEWAY_CONFIG", error.message);
    throw error;
  }
}

/**
 * The gateway's configuration from JSON text.
 * @param variable the variable (or file) it came from, for the error
 * @throws OptionsError naming it and the field that cannot be used
 */
export function observeConfigFromText(text: string, variable: string): ObserveConfig {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new OptionsError(variable, `is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  try {
    return readObserveConfig(document);
  } catch (error) {
    if (error instanceof ObserveConfigError) throw new OptionsError(variable, error.message);
    throw error;
  }
}

/** The variables this module reads. */
export const VARIABLES = Object.keys(Environment.entries) as readonly (keyof typeof Environment.entries)[];

/**
 * Reads and checks every variable.
 *
 * @param get the entry's lookup: the process environment, or the Worker's bindings
 * @throws OptionsError naming the first variable whose value cannot be used
 */
export function readOptions(get: (name: string) => unknown): RuntimeOptions {
  const raw: Record<string, string> = {};
  for (const name of VARIABLES) {
    const value = get(name);
    if (typeof value === "string" && value.trim() !== "") raw[name] = value;
  }
  const result = v.safeParse(Environment, raw);
  if (!result.success) {
    const issue = result.issues[0];
    const variable = String(issue.path?.[0]?.key ?? "environment");
    throw new OptionsError(variable, `${issue.message} (got "${raw[variable] ?? ""}")`);
  }
  const env = result.output;
  let limiter: LimiterChoice | undefined;
  if (env.GATEWAY_LIMITER === "upstash") {
    if (env.UPSTASH_REDIS_REST_URL === undefined)
      throw new OptionsError("UPSTASH_REDIS_REST_URL", "must be set when GATEWAY_LIMITER is upstash");
    if (env.UPSTASH_REDIS_REST_TOKEN === undefined)
      throw new OptionsError("UPSTASH_REDIS_REST_TOKEN", "must be set when GATEWAY_LIMITER is upstash");
    limiter = { kind: "upstash", url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN };
  } else if (env.GATEWAY_LIMITER !== undefined) {
    limiter = { kind: env.GATEWAY_LIMITER };
  }
  return {
    host: env.HOST,
    port: env.PORT,
    upstreamTimeoutSeconds: env.UPSTREAM_TIMEOUT_SECONDS,
    configMaxAgeMs: env.GATEWAY_CONFIG_MAX_AGE_MS,
    publicOrigins: env.GATEWAY_PUBLIC_ORIGINS ?? [],
    admin: {
      enabled: env.ADMIN_API === undefined || ON.includes(env.ADMIN_API),
      host: env.ADMIN_HOST,
      gatewaySecret: env.GATEWAY_SECRET || undefined,
      dashboardKeys: env.DASHBOARD_API_KEYS ?? [],
    },
    seedDir: env.GATEWAY_SEED_DIR,
    storeDir: env.GATEWAY_STORE_DIR,
    kvPath: env.GATEWAY_KV_PATH,
    limiter,
    observe: observeConfigOf(env.GATEWAY_CONFIG, get("GATEWAY_CONFIG")),
    configFile: env.GATEWAY_CONFIG === undefined && !isObject(get("GATEWAY_CONFIG")) ? env.GATEWAY_CONFIG_FILE : undefined,
    metricsToken: env.GATEWAY_METRICS_TOKEN,
  };
}

/**
 * The limiter the options choose. `durable-objects` is the entry's to build (a Workers binding):
 * `durableObjects` builds it, and without one the choice is refused.
 */
export function limiterFor(options: RuntimeOptions, fallback: "memory" | "durable-objects", durableObjects?: () => Limiter): Limiter {
  const choice: LimiterChoice = options.limiter ?? { kind: fallback };
  if (choice.kind === "upstash") return new UpstashLimiter({ url: choice.url, token: choice.token });
  if (choice.kind === "durable-objects") {
    if (!durableObjects) throw new OptionsError("GATEWAY_LIMITER", "durable-objects needs Workers and the LIMITER Durable Object binding");
    return durableObjects();
  }
  return new MemoryLimiter();
}

/** The part of the gateway's dependencies the options decide. */
export function gatewayOptions(
  options: RuntimeOptions,
): Pick<GatewayDeps, "publicOrigins" | "configMaxAgeMs" | "defaultTimeoutSeconds" | "metricsToken"> {
  return {
    publicOrigins: options.publicOrigins,
    ...(options.metricsToken !== undefined ? { metricsToken: options.metricsToken } : {}),
    ...(options.configMaxAgeMs !== undefined ? { configMaxAgeMs: options.configMaxAgeMs } : {}),
    ...(options.upstreamTimeoutSeconds !== undefined ? { defaultTimeoutSeconds: options.upstreamTimeoutSeconds } : {}),
  };
}
