/**
 * Transport behaviour that depends on the runtime, on workerd, Bun and Deno: a client that goes
 * away cancels the upstream request (while the upstream has not answered yet, and while its answer
 * streams), the upstream timeout, SSE events passed on as they come, and CORS (a preflight the
 * gateway answers; a labelled answer that still streams).
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { mcpDefinition } from "../helpers/definitions.ts";
import { RUNTIMES, startGateway, type RunningGateway } from "../helpers/gateways.ts";
import { startUpstream, type TestUpstream } from "../helpers/upstream.ts";
import { MCP_POST_HEADERS, ping } from "../helpers/mcp.ts";

/** The response head exactly as it crosses the wire (fetch would hide what the server wrote). */
async function rawPost(url: string, body: string): Promise<{ status: number; headers: [string, string][] }> {
  const { hostname, port, pathname } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.write(
    `POST ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\n` +
      `Accept: application/json, text/event-stream\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  let text = "";
  for await (const chunk of socket) {
    text += chunk.toString("latin1");
    if (text.includes("\r\n\r\n")) break;
  }
  socket.destroy();
  const [statusLine, ...lines] = text.slice(0, text.indexOf("\r\n\r\n")).split("\r\n");
  const headers = lines.map(
    (line) => [line.slice(0, line.indexOf(":")).toLowerCase(), line.slice(line.indexOf(":") + 1).trim()] as [string, string],
  );
  return { status: Number(statusLine!.split(" ")[1]), headers };
}

const APP_ORIGIN = "https://app.example";

describe.each(RUNTIMES)("transport on %s", (runtime) => {
  let gw: RunningGateway;
  let up: TestUpstream;

  beforeAll(async () => {
    up = await startUpstream();
    gw = await startGateway(
      runtime,
      [
        mcpDefinition({ id: "t", listenPath: "/t/", upstream: up.url }),
        mcpDefinition({
          id: "c",
          listenPath: "/c/",
          upstream: up.url,
          middleware: { global: { cors: { enabled: true, allowedOrigins: [APP_ORIGIN], maxAge: 60 } } },
        }),
      ],
      { upstreamTimeoutSeconds: 2 },
    );
  });
  afterAll(async () => {
    await gw?.stop();
    await up?.stop();
  });

  // Local workerd does not tell a Worker that its client left before the response began
  // (`request.signal` does not fire, with or without Miniflare's entry worker in front), so there
  // the upstream request runs to its timeout.
  test.skipIf(runtime === "workers")("a client that leaves before the upstream answers cancels the upstream request", async () => {
    const before = up.aborted;
    let arrived!: () => void;
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    up.handle(() => arrived()); // never answers
    const controller = new AbortController();
    const pending = fetch(`${gw.url}/t/mcp`, { method: "POST", headers: MCP_POST_HEADERS, body: ping(1), signal: controller.signal });
    await reached;
    controller.abort();
    await expect(pending).rejects.toThrow();
    // Well before the 2 s timeout would end it.
    await expect.poll(() => up.aborted, { timeout: 1500, interval: 20 }).toBeGreaterThan(before);
  });

  test("a client that leaves while the answer streams cancels the upstream request", async () => {
    const before = up.aborted;
    up.handle((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\n\n');
      // A live stream: an event now and then, never an end. (Local workerd notices a client that
      // left only when it next writes to it.)
      const timer = setInterval(() => res.write(": keep-alive\n\n"), 100);
      res.on("close", () => clearInterval(timer));
    });
    const controller = new AbortController();
    const res = await fetch(`${gw.url}/t/mcp`, { method: "POST", headers: MCP_POST_HEADERS, body: ping(2), signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let seen = "";
    while (!seen.includes("notifications/progress")) seen += decoder.decode((await reader.read()).value);
    controller.abort();
    await expect.poll(() => up.aborted, { timeout: 1500, interval: 20 }).toBeGreaterThan(before);
  });

  test("a client that leaves an idle stream (GET, or a POST with nothing to report yet) cancels the upstream request within a second", async () => {
    // The upstream sends one event and then nothing: the gateway alone must notice the client left.
    up.handle((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('event: message\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"open"}}\n\n');
    });
    const before = up.aborted;
    const streams = 10;
    const controllers = Array.from({ length: streams }, () => new AbortController());
    await Promise.all(
      controllers.map(async (controller, i) => {
        const get = i % 2 === 0;
        const res = await fetch(`${gw.url}/t/mcp`, {
          method: get ? "GET" : "POST",
          headers: get ? { accept: "text/event-stream" } : MCP_POST_HEADERS,
          ...(get ? {} : { body: ping(100 + i) }),
          signal: controller.signal,
        });
        const reader = res.body!.getReader();
        const decoder = new TextDecoder();
        let seen = "";
        while (!seen.includes('"open"')) seen += decoder.decode((await reader.read()).value);
      }),
    );
    for (const controller of controllers) controller.abort();
    await expect.poll(() => up.aborted - before, { timeout: 1000, interval: 20 }).toBe(streams);
  });

  test("the upstream's hop-by-hop response headers, and those its Connection header names, stay at the gateway", async () => {
    up.handle((_req, res, body) => {
      res.writeHead(200, {
        "content-type": "application/json",
        connection: "keep-alive, x-hop",
        "keep-alive": "timeout=7, max=99",
        "x-hop": "hop",
        "proxy-connection": "keep-alive",
        "proxy-authenticate": "Basic",
        "mcp-session-id": "s-raw",
      });
      res.end(JSON.stringify({ jsonrpc: "2.0", id: JSON.parse(body).id, result: {} }));
    });
    const { status, headers } = await rawPost(`${gw.url}/t/mcp`, ping(9));
    expect(status).toBe(200);
    const names = headers.map(([name]) => name);
    expect(names).toContain("mcp-session-id");
    for (const name of ["x-hop", "proxy-connection", "proxy-authenticate"]) expect(names, name).not.toContain(name);
    // The server's own Keep-Alive or Connection, if any, never the upstream's.
    for (const [name, value] of headers) {
      if (name === "keep-alive") expect(value).not.toContain("max=99");
      if (name === "connection") expect(value.toLowerCase()).not.toContain("x-hop");
    }
  });

  test("a slow upstream answer that arrives in time is passed on", async () => {
    up.handle((_req, res, body) => {
      setTimeout(() => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ jsonrpc: "2.0", id: JSON.parse(body).id, result: { slow: true } }));
      }, 300);
    });
    const res = await fetch(`${gw.url}/t/mcp`, { method: "POST", headers: MCP_POST_HEADERS, body: ping(3) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ jsonrpc: "2.0", id: 3, result: { slow: true } });
  });

  test("an upstream past the timeout gets -32004 with 504, and its request is cancelled", async () => {
    const before = up.aborted;
    up.handle(() => {});
    const started = Date.now();
    const res = await fetch(`${gw.url}/t/mcp`, { method: "POST", headers: MCP_POST_HEADERS, body: ping(4) });
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ jsonrpc: "2.0", id: 4, error: { code: -32004, data: { http_code: 504 } } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    await expect.poll(() => up.aborted, { timeout: 1500, interval: 20 }).toBeGreaterThan(before);
  }, 10_000);

  test("each SSE event reaches the client when the upstream sends it", async () => {
    up.handle(async (_req, res, body) => {
      const id = JSON.parse(body).id;
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (let i = 1; i <= 3; i++) {
        res.write(`event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":${i}}}\n\n`);
        await new Promise((r) => setTimeout(r, 150));
      }
      res.end(`event: message\ndata: {"jsonrpc":"2.0","id":${id},"result":{}}\n\n`);
    });
    const started = Date.now();
    const res = await fetch(`${gw.url}/t/mcp`, { method: "POST", headers: MCP_POST_HEADERS, body: ping(5) });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes('"progress":1')) text += decoder.decode((await reader.read()).value);
    // The first event arrives long before the last is sent (450 ms later).
    expect(Date.now() - started).toBeLessThan(300);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    expect(text).toContain('"progress":3');
    expect(text).toContain('"id":5');
  });
  test("CORS: the gateway answers a browser's preflight itself, and the upstream sees nothing", async () => {
    let reached = false;
    up.handle((_req, res) => {
      reached = true;
      res.writeHead(500).end();
    });
    const res = await fetch(`${gw.url}/c/mcp`, {
      method: "OPTIONS",
      headers: {
        origin: APP_ORIGIN,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, mcp-session-id",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(APP_ORIGIN);
    expect(res.headers.get("access-control-allow-methods")).toBe("GET, POST, DELETE");
    expect(res.headers.get("access-control-allow-headers")).toBe("content-type, mcp-session-id");
    expect(res.headers.get("access-control-max-age")).toBe("60");
    expect(reached).toBe(false);
  });

  test("CORS: an answer to an allowed origin is labelled and still streams event by event", async () => {
    up.handle(async (_req, res, body) => {
      const id = JSON.parse(body).id;
      res.writeHead(200, { "content-type": "text/event-stream", "mcp-session-id": "s-cors", "access-control-allow-origin": "*" });
      res.write('event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\n\n');
      await new Promise((r) => setTimeout(r, 450));
      res.end(`event: message\ndata: {"jsonrpc":"2.0","id":${id},"result":{}}\n\n`);
    });
    const started = Date.now();
    const res = await fetch(`${gw.url}/c/mcp`, { method: "POST", headers: { ...MCP_POST_HEADERS, origin: APP_ORIGIN }, body: ping(6) });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(APP_ORIGIN);
    expect(res.headers.get("access-control-expose-headers")).toBe("mcp-session-id, mcp-protocol-version, www-authenticate");
    expect(res.headers.get("mcp-session-id")).toBe("s-cors");
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes('"progress":1')) text += decoder.decode((await reader.read()).value);
    // The first event arrives long before the last is sent (450 ms later).
    expect(Date.now() - started).toBeLessThan(350);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    expect(text).toContain('"id":6');
  });

  test("CORS: an origin that may not call gets 403 without CORS headers", async () => {
    const res = await fetch(`${gw.url}/c/mcp`, {
      method: "POST",
      headers: { ...MCP_POST_HEADERS, origin: "https://evil.example" },
      body: ping(7),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(await res.json()).toMatchObject({ id: null, error: { data: { http_code: 403 } } });
  });
});
