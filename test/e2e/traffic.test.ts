/**
 * Traffic management through the gateway, with the official SDK client against the SDK fixture
 * server (test/fixtures/conformance-server.ts), on workerd (Durable Objects), Bun and Deno (memory):
 * every level of rate limit counted on its own, quotas (shown and reset through the Gateway API),
 * throttling, circuit breakers, IP rules and per-tool size limits. Each case has an API of its own,
 * so its counters start at zero.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startConformanceServer } from "../helpers/conformance-server.ts";
import { mcpDefinition, withTokenAuth } from "../helpers/definitions.ts";
import { RUNTIMES, type RunningGateway, startGateway, tykAdmin } from "../helpers/gateways.ts";
import type { Running } from "../helpers/processes.ts";

/** The APIs of this suite: each listens on `/<id>/`, secured with a key unless `open`. */
interface Case {
  id: string;
  open?: boolean;
  middleware?: Record<string, unknown>;
  upstreamRateLimit?: Record<string, unknown>;
  ipAccessControl?: Record<string, unknown>;
}

const CASES: Case[] = [
  { id: "key-rate" },
  { id: "method-rate" },
  { id: "tool-rate" },
  {
    id: "shared-tool",
    middleware: { mcpTools: { test_simple_text: { rateLimit: { enabled: true, rate: 2, per: "1h" } } } },
  },
  {
    id: "endpoint",
    open: true,
    middleware: { operations: { mcpTransportPost: { rateLimit: { enabled: true, rate: 4, per: "1h" } } } },
  },
  { id: "upstream", open: true, upstreamRateLimit: { enabled: true, rate: 5, per: "1h" } },
  { id: "quota" },
  { id: "throttle" },
  {
    id: "breaker",
    open: true,
    middleware: {
      mcpTools: {
        test_failing: { circuitBreaker: { enabled: true, threshold: 0.5, sampleSize: 2, coolDownPeriod: 2, halfOpenStateEnabled: true } },
      },
    },
  },
  { id: "ip-blocked", open: true, ipAccessControl: { enabled: true, block: ["127.0.0.0/8", "::1"] } },
  { id: "ip-allowed", open: true, ipAccessControl: { enabled: true, allow: ["10.0.0.0/8"] } },
  { id: "ip-local", open: true, ipAccessControl: { enabled: true, allow: ["127.0.0.1/32", "::1", "::ffff:127.0.0.1"] } },
  { id: "size", open: true, middleware: { mcpTools: { test_simple_text: { requestSizeLimit: { enabled: true, value: 200 } } } } },
];

function definitionOf(spec: Case, upstream: string) {
  const d = mcpDefinition({
    id: spec.id,
    listenPath: `/${spec.id}/`,
    upstream,
    ...(spec.middleware ? { middleware: spec.middleware } : {}),
  });
  const tyk = (d as Record<string, any>)["x-tyk-api-gateway"];
  if (spec.upstreamRateLimit) tyk.upstream.rateLimit = spec.upstreamRateLimit;
  if (spec.ipAccessControl) tyk.server.ipAccessControl = spec.ipAccessControl;
  return spec.open ? d : withTokenAuth(d);
}

/** What a refused request looks like to the SDK client: its error names the HTTP status and carries the body. */
function refusal(error: unknown): { status: number; body: any } {
  const message = String((error as Error).message);
  const status = (error as { code?: number }).code ?? Number(/HTTP (\d{3})/.exec(message)?.[1]);
  const json = /(\{.*\})/s.exec(message)?.[1];
  return { status, body: json ? JSON.parse(json) : undefined };
}

describe.each(RUNTIMES)("traffic management on %s", (runtime) => {
  let gw: RunningGateway;
  let fixture: Running;
  const clients: Client[] = [];

  const admin = (method: string, path: string, body?: unknown) => tykAdmin(gw, method, path, body);

  /** A key for a policy of `limits` on API `apiId` (and its access right's own `access`). */
  async function keyFor(apiId: string, limits: Record<string, unknown>, access: Record<string, unknown> = {}): Promise<string> {
    const policyId = `${apiId}-${Math.random().toString(36).slice(2, 8)}`;
    const policy = await admin("POST", "/tyk/policies", {
      id: policyId,
      ...limits,
      access_rights: { [apiId]: { api_id: apiId, ...access } },
    });
    expect(policy.status, JSON.stringify(policy.json)).toBe(200);
    const created = await admin("POST", "/tyk/keys", { alias: policyId, apply_policies: [policyId] });
    expect(created.status, JSON.stringify(created.json)).toBe(200);
    return created.json.key;
  }

  async function connect(apiId: string, key?: string): Promise<Client> {
    const client = new Client({ name: "traffic", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${gw.url}/${apiId}/mcp`), {
        ...(key ? { requestInit: { headers: { authorization: `Bearer ${key}` } } } : {}),
        reconnectionOptions: { maxRetries: 0, initialReconnectionDelay: 1000, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1 },
      }),
    );
    clients.push(client);
    return client;
  }

  const call = (client: Client, name: string, args: Record<string, unknown> = {}) => client.callTool({ name, arguments: args });
  const refused = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error("the request passed");
      },
      (error: unknown) => refusal(error),
    );

  /** An `initialize` request: the fixture answers it without a session. */
  const initialize = (id: number) => ({
    jsonrpc: "2.0",
    id,
    method: "initialize",
    params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "traffic", version: "1" } },
  });

  /** A raw JSON-RPC POST with a key (no session needed: the gateway refuses before the upstream). */
  const post = (apiId: string, body: unknown, key?: string) =>
    fetch(`${gw.url}/${apiId}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...(key ? { authorization: `Bearer ${key}` } : {}),
      },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    fixture = await startConformanceServer();
    gw = await startGateway(
      runtime,
      CASES.map((spec) => definitionOf(spec, fixture.url)),
    );
  }, 90_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close().catch(() => {})));
    await gw?.stop();
    await fixture?.stop();
  });

  test("the consumer's rate limit: -32003 with 429, Retry-After and X-RateLimit-* once it is used up", async () => {
    // Connecting takes two requests (initialize, notifications/initialized), tools/call the third.
    const key = await keyFor("key-rate", { rate: 4, per: 3600 });
    const client = await connect("key-rate", key);
    expect((await call(client, "test_simple_text")).isError).toBeFalsy();
    const { status, body } = await refused(call(client, "test_simple_text"));
    expect(status).toBe(429);
    expect(body).toMatchObject({ error: { code: -32003, data: { http_code: 429 } } });
    const raw = await post("key-rate", { jsonrpc: "2.0", id: 5, method: "ping" }, key);
    expect(raw.status).toBe(429);
    expect(raw.headers.get("x-ratelimit-limit")).toBe("4");
    expect(raw.headers.get("x-ratelimit-remaining")).toBe("0");
    const reset = Number(raw.headers.get("x-ratelimit-reset"));
    expect(reset * 1000).toBeGreaterThan(Date.now());
    expect(reset * 1000).toBeLessThanOrEqual(Math.floor(Date.now() / 3_600_000) * 3_600_000 + 3_600_000 + 1000);
    expect(Number(raw.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await raw.json()).toMatchObject({ id: 5, error: { code: -32003 } });
  });

  test("a JSON-RPC method's limit leaves the consumer's other methods alone", async () => {
    const key = await keyFor("method-rate", {}, { json_rpc_methods: [{ name: "tools/call", limit: { rate: 2, per: 3600 } }] });
    const client = await connect("method-rate", key);
    await call(client, "test_simple_text");
    await call(client, "test_image_content");
    expect((await refused(call(client, "test_simple_text"))).status).toBe(429);
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    await client.ping();
  });

  test("a consumer that exhausts one tool's budget can still call its other tools", async () => {
    const key = await keyFor(
      "tool-rate",
      { rate: 100, per: 3600 },
      { mcp_primitives: [{ type: "tool", name: "test_simple_text", limit: { rate: 1, per: 3600 } }] },
    );
    const client = await connect("tool-rate", key);
    await call(client, "test_simple_text");
    for (let i = 0; i < 5; i++) expect((await refused(call(client, "test_simple_text"))).status).toBe(429);
    for (let i = 0; i < 5; i++) expect((await call(client, "test_image_content")).isError).toBeFalsy();
  });

  test("a tool's own limit in the definition is shared by every consumer", async () => {
    const [one, two] = [await keyFor("shared-tool", {}), await keyFor("shared-tool", {})];
    const [a, b] = [await connect("shared-tool", one), await connect("shared-tool", two)];
    await call(a, "test_simple_text");
    await call(b, "test_simple_text");
    expect((await refused(call(a, "test_simple_text"))).status).toBe(429);
    expect((await refused(call(b, "test_simple_text"))).status).toBe(429);
    expect((await call(b, "test_image_content")).isError).toBeFalsy();
  });

  test("the proxy endpoint's limit and the upstream's limit count every consumer's requests", async () => {
    const statuses = async (apiId: string, count: number) => {
      const out: number[] = [];
      for (let i = 0; i < count; i++) out.push((await post(apiId, initialize(i))).status);
      return out;
    };
    expect(await statuses("endpoint", 5)).toEqual([200, 200, 200, 200, 429]);
    expect(await statuses("upstream", 6)).toEqual([200, 200, 200, 200, 200, 429]);
    // Through the SDK client too (its initialize is refused).
    expect((await connect("upstream").catch((error: unknown) => refusal(error))) as { status: number }).toMatchObject({ status: 429 });
  });

  test("a quota: -32005 with 403 once used up; the key shows it; an update renews it unless suppress_reset=1", async () => {
    const key = await keyFor("quota", { quota_max: 3, quota_renewal_rate: 3600 });
    for (let i = 0; i < 3; i++) expect((await post("quota", initialize(i), key)).status).toBe(200);
    const over = await post("quota", initialize(9), key);
    expect(over.status).toBe(403);
    expect(await over.json()).toMatchObject({ id: 9, error: { code: -32005, data: { http_code: 403 } } });
    const shown = await admin("GET", `/tyk/keys/${key}`);
    expect(shown.json).toMatchObject({ quota_max: 3, quota_remaining: 0 });
    expect(shown.json.quota_renews * 1000).toBeGreaterThan(Date.now() + 3_500_000);
    const session = { ...shown.json };
    for (const field of ["quota_max", "quota_remaining", "quota_renews", "key_hash"]) delete session[field];
    expect((await admin("PUT", `/tyk/keys/${key}?suppress_reset=1`, session)).status).toBe(200);
    expect((await post("quota", initialize(1), key)).status).toBe(403);
    expect((await admin("PUT", `/tyk/keys/${key}`, session)).status).toBe(200);
    expect((await admin("GET", `/tyk/keys/${key}`)).json).toMatchObject({ quota_remaining: 3 });
    // And the SDK client works again.
    const client = await connect("quota", key);
    expect((await refused(call(client, "test_simple_text"))).body).toMatchObject({ error: { code: -32005 } });
  });

  test("throttling: a request over the rate limit waits and tries again, within the configured bound", async () => {
    const key = await keyFor("throttle", { rate: 1, per: 1, throttle_interval: 1, throttle_retry_limit: 3 });
    const ping = (id: number) => post("throttle", initialize(id), key);
    // Windows start on whole seconds: begin early in one, so the second request must wait for the next.
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
    expect((await ping(1)).status).toBe(200);
    const started = Date.now();
    const second = await ping(2);
    expect(second.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    // Without throttling the same limit refuses at once.
    const strict = await keyFor("throttle", { rate: 1, per: 3600 });
    expect((await post("throttle", initialize(1), strict)).status).toBe(200);
    expect((await post("throttle", initialize(2), strict)).status).toBe(429);
  });

  test("a circuit breaker: after failures -32004 with 503 without reaching the upstream; other tools flow; a trial closes it", async () => {
    const client = await connect("breaker");
    for (let i = 0; i < 2; i++) await expect(call(client, "test_failing")).rejects.toThrow(/fails on purpose/);
    // The outcomes are recorded after each answer: give the last one a moment.
    await new Promise((r) => setTimeout(r, 200));
    const open = await refused(call(client, "test_failing", { fail: false }));
    expect(open.status).toBe(503);
    expect(open.body).toMatchObject({ error: { code: -32004, data: { http_code: 503 } } });
    expect((await call(client, "test_simple_text")).isError).toBeFalsy();
    // After the cool-down (2 s) one trial call decides: it works, so the circuit closes.
    await new Promise((r) => setTimeout(r, 2100));
    expect((await call(client, "test_failing", { fail: false })).content).toEqual([{ type: "text", text: "This time it worked" }]);
    await new Promise((r) => setTimeout(r, 200));
    expect((await call(client, "test_failing", { fail: false })).isError).toBeFalsy();
  });

  test("IP rules: a blocked address, or one off the allow list, gets -32006 with 403 before authentication", async () => {
    for (const apiId of ["ip-blocked", "ip-allowed"]) {
      const res = await post(apiId, { jsonrpc: "2.0", id: 1, method: "ping" });
      expect(res.status, apiId).toBe(403);
      // Refused before the body is read: the id is not known yet.
      expect(await res.json()).toMatchObject({ id: null, error: { code: -32006, data: { http_code: 403 } } });
    }
    const client = await connect("ip-local");
    await client.ping();
  });

  test("a tool's own size limit: a bigger call gets 413; other tools keep the global limit", async () => {
    const client = await connect("size");
    expect((await call(client, "test_simple_text")).isError).toBeFalsy();
    const big = { padding: "x".repeat(300) };
    expect((await refused(call(client, "test_simple_text", big))).status).toBe(413);
    expect((await call(client, "test_image_content", big)).isError).toBeFalsy();
  });
});
