/**
 * End to end, with the official MCP SDK client: the same scenarios through the gateway on workerd
 * (Miniflare), Bun and Deno, against @modelcontextprotocol/server-everything over Streamable HTTP.
 *
 * What a user of the gateway sees: initialize (server info, capabilities, a session id), tools
 * (paginated list, calls, progress notifications streamed before the result), resources, prompts,
 * the server-to-client round trips (sampling, elicitation: the client's JSON-RPC response is a POST
 * the gateway forwards and the upstream answers 202), server notifications on the standalone GET
 * SSE stream, session termination (DELETE) and the upstream's answer to a dead session, and — with a
 * recording upstream of our own — which request headers cross the gateway.
 *
 * Set E2E_DIRECT=1 to also run every scenario straight against the upstream (no gateway), as a
 * baseline when a runtime fails.
 */
import { readFileSync } from "node:fs";
import { request as httpRequest, createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  type ClientCapabilities,
  type LoggingMessageNotification,
  type Progress,
  type ServerNotification,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { mcpDefinition } from "../helpers/definitions.ts";
import { RUNTIMES, startGateway, type RunningGateway, type Runtime } from "../helpers/gateways.ts";
import { root, startEverything, type Running } from "../helpers/processes.ts";
import { MCP_POST_HEADERS } from "../helpers/mcp.ts";

const EVERYTHING_DOCS = join(root, "node_modules/@modelcontextprotocol/server-everything/dist/docs");
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Target = Runtime | "direct";
const TARGETS: readonly Target[] = process.env.E2E_DIRECT ? ["direct", ...RUNTIMES] : RUNTIMES;

// ---------------------------------------------------------------------------------------------
// Shared upstreams: one server-everything and one header-recording upstream for the whole file.
// ---------------------------------------------------------------------------------------------

let everything: Running;
let recorder: Recorder;

beforeAll(async () => {
  [everything, recorder] = await Promise.all([startEverything(), startRecorder()]);
}, 60_000);

afterAll(async () => {
  await Promise.all([everything?.stop(), recorder?.stop()]);
});

interface Recorder {
  url: string;
  seen: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[];
  stop(): Promise<void>;
}

/** A tiny upstream that records each request and answers it with a JSON-RPC result. */
async function startRecorder(): Promise<Recorder> {
  const seen: Recorder["seen"] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
    let id: unknown = null;
    try {
      id = JSON.parse(body).id ?? null;
    } catch {}
    res.writeHead(200, { "content-type": "application/json", "mcp-session-id": "recorder-session" });
    res.end(JSON.stringify({ jsonrpc: "2.0", id, result: { recorded: true } }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** Polls `check` until it returns a value (not undefined/false) or `ms` pass. */
async function waitFor<T>(what: string, check: () => T | undefined | false, ms = 8_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Rejects if `promise` has not settled within `ms`. */
function within<T>(what: string, promise: Promise<T>, ms = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

interface HttpExchange {
  method: string;
  status: number;
  contentType: string | null;
  /** The JSON-RPC message(s) of a POST body, parsed. */
  sent?: unknown;
}

interface Connected {
  client: Client;
  transport: StreamableHTTPClientTransport;
  /** Every HTTP exchange the transport made, in order of response. */
  exchanges: HttpExchange[];
  /** Every server notification the client received, in order. */
  notifications: ServerNotification[];
  /** Transport errors (a closed GET stream that fails to reconnect lands here). */
  errors: Error[];
}

const toText = (content: unknown): string =>
  (content as { type: string; text?: string }[])
    .filter((c) => c.type === "text")
    .map((c) => c.text)
    .join("\n");

// ---------------------------------------------------------------------------------------------
// The scenarios, once per runtime
// ---------------------------------------------------------------------------------------------

describe.each(TARGETS)("MCP SDK client through the gateway on %s", (target) => {
  let gw: RunningGateway | undefined;
  let mcpUrl: string;
  let headersUrl: string;
  const open: Connected[] = [];

  beforeAll(async () => {
    if (target === "direct") {
      mcpUrl = `${everything.url}/mcp`;
      headersUrl = `${recorder.url}/mcp`;
      return;
    }
    gw = await startGateway(target, [
      mcpDefinition({ id: "everything", listenPath: "/everything/", upstream: everything.url, strip: true }),
      mcpDefinition({ id: "recorder", listenPath: "/recorder/", upstream: recorder.url, strip: true }),
      mcpDefinition({ id: "post-only", listenPath: "/post-only/", upstream: everything.url, strip: true, transport: ["post"] }),
    ]);
    mcpUrl = `${gw.url}/everything/mcp`;
    headersUrl = `${gw.url}/recorder/mcp`;
  }, 60_000);

  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.client.close().catch(() => {})));
  });

  afterAll(async () => {
    await gw?.stop();
  });

  /** Connects an SDK client (runs initialize) and records what it sees. */
  async function connect(capabilities: ClientCapabilities = {}, url = mcpUrl): Promise<Connected> {
    const exchanges: HttpExchange[] = [];
    const recordingFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      let sent: unknown;
      if (typeof init?.body === "string") sent = JSON.parse(init.body);
      exchanges.push({
        method: init?.method ?? "GET",
        status: response.status,
        contentType: response.headers.get("content-type"),
        sent,
      });
      return response;
    };
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      fetch: recordingFetch,
      // A standalone GET stream the server ends is not retried: no stray requests after a test.
      reconnectionOptions: { initialReconnectionDelay: 100, maxReconnectionDelay: 100, reconnectionDelayGrowFactor: 1, maxRetries: 0 },
    });
    const client = new Client({ name: "gateway-e2e", version: "1.0.0" }, { capabilities });
    const notifications: ServerNotification[] = [];
    const errors: Error[] = [];
    client.fallbackNotificationHandler = async (n) => void notifications.push(n as ServerNotification);
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void notifications.push(n));
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void notifications.push(n));
    client.onerror = (e) => void errors.push(e);
    const connected = { client, transport, exchanges, notifications, errors };
    open.push(connected);
    await within("connect (initialize)", client.connect(transport));
    return connected;
  }

  /** The standalone GET stream is open once the transport got a 200 SSE answer to its GET. */
  const getStreamOpen = (c: Connected) =>
    waitFor("the standalone GET SSE stream to open", () =>
      c.exchanges.find((e) => e.method === "GET" && e.status === 200 && e.contentType?.startsWith("text/event-stream")),
    );

  /** Raw initialize (no SDK): returns the session id and negotiated protocol version. */
  async function rawSession(): Promise<{ sessionId: string; protocolVersion: string }> {
    const init = await fetch(mcpUrl, {
      method: "POST",
      headers: MCP_POST_HEADERS,
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
      }),
    });
    expect(init.status).toBe(200);
    const sessionId = init.headers.get("mcp-session-id");
    expect(sessionId).toMatch(UUID);
    // An SSE answer (server-everything primes the stream with an empty event first) or JSON.
    const text = await init.text();
    const data = text.startsWith("{") ? text : /^data: (\{.*)$/m.exec(text)![1]!;
    const protocolVersion = JSON.parse(data).result.protocolVersion as string;
    const initialized = await fetch(mcpUrl, {
      method: "POST",
      headers: { ...MCP_POST_HEADERS, "mcp-session-id": sessionId!, "mcp-protocol-version": protocolVersion },
      body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
    });
    expect(initialized.status).toBe(202);
    await initialized.body?.cancel();
    return { sessionId: sessionId!, protocolVersion };
  }

  test("initialize: server info, capabilities and instructions as server-everything announces them, and a session id", async () => {
    const { client, transport, exchanges } = await connect();
    expect(client.getServerVersion()).toEqual({
      name: "mcp-servers/everything",
      title: "Everything Reference Server",
      version: "2.0.0",
    });
    expect(client.getServerCapabilities()).toMatchObject({
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      logging: {},
    });
    expect(client.getInstructions()).toBe(readFileSync(join(EVERYTHING_DOCS, "instructions.md"), "utf8"));
    expect(transport.sessionId).toMatch(UUID);
    expect(transport.protocolVersion).toBe("2025-11-25");
    // initialize answered 200, notifications/initialized was accepted with 202.
    expect(exchanges[0]).toMatchObject({ method: "POST", status: 200, sent: { method: "initialize" } });
    expect(exchanges[1]).toMatchObject({ method: "POST", status: 202, sent: { method: "notifications/initialized" } });
  });

  test("tools/list, following nextCursor until there is none", async () => {
    const { client } = await connect();
    const names: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.listTools(cursor ? { cursor } : {});
      names.push(...page.tools.map((t) => t.name));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 50);
    expect(cursor).toBeUndefined();
    expect(names).toEqual(expect.arrayContaining(["echo", "get-sum", "trigger-long-running-operation", "toggle-simulated-logging"]));
    expect(new Set(names).size).toBe(names.length);
    // Registered only for clients that declared sampling: this client did not.
    expect(names).not.toContain("trigger-sampling-request");
  });

  test("tools/call: echo and get-sum", async () => {
    const { client } = await connect();
    const echo = await client.callTool({ name: "echo", arguments: { message: "héllo through the gateway ✓" } });
    expect(echo.isError).toBeFalsy();
    expect(echo.content).toEqual([{ type: "text", text: "Echo: héllo through the gateway ✓" }]);
    const sum = await client.callTool({ name: "get-sum", arguments: { a: 19, b: 23 } });
    expect(sum.content).toEqual([{ type: "text", text: "The sum of 19 and 23 is 42." }]);
    // A tool error is the upstream's answer, passed through.
    const bad = await client.callTool({ name: "get-sum", arguments: { a: "x", b: 1 } });
    expect(bad.isError).toBe(true);
  });

  test("tools/call: progress notifications stream in order before the result", async () => {
    const { client, exchanges } = await connect();
    const progress: Progress[] = [];
    let progressWhenResolved = -1;
    const started = Date.now();
    const result = await client
      .callTool({ name: "trigger-long-running-operation", arguments: { duration: 1.2, steps: 4 } }, undefined, {
        onprogress: (p) => void progress.push(p),
        timeout: 15_000,
      })
      .then((r) => {
        progressWhenResolved = progress.length;
        return r;
      });
    expect(toText(result.content)).toBe("Long running operation completed. Duration: 1.2 seconds, Steps: 4.");
    expect(progressWhenResolved).toBe(4);
    expect(progress).toEqual([1, 2, 3, 4].map((i) => ({ progress: i, total: 4 })));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    // The answer came as an SSE stream on the POST.
    const call = exchanges.find((e) => (e.sent as { method?: string })?.method === "tools/call");
    expect(call?.contentType).toMatch(/^text\/event-stream/);
  });

  test("resources: list, read a static document (exact text), templates, read a templated resource", async () => {
    const { client } = await connect();
    const resources = [];
    let cursor: string | undefined;
    do {
      const page = await client.listResources(cursor ? { cursor } : {});
      resources.push(...page.resources);
      cursor = page.nextCursor;
    } while (cursor);
    const uri = "demo://resource/static/document/instructions.md";
    expect(resources).toEqual(
      expect.arrayContaining([expect.objectContaining({ uri, name: "instructions.md", mimeType: "text/markdown" })]),
    );

    const read = await client.readResource({ uri });
    expect(read.contents).toEqual([
      { uri, mimeType: "text/markdown", text: readFileSync(join(EVERYTHING_DOCS, "instructions.md"), "utf8") },
    ]);

    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(
      expect.arrayContaining(["demo://resource/dynamic/text/{resourceId}", "demo://resource/dynamic/blob/{resourceId}"]),
    );
    const dynamic = await client.readResource({ uri: "demo://resource/dynamic/text/7" });
    expect(dynamic.contents[0]).toMatchObject({ uri: "demo://resource/dynamic/text/7", mimeType: "text/plain" });
    expect((dynamic.contents[0] as { text: string }).text).toMatch(/^Resource 7: This is a plaintext resource created at /);
  });

  test("prompts: list, get one with arguments", async () => {
    const { client } = await connect();
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(expect.arrayContaining(["simple-prompt", "args-prompt"]));
    const args = prompts.find((p) => p.name === "args-prompt")!;
    expect(args.arguments).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "city", required: true }),
        expect.objectContaining({ name: "state", required: false }),
      ]),
    );
    const prompt = await client.getPrompt({ name: "args-prompt", arguments: { city: "Zürich", state: "ZH" } });
    expect(prompt.messages).toEqual([{ role: "user", content: { type: "text", text: "What's weather in Zürich, ZH?" } }]);
  });

  test("sampling round trip: the server's sampling/createMessage reaches the client, its answer reaches the tool", async () => {
    const c = await connect({ sampling: {} });
    const asked: unknown[] = [];
    c.client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      asked.push(request.params);
      return {
        model: "gateway-test-model",
        role: "assistant",
        content: { type: "text", text: "sampled answer: forty-two" },
        stopReason: "endTurn",
      };
    });
    const { tools } = await c.client.listTools();
    expect(tools.map((t) => t.name)).toContain("trigger-sampling-request");

    const result = await within(
      "trigger-sampling-request",
      c.client.callTool({ name: "trigger-sampling-request", arguments: { prompt: "What is 6×7?", maxTokens: 50 } }),
    );
    expect(asked).toEqual([
      expect.objectContaining({
        maxTokens: 50,
        systemPrompt: "You are a helpful test server.",
        messages: [{ role: "user", content: { type: "text", text: "Resource trigger-sampling-request context: What is 6×7?" } }],
      }),
    ]);
    const text = toText(result.content);
    expect(text).toMatch(/^LLM sampling result: /);
    const sampled = JSON.parse(text.replace(/^LLM sampling result: \n/, ""));
    expect(sampled).toMatchObject({
      model: "gateway-test-model",
      role: "assistant",
      content: { type: "text", text: "sampled answer: forty-two" },
    });
    // The client's JSON-RPC response went out as a POST, forwarded and accepted with 202 (its
    // answer may reach the client after the tool result does).
    const answer = await waitFor("the 202 to the client's sampling response", () =>
      c.exchanges.find((e) => {
        const sent = e.sent as { result?: { model?: string } } | undefined;
        return e.method === "POST" && sent?.result?.model === "gateway-test-model";
      }),
    );
    expect(answer.status).toBe(202);
  });

  test("elicitation round trip: the server's elicitation/create reaches the client, its answer reaches the tool", async () => {
    const c = await connect({ elicitation: {} });
    let message: string | undefined;
    c.client.setRequestHandler(ElicitRequestSchema, async (request) => {
      message = request.params.message;
      return { action: "accept", content: { name: "Ada Lovelace", check: true, integer: 7 } };
    });
    const result = await within("trigger-elicitation-request", c.client.callTool({ name: "trigger-elicitation-request", arguments: {} }));
    expect(message).toBe("Please provide inputs for the following fields:");
    const text = toText(result.content);
    expect(text).toContain("✅ User provided the requested information!");
    expect(text).toContain("- Name: Ada Lovelace");
    expect(text).toContain("- Agreed to terms: true");
    expect(text).toContain("- Favorite Integer: 7");
    const answer = await waitFor("the 202 to the client's elicitation response", () =>
      c.exchanges.find((e) => {
        const sent = e.sent as { result?: { action?: string } } | undefined;
        return e.method === "POST" && sent?.result?.action === "accept";
      }),
    );
    expect(answer.status).toBe(202);
  });

  test("standalone GET SSE stream: server notifications (log message, resource updated) reach the client", async () => {
    const c = await connect();
    await getStreamOpen(c);
    const uri = "demo://resource/dynamic/text/1";
    await c.client.setLoggingLevel("debug");
    // The subscribe handler logs through the session's standalone stream, not the POST's answer.
    await c.client.subscribeResource({ uri });
    const logged = await waitFor("notifications/message about the subscription", () =>
      c.notifications.find(
        (n): n is LoggingMessageNotification =>
          n.method === "notifications/message" && String(n.params.data).startsWith(`Received Subscribe Resource request for URI: ${uri}`),
      ),
    );
    expect(logged.params.data).toContain(`from session ${c.transport.sessionId}`);

    const toggled = await c.client.callTool({ name: "toggle-subscriber-updates", arguments: {} });
    expect(toText(toggled.content)).toMatch(/^Started simulated resource updated notifications/);
    try {
      const updated = await waitFor("notifications/resources/updated", () =>
        c.notifications.find((n) => n.method === "notifications/resources/updated"),
      );
      expect(updated.params).toEqual({ uri });
    } finally {
      await c.client.callTool({ name: "toggle-subscriber-updates", arguments: {} });
      await c.client.unsubscribeResource({ uri });
    }
  });

  test("standalone GET SSE stream opened directly: 200 text/event-stream, and a notification arrives on it", async () => {
    const { sessionId, protocolVersion } = await rawSession();
    const sessionHeaders = { "mcp-session-id": sessionId, "mcp-protocol-version": protocolVersion };
    const abort = new AbortController();
    try {
      // The response head must come at once, before the stream carries any event.
      const get = await within(
        "the GET response head",
        fetch(mcpUrl, { headers: { accept: "text/event-stream", ...sessionHeaders }, signal: abort.signal }),
        5_000,
      );
      expect(get.status).toBe(200);
      expect(get.headers.get("content-type")).toMatch(/^text\/event-stream/);
      expect(get.headers.get("mcp-session-id")).toBe(sessionId);

      // A second GET for the same session: the upstream's 409, passed through.
      const second = await fetch(mcpUrl, { headers: { accept: "text/event-stream", ...sessionHeaders } });
      expect(second.status).toBe(409);
      await second.body?.cancel();

      const call = await fetch(mcpUrl, {
        method: "POST",
        headers: { ...MCP_POST_HEADERS, ...sessionHeaders },
        body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "resources/subscribe", params: { uri: "demo://resource/dynamic/text/2" } }),
      });
      expect(call.status).toBe(200);
      await call.text();

      const reader = get.body!.pipeThrough(new TextDecoderStream()).getReader();
      let received = "";
      await within(
        "a notifications/message event on the GET stream",
        (async () => {
          while (!/data: .*"notifications\/message"/.test(received)) {
            const { value, done } = await reader.read();
            if (done) throw new Error(`GET stream ended early:\n${received}`);
            received += value;
          }
        })(),
        8_000,
      );
      const event = /^id: (.+)$[\s\S]*?^data: (.*notifications\/message.*)$/m.exec(received);
      expect(event).not.toBeNull();
      expect(JSON.parse(event![2]!)).toMatchObject({
        jsonrpc: "2.0",
        method: "notifications/message",
        params: { level: "info", data: expect.stringContaining("Received Subscribe Resource request") },
      });
      await reader.cancel().catch(() => {});
    } finally {
      abort.abort();
      await fetch(mcpUrl, { method: "DELETE", headers: sessionHeaders }).then((r) => r.body?.cancel());
    }
  });

  test("DELETE: terminateSession succeeds, then the old session id gets the upstream's 400", async () => {
    const c = await connect();
    await getStreamOpen(c);
    const sessionId = c.transport.sessionId!;
    const protocolVersion = c.transport.protocolVersion!;
    await within("terminateSession", c.transport.terminateSession());
    expect(c.transport.sessionId).toBeUndefined();
    expect(c.exchanges.find((e) => e.method === "DELETE")).toMatchObject({ status: 200 });

    const res = await fetch(mcpUrl, {
      method: "POST",
      headers: { ...MCP_POST_HEADERS, "mcp-session-id": sessionId, "mcp-protocol-version": protocolVersion },
      body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/list" }),
    });
    // server-everything answers an unknown session with 400 and exactly this body (no id: its
    // Express app does not parse the body); the gateway passes it through untouched.
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      jsonrpc: "2.0",
      error: { code: -32000, message: "Bad Request: No valid session ID provided" },
    });
    const get = await fetch(mcpUrl, { headers: { accept: "text/event-stream", "mcp-session-id": sessionId } });
    expect(get.status).toBe(400);
    await get.body?.cancel();
  });

  test.skipIf(target === "direct")(
    "a proxy whose paths declare only POST still passes GET and DELETE: the session ends when the client ends it",
    async () => {
      const c = await connect({}, `${gw!.url}/post-only/mcp`);
      const echoed = await within("tools/call", c.client.callTool({ name: "echo", arguments: { message: "post only" } }));
      expect(toText(echoed.content)).toBe("Echo: post only");
      await waitFor("the GET to be answered", () => c.exchanges.find((e) => e.method === "GET"));
      const sessionId = c.transport.sessionId!;
      expect(c.errors).toEqual([]);
      await within("terminateSession", c.transport.terminateSession());
      expect(c.exchanges.filter((e) => e.method !== "POST").map((e) => [e.method, e.status])).toEqual([
        ["GET", 200],
        ["DELETE", 200],
      ]);
      // The upstream ended the session: a later request on it is refused there (its own error, not the gateway's).
      const after = await fetch(`${gw!.url}/post-only/mcp`, {
        method: "POST",
        headers: { ...MCP_POST_HEADERS, "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 99, method: "tools/list" }),
      });
      expect([400, 404]).toContain(after.status);
      expect((await after.json()).error.data?.http_code).toBeUndefined();
    },
  );

  test.skipIf(target === "direct")(
    "request headers: credentials and hop-by-hop headers stay at the gateway, MCP headers pass, X-Forwarded-* set",
    async () => {
      const {
        status,
        headers: responseHeaders,
        body,
      } = await rawPost(headersUrl, {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        authorization: "Bearer client-secret-token",
        cookie: "session=client-cookie",
        connection: "keep-alive, x-custom",
        "keep-alive": "timeout=5",
        "x-custom": "named-by-connection",
        "x-end-to-end": "kept",
        "mcp-session-id": "client-session-1",
        "mcp-protocol-version": "2025-11-25",
        "last-event-id": "event-41",
      });
      expect(status).toBe(200);
      expect(JSON.parse(body)).toEqual({ jsonrpc: "2.0", id: 5, result: { recorded: true } });
      expect(responseHeaders["mcp-session-id"]).toBe("recorder-session");

      const seen = await waitFor("the recorder to see the request", () => recorder.seen.findLast((s) => s.body.includes('"id":5')));
      expect(seen.method).toBe("POST");
      expect(seen.url).toBe("/mcp");
      const h = seen.headers;
      expect(h.authorization).toBeUndefined();
      expect(h.cookie).toBeUndefined();
      expect(h["x-custom"]).toBeUndefined();
      expect(h["keep-alive"]).toBeUndefined();
      expect(h["x-end-to-end"]).toBe("kept");
      expect(h["mcp-session-id"]).toBe("client-session-1");
      expect(h["mcp-protocol-version"]).toBe("2025-11-25");
      expect(h["last-event-id"]).toBe("event-41");
      expect(h.accept).toBe("application/json, text/event-stream");
      expect(h["content-type"]).toBe("application/json");
      expect(h.host).toBe(new URL(recorder.url).host);
      if (target !== "direct") {
        expect(h["x-forwarded-proto"]).toBe("http");
        expect(h["x-forwarded-host"]).toBe(new URL(gw!.url).host);
        expect(h["x-forwarded-for"]).toMatch(/^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/);
      }
    },
  );
});

/** A POST with node:http, which (unlike fetch) lets us send Connection and Keep-Alive headers. */
function rawPost(url: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const payload = JSON.stringify({ jsonrpc: "2.0", id: 5, method: "tools/list" });
  return within(
    "raw POST",
    new Promise((resolve, reject) => {
      const req = httpRequest(
        url,
        { method: "POST", agent: false, headers: { ...headers, "content-length": String(Buffer.byteLength(payload)) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(payload);
    }),
  );
}
