import { createParser } from "eventsource-parser";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FilteredAnswers, filterInitializeResult, filterListResult, filterResponseBody, needsFiltering } from "../../src/mcp/discovery.ts";
import type { PrimitiveType } from "../../src/mcp/jsonrpc.ts";
import type { Visibility } from "../../src/policy/types.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A fake Visibility: each list given is an allowlist; a list left out allows everything. */
function visibilityFromLists(lists: { methods?: string[]; tool?: string[]; resource?: string[]; prompt?: string[] }): Visibility {
  return {
    canCall: (method) => lists.methods === undefined || lists.methods.includes(method),
    canSee: (type: PrimitiveType, name) => lists[type] === undefined || lists[type]!.includes(name),
  };
}

const vis = visibilityFromLists({
  tool: ["echo", "add"],
  resource: ["file:///a.txt", "file:///c.txt", "db://{table}"],
  prompt: ["greet"],
});

/** An upstream body yielding `parts` (strings or bytes) one per pull, then ending or failing. */
function upstream(parts: (string | Uint8Array<ArrayBuffer>)[], fail = false) {
  let i = 0;
  let cancelled: unknown;
  const stream = new ReadableStream<Uint8Array<ArrayBuffer>>({
    pull(controller) {
      if (i < parts.length) {
        const part = parts[i++]!;
        controller.enqueue(typeof part === "string" ? enc.encode(part) : part);
      } else if (fail) controller.error(new Error("connection reset"));
      else controller.close();
    },
    cancel(reason) {
      cancelled = reason ?? "cancelled";
    },
  });
  return { stream, cancelled: () => cancelled };
}

function sseResponse(parts: (string | Uint8Array<ArrayBuffer>)[], headers: Record<string, string> = {}) {
  const source = upstream(parts);
  const response = new Response(source.stream, { headers: { "content-type": "text/event-stream", ...headers } });
  return { response, source };
}

function jsonResponse(body: string, init: ResponseInit = {}) {
  return new Response(body, { ...init, headers: { "content-type": "application/json", ...(init.headers as object) } });
}

/** The events and retries an SSE client would see in `text`. */
function parseSse(text: string) {
  const seen: ({ id?: string; event?: string; data: string } | { retry: number })[] = [];
  const parser = createParser({
    onEvent: ({ id, event, data }) => seen.push({ ...(id === undefined ? {} : { id }), ...(event === undefined ? {} : { event }), data }),
    onRetry: (retry) => seen.push({ retry }),
  });
  parser.feed(text);
  return seen;
}

const toolsResult = {
  tools: [
    { name: "echo", description: "Echoes", inputSchema: { type: "object" } },
    { name: "secret", description: "Hidden", inputSchema: { type: "object" } },
    { name: "add", description: "Adds: é ✓ 🚀", inputSchema: { type: "object" } },
  ],
  nextCursor: "page-2",
  _meta: { "example.com/trace": "t1" },
};
const filteredTools = {
  tools: [toolsResult.tools[0], toolsResult.tools[2]],
  nextCursor: "page-2",
  _meta: { "example.com/trace": "t1" },
};
const toolsResponse = (id: string | number) => JSON.stringify({ jsonrpc: "2.0", id, result: toolsResult });
const filteredToolsResponse = (id: string | number) => JSON.stringify({ jsonrpc: "2.0", id, result: filteredTools });

describe("needsFiltering", () => {
  test("the four list methods and initialize", () => {
    for (const m of ["tools/list", "resources/list", "resources/templates/list", "prompts/list", "initialize"]) {
      expect(needsFiltering(m)).toBe(true);
    }
    for (const m of ["tools/call", "resources/read", "prompts/get", "ping", "", "toString", "__proto__"]) {
      expect(needsFiltering(m)).toBe(false);
    }
  });
});

describe("filterListResult", () => {
  test("tools/list: by name, order, nextCursor and _meta kept (member order too)", () => {
    const out = filterListResult("tools/list", toolsResult, vis);
    expect(JSON.stringify(out)).toBe(JSON.stringify(filteredTools));
  });

  test("resources/list: by uri", () => {
    const result = {
      resources: [
        { uri: "file:///c.txt", name: "c" },
        { uri: "file:///b.txt", name: "b" },
        { uri: "file:///a.txt", name: "a" },
      ],
      nextCursor: "x",
    };
    expect(filterListResult("resources/list", result, vis)).toEqual({
      resources: [result.resources[0], result.resources[2]],
      nextCursor: "x",
    });
  });

  test("resources/list: a URI is compared in the canonical form a call is authorized in; one with none is dropped", () => {
    const result = {
      resources: [
        { uri: "FILE:///tmp/../a.txt", name: "a, spelled otherwise" },
        { uri: "file:///%63.txt#top", name: "c, spelled otherwise" },
        { uri: "file:///a.txt\n", name: "a, with a newline" },
        { uri: " file:///a.txt", name: "a, with a space" },
        { uri: "a.txt", name: "no scheme" },
      ],
    };
    expect(filterListResult("resources/list", result, vis)).toEqual({ resources: [result.resources[0], result.resources[1]] });
  });

  test("resources/templates/list: by uriTemplate", () => {
    const result = {
      resourceTemplates: [
        { uriTemplate: "db://{table}", name: "db" },
        { uriTemplate: "file:///{path}", name: "file:///a.txt" },
      ],
    };
    expect(filterListResult("resources/templates/list", result, vis)).toEqual({
      resourceTemplates: [result.resourceTemplates[0]],
    });
  });

  test("prompts/list: by name", () => {
    const result = { prompts: [{ name: "x" }, { name: "greet", arguments: [] }], nextCursor: "c" };
    expect(filterListResult("prompts/list", result, vis)).toEqual({ prompts: [{ name: "greet", arguments: [] }], nextCursor: "c" });
  });

  test("a page where nothing is visible keeps its cursor", () => {
    const result = { tools: [{ name: "secret" }], nextCursor: "page-3" };
    expect(filterListResult("tools/list", result, vis)).toEqual({ tools: [], nextCursor: "page-3" });
  });

  test("items with a missing or odd key are dropped (fail closed)", () => {
    const all = visibilityFromLists({});
    const result = {
      tools: [
        { name: "echo" },
        { title: "no name" },
        { Name: "echo" },
        { name: 3 },
        { name: null },
        null,
        "echo",
        ["echo"],
        { name: "add" },
      ],
    };
    expect(filterListResult("tools/list", result, all)).toEqual({ tools: [{ name: "echo" }, { name: "add" }] });
    // A resource is keyed by its uri, not its name.
    expect(filterListResult("resources/list", { resources: [{ name: "file:///a.txt" }] }, all)).toEqual({ resources: [] });
    expect(filterListResult("resources/templates/list", { resourceTemplates: [{ uri: "db://{table}" }] }, all)).toEqual({
      resourceTemplates: [],
    });
  });

  test("a list member that is not an array becomes empty; a missing one stays missing", () => {
    expect(filterListResult("tools/list", { tools: { 0: { name: "secret" } } }, vis)).toEqual({ tools: [] });
    expect(filterListResult("tools/list", { nextCursor: "n" }, vis)).toEqual({ nextCursor: "n" });
  });

  test("other methods are untouched, and the input is not mutated", () => {
    const result = { tools: [{ name: "secret" }] };
    expect(filterListResult("tools/call", result, vis)).toBe(result);
    const copy = structuredClone(toolsResult);
    filterListResult("tools/list", copy, vis);
    expect(copy).toEqual(toolsResult);
  });
});

describe("filterInitializeResult", () => {
  const initResult = {
    protocolVersion: "2025-11-25",
    capabilities: {
      experimental: { x: {} },
      logging: {},
      completions: {},
      prompts: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      tools: { listChanged: true },
      tasks: { list: {} },
    },
    serverInfo: { name: "up", version: "1" },
    instructions: "hi",
  };

  test("everything allowed: unchanged", () => {
    expect(filterInitializeResult(initResult, visibilityFromLists({}))).toEqual(initResult);
  });

  test("capabilities whose every method is denied are removed; the rest is untouched", () => {
    const out = filterInitializeResult(initResult, visibilityFromLists({ methods: ["initialize", "tools/call", "resources/subscribe"] }));
    expect(out).toEqual({
      ...initResult,
      capabilities: {
        experimental: { x: {} },
        resources: { subscribe: true, listChanged: true },
        tools: { listChanged: true },
        tasks: { list: {} },
      },
    });
  });

  test("tools stays when only tools/call is allowed, and goes when neither is", () => {
    expect(filterInitializeResult(initResult, visibilityFromLists({ methods: ["tools/call"] })).capabilities).toHaveProperty("tools");
    expect(filterInitializeResult(initResult, visibilityFromLists({ methods: ["tools/list"] })).capabilities).toHaveProperty("tools");
    const none = filterInitializeResult(initResult, visibilityFromLists({ methods: ["prompts/get", "logging/setLevel"] }));
    expect(Object.keys(none.capabilities as object)).toEqual(["experimental", "logging", "prompts", "tasks"]);
  });

  test("no capabilities object: unchanged", () => {
    const odd = { protocolVersion: "2025-11-25", capabilities: "x" };
    expect(filterInitializeResult(odd, visibilityFromLists({ methods: [] }))).toBe(odd);
  });
});

describe("filterResponseBody: JSON", () => {
  test("the result is filtered; status and headers kept, content-length dropped", async () => {
    const body = toolsResponse(7);
    const response = jsonResponse(body, {
      status: 200,
      headers: {
        "content-length": String(enc.encode(body).byteLength),
        "mcp-session-id": "s1",
        "content-type": "application/json; charset=utf-8",
      },
    });
    const out = filterResponseBody(response, 7, "tools/list", vis);
    expect(out.status).toBe(200);
    expect(out.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(out.headers.get("mcp-session-id")).toBe("s1");
    expect(out.headers.get("content-length")).toBeNull();
    expect(await out.text()).toBe(filteredToolsResponse(7));
  });

  test("initialize over JSON", async () => {
    const body = JSON.stringify({
      jsonrpc: "2.0",
      id: "i",
      result: { protocolVersion: "2025-11-25", capabilities: { tools: {}, logging: {} } },
    });
    const out = filterResponseBody(jsonResponse(body), "i", "initialize", visibilityFromLists({ methods: ["tools/call"] }));
    expect(JSON.parse(await out.text()).result.capabilities).toEqual({ tools: {} });
  });

  test.each([
    ["not JSON", "<html>oops</html>", 1],
    ["a JSON-RPC error", '{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"nope"}}', 1],
    ["no result", '{"jsonrpc":"2.0","id":1}', 1],
    ["a result that is not an object", '{"jsonrpc":"2.0","id":1,"result":[{"name":"secret"}]}', 1],
    ["a different id", toolsResponse(2), 1],
    ["an id of another type", toolsResponse("1"), 1],
    ["an empty body", "", 1],
  ])("%s passes byte for byte", async (_, body, id) => {
    const out = filterResponseBody(jsonResponse(body), id, "tools/list", vis);
    expect(await out.text()).toBe(body);
  });

  test("non-2xx, other content types, other methods and bodiless answers are returned as they are", () => {
    const err = jsonResponse(toolsResponse(1), { status: 400 });
    expect(filterResponseBody(err, 1, "tools/list", vis)).toBe(err);
    const text = new Response(toolsResponse(1), { headers: { "content-type": "text/plain" } });
    expect(filterResponseBody(text, 1, "tools/list", vis)).toBe(text);
    const call = jsonResponse(toolsResponse(1));
    expect(filterResponseBody(call, 1, "tools/call", vis)).toBe(call);
    const accepted = new Response(null, { status: 202 });
    expect(filterResponseBody(accepted, 1, "tools/list", vis)).toBe(accepted);
  });

  test("a body split into chunks is read whole", async () => {
    const bytes = enc.encode(toolsResponse(1));
    const parts = [bytes.slice(0, 5), bytes.slice(5, 100), bytes.slice(100)];
    const response = new Response(upstream(parts).stream, { headers: { "content-type": "application/json" } });
    expect(await filterResponseBody(response, 1, "tools/list", vis).text()).toBe(filteredToolsResponse(1));
  });

  /** Every split of `bytes` into chunks of `size` bytes, and the chunks cut inside each multi-byte character. */
  const splits = (bytes: Uint8Array<ArrayBuffer>) => {
    const out: Uint8Array<ArrayBuffer>[][] = [];
    for (const size of [1, 2, 3, 5, 4096]) {
      const parts: Uint8Array<ArrayBuffer>[] = [];
      for (let at = 0; at < bytes.length; at += size) parts.push(bytes.slice(at, at + size));
      out.push(parts);
    }
    for (let at = 0; at < bytes.length; at++) if (bytes[at]! >= 0x80) out.push([bytes.slice(0, at), bytes.slice(at)]);
    return out;
  };

  test("multi-byte characters split across chunks read as the whole body does", async () => {
    const bytes = enc.encode(toolsResponse(1));
    for (const parts of splits(bytes)) {
      const response = new Response(upstream(parts).stream, { headers: { "content-type": "application/json" } });
      expect(await filterResponseBody(response, 1, "tools/list", vis).text()).toBe(filteredToolsResponse(1));
    }
  });

  test("a byte order mark and bytes that are not UTF-8 decode as the whole body would, however it is split", async () => {
    const text = enc.encode(toolsResponse(1));
    for (const bytes of [
      new Uint8Array([0xef, 0xbb, 0xbf, ...text]),
      // A lone continuation byte and a truncated sequence (inside a member name): replaced, as a whole-body decode replaces them.
      new Uint8Array([...enc.encode(toolsResponse(1).slice(0, 60)), 0x80, 0xe2, 0x82, ...enc.encode(toolsResponse(1).slice(60))]),
    ]) {
      const whole = await filterResponseBody(
        new Response(bytes, { headers: { "content-type": "application/json" } }),
        1,
        "tools/list",
        vis,
      ).text();
      for (const parts of splits(bytes)) {
        const response = new Response(upstream(parts).stream, { headers: { "content-type": "application/json" } });
        expect(await filterResponseBody(response, 1, "tools/list", vis).text()).toBe(whole);
      }
    }
  });

  test("a body that is not rewritten passes byte for byte however it is split, invalid UTF-8 included", async () => {
    const bytes = new Uint8Array([...enc.encode('{"jsonrpc":"2.0","id":1,"error":{"message":"'), 0xff, 0xc3, ...enc.encode('é"}}')]);
    for (const parts of splits(bytes)) {
      const response = new Response(upstream(parts).stream, { headers: { "content-type": "application/json" } });
      expect(new Uint8Array(await filterResponseBody(response, 1, "tools/list", vis).arrayBuffer())).toEqual(bytes);
    }
  });

  test("cancelling the body cancels the upstream", async () => {
    const source = upstream([toolsResponse(1)]);
    const response = new Response(source.stream, { headers: { "content-type": "application/json" } });
    await filterResponseBody(response, 1, "tools/list", vis).body!.cancel("bye");
    expect(source.cancelled()).toBe("bye");
  });
});

describe("filterResponseBody: JSON read with readAtLeast (workerd's BYOB reader)", () => {
  // workerd's ReadableStreamBYOBReader has readAtLeast(min, view): it resolves once `min` bytes
  // are in `view`, or the stream has ended. Node has none: a stand-in with the same contract.
  const proto = ReadableStreamBYOBReader.prototype as unknown as Record<string, unknown>;
  let calls = 0;
  beforeAll(() => {
    proto.readAtLeast = async function readAtLeast(this: ReadableStreamBYOBReader, min: number, view: Uint8Array<ArrayBuffer>) {
      calls++;
      const size = view.byteLength;
      let buffer = view.buffer;
      let filled = 0;
      while (filled < min) {
        const { done, value } = await this.read(new Uint8Array(buffer, filled, size - filled));
        if (value) {
          buffer = value.buffer as ArrayBuffer;
          filled += value.byteLength;
        }
        if (done) return { done: filled === 0, value: new Uint8Array(buffer, 0, filled) };
      }
      return { done: false, value: new Uint8Array(buffer, 0, filled) };
    };
  });
  afterAll(() => {
    delete proto.readAtLeast;
  });

  /** A byte stream (the kind workerd's fetch bodies are) yielding `parts`; records a cancel. */
  function byteUpstream(parts: Uint8Array<ArrayBuffer>[]) {
    let i = 0;
    let cancelled: unknown;
    const stream = new ReadableStream({
      type: "bytes",
      pull(controller) {
        if (i < parts.length) controller.enqueue(parts[i++]!.slice());
        else {
          controller.close();
          controller.byobRequest?.respond(0);
        }
      },
      cancel(reason) {
        cancelled = reason ?? "cancelled";
      },
    });
    return { stream, cancelled: () => cancelled };
  }
  const json = (stream: ReadableStream) => new Response(stream, { headers: { "content-type": "application/json" } });
  /** A body of `size` bytes: a tools/list answer padded inside a description. */
  const big = (size: number) => {
    const base = toolsResponse(1);
    return base.replace("Echoes", `Echoes${" ".repeat(size - base.length)}`);
  };

  test("a body over several buffers is filtered as a whole, split anywhere", async () => {
    const bytes = enc.encode(big(200_000));
    const doc = JSON.parse(big(200_000));
    const expected = JSON.stringify({ ...doc, result: { ...doc.result, tools: [doc.result.tools[0], doc.result.tools[2]] } });
    for (const size of [1000, 4096, 65536, 200_000]) {
      const parts: Uint8Array<ArrayBuffer>[] = [];
      for (let at = 0; at < bytes.length; at += size) parts.push(bytes.slice(at, at + size));
      calls = 0;
      expect(await filterResponseBody(json(byteUpstream(parts).stream), 1, "tools/list", vis).text()).toBe(expected);
      expect(calls).toBeGreaterThanOrEqual(4);
    }
  });

  test("a body that is not rewritten passes byte for byte", async () => {
    const bytes = new Uint8Array([
      ...enc.encode(`{"jsonrpc":"2.0","id":1,"error":{"message":"${"x".repeat(100_000)}`),
      0xff,
      ...enc.encode('é"}}'),
    ]);
    const parts = [bytes.slice(0, 3), bytes.slice(3, 70_000), bytes.slice(70_000)];
    calls = 0;
    const out = filterResponseBody(json(byteUpstream(parts).stream), 1, "tools/list", vis);
    expect(new Uint8Array(await out.arrayBuffer())).toEqual(bytes);
    expect(calls).toBeGreaterThan(0);
  });

  test("cancelling the body cancels the upstream", async () => {
    const source = byteUpstream([enc.encode(toolsResponse(1))]);
    await filterResponseBody(json(source.stream), 1, "tools/list", vis).body!.cancel("bye");
    expect(source.cancelled()).toBe("bye");
  });
});

describe("filterResponseBody: SSE", () => {
  const progress = (n: number) =>
    `event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p","progress":${n}}}\n\n`;

  test("the matching response is filtered, keeping its id and event fields, on one data line", async () => {
    const { response } = sseResponse([`id: 42\nevent: message\ndata: ${toolsResponse(1)}\n\n`], { "mcp-session-id": "s" });
    const out = filterResponseBody(response, 1, "tools/list", vis);
    expect(out.headers.get("content-type")).toBe("text/event-stream");
    expect(out.headers.get("mcp-session-id")).toBe("s");
    expect(await out.text()).toBe(`id: 42\nevent: message\ndata: ${filteredToolsResponse(1)}\n\n`);
  });

  test("a pretty-printed (multi-line) matching response comes out compact", async () => {
    const pretty = JSON.stringify(JSON.parse(toolsResponse(1)), null, 2)
      .split("\n")
      .map((l) => `data: ${l}\n`)
      .join("");
    const { response } = sseResponse([`${pretty}\n`]);
    expect(await filterResponseBody(response, 1, "tools/list", vis).text()).toBe(`data: ${filteredToolsResponse(1)}\n\n`);
  });

  test("progress notifications and server requests before the response pass untouched", async () => {
    const request = `id: 3\nevent: message\ndata: {"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":{}}\n\n`;
    const parts = [progress(1), progress(2), request, progress(3), `id: 4\nevent: message\ndata: ${toolsResponse(1)}\n\n`];
    const { response } = sseResponse(parts);
    const text = await filterResponseBody(response, 1, "tools/list", vis).text();
    expect(text).toBe(`${parts.slice(0, 4).join("")}id: 4\nevent: message\ndata: ${filteredToolsResponse(1)}\n\n`);
  });

  test("a response for another id, an error for this one and non-JSON data pass untouched", async () => {
    const parts = [
      `data: ${toolsResponse(2)}\n\n`,
      `data: ${toolsResponse("1")}\n\n`,
      `event: message\ndata: not json\n\n`,
      `data: {"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"boom"}}\n\n`,
    ];
    const { response } = sseResponse(parts);
    expect(await filterResponseBody(response, 1, "tools/list", vis).text()).toBe(parts.join(""));
  });

  test("multi-line data, retry, id-only blocks, empty data and odd spacing in other events are preserved", async () => {
    const input =
      "retry: 3000\nid: 9\nevent: note\ndata: line one\ndata:\ndata:  indented\ndata:no-space\n\n" +
      "id: 10\n\n" +
      "id: 11\ndata: \n\n" +
      `event: message\ndata: ${toolsResponse(1)}\n\n`;
    const { response } = sseResponse([input]);
    const text = await filterResponseBody(response, 1, "tools/list", vis).text();
    const seen = parseSse(text);
    expect(seen).toEqual([
      { retry: 3000 },
      { id: "9", event: "note", data: "line one\n\n indented\nno-space" },
      { id: "11", data: "" },
      { event: "message", data: filteredToolsResponse(1) },
    ]);
    // The id-only block is kept, so a client's Last-Event-ID follows the upstream's.
    expect(text).toContain("id: 10\n\n");
    expect(text.indexOf("id: 10\n\n")).toBeLessThan(text.indexOf("id: 11"));
  });

  test("comments are kept as comments (keep-alives, the Bun opening comment)", async () => {
    const { response } = sseResponse([": stream open\n\n", ":ping\n", `data: ${toolsResponse(1)}\n\n`]);
    const text = await filterResponseBody(response, 1, "tools/list", vis).text();
    expect(text).toBe(`: stream open\n\n: ping\n\ndata: ${filteredToolsResponse(1)}\n\n`);
  });

  const stream = `${progress(1)}event: note\ndata: first\ndata: second\n\nid: 5\nevent: message\ndata: ${toolsResponse(1)}\n\n${progress(2)}`;
  const expected =
    progress(1) +
    "event: note\ndata: first\ndata: second\n\n" +
    `id: 5\nevent: message\ndata: ${filteredToolsResponse(1)}\n\n` +
    progress(2);

  test.each([1, 2, 3, 7, 64])("events split across chunks of %i bytes (mid-line, mid-character)", async (size) => {
    const bytes = enc.encode(stream);
    const parts: Uint8Array<ArrayBuffer>[] = [];
    for (let i = 0; i < bytes.byteLength; i += size) parts.push(bytes.slice(i, i + size));
    const { response } = sseResponse(parts);
    expect(await filterResponseBody(response, 1, "tools/list", vis).text()).toBe(expected);
  });

  test("CRLF line endings, including a CR and its LF in different chunks", async () => {
    const crlf = stream.replaceAll("\n", "\r\n");
    const cut = crlf.indexOf("\r\n\r\n") + 1;
    const { response } = sseResponse([crlf.slice(0, cut), crlf.slice(cut, cut + 1), crlf.slice(cut + 1, cut + 30), crlf.slice(cut + 30)]);
    const text = await filterResponseBody(response, 1, "tools/list", vis).text();
    expect(parseSse(text)).toEqual(parseSse(expected));
    expect(text).toBe(expected);
  });

  test("bare CR line endings", async () => {
    const { response } = sseResponse([stream.replaceAll("\n", "\r")]);
    expect(await filterResponseBody(response, 1, "tools/list", vis).text()).toBe(expected);
  });

  test("an event goes out before the next one is produced", async () => {
    let produced = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const source = new ReadableStream<Uint8Array<ArrayBuffer>>({
      async pull(controller) {
        if (produced === 0) {
          produced = 1;
          controller.enqueue(enc.encode(progress(1)));
        } else if (produced === 1) {
          await gate;
          produced = 2;
          controller.enqueue(enc.encode(`data: ${toolsResponse(1)}\n\n`));
        } else controller.close();
      },
    });
    const response = new Response(source, { headers: { "content-type": "text/event-stream" } });
    const reader = filterResponseBody(response, 1, "tools/list", vis).body!.getReader();
    const first = await reader.read();
    expect(dec.decode(first.value)).toBe(progress(1));
    expect(produced).toBe(1);
    release();
    const second = await reader.read();
    expect(produced).toBe(2);
    expect(dec.decode(second.value)).toBe(`data: ${filteredToolsResponse(1)}\n\n`);
    expect((await reader.read()).done).toBe(true);
  });

  test("cancelling the body cancels the upstream", async () => {
    const { response, source } = sseResponse([progress(1), progress(2)]);
    const reader = filterResponseBody(response, 1, "tools/list", vis).body!.getReader();
    await reader.read();
    await reader.cancel("client gone");
    expect(source.cancelled()).toBe("client gone");
  });

  test("an upstream failure errors the stream after the events already sent", async () => {
    const source = upstream([progress(1), 'data: {"partial'], true);
    const response = new Response(source.stream, { headers: { "content-type": "text/event-stream" } });
    const reader = filterResponseBody(response, 1, "tools/list", vis).body!.getReader();
    expect(dec.decode((await reader.read()).value)).toBe(progress(1));
    await expect(reader.read()).rejects.toThrow("connection reset");
  });

  test("an event left unfinished at the end of the stream is dropped, as a client would", async () => {
    const { response } = sseResponse([progress(1), 'data: {"jsonrpc"']);
    expect(await filterResponseBody(response, 1, "tools/list", vis).text()).toBe(progress(1));
  });
});

describe("filtered answers reused (FilteredAnswers)", () => {
  const tools = (names: string[]) => names.map((name) => ({ name, description: `the ${name} tool`, inputSchema: { type: "object" } }));
  const answer = (id: number | string, names: string[], extra = "") =>
    `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":{"tools":${JSON.stringify(tools(names))},"nextCursor":"n"${extra}}}`;
  /** A visibility over `allowed` tools with a basis, counting the items it was asked about. */
  function counted(allowed: string[], basis: object[]) {
    const asked = { count: 0 };
    const visibility: Visibility = {
      canCall: () => true,
      canSee: (_type, name) => {
        asked.count++;
        return allowed.includes(name);
      },
      basis,
    };
    return { visibility, asked };
  }
  const filtered = (memo: FilteredAnswers | undefined, body: string, id: number | string, visibility: Visibility, modern = false) =>
    filterResponseBody(jsonResponse(body), id, "tools/list", { visibility, modern, memo }).text();

  test("the same answer for the same rules is filtered once; the answer is what filtering it anew gives, with each request's id", async () => {
    const memo = new FilteredAnswers();
    const grant = {};
    const { visibility, asked } = counted(["echo", "add"], [grant]);
    const first = await filtered(memo, answer(1, ["echo", "secret", "add"]), 1, visibility);
    expect(asked.count).toBe(3);
    const second = await filtered(memo, answer(2, ["echo", "secret", "add"]), 2, visibility);
    expect(asked.count).toBe(3);
    const fresh = await filtered(undefined, answer(2, ["echo", "secret", "add"]), 2, counted(["echo", "add"], [grant]).visibility);
    expect(second).toBe(fresh);
    expect(JSON.parse(second)).toEqual({ jsonrpc: "2.0", id: 2, result: { tools: tools(["echo", "add"]), nextCursor: "n" } });
    expect(JSON.parse(first).id).toBe(1);
    // A string id, and another visibility object of the same basis (the next request's).
    const third = await filtered(memo, answer("req-3", ["echo", "secret", "add"]), "req-3", counted(["echo", "add"], [grant]).visibility);
    expect(JSON.parse(third)).toMatchObject({ id: "req-3", result: { tools: tools(["echo", "add"]) } });
  });

  test("a changed answer, other rules, another revision or another id are filtered anew", async () => {
    const memo = new FilteredAnswers();
    const grant = {};
    const { visibility, asked } = counted(["echo", "add"], [grant]);
    await filtered(memo, answer(1, ["echo", "secret", "add"]), 1, visibility);
    // One character differs: a tool's name.
    const changed = await filtered(memo, answer(1, ["echo", "secret", "adD"]), 1, visibility);
    expect(asked.count).toBe(6);
    expect(JSON.parse(changed).result.tools.map((t: { name: string }) => t.name)).toEqual(["echo"]);
    const other = counted(["secret"], [{}]);
    const forOther = await filtered(memo, answer(1, ["echo", "secret", "adD"]), 1, other.visibility);
    expect(other.asked.count).toBe(3);
    expect(JSON.parse(forOther).result.tools.map((t: { name: string }) => t.name)).toEqual(["secret"]);
    await filtered(memo, answer(1, ["echo", "secret", "adD"]), 1, visibility, true);
    expect(asked.count).toBe(9);
    // The upstream answered another id than the request's: passed as it came, never from the memo.
    const body = answer(5, ["echo", "secret", "adD"]);
    expect(await filtered(memo, body, 4, visibility)).toBe(body);
  });

  test("never kept or reused: an answer with other members, written otherwise, or rules without a basis", async () => {
    const memo = new FilteredAnswers();
    const grant = {};
    const { visibility, asked } = counted(["echo"], [grant]);
    const withMeta = `{"jsonrpc":"2.0","id":1,"result":{"tools":${JSON.stringify(tools(["echo", "x"]))}},"_meta":{"k":1}}`;
    expect(JSON.parse(await filtered(memo, withMeta, 1, visibility))._meta).toEqual({ k: 1 });
    expect(JSON.parse(await filtered(memo, withMeta, 1, visibility))._meta).toEqual({ k: 1 });
    expect(asked.count).toBe(4);
    const spaced = `{ "jsonrpc": "2.0", "id": 1, "result": {"tools":${JSON.stringify(tools(["echo", "x"]))}} }`;
    await filtered(memo, spaced, 1, visibility);
    await filtered(memo, spaced, 1, visibility);
    expect(asked.count).toBe(8);
    const noBasis = counted(["echo"], []);
    const { basis: _, ...unkept } = noBasis.visibility;
    await filtered(memo, answer(1, ["echo", "x"]), 1, unkept);
    await filtered(memo, answer(1, ["echo", "x"]), 1, unkept);
    expect(noBasis.asked.count).toBe(4);
  });

  test("the same over SSE: the answering event's data is reused, other events pass", async () => {
    const memo = new FilteredAnswers();
    const { visibility, asked } = counted(["echo"], [{}]);
    const sse = (id: number) => [
      `event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{}}\n\n`,
      `event: message\ndata: ${answer(id, ["echo", "x"])}\n\n`,
    ];
    for (const id of [1, 2]) {
      const { response } = sseResponse(sse(id));
      const events = parseSse(await filterResponseBody(response, id, "tools/list", { visibility, modern: false, memo }).text());
      expect(events).toHaveLength(2);
      expect(JSON.parse((events[1] as { data: string }).data)).toMatchObject({ id, result: { tools: tools(["echo"]) } });
    }
    expect(asked.count).toBe(2);
  });
});
