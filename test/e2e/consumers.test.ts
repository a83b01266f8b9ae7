/**
 * Consumers end to end on workerd, Bun and Deno, with the official SDK client against
 * server-everything: two keys with different policies see different `tools/list` results, call
 * exactly their tools and get -32002 for the rest; keys are revoked, expired and deactivated live;
 * discovery is filtered in JSON and in SSE answers; `initialize` stops advertising what a consumer
 * may not use.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { mcpDefinition, withTokenAuth } from "../helpers/definitions.ts";
import { RUNTIMES, startGateway, type RunningGateway, tykAdmin } from "../helpers/gateways.ts";
import { startEverything, type Running } from "../helpers/processes.ts";
import { MCP_POST_HEADERS, ping } from "../helpers/mcp.ts";

const API = "everything-secure";

/**
 * The SDK client surfaces a gateway refusal as its HTTP error, carrying the status and the JSON-RPC
 * error body: check both what the user sees and the code inside.
 */
function expectDenied(error: unknown, status = 403, code = -32002) {
  expect(error).toBeInstanceOf(Error);
  const message = String((error as Error).message);
  expect((error as { code?: unknown }).code).toBe(status);
  expect(message).toContain(`"code":${code}`);
}

function securedDefinition(upstream: string) {
  return withTokenAuth(mcpDefinition({ id: API, listenPath: "/secure/", upstream }));
}

describe.each(RUNTIMES)("consumers on %s", (runtime) => {
  let gw: RunningGateway;
  let everything: Running;
  const clients: Client[] = [];

  const admin = (method: string, path: string, body?: unknown) => tykAdmin(gw, method, path, body);

  async function connect(key: string | undefined, capabilities: Record<string, unknown> = {}) {
    const client = new Client({ name: "consumer-e2e", version: "1.0.0" }, { capabilities });
    const transport = new StreamableHTTPClientTransport(new URL(`${gw.url}/secure/mcp`), {
      requestInit: key ? { headers: { Authorization: `Bearer ${key}` } } : {},
    });
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  async function keyFor(policy: string, extra: Record<string, unknown> = {}) {
    const created = await admin("POST", "/tyk/keys", { alias: `${policy}-agent`, apply_policies: [policy], ...extra });
    expect(created.status).toBe(200);
    return created.json as { key: string; key_hash: string };
  }

  beforeAll(async () => {
    everything = await startEverything();
    gw = await startGateway(runtime, [securedDefinition(everything.url)]);
    const analyst = await admin("POST", "/tyk/policies", {
      id: "analyst",
      name: "Read-only analyst",
      state: "active",
      rate: 100,
      per: 60,
      access_rights: {
        [API]: {
          api_id: API,
          api_name: "Everything",
          versions: ["Default"],
          json_rpc_methods_access_rights: {
            blocked: ["logging/setLevel"],
          },
          mcp_access_rights: {
            tools: { allowed: ["echo", "get-sum"] },
            resources: { blocked: ["demo://resource/dynamic/.*"] },
            prompts: { allowed: ["simple-prompt"] },
          },
          mcp_primitives: [{ type: "tool", name: "echo", limit: { rate: 20, per: 60 } }],
        },
      },
    });
    expect(analyst.status).toBe(200);
    const adminPolicy = await admin("POST", "/tyk/policies", {
      id: "admin",
      name: "Administrator",
      access_rights: { [API]: { api_id: API, mcp_access_rights: { tools: { blocked: ["get-env"] } } } },
    });
    expect(adminPolicy.status).toBe(200);
    const noTools = await admin("POST", "/tyk/policies", {
      id: "no-tools",
      access_rights: { [API]: { api_id: API, json_rpc_methods_access_rights: { blocked: ["tools/.*"] } } },
    });
    expect(noTools.status).toBe(200);
  }, 90_000);

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  });

  afterAll(async () => {
    await gw?.stop();
    await everything?.stop();
  });

  test("without a key: 401 with a WWW-Authenticate challenge", async () => {
    const res = await fetch(`${gw.url}/secure/mcp`, {
      method: "POST",
      headers: MCP_POST_HEADERS,
      body: ping(),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(await res.json()).toMatchObject({ error: { code: -32001, data: { http_code: 401 } } });
    await expect(connect(undefined)).rejects.toThrow();
  });

  test("two keys with different policies see different tools and call exactly theirs", async () => {
    const analyst = await connect((await keyFor("analyst")).key);
    const admin = await connect((await keyFor("admin")).key);

    const analystTools = (await analyst.listTools()).tools.map((t) => t.name).sort();
    expect(analystTools).toEqual(["echo", "get-sum"]);
    const adminTools = (await admin.listTools()).tools.map((t) => t.name);
    expect(adminTools).toContain("trigger-long-running-operation");
    expect(adminTools).not.toContain("get-env");

    const echoed = await analyst.callTool({ name: "echo", arguments: { message: "hi" } });
    expect(JSON.stringify(echoed.content)).toContain("hi");

    expectDenied(await analyst.callTool({ name: "trigger-long-running-operation", arguments: { duration: 1, steps: 1 } }).catch((e) => e));
    expectDenied(await admin.callTool({ name: "get-env", arguments: {} }).catch((e) => e));
  });

  test("resources and prompts are filtered and enforced per policy", async () => {
    const analyst = await connect((await keyFor("analyst")).key);
    const prompts = (await analyst.listPrompts()).prompts.map((p) => p.name);
    expect(prompts).toEqual(["simple-prompt"]);
    expectDenied(await analyst.getPrompt({ name: "args-prompt", arguments: { city: "x" } }).catch((e) => e));
    const resources = (await analyst.listResources()).resources.map((r) => r.uri);
    expect(resources.some((u) => u.startsWith("demo://resource/dynamic/"))).toBe(false);
    const templates = (await analyst.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
    expect(templates.some((t) => t.startsWith("demo://resource/dynamic/"))).toBe(false);
    expectDenied(await analyst.readResource({ uri: "demo://resource/dynamic/text/1" }).catch((e) => e));
  });

  test("a blocked method is refused, and initialize stops advertising what cannot be called", async () => {
    const analyst = await connect((await keyFor("analyst")).key);
    expectDenied(await analyst.setLoggingLevel("debug").catch((e) => e));
    const noTools = await connect((await keyFor("no-tools")).key);
    expect(noTools.getServerCapabilities()?.tools).toBeUndefined();
    expect(noTools.getServerCapabilities()?.prompts).toBeDefined();
    expect(analyst.getServerCapabilities()?.tools).toBeDefined();
  });

  test("a revoked key stops working on the next request", async () => {
    const { key, key_hash } = await keyFor("admin");
    const client = await connect(key);
    await client.ping();
    expect((await admin("DELETE", `/tyk/keys/${key_hash}?hashed=true`)).status).toBe(200);
    expectDenied(await client.ping().catch((e) => e), 401, -32001);
  });

  test("an inactive key, and an expired one, stop working on the next request", async () => {
    const { key, key_hash } = await keyFor("admin");
    const client = await connect(key);
    await client.ping();
    expect((await admin("PUT", `/tyk/keys/${key_hash}?hashed=true`, { apply_policies: ["admin"], is_inactive: true })).status).toBe(200);
    await expect(client.ping()).rejects.toThrow();
    expect(
      (await admin("PUT", `/tyk/keys/${key_hash}?hashed=true`, { apply_policies: ["admin"], expires: Math.floor(Date.now() / 1000) - 1 }))
        .status,
    ).toBe(200);
    await expect(client.ping()).rejects.toThrow();
    expect((await admin("PUT", `/tyk/keys/${key_hash}?hashed=true`, { apply_policies: ["admin"], expires: 0 })).status).toBe(200);
    await client.ping();
  });

  test("a regenerated key replaces the old one at once", async () => {
    const { key, key_hash } = await keyFor("admin");
    const regenerated = await admin("POST", `/tyk/keys/${key_hash}/regenerate?hashed=true`);
    expect(regenerated.status).toBe(200);
    expect(regenerated.json.key).not.toBe(key);
    await expect(connect(key)).rejects.toThrow();
    const client = await connect(regenerated.json.key);
    await client.ping();
  });

  test("a policy change is live on the next request", async () => {
    await admin("POST", "/tyk/policies", {
      id: "changing",
      access_rights: { [API]: { api_id: API, mcp_access_rights: { tools: { allowed: ["echo"] } } } },
    });
    const client = await connect((await keyFor("changing")).key);
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["echo"]);
    await admin("PUT", "/tyk/policies/changing", {
      access_rights: { [API]: { api_id: API, mcp_access_rights: { tools: { allowed: ["echo", "get-sum"] } } } },
    });
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(["echo", "get-sum"]);
  });

  test("the stored key is a hash: the key itself is shown once", async () => {
    const { key, key_hash } = await keyFor("admin");
    const listed = await admin("GET", "/tyk/keys");
    expect(listed.json.keys).toContain(key_hash);
    expect(JSON.stringify(listed.json)).not.toContain(key);
    const got = await admin("GET", `/tyk/keys/${key_hash}?hashed=true`);
    expect(JSON.stringify(got.json)).not.toContain(key);
    expect(got.json.alias).toBe("admin-agent");
  });
});
