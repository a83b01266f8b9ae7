/**
 * Observability (#16) end to end, on workerd, Bun and Deno: access-log lines field by field (a
 * success, and each gateway error reason), `/metrics` parsed by a Prometheus text parser, OTLP
 * metrics and spans received by a local collector and decoded, trace context checked at the
 * upstream, argument capture with redaction, `/hello`, and the analytics after a burst of SDK
 * client traffic. One gateway per runtime, with the collector as its OTLP endpoint.
 */
import { request as httpRequest } from "node:http";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import parsePrometheus from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startConformanceServer } from "../helpers/conformance-server.ts";
import { mcpDefinition, withTokenAuth } from "../helpers/definitions.ts";
import { RUNTIMES, type RunningGateway, startGateway, TEST_DASHBOARD_KEY, TEST_GATEWAY_SECRET, tykAdmin } from "../helpers/gateways.ts";
import { attributesOf, lastMetric, type OtlpReceiver, spansOf, startOtlpReceiver } from "../helpers/otlp.ts";
import type { Running } from "../helpers/processes.ts";
import { jsonRpcResult, startUpstream, type TestUpstream } from "../helpers/upstream.ts";

const SCRAPE_TOKEN = "test-scrape-token";
const CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN = "00f067aa0ba902b7";

function definitions(fixture: string, recording: string) {
  const open = mcpDefinition({
    id: "open",
    listenPath: "/open/",
    upstream: fixture,
    middleware: {
      mcpTools: {
        test_image_content: { doNotTrackEndpoint: { enabled: true } },
        test_audio_content: { block: { enabled: true } },
      },
    },
  });
  const secure = withTokenAuth(mcpDefinition({ id: "secure", listenPath: "/secure/", upstream: fixture }));
  const traced = mcpDefinition({ id: "traced", listenPath: "/traced/", upstream: recording }) as Record<string, any>;
  traced["x-tyk-api-gateway"].server.detailedActivityLogs = { enabled: true };
  traced["x-tyk-api-gateway"].server.detailedTracing = { enabled: true };
  const limited = mcpDefinition({
    id: "limited",
    listenPath: "/limited/",
    upstream: fixture,
    middleware: { mcpTools: { test_simple_text: { rateLimit: { enabled: true, rate: 1, per: "1m" } } } },
  });
  const down = mcpDefinition({ id: "down", listenPath: "/down/", upstream: "http://127.0.0.1:1" });
  const untracked = mcpDefinition({
    id: "untracked",
    listenPath: "/untracked/",
    upstream: fixture,
    middleware: { global: { trafficLogs: { enabled: false } } },
  });
  return [open, secure, traced, limited, down, untracked];
}

/** A raw HTTP request (node:http, so that any Host can be sent). */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? "POST", headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

const MCP_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };
const call = (id: number, name: string, args: Record<string, unknown> = {}, meta?: Record<string, string>) =>
  JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) } });

/** Polls `check` every 100 ms for up to `ms`; returns its first truthy value. */
async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, ms = 8000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.each(RUNTIMES)("observability on %s", (runtime) => {
  let gw: RunningGateway;
  let fixture: Running;
  let recording: TestUpstream;
  let collector: OtlpReceiver;
  let key: string;
  const clients: Client[] = [];

  /** Every access-log line the gateway wrote so far, parsed. */
  const accessLines = (): any[] =>
    (gw.output?.() ?? "")
      .split("\n")
      .map((line) => line.slice(line.indexOf("{")))
      .filter((line) => line.includes('"prefix":"access-log"'))
      .map((line) => JSON.parse(line));

  async function connect(apiId: string, headers: Record<string, string> = {}): Promise<Client> {
    const client = new Client({ name: "observability", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/${apiId}/mcp`), { requestInit: { headers } }));
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    [fixture, recording, collector] = await Promise.all([startConformanceServer(), startUpstream(), startOtlpReceiver()]);
    recording.handle((_req, res, body) => jsonRpcResult(res, body, { content: [{ type: "text", text: "recorded" }] }));
    gw = await startGateway(runtime, definitions(fixture.url, recording.url), {
      env: {
        GATEWAY_METRICS_TOKEN: SCRAPE_TOKEN,
        GATEWAY_CONFIG: JSON.stringify({
          analytics_config: { redact_fields: ["password"] },
          opentelemetry: { enabled: true, endpoint: collector.url, metrics: { export_interval: 1 } },
        }),
      },
    });
    const policy = await tykAdmin(gw, "POST", "/tyk/policies", { id: "observed", access_rights: { secure: { api_id: "secure" } } });
    expect(policy.status).toBe(200);
    const created = await tykAdmin(gw, "POST", "/tyk/keys", { alias: "agent-7", apply_policies: ["observed"] });
    key = created.json.key;
  }, 90_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close().catch(() => {})));
    await gw?.stop();
    await Promise.all([fixture?.stop(), recording?.stop(), collector?.stop()]);
  });

  test("a tool call's access-log line in Tyk's shape: MCP fields, latency split, the key's alias, never the key", async () => {
    const client = await connect("secure", { authorization: `Bearer ${key}` });
    // As agents do: list, then call. The list answer teaches the gateway the upstream's names.
    await client.listTools();
    await client.callTool({ name: "test_simple_text", arguments: {} });
    const line = await eventually(() => accessLines().find((l) => l.api_id === "secure" && l.mcp_method === "tools/call"));
    expect(line).toMatchObject({
      level: "info",
      prefix: "access-log",
      api_type: "mcp",
      api_id: "secure",
      api_name: "secure",
      client_ip: expect.stringMatching(/127\.0\.0\.1/),
      method: "POST",
      path: "/secure/mcp",
      status: 200,
      mcp_primitive_type: "tool",
      mcp_primitive_name: "test_simple_text",
      alias: "agent-7",
    });
    expect(line.latency_total).toBeGreaterThan(0);
    expect(line.upstream_latency).toBeGreaterThan(0);
    expect(line.latency_total).toBeCloseTo(line.upstream_latency + line.gateway_latency, 2);
    // Success: no gateway error; the trace was started here (no traceparent from the client).
    expect(line).not.toHaveProperty("mcp_error_code");
    expect(line).not.toHaveProperty("error_reason");
    expect(line.trace_id).toMatch(/^[0-9a-f]{32}$/);
    // Empty fields are left out; no tool arguments without argument capture; the key appears nowhere.
    expect(line).not.toHaveProperty("mcp_arguments");
    const init = accessLines().find((l) => l.api_id === "secure" && l.mcp_method === "initialize");
    expect(init).not.toHaveProperty("mcp_primitive_type");
    expect(gw.output?.()).not.toContain(key);
  });

  test("each gateway error: its status, mcp_error_code and reason in the log line", async () => {
    const cases: {
      name: string;
      send: () => Promise<{ status: number }>;
      api: string | undefined;
      status: number;
      code: number;
      reason: string;
    }[] = [
      {
        name: "no proxy",
        send: () => raw(`${gw.url}/nowhere`, { method: "GET" }),
        api: undefined,
        status: 404,
        code: -32000,
        reason: "no_route",
      },
      {
        name: "a host the gateway does not serve",
        send: () => raw(`${gw.url}/open/mcp`, { headers: { ...MCP_HEADERS, host: "evil.example" }, body: call(1, "x") }),
        api: undefined,
        status: 403,
        code: -32000,
        reason: "host_forbidden",
      },
      {
        name: "no key",
        send: () => raw(`${gw.url}/secure/mcp`, { headers: MCP_HEADERS, body: call(2, "test_simple_text") }),
        api: "secure",
        status: 401,
        code: -32001,
        reason: "credential_missing",
      },
      {
        name: "an unknown key",
        send: () =>
          raw(`${gw.url}/secure/mcp`, { headers: { ...MCP_HEADERS, authorization: "Bearer nope" }, body: call(3, "test_simple_text") }),
        api: "secure",
        status: 401,
        code: -32001,
        reason: "credential_invalid",
      },
      {
        name: "a blocked tool",
        send: () => raw(`${gw.url}/open/mcp`, { headers: MCP_HEADERS, body: call(4, "test_audio_content") }),
        api: "open",
        status: 403,
        code: -32002,
        reason: "primitive_denied",
      },
      {
        name: "over a tool's rate limit",
        send: async () => {
          await raw(`${gw.url}/limited/mcp`, { headers: MCP_HEADERS, body: call(5, "test_simple_text") });
          return raw(`${gw.url}/limited/mcp`, { headers: MCP_HEADERS, body: call(6, "test_simple_text") });
        },
        api: "limited",
        status: 429,
        code: -32003,
        reason: "rate_limited",
      },
      {
        name: "an unreachable upstream",
        send: () => raw(`${gw.url}/down/mcp`, { headers: MCP_HEADERS, body: call(7, "x") }),
        api: "down",
        status: 502,
        code: -32004,
        reason: "upstream_unreachable",
      },
      {
        name: "a body that is not JSON",
        send: () => raw(`${gw.url}/open/mcp`, { headers: MCP_HEADERS, body: "{" }),
        api: "open",
        status: 400,
        code: -32700,
        reason: "parse_error",
      },
      {
        name: "a method the transport has not",
        send: () => raw(`${gw.url}/open/mcp`, { method: "PUT", headers: MCP_HEADERS, body: "{}" }),
        api: "open",
        status: 405,
        code: -32000,
        reason: "method_not_allowed",
      },
    ];
    for (const c of cases) {
      const answer = await c.send();
      expect(answer.status, c.name).toBe(c.status);
      const line = await eventually(() => accessLines().find((l) => l.error_reason === c.reason));
      expect(line, c.name).toMatchObject({ prefix: "access-log", status: c.status, mcp_error_code: c.code, error_reason: c.reason });
      if (c.api === undefined) expect(line, c.name).not.toHaveProperty("api_id");
      else expect(line.api_id, c.name).toBe(c.api);
    }
    // On MCP 2026-07-28 the code logged is the one the client got, in Tyk's -33000 range.
    const modern = await raw(`${gw.url}/secure/mcp`, {
      headers: { ...MCP_HEADERS, "mcp-protocol-version": "2026-07-28" },
      body: call(9, "test_simple_text"),
    });
    expect(modern.status).toBe(401);
    expect(JSON.parse(modern.body).error.code).toBe(-33001);
    await eventually(() => accessLines().find((l) => l.mcp_error_code === -33001 && l.error_reason === "credential_missing"));
    const limitedLine = accessLines().find((l) => l.error_reason === "rate_limited");
    expect(limitedLine).toMatchObject({ ratelimit_limit: 1, mcp_primitive_name: "test_simple_text" });
    expect(limitedLine.ratelimit_reset).toBeGreaterThan(Date.now() / 1000 - 5);
  });

  test("/metrics: Prometheus text for the gateway secret or the scrape token only; labels bounded", async () => {
    expect((await raw(`${gw.url}/metrics`, { method: "GET" })).status).toBe(403);
    expect((await raw(`${gw.url}/metrics`, { method: "GET", headers: { authorization: "Bearer wrong" } })).status).toBe(403);
    // Thirty made-up tool names: counted under one value, not thirty series.
    for (let i = 0; i < 30; i++) await raw(`${gw.url}/open/mcp`, { headers: MCP_HEADERS, body: call(100 + i, `made-up-${i}`) });
    const byToken = await raw(`${gw.url}/metrics`, { method: "GET", headers: { authorization: `Bearer ${SCRAPE_TOKEN}` } });
    expect(byToken.status).toBe(200);
    expect(String(byToken.headers["content-type"])).toContain("text/plain");
    const bySecret = await raw(`${gw.url}/metrics`, { method: "GET", headers: { "x-tyk-authorization": TEST_GATEWAY_SECRET } });
    expect(bySecret.status).toBe(200);
    const families = parsePrometheus(bySecret.body) as { name: string; type: string; metrics: any[] }[];
    const family = (name: string) => families.find((f) => f.name === name)!;
    const requests = family("tyk_mcp_requests_total");
    expect(requests.type).toBe("COUNTER");
    const sample = (labels: Record<string, string>) =>
      requests.metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels[k] === v)).reduce((n, m) => n + Number(m.value), 0);
    expect(
      sample({
        api_id: "secure",
        mcp_method: "tools/call",
        tool_name: "test_simple_text",
        primitive_type: "tool",
        session: "agent-7",
        error_code: "",
      }),
    ).toBe(1);
    expect(sample({ api_id: "secure", error_code: "-32001", session: "unknown" })).toBe(2);
    expect(sample({ api_id: "open", tool_name: "__other__" })).toBe(30);
    expect(requests.metrics.some((m) => m.labels.tool_name?.startsWith("made-up"))).toBe(false);
    // The reference's session-efficiency PromQL reads these two series.
    const distribution = family("tyk_mcp_method_distribution_total");
    expect(distribution.metrics.find((m) => m.labels.api_id === "secure" && m.labels.mcp_method === "initialize")).toBeDefined();
    expect(distribution.metrics.find((m) => m.labels.api_id === "secure" && m.labels.mcp_method === "tools/call")).toBeDefined();
    // Histograms in seconds with the reference's buckets. (The parser folds every series of a
    // histogram family into one, so their samples are read from the text.)
    expect(family("tyk_mcp_upstream_duration").type).toBe("HISTOGRAM");
    expect(family("tyk_mcp_request_duration").type).toBe("HISTOGRAM");
    const buckets = [...bySecret.body.matchAll(/^tyk_mcp_upstream_duration_bucket\{([^}]*)\} (\d+)$/gm)]
      .filter(([, labels]) => labels!.includes('api_id="secure"') && labels!.includes('tool_name="test_simple_text"'))
      .map(([, labels, value]) => [/le="([^"]+)"/.exec(labels!)![1], Number(value)]);
    expect(buckets.map(([le]) => le)).toEqual(["0.01", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]);
    expect(buckets[buckets.length - 1]![1]).toBe(1);
    expect(bySecret.body).toMatch(/^tyk_mcp_upstream_duration_count\{tool_name="test_simple_text",api_id="secure"[^}]*\} 1$/m);
  });

  test("OTLP: metrics exported to the collector; a span per request with the upstream call as its child, trace context at the upstream", async () => {
    const traceparent = `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`;
    const answer = await raw(`${gw.url}/traced/mcp`, {
      headers: { ...MCP_HEADERS, traceparent, tracestate: "vendor=1" },
      body: call(200, "lookup", { query: "weather", password: "hunter2" }),
    });
    expect(answer.status).toBe(200);
    const seen = recording.seen.find((s) => s.body.includes('"id":200'))!;
    const [, traceId, upstreamParent, flags] = String(seen.headers.traceparent).split("-");
    expect(traceId).toBe(CLIENT_TRACE);
    expect(upstreamParent).not.toBe(CLIENT_SPAN);
    expect(flags).toBe("01");
    expect(seen.headers.tracestate).toBe("vendor=1");

    const server = await eventually(() => spansOf(collector.exports).find((s) => s.traceId === CLIENT_TRACE && s.kind === 2));
    expect(server.name).toBe("tools/call lookup");
    expect(server.parentSpanId).toBe(CLIENT_SPAN);
    expect(attributesOf(server.attributes)).toMatchObject({
      "mcp.method.name": "tools/call",
      "gen_ai.tool.name": "lookup",
      "http.response.status_code": 200,
      "tyk.api.id": "traced",
    });
    const child = spansOf(collector.exports).find((s) => s.traceId === CLIENT_TRACE && s.kind === 3);
    expect(child.spanId).toBe(upstreamParent);
    expect(child.parentSpanId).toBe(server.spanId);
    // server.detailedTracing: a span per step of the request path, children of the request's.
    const steps = spansOf(collector.exports).filter((s) => s.traceId === CLIENT_TRACE && s.kind === 1);
    expect(steps.map((s) => s.name)).toEqual(
      expect.arrayContaining(["step host", "step route", "step authenticate", "step read", "step forward"]),
    );
    expect(steps.every((s) => s.parentSpanId === server.spanId)).toBe(true);

    // A refused request has its span too, marked as an error with the gateway's reason.
    const refusedTrace = "5bf92f3577b34da6a3ce929d0e0e4736";
    const refused = await raw(`${gw.url}/secure/mcp`, {
      headers: { ...MCP_HEADERS, traceparent: `00-${refusedTrace}-${CLIENT_SPAN}-01` },
      body: call(202, "test_simple_text"),
    });
    expect(refused.status).toBe(401);
    const refusedSpan = await eventually(() => spansOf(collector.exports).find((s) => s.traceId === refusedTrace && s.kind === 2));
    expect(refusedSpan.status.code).toBe(2);
    expect(attributesOf(refusedSpan.attributes)).toMatchObject({
      "error.type": "credential_missing",
      "rpc.response.status_code": "-32001",
    });
    expect(spansOf(collector.exports).some((s) => s.traceId === refusedTrace && s.kind === 3)).toBe(false);

    // A trace context in params._meta is continued too.
    const metaTrace = "0af7651916cd43dd8448eb211c80319c";
    await raw(`${gw.url}/traced/mcp`, {
      headers: MCP_HEADERS,
      body: call(201, "lookup", {}, { traceparent: `00-${metaTrace}-b7ad6b7169203331-01` }),
    });
    const fromMeta = recording.seen.find((s) => s.body.includes('"id":201'))!;
    expect(String(fromMeta.headers.traceparent)).toContain(metaTrace);
    await eventually(() => spansOf(collector.exports).find((s) => s.traceId === metaTrace && s.parentSpanId === "b7ad6b7169203331"));

    // Exported every second (export_interval 1): cumulative sums, the traced calls among them.
    const point = await eventually(() =>
      lastMetric(collector.exports, "tyk.mcp.requests.total")
        ?.sum.dataPoints.map((p: any) => ({ ...attributesOf(p.attributes), value: Number(p.asInt ?? p.asDouble) }))
        .find((p: any) => p.api_id === "traced" && p.mcp_method === "tools/call" && p.value >= 2),
    );
    expect(point).toMatchObject({ tool_name: "__other__", primitive_type: "tool", error_code: "", session: "unknown" });
    expect(lastMetric(collector.exports, "tyk.mcp.upstream.duration").histogram.dataPoints[0].explicitBounds).toEqual([
      0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]);
  });

  test("argument capture (server.detailedActivityLogs) records the named fields redacted", async () => {
    const line = await eventually(() => accessLines().find((l) => l.api_id === "traced" && l.mcp_arguments));
    expect(JSON.parse(line.mcp_arguments)).toEqual({ query: "weather", password: "[REDACTED]" });
    expect(gw.output?.()).not.toContain("hunter2");
  });

  test("a failing collector fails no request and slows none", async () => {
    collector.failWith(503);
    try {
      const started = Date.now();
      for (let i = 0; i < 5; i++) {
        const answer = await raw(`${gw.url}/traced/mcp`, { headers: MCP_HEADERS, body: call(300 + i, "lookup") });
        expect(answer.status).toBe(200);
      }
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      collector.failWith(undefined);
    }
  });

  test("/hello answers Tyk's health-check shape", async () => {
    const hello = await raw(`${gw.url}/hello`, { method: "GET" });
    expect(hello.status).toBe(200);
    const body = JSON.parse(hello.body);
    expect(body).toMatchObject({ status: "pass", version: expect.stringMatching(/^v/), description: expect.any(String) });
    expect(body.details.store).toMatchObject({ status: "pass", componentType: "datastore" });
  });

  test("analytics after a burst through the SDK client: per proxy and per primitive, doNotTrackEndpoint and trafficLogs honoured", async () => {
    const client = await connect("open");
    await client.listTools();
    await client.listPrompts();
    for (let i = 0; i < 6; i++) await client.callTool({ name: "test_simple_text", arguments: {} });
    for (let i = 0; i < 3; i++) await client.callTool({ name: "test_image_content", arguments: {} });
    for (let i = 0; i < 2; i++) await client.getPrompt({ name: "test_simple_prompt" });
    await expect(client.callTool({ name: "test_audio_content", arguments: {} })).rejects.toThrow();
    const other = await connect("untracked");
    await other.listTools();
    await other.callTool({ name: "test_simple_text", arguments: {} });

    const get = async (path: string) => {
      const response = await fetch(`${gw.url}${path}`, { headers: { authorization: TEST_DASHBOARD_KEY } });
      expect(response.status, path).toBe(200);
      return (await response.json()) as any;
    };
    expect((await fetch(`${gw.url}/api/activity/mcp`)).status).toBe(403);
    const primitives = await eventually(async () => {
      const body = await get("/api/activity/mcp/primitives?api_id=open&minutes=10");
      return body.primitives.find((p: any) => p.name === "test_simple_text")?.calls === 6 ? body : undefined;
    });
    const named = (name: string) => primitives.primitives.find((p: any) => p.name === name);
    expect(named("test_simple_prompt")).toMatchObject({ type: "prompt", calls: 2, errors: 0 });
    // Blocked: once in the errors' test, once here.
    expect(named("test_audio_content")).toMatchObject({ calls: 2, errors: 2, error_rate: 1 });
    expect(named("test_image_content")).toBeUndefined();
    expect(primitives.most_called[0]).toMatchObject({ name: "__other__" });
    expect(primitives.most_called.map((p: any) => p.name)).toContain("test_simple_text");
    expect(primitives.highest_error_rate[0].error_rate).toBe(1);
    expect(named("test_simple_text").p95_ms).toBeGreaterThan(0);
    expect(primitives.slowest_avg.length).toBeGreaterThan(0);
    expect(named("test_simple_text").series.reduce((n: number, p: any) => n + p.requests, 0)).toBe(6);

    const proxies = await get("/api/activity/mcp?minutes=10");
    const open = proxies.proxies.find((p: any) => p.api_id === "open");
    expect(open.by_error_code["-32002"]).toBeGreaterThanOrEqual(2);
    expect(open.by_status["403"]).toBeGreaterThanOrEqual(2);
    expect(open.series.reduce((n: number, p: any) => n + p.requests, 0)).toBe(open.requests);
    expect(proxies.proxies.find((p: any) => p.api_id === "untracked")).toBeUndefined();

    const registry = await get("/api/activity/mcp/registry");
    const entry = registry.proxies.find((p: any) => p.api_id === "open");
    expect(entry).toMatchObject({ listen_path: "/open/", upstream: fixture.url, state: "active", authentication: [] });
    expect(entry.tools.map((t: any) => t.name)).toContain("test_simple_text");
    expect(entry.prompts.map((p: any) => p.name)).toContain("test_simple_prompt");
    expect(entry.resources.length).toBeGreaterThan(0);
    expect(registry.proxies.find((p: any) => p.api_id === "secure").authentication).toEqual(["authToken"]);
  });
});
