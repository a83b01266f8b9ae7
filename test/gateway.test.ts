/**
 * The composed app through `app.request`, with a memory store and a recording fetch in place of
 * the network: the order of the request path and the one error boundary.
 */
import { describe, expect, test } from "vitest";
import { DefinitionRepository } from "../src/definitions/repository.ts";
import { validateDefinition } from "../src/definitions/schema.ts";
import { createGateway } from "../src/gateway.ts";
import { MemoryStore } from "../src/stores/memory.ts";
import type { KeyValueStore } from "../src/stores/types.ts";
import { mcpDefinition } from "./helpers/definitions.ts";
import { MCP_POST_HEADERS, ping } from "./helpers/mcp.ts";

async function setup(fetchImpl?: typeof fetch, store: KeyValueStore = new MemoryStore()) {
  const r = validateDefinition(mcpDefinition({ id: "a", listenPath: "/a/", upstream: "http://upstream.test" }));
  if (!r.ok) throw new Error("bad");
  await new DefinitionRepository(store).put("mcp", r.definition);
  const calls: Request[] = [];
  const app = createGateway({
    store,
    log: () => {},
    fetch: async (input, init) => {
      const request = new Request(input, init);
      calls.push(request);
      return fetchImpl ? fetchImpl(request) : Response.json({ jsonrpc: "2.0", id: 1, result: {} });
    },
  });
  return { app, calls };
}

const body = ping();

describe("the request path", () => {
  test("a POST with no Accept header gets 406 and nothing is forwarded", async () => {
    const { app, calls } = await setup();
    const res = await app.request("/a/mcp", { method: "POST", body, headers: { "content-type": "application/json" } });
    expect(res.status).toBe(406);
    expect(await res.json()).toMatchObject({ id: null, error: { code: -32000, data: { http_code: 406 } } });
    expect(calls).toHaveLength(0);
  });

  test("Accept with q=0 for SSE does not count as accepting it", async () => {
    const { app } = await setup();
    const res = await app.request("/a/mcp", {
      method: "POST",
      body,
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream;q=0" },
    });
    expect(res.status).toBe(406);
  });

  test("Content-Type with a charset is accepted", async () => {
    const { app, calls } = await setup();
    const res = await app.request("/a/mcp", {
      method: "POST",
      body,
      headers: { "content-type": "application/json; charset=utf-8", accept: "application/json, text/event-stream" },
    });
    expect(res.status).toBe(200);
    expect(calls).toHaveLength(1);
  });

  test("the forwarded body is the client's exact bytes", async () => {
    const { app, calls } = await setup();
    const spaced = '{ "jsonrpc" : "2.0", "id" : 1, "method" : "ping" }';
    await app.request("/a/mcp", {
      method: "POST",
      body: spaced,
      headers: MCP_POST_HEADERS,
    });
    expect(await calls[0]!.text()).toBe(spaced);
    expect(calls[0]!.redirect).toBe("manual");
  });

  test("an upstream redirect goes back to the client, not followed", async () => {
    const { app } = await setup(async () => new Response(null, { status: 307, headers: { location: "http://elsewhere/" } }));
    const res = await app.request("/a/mcp", {
      method: "POST",
      body,
      headers: MCP_POST_HEADERS,
    });
    expect(res.status).toBe(307);
    expect(res.headers.get("location")).toBe("http://elsewhere/");
  });

  test("an unexpected failure becomes a 500 JSON-RPC error that leaks nothing", async () => {
    const { app } = await setup(async () => {
      throw new TypeError("secret internal detail");
    });
    const res = await app.request("/a/mcp", {
      method: "POST",
      body,
      headers: MCP_POST_HEADERS,
    });
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(text).not.toContain("secret internal detail");
  });
});

describe("definitions that cannot be compiled", () => {
  test("are skipped with a warning when the routing table is built; the others keep serving", async () => {
    const store = new MemoryStore();
    const good = validateDefinition(mcpDefinition({ id: "good", listenPath: "/good/", upstream: "http://upstream.test" }));
    const bad = validateDefinition({
      ...(mcpDefinition({ id: "bad", listenPath: "/bad/", upstream: "http://upstream.test" }) as Record<string, any>),
      components: { securitySchemes: { jwt: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } },
    });
    if (!good.ok || !bad.ok) throw new Error("bad fixture");
    // Written past the admin API (which refuses it), as an older gateway or a hand edit might have.
    bad.definition["x-tyk-api-gateway"].server.authentication = { enabled: true, securitySchemes: { jwt: { enabled: true } } };
    await new DefinitionRepository(store).put("mcp", good.definition);
    await new DefinitionRepository(store).put("mcp", bad.definition);
    const warnings: [string, unknown][] = [];
    const app = createGateway({
      store,
      log: (message, detail) => warnings.push([message, detail]),
      fetch: async () => Response.json({ jsonrpc: "2.0", id: 1, result: {} }),
    });
    expect((await app.request("/good/mcp", { method: "POST", body, headers: MCP_POST_HEADERS })).status).toBe(200);
    const refused = await app.request("/bad/mcp", { method: "POST", body, headers: MCP_POST_HEADERS });
    expect(refused.status).toBe(404);
    expect(warnings).toEqual([
      [
        "skipping invalid definition mcp:bad",
        ["x-tyk-api-gateway.server.authentication.securitySchemes.jwt: a JWT scheme needs source or jwksURIs"],
      ],
    ]);
  });
});

describe("header transforms and internal primitives", () => {
  async function gatewayWith(middleware: Record<string, unknown>) {
    const store = new MemoryStore();
    const r = validateDefinition(mcpDefinition({ id: "t", listenPath: "/t/", upstream: "http://upstream.test", middleware }));
    if (!r.ok) throw new Error(r.issues.join("; "));
    await new DefinitionRepository(store).put("mcp", r.definition);
    const calls: Request[] = [];
    const app = createGateway({
      store,
      log: () => {},
      fetch: async (input, init) => {
        const request = new Request(input, init);
        calls.push(request);
        const body = (await request.clone().json()) as { method: string };
        const result = body.method === "tools/list" ? { tools: [{ name: "open" }, { name: "hidden" }] } : {};
        return Response.json({ jsonrpc: "2.0", id: 1, result }, { headers: { "x-upstream-secret": "s", "x-kept": "k" } });
      },
    });
    return { app, calls };
  }
  const callTool = (name: string) => JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name, arguments: {} } });

  test("transformRequestHeaders of the operation and of the tool reach the upstream; transformResponseHeaders reach the client", async () => {
    const { app, calls } = await gatewayWith({
      global: { transformResponseHeaders: { enabled: true, remove: ["x-upstream-secret"], add: [{ name: "x-global", value: "g" }] } },
      operations: { mcpTransportPost: { transformRequestHeaders: { enabled: true, add: [{ name: "x-operation", value: "op" }] } } },
      mcpTools: {
        open: {
          transformRequestHeaders: { enabled: true, remove: ["x-client-only"], add: [{ name: "x-tool", value: "open" }] },
          transformResponseHeaders: { enabled: true, add: [{ name: "x-tool-answer", value: "yes" }] },
        },
      },
    });
    const res = await app.request("/t/mcp", {
      method: "POST",
      body: callTool("open"),
      headers: { ...MCP_POST_HEADERS, "x-client-only": "c" },
    });
    expect(res.status).toBe(200);
    expect(calls[0]!.headers.get("x-operation")).toBe("op");
    expect(calls[0]!.headers.get("x-tool")).toBe("open");
    expect(calls[0]!.headers.has("x-client-only")).toBe(false);
    expect(res.headers.get("x-global")).toBe("g");
    expect(res.headers.get("x-tool-answer")).toBe("yes");
    expect(res.headers.has("x-upstream-secret")).toBe(false);
    expect(res.headers.get("x-kept")).toBe("k");
    // Another tool gets the operation's and the global transforms only.
    const other = await app.request("/t/mcp", {
      method: "POST",
      body: callTool("other"),
      headers: { ...MCP_POST_HEADERS, "x-client-only": "c" },
    });
    expect(calls[1]!.headers.has("x-tool")).toBe(false);
    expect(calls[1]!.headers.get("x-client-only")).toBe("c");
    expect(other.headers.has("x-tool-answer")).toBe(false);
  });

  test("an internal tool can be neither called nor seen by any client", async () => {
    const { app, calls } = await gatewayWith({ mcpTools: { hidden: { internal: { enabled: true } } } });
    const refused = await app.request("/t/mcp", { method: "POST", body: callTool("hidden"), headers: MCP_POST_HEADERS });
    expect(refused.status).toBe(403);
    expect(calls).toHaveLength(0);
    const list = await app.request("/t/mcp", {
      method: "POST",
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
      headers: MCP_POST_HEADERS,
    });
    expect(((await list.json()) as any).result.tools).toEqual([{ name: "open" }]);
  });
});
