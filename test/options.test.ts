/**
 * readOptions (src/options.ts): every environment variable and Worker var the gateway reads, read
 * and checked in one place; a value that cannot be used stops the start, naming the variable.
 */
import { describe, expect, test } from "vitest";
import { DEFAULT_OBSERVE_CONFIG } from "../src/observe/config.ts";
import { gatewayOptions, OptionsError, readOptions } from "../src/options.ts";

const read = (vars: Record<string, unknown>) => readOptions((name) => vars[name]);

function refusal(vars: Record<string, unknown>): OptionsError {
  try {
    read(vars);
  } catch (error) {
    expect(error).toBeInstanceOf(OptionsError);
    return error as OptionsError;
  }
  throw new Error(`accepted ${JSON.stringify(vars)}`);
}

describe("defaults", () => {
  test("nothing set: loopback on 8787, no public origins, the admin APIs on but closed", () => {
    expect(read({})).toEqual({
      host: "127.0.0.1",
      port: 8787,
      upstreamTimeoutSeconds: undefined,
      configMaxAgeMs: undefined,
      publicOrigins: [],
      admin: { enabled: true, host: undefined, gatewaySecret: undefined, dashboardKeys: [] },
      seedDir: undefined,
      storeDir: undefined,
      kvPath: undefined,
      observe: DEFAULT_OBSERVE_CONFIG,
      configFile: undefined,
      metricsToken: undefined,
    });
  });

  test("an empty or blank value counts as unset; a binding that is not a string (a KV namespace) is not read", () => {
    expect(read({ PORT: "", UPSTREAM_TIMEOUT_SECONDS: "  ", GATEWAY_SECRET: {} })).toMatchObject({
      port: 8787,
      upstreamTimeoutSeconds: undefined,
    });
  });
});

describe("values that are read", () => {
  test("numbers, lists, origins and flags", () => {
    const options = read({
      HOST: " 0.0.0.0 ",
      PORT: "0",
      UPSTREAM_TIMEOUT_SECONDS: "2.5",
      GATEWAY_CONFIG_MAX_AGE_MS: "0",
      GATEWAY_PUBLIC_ORIGINS: "https://MCP.example.com/, http://localhost:8787",
      GATEWAY_SECRET: "s3cret",
      DASHBOARD_API_KEYS: " a, ,b ",
      ADMIN_API: "OFF",
      ADMIN_HOST: "Admin.Example",
      GATEWAY_SEED_DIR: "defs",
    });
    expect(options).toMatchObject({
      host: "0.0.0.0",
      port: 0,
      upstreamTimeoutSeconds: 2.5,
      configMaxAgeMs: 0,
      publicOrigins: ["https://mcp.example.com", "http://localhost:8787"],
      admin: { enabled: false, host: "admin.example", gatewaySecret: "s3cret", dashboardKeys: ["a", "b"] },
      seedDir: "defs",
    });
    expect(gatewayOptions(options)).toEqual({
      publicOrigins: ["https://mcp.example.com", "http://localhost:8787"],
      configMaxAgeMs: 0,
      defaultTimeoutSeconds: 2.5,
    });
  });

  test.each(["on", "true", "1", "yes", "ON"])("ADMIN_API=%s turns the admin APIs on", (value) => {
    expect(read({ ADMIN_API: value }).admin.enabled).toBe(true);
  });
});

describe("a value that cannot be used stops the start, naming the variable", () => {
  test.each([
    ["PORT", "http"],
    ["PORT", "70000"],
    ["PORT", "-1"],
    ["UPSTREAM_TIMEOUT_SECONDS", "0"],
    ["UPSTREAM_TIMEOUT_SECONDS", "ten"],
    ["UPSTREAM_TIMEOUT_SECONDS", "1e3"],
    ["GATEWAY_CONFIG_MAX_AGE_MS", "1.5"],
    ["GATEWAY_CONFIG_MAX_AGE_MS", "-5"],
    ["GATEWAY_PUBLIC_ORIGINS", "mcp.example.com"],
    ["GATEWAY_PUBLIC_ORIGINS", "https://mcp.example.com/path"],
    ["GATEWAY_PUBLIC_ORIGINS", "https://ok.example, ftp://files.example"],
    ["ADMIN_API", "maybe"],
    ["ADMIN_HOST", "https://admin.example"],
    ["ADMIN_HOST", "admin.example:8443"],
  ])("%s=%j", (variable, value) => {
    const error = refusal({ [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(variable);
    expect(error.message).toContain(JSON.stringify(value));
  });
});

describe("the gateway's configuration (GATEWAY_CONFIG, tyk.conf's shape)", () => {
  test("read and checked: access logs, metrics, traces", () => {
    const options = read({
      GATEWAY_CONFIG: JSON.stringify({
        access_logs: { enabled: false, template: ["api_id", "status"] },
        opentelemetry: {
          enabled: true,
          endpoint: "http://127.0.0.1:4318",
          metrics: {
            export_interval: 5,
            api_metrics: [{ name: "calls", type: "counter", dimensions: [{ source: "metadata", key: "api_id", label: "api" }] }],
          },
        },
      }),
      GATEWAY_METRICS_TOKEN: "scrape",
    });
    expect(options.observe.accessLogs).toEqual({ enabled: false, template: ["api_id", "status"] });
    expect(options.observe.traces).toMatchObject({ enabled: true, endpoint: "http://127.0.0.1:4318/v1/traces" });
    expect(options.observe.metrics).toMatchObject({ endpoint: "http://127.0.0.1:4318/v1/metrics", exportIntervalMs: 5000 });
    expect(options.observe.metrics.instruments.map((i) => i.name)).toEqual(["calls"]);
    expect(options.metricsToken).toBe("scrape");
  });

  test("a Worker var written as an object in wrangler.toml is read as the document itself", () => {
    expect(read({ GATEWAY_CONFIG: { access_logs: { enabled: false } } }).observe.accessLogs.enabled).toBe(false);
    expect(refusal({ GATEWAY_CONFIG: { enable_analytics: "yes" } }).variable).toBe("GATEWAY_CONFIG");
  });

  test("the reference's complete configuration is the default", () => {
    expect(read({}).observe.metrics.instruments.map((i) => i.name)).toEqual([
      "tyk.mcp.requests.total",
      "tyk.mcp.upstream.duration",
      "tyk.mcp.request.duration",
      "tyk.mcp.method.distribution",
    ]);
    expect(read({}).observe.accessLogs.enabled).toBe(true);
  });

  test.each([
    ["not JSON", "{", /GATEWAY_CONFIG: is not JSON/],
    [
      "a histogram source Tyk has not",
      '{"opentelemetry":{"metrics":{"api_metrics":[{"name":"x","type":"histogram","histogram_source":"db"}]}}}',
      /GATEWAY_CONFIG: opentelemetry\.metrics\.api_metrics\.0\.histogram_source/,
    ],
    [
      "a dimension key the gateway has not",
      '{"opentelemetry":{"metrics":{"api_metrics":[{"name":"x","type":"counter","dimensions":[{"source":"metadata","key":"body","label":"b"}]}]}}}',
      /a metadata key must be one of/,
    ],
    ["a gRPC exporter", '{"opentelemetry":{"exporter":"grpc"}}', /only "http"/],
    [
      "buckets out of order",
      '{"opentelemetry":{"metrics":{"api_metrics":[{"name":"x","type":"histogram","histogram_buckets":[1,0.5]}]}}}',
      /increasing order/,
    ],
  ])("%s stops the start, naming the variable and the field", (_what, value, message) => {
    const error = refusal({ GATEWAY_CONFIG: value });
    expect(error.variable).toBe("GATEWAY_CONFIG");
    expect(error.message).toMatch(message);
  });
});
