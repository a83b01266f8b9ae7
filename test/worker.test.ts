/**
 * The gateway inside workerd (Miniflare), with a real KV namespace: routing from KV and live
 * updates, the transport rules, streaming, and every way an upstream can fail.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { APIS_VERSION_KEY, definitionKey } from "../src/stores/layout.ts";
import { mcpDefinition } from "./helpers/definitions.ts";
import { startGateway, type RunningGateway } from "./helpers/gateways.ts";
import { jsonRpcResult, startUpstream, type TestUpstream } from "./helpers/upstream.ts";
import { MCP_POST_HEADERS, ping } from "./helpers/mcp.ts";

let up: TestUpstream;
let gw: RunningGateway;

const post = (path: string, body: string, headers: Record<string, string> = MCP_POST_HEADERS) =>
  fetch(`${gw.url}${path}`, { method: "POST", headers, body });

beforeAll(async () => {
  up = await startUpstream();
  gw = await startGateway(
    "workers",
    [
      mcpDefinition({ id: "main", listenPath: "/main/", upstream: up.url }),
      mcpDefinition({ id: "nested", listenPath: "/main/inner/", upstream: `${up.url}/inner-base` }),
      mcpDefinition({ id: "off", listenPath: "/off/", upstream: up.url, active: false }),
      mcpDefinition({ id: "down", listenPath: "/down/", upstream: "http://127.0.0.1:9" }),
      mcpDefinition({ id: "post-only", listenPath: "/post-only/", upstream: up.url, transport: ["post"] }),
      mcpDefinition({
        id: "small",
        listenPath: "/small/",
        upstream: up.url,
        middleware: {
          global: { requestSizeLimit: { enabled: true, value: 300 } },
          mcpTools: { slow: { enforceTimeout: { enabled: true, value: 1 } } },
        },
      }),
    ],
    // Every request reads the store's stamp here: direct KV writes must be live on the next request.
    { upstreamTimeoutSeconds: 3, env: { GATEWAY_CONFIG_MAX_AGE_MS: "0" } },
  );
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await up?.stop();
});

beforeEach(() => {
  up.seen.length = 0;
  up.handle((_req, res, body) => jsonRpcResult(res, body, { ok: true }));
});

describe("routing from KV", () => {
  test("a request on a listen path reaches its upstream with the listen path stripped", async () => {
    const res = await post("/main/mcp", ping(7));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ jsonrpc: "2.0", id: 7, result: { ok: true } });
    expect(up.seen[0]?.url).toBe("/mcp");
    expect(up.seen[0]?.body).toBe(ping(7));
  });

  test("the longest listen path wins, and the upstream's base path is kept", async () => {
    await post("/main/inner/mcp?x=1", ping());
    expect(up.seen[0]?.url).toBe("/inner-base/mcp?x=1");
  });

  test("an unknown path gets 404 with a JSON-RPC error", async () => {
    const res = await post("/nowhere/mcp", ping());
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ id: null, error: { code: -32000, data: { http_code: 404 } } });
    expect(up.seen).toHaveLength(0);
  });

  test("an inactive proxy gets 404 saying so", async () => {
    const res = await post("/off/mcp", ping());
    expect(res.status).toBe(404);
    expect((await res.json()).error.message).toMatch(/not active/);
    expect(up.seen).toHaveLength(0);
  });

  test("a definition written to KV serves on the next request, and a delete 404s on the next", async () => {
    const store = gw.store!;
    const def = mcpDefinition({ id: "late", listenPath: "/late/", upstream: up.url });
    expect((await post("/late/mcp", ping())).status).toBe(404);
    await store.put(definitionKey("mcp", "late"), JSON.stringify(def));
    await store.put(APIS_VERSION_KEY, `v-${Date.now()}`);
    expect((await post("/late/mcp", ping())).status).toBe(200);
    await store.delete(definitionKey("mcp", "late"));
    await store.put(APIS_VERSION_KEY, `v-${Date.now()}-2`);
    expect((await post("/late/mcp", ping())).status).toBe(404);
  });
});

describe("the Streamable HTTP transport", () => {
  test("malformed JSON gets -32700 and never reaches the upstream", async () => {
    const res = await post("/main/mcp", "{oops");
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: -32700, data: { http_code: 400 } } });
    expect(up.seen).toHaveLength(0);
  });

  test("a batch gets -32600 and never reaches the upstream", async () => {
    const res = await post("/main/mcp", `[${ping(1)},${ping(2)}]`);
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe(-32600);
    expect(up.seen).toHaveLength(0);
  });

  test("a duplicate method member is refused with the request's id", async () => {
    const res = await post("/main/mcp", '{"jsonrpc":"2.0","id":9,"method":"ping","method":"tools/call"}');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ id: 9, error: { code: -32600 } });
    expect(up.seen).toHaveLength(0);
  });

  test("a wrong Content-Type gets 415", async () => {
    const res = await post("/main/mcp", ping(), { ...MCP_POST_HEADERS, "content-type": "text/plain" });
    expect(res.status).toBe(415);
    expect((await res.json()).error.code).toBe(-32000);
  });

  test("an Accept without both JSON and SSE gets 406", async () => {
    expect((await post("/main/mcp", ping(), { "content-type": "application/json", accept: "text/html" })).status).toBe(406);
    expect((await post("/main/mcp", ping(), { "content-type": "application/json", accept: "application/json" })).status).toBe(406);
    expect((await post("/main/mcp", ping(), { "content-type": "application/json", accept: "*/*" })).status).toBe(200);
  });

  test("an oversize body gets 413 with a JSON-RPC error", async () => {
    const big = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "x", arguments: { s: "y".repeat(400) } } });
    const res = await post("/small/mcp", big);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: -32600, data: { http_code: 413 } } });
    expect(up.seen).toHaveLength(0);
  });

  test("notifications and client responses get the upstream's 202", async () => {
    up.handle((_req, res) => {
      res.writeHead(202);
      res.end();
    });
    const n = await post("/main/mcp", JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
    expect(n.status).toBe(202);
    const r = await post("/main/mcp", JSON.stringify({ jsonrpc: "2.0", id: "s-1", result: { roots: [] } }));
    expect(r.status).toBe(202);
    expect(up.seen.map((s) => JSON.parse(s.body).id ?? "note")).toEqual(["note", "s-1"]);
  });

  test("session and protocol headers pass both ways; credentials do not", async () => {
    up.handle((_req, res, body) => {
      res.writeHead(200, { "content-type": "application/json", "mcp-session-id": "sess-2" });
      res.end(body);
    });
    const res = await post("/main/mcp", ping(), {
      ...MCP_POST_HEADERS,
      "mcp-session-id": "sess-1",
      "mcp-protocol-version": "2025-11-25",
      authorization: "Bearer secret",
      cookie: "a=b",
    });
    expect(res.headers.get("mcp-session-id")).toBe("sess-2");
    const h = up.seen[0]!.headers;
    expect(h["mcp-session-id"]).toBe("sess-1");
    expect(h["mcp-protocol-version"]).toBe("2025-11-25");
    expect(h.authorization).toBeUndefined();
    expect(h.cookie).toBeUndefined();
    expect(h["x-forwarded-proto"]).toBe("http");
    expect(h.host).toBe(new URL(up.url).host);
  });

  test("GET and DELETE pass through with Last-Event-ID", async () => {
    up.handle((req, res) => {
      res.writeHead(req.method === "GET" ? 200 : 204, req.method === "GET" ? { "content-type": "text/event-stream" } : {});
      res.end(req.method === "GET" ? "id: 5\ndata: {}\n\n" : undefined);
    });
    const get = await fetch(`${gw.url}/main/mcp`, {
      headers: { accept: "text/event-stream", "mcp-session-id": "s", "last-event-id": "4" },
    });
    expect(get.status).toBe(200);
    expect(await get.text()).toBe("id: 5\ndata: {}\n\n");
    const del = await fetch(`${gw.url}/main/mcp`, { method: "DELETE", headers: { "mcp-session-id": "s" } });
    expect(del.status).toBe(204);
    expect(up.seen.map((s) => [s.method, s.headers["last-event-id"]])).toEqual([
      ["GET", "4"],
      ["DELETE", undefined],
    ]);
  });

  test("GET and DELETE reach the upstream whatever the proxy's paths declare; another method gets 405 with Allow", async () => {
    up.handle((req, res) => {
      if (req.method === "GET") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end("data: {}\n\n");
      } else {
        res.writeHead(req.method === "DELETE" ? 200 : 405).end();
      }
    });
    // The transport's methods go on (Tyk OAS operations attach middleware; they do not decide this).
    const stream = await fetch(`${gw.url}/post-only/mcp`, { headers: { accept: "text/event-stream", "mcp-session-id": "s" } });
    expect(stream.status).toBe(200);
    expect(await stream.text()).toBe("data: {}\n\n");
    const ended = await fetch(`${gw.url}/post-only/mcp`, { method: "DELETE", headers: { "mcp-session-id": "s" } });
    expect(ended.status).toBe(200);
    expect(up.seen.map((r) => [r.method, r.url, r.headers["mcp-session-id"]])).toEqual([
      ["GET", "/mcp", "s"],
      ["DELETE", "/mcp", "s"],
    ]);
    up.seen.length = 0;
    for (const method of ["PUT", "PATCH"]) {
      const res = await fetch(`${gw.url}/post-only/mcp`, { method, headers: MCP_POST_HEADERS, body: ping() });
      expect(res.status, method).toBe(405);
      expect(res.headers.get("allow")).toBe("GET, POST, DELETE");
      expect(await res.json()).toEqual({
        jsonrpc: "2.0",
        id: null,
        error: {
          code: -32000,
          message: `This MCP endpoint does not serve ${method}; it serves GET, POST, DELETE`,
          data: { http_code: 405 },
        },
      });
    }
    expect(up.seen).toHaveLength(0);
    // POST is served; a path the document does not declare is the upstream's to answer.
    up.handle((_req, res, body) => jsonRpcResult(res, body, { ok: true }));
    expect((await post("/post-only/mcp", ping())).status).toBe(200);
    const undeclared = await fetch(`${gw.url}/post-only/other`, { headers: { accept: "text/event-stream" } });
    expect(undeclared.status).toBe(200);
    await undeclared.body?.cancel();
    expect(up.seen.map((s) => [s.method, s.url])).toEqual([
      ["POST", "/mcp"],
      ["GET", "/other"],
    ]);
  });

  test("an upstream's JSON-RPC error passes untouched, whatever its status", async () => {
    up.handle((_req, res) => {
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}}');
    });
    const res = await post("/main/mcp", ping());
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}}');
  });
});

describe("streaming", () => {
  test("each SSE event reaches the client when the upstream sends it", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    up.handle(async (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\n\n');
      await gate;
      res.end('event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n');
    });
    const res = await post("/main/mcp", ping(1));
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain("notifications/progress");
    release();
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toContain('"result"');
  });

  test("an upstream that dies mid-stream ends it with a -32004 error for the request", async () => {
    up.handle((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress"}\n\ndata: {"partial');
      setTimeout(() => res.destroy(), 50);
    });
    const res = await post("/main/mcp", ping(33));
    const text = await res.text();
    expect(text).toContain("event: gateway-discard");
    const last = text.trim().split("\n\n").at(-1)!;
    const data = JSON.parse(last.split("data: ")[1]!);
    expect(data).toMatchObject({ id: 33, error: { code: -32004, data: { http_code: 502 } } });
  });

  test("a client that disconnects cancels the upstream request", async () => {
    const before = up.aborted;
    up.handle((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: {}\n\n");
      // Never ends on its own; writes now and then (workerd notices a client that left when it next
      // writes to it).
      const timer = setInterval(() => res.write(": keep-alive\n\n"), 100);
      res.on("close", () => clearInterval(timer));
    });
    const controller = new AbortController();
    const res = await fetch(`${gw.url}/main/mcp`, { method: "POST", headers: MCP_POST_HEADERS, body: ping(), signal: controller.signal });
    await res.body!.getReader().read();
    controller.abort();
    await expect.poll(() => up.aborted, { timeout: 2000 }).toBeGreaterThan(before);
  });
});

describe("upstream failures", () => {
  test("an upstream that is down gets -32004 with 502", async () => {
    const res = await post("/down/mcp", ping(5));
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ id: 5, error: { code: -32004, data: { http_code: 502 } } });
  });

  test("an upstream 5xx outside JSON-RPC gets -32004 with 502", async () => {
    up.handle((_req, res) => {
      res.writeHead(503, { "content-type": "text/html" });
      res.end("<h1>Service Unavailable</h1>");
    });
    const res = await post("/main/mcp", ping(6));
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ id: 6, error: { code: -32004 } });
  });

  test("an upstream past the API's timeout gets -32004 with 504", async () => {
    up.handle(() => {});
    const res = await post("/main/mcp", ping(8));
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ id: 8, error: { code: -32004, data: { http_code: 504 } } });
  }, 15_000);

  test("a primitive's own enforceTimeout applies to its calls", async () => {
    up.handle(() => {});
    const started = Date.now();
    const res = await post("/small/mcp", JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "slow" } }));
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(2900);
  }, 15_000);

  test("many concurrent requests all succeed (no request waits on another's I/O)", async () => {
    const results = await Promise.all(Array.from({ length: 64 }, (_, i) => post("/main/mcp", ping(i))));
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
    await Promise.all(results.map((r) => r.arrayBuffer()));
  });

  test("the gateway keeps serving everyone else after failures", async () => {
    const res = await post("/main/mcp", ping(10));
    expect(res.status).toBe(200);
  });
});
