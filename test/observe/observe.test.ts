/**
 * The pure parts of observability (src/observe/): the access-log line, argument redaction, bounded
 * labels, W3C trace context and sampling, the analytics buckets and their queries.
 */
import { describe, expect, test } from "vitest";
import { AnalyticsBuckets, percentile, primitiveActivity, proxyActivity } from "../../src/observe/analytics.ts";
import { BoundedValues, KnownNames, methodLabel, OTHER } from "../../src/observe/labels.ts";
import { policyNamesOf } from "../../src/observe/observer.ts";
import { accessLogLine, RequestRecord, redactedArguments } from "../../src/observe/record.ts";
import { parseTraceparent, sampler, startTrace, traceparentFor } from "../../src/observe/trace-context.ts";

function recordOf(fields: Partial<RequestRecord>): RequestRecord {
  return Object.assign(new RequestRecord(), { time: Date.UTC(2026, 0, 1, 12, 0, 30), method: "POST", path: "/a/mcp", status: 200 }, fields);
}

describe("the access-log line", () => {
  test("Tyk's fields and the MCP ones, empty fields left out", () => {
    const line = JSON.parse(
      accessLogLine(
        recordOf({
          apiId: "a",
          apiName: "A",
          apiType: "mcp",
          clientIp: "10.0.0.1",
          latencyTotal: 12.3456,
          latencyUpstream: 10,
          latencyGateway: 2.3456,
          upstreamOffset: 1,
          mcpMethod: "tools/call",
          primitiveType: "tool",
          primitiveName: "search",
          alias: "agent",
        }),
      ),
    );
    expect(line).toEqual({
      time: "2026-01-01T12:00:30.000Z",
      level: "info",
      prefix: "access-log",
      api_type: "mcp",
      api_id: "a",
      api_name: "A",
      client_ip: "10.0.0.1",
      method: "POST",
      path: "/a/mcp",
      status: 200,
      latency_total: 12.346,
      upstream_latency: 10,
      gateway_latency: 2.346,
      mcp_method: "tools/call",
      mcp_primitive_type: "tool",
      mcp_primitive_name: "search",
      alias: "agent",
    });
  });

  test("a gateway failure carries its code and reason; a template keeps only the fields it names", () => {
    const record = recordOf({
      status: 429,
      errorCode: -32003,
      errorReason: "rate_limited",
      rateLimitLimit: 5,
      rateLimitReset: 1_800_000_000,
    });
    expect(JSON.parse(accessLogLine(record))).toMatchObject({ mcp_error_code: -32003, error_reason: "rate_limited", ratelimit_limit: 5 });
    expect(JSON.parse(accessLogLine(record, new Set(["status", "mcp_error_code"])))).toEqual({
      time: "2026-01-01T12:00:30.000Z",
      prefix: "access-log",
      status: 429,
      mcp_error_code: -32003,
    });
  });

  test("arguments are redacted by name at any depth, whatever the case", () => {
    const redact = new Set(["password", "token"]);
    expect(JSON.parse(redactedArguments({ q: "x", Password: "p", nested: { token: "t", keep: 1 } }, redact)!)).toEqual({
      q: "x",
      Password: "[REDACTED]",
      nested: { token: "[REDACTED]", keep: 1 },
    });
    expect(redactedArguments(undefined, redact)).toBeUndefined();
  });
});

describe("bounded labels", () => {
  test("names an API does not know, and methods MCP has not, count as one value", () => {
    const names = new KnownNames();
    names.add("a", "tool", ["search"]);
    names.addTemplates("a", ["file:///logs/{day}"]);
    expect(names.label("a", "tool", "search")).toBe("search");
    expect(names.label("a", "tool", "made-up")).toBe(OTHER);
    expect(names.label("b", "tool", "search")).toBe(OTHER);
    expect(names.label("a", "resource", "file:///logs/monday")).toBe("file:///logs/{day}");
    expect(names.label("a", "resource", "file:///logs/a/b")).toBe(OTHER);
    expect(methodLabel("tools/call")).toBe("tools/call");
    expect(methodLabel("tools/made-up")).toBe(OTHER);
  });

  test("a policy's plain names are known; its patterns name no one name", () => {
    const policies = [
      {
        id: "p",
        access_rights: {
          a: {
            api_id: "a",
            mcp_access_rights: { tools: { allowed: ["search", "get_.*"], blocked: ["delete"] }, prompts: { allowed: ["summary"] } },
            mcp_primitives: [{ type: "resource", name: "file:///readme", limit: { rate: 1, per: 1 } }],
          },
        },
      },
    ] as never;
    expect(policyNamesOf(policies, "a")).toEqual([
      { type: "tool", names: ["search", "delete"] },
      { type: "resource", names: ["file:///readme"] },
      { type: "prompt", names: ["summary"] },
    ]);
    expect(policyNamesOf(policies, "b").flatMap((entry) => entry.names)).toEqual([]);
  });

  test("outside values: the first ones kept, then one value", () => {
    const values = new BoundedValues(2);
    expect(["a", "b", "c", "a", "d"].map((v) => values.value(v))).toEqual(["a", "b", OTHER, "a", OTHER]);
  });
});

describe("trace context", () => {
  test("a valid traceparent is continued, anything else starts a trace", () => {
    const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    expect(parseTraceparent(parent)).toEqual({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", parentId: "00f067aa0ba902b7", sampled: true });
    for (const bad of [
      "",
      "00-0000000000000000000000000000000000-00f067aa0ba902b7-01",
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-xyz",
    ]) {
      expect(parseTraceparent(bad)).toBeUndefined();
    }
    const always = sampler("AlwaysOn", 1, false);
    const continued = startTrace(parent, "k=v", always);
    expect(continued).toMatchObject({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", parentSpanId: "00f067aa0ba902b7", traceState: "k=v" });
    expect(traceparentFor(continued)).toBe(`00-4bf92f3577b34da6a3ce929d0e0e4736-${continued.upstreamSpanId}-01`);
    const fresh = startTrace("garbage", "k=v", always);
    expect(fresh.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(fresh).toMatchObject({ parentSpanId: "", traceState: undefined });
  });

  test("samplers as Tyk names them", () => {
    expect(sampler("AlwaysOff", 1, false)("ab", true)).toBe(false);
    expect(sampler("AlwaysOff", 1, true)("ab", true)).toBe(true);
    const ratio = sampler("TraceIDRatioBased", 0.5, false);
    expect(ratio("0000000000000000000000000000000f", undefined)).toBe(true);
    expect(ratio("000000000000000000000000ffffffff", undefined)).toBe(false);
  });
});

describe("analytics", () => {
  const minute = Date.UTC(2026, 0, 1, 12, 0);
  const add = (buckets: AnalyticsBuckets, fields: Partial<RequestRecord>, times = 1) => {
    for (let i = 0; i < times; i++) {
      const record = recordOf({ apiId: "a", apiName: "A", time: minute + 1000, ...fields });
      buckets.add(record, record.primitiveName, record.mcpMethod);
    }
  };

  test("per proxy and per primitive, from buckets merged as a store merges them", () => {
    const here = new AnalyticsBuckets();
    add(here, { primitiveType: "tool", primitiveName: "fast", mcpMethod: "tools/call", latencyTotal: 3 }, 4);
    add(here, { primitiveType: "tool", primitiveName: "slow", mcpMethod: "tools/call", latencyTotal: 800 }, 2);
    add(here, {
      primitiveType: "tool",
      primitiveName: "slow",
      mcpMethod: "tools/call",
      status: 502,
      errorCode: -32004,
      latencyTotal: 900,
      time: minute + 61_000,
    });
    add(here, { mcpMethod: "initialize", latencyTotal: 1 });
    const store = new AnalyticsBuckets();
    store.merge(here.drain());
    const rows = store.read(minute, minute + 120_000);
    const window = { from: minute, to: minute + 120_000, stepMs: 60_000 };
    const [proxy] = proxyActivity(rows, window);
    expect(proxy).toMatchObject({ api_id: "a", requests: 8, errors: 1, by_status: { 200: 7, 502: 1 }, by_error_code: { "-32004": 1 } });
    expect(proxy!.series.map((p) => p.requests)).toEqual([7, 1, 0]);
    const primitives = primitiveActivity(rows, window);
    expect(primitives.most_called.map((p) => [p.name, p.calls])).toEqual([
      ["fast", 4],
      ["slow", 3],
    ]);
    expect(primitives.highest_error_rate.map((p) => p.name)).toEqual(["slow"]);
    expect(primitives.slowest_avg[0]).toMatchObject({ name: "slow", avg_ms: 833.333 });
    expect(primitives.slowest_p95[0]!.name).toBe("slow");
  });

  test("p95 from the latency histogram", () => {
    const histogram = new Array(15).fill(0);
    histogram[3] = 95; // ≤ 10 ms
    histogram[9] = 5; // ≤ 1000 ms
    expect(percentile(histogram, 0.95)).toBe(10);
    expect(percentile(histogram, 0.99)).toBeGreaterThan(500);
    expect(percentile(new Array(15).fill(0), 0.95)).toBe(0);
  });
});

describe("the dashboard page's Chart.js", () => {
  test("src/ui/chart-js.generated.ts is the installed chart.js (node scripts/build-ui.mjs writes it)", async () => {
    const { readFileSync } = await import("node:fs");
    const { CHART_JS, CHART_JS_VERSION } = await import("../../src/ui/chart-js.generated.ts");
    const dir = new URL("../../node_modules/chart.js/", import.meta.url);
    expect(CHART_JS_VERSION).toBe(JSON.parse(readFileSync(new URL("package.json", dir), "utf8")).version);
    expect(CHART_JS).toBe(readFileSync(new URL("dist/chart.umd.min.js", dir), "utf8"));
  });
});

describe("the Grafana dashboard (grafana/mcp-gateway.json)", () => {
  test("every panel queries series and labels the default metrics export", async () => {
    const { readFileSync } = await import("node:fs");
    const { DEFAULT_API_METRICS } = await import("../../src/observe/config.ts");
    const dashboard = JSON.parse(readFileSync(new URL("../../grafana/mcp-gateway.json", import.meta.url), "utf8"));
    // The Prometheus names of the default instruments: counters get _total, histograms _bucket.
    const series = new Set(
      DEFAULT_API_METRICS.map((m) => {
        const name = m.name.replaceAll(".", "_");
        return m.type === "counter" ? (name.endsWith("_total") ? name : `${name}_total`) : `${name}_bucket`;
      }),
    );
    const labels = new Set(["le", ...DEFAULT_API_METRICS.flatMap((m) => m.dimensions.map((d) => d.label))]);
    const exprs: string[] = dashboard.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr));
    expect(exprs.length).toBeGreaterThanOrEqual(10);
    for (const expr of exprs) {
      for (const [name] of expr.matchAll(/tyk_mcp_[a-z_]+/g)) expect(series, expr).toContain(name);
      for (const [, list] of expr.matchAll(/by \(([^)]*)\)/g))
        for (const label of list!.split(",")) expect(labels, expr).toContain(label.trim());
      for (const [, label] of expr.matchAll(/([a-z_]+)(?:=~|!=|=)"/g)) expect(labels, expr).toContain(label);
    }
  });
});
