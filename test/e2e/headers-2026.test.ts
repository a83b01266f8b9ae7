/**
 * The 2026-07-28 mirrored headers on workerd, Bun and Deno: every required header missing,
 * mismatched and Base64-encoded (`=?base64?…?=`), with characters a header value may not carry, and
 * the `Mcp-Param-*` headers of a tool's `x-mcp-header` arguments (learnt from the `tools/list` that
 * passed through). A refusal is -32020 with 400 and never reaches the upstream; what passes reaches
 * it with the headers unchanged. And a client that closes a 2026-07-28 response stream cancels the
 * request upstream.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { mcpDefinition } from "../helpers/definitions.ts";
import { RUNTIMES, type RunningGateway, startGateway } from "../helpers/gateways.ts";
import { jsonRpcResult, startUpstream, type TestUpstream } from "../helpers/upstream.ts";

const VERSION = "2026-07-28";
const META = {
  "io.modelcontextprotocol/protocolVersion": VERSION,
  "io.modelcontextprotocol/clientCapabilities": {},
};
const b64 = (text: string) => `=?base64?${Buffer.from(text, "utf8").toString("base64")}?=`;

/** The tools the upstream lists: `regional` mirrors `region` (string), `limit` (integer) and `dry` (boolean). */
const TOOLS = {
  tools: [
    {
      name: "regional",
      inputSchema: {
        type: "object",
        properties: {
          region: { type: "string", "x-mcp-header": "Region" },
          options: {
            type: "object",
            properties: { limit: { type: "integer", "x-mcp-header": "Limit" }, dry: { type: "boolean", "x-mcp-header": "Dry" } },
          },
        },
      },
    },
    { name: "café ☕", inputSchema: { type: "object" } },
  ],
  resultType: "complete",
  ttlMs: 0,
  cacheScope: "public",
};

interface Case {
  name: string;
  method: string;
  params: Record<string, unknown>;
  /** Headers beyond the defaults; `null` removes a default. */
  headers: Record<string, string | null>;
  /** 400 with -32020, or 200 (reached the upstream). */
  refused: boolean;
}

const call = (name: string, args: Record<string, unknown> = {}) => ({ name, arguments: args });
const CASES: Case[] = [
  {
    name: "all headers as the body says",
    method: "tools/call",
    params: call("regional"),
    headers: { "mcp-name": "regional" },
    refused: false,
  },
  { name: "MCP-Protocol-Version missing", method: "tools/list", params: {}, headers: { "mcp-protocol-version": null }, refused: true },
  {
    name: "MCP-Protocol-Version mismatched",
    method: "tools/list",
    params: {},
    headers: { "mcp-protocol-version": "2025-11-25" },
    refused: true,
  },
  {
    name: "MCP-Protocol-Version twice",
    method: "tools/list",
    params: {},
    headers: { "mcp-protocol-version": `${VERSION}, ${VERSION}` },
    refused: true,
  },
  { name: "Mcp-Method missing", method: "tools/list", params: {}, headers: { "mcp-method": null }, refused: true },
  { name: "Mcp-Method mismatched", method: "tools/list", params: {}, headers: { "mcp-method": "prompts/list" }, refused: true },
  { name: "Mcp-Method in another case", method: "tools/list", params: {}, headers: { "mcp-method": "Tools/List" }, refused: true },
  { name: "Mcp-Name missing (tools/call)", method: "tools/call", params: call("regional"), headers: {}, refused: true },
  { name: "Mcp-Name missing (resources/read)", method: "resources/read", params: { uri: "test://a" }, headers: {}, refused: true },
  { name: "Mcp-Name missing (prompts/get)", method: "prompts/get", params: { name: "p" }, headers: {}, refused: true },
  {
    name: "Mcp-Name mismatched (tools/call)",
    method: "tools/call",
    params: call("regional"),
    headers: { "mcp-name": "echo" },
    refused: true,
  },
  {
    name: "Mcp-Name mismatched (resources/read)",
    method: "resources/read",
    params: { uri: "test://a" },
    headers: { "mcp-name": "test://b" },
    refused: true,
  },
  { name: "Mcp-Name mismatched (prompts/get)", method: "prompts/get", params: { name: "p" }, headers: { "mcp-name": "q" }, refused: true },
  {
    name: "Mcp-Name Base64-encoded",
    method: "tools/call",
    params: call("regional"),
    headers: { "mcp-name": b64("regional") },
    refused: false,
  },
  {
    name: "Mcp-Name Base64 of a non-ASCII name",
    method: "tools/call",
    params: call("café ☕"),
    headers: { "mcp-name": b64("café ☕") },
    refused: false,
  },
  {
    name: "Mcp-Name Base64 of another name",
    method: "tools/call",
    params: call("regional"),
    headers: { "mcp-name": b64("echo") },
    refused: true,
  },
  {
    name: "Mcp-Name Base64 that is not Base64",
    method: "tools/call",
    params: call("regional"),
    headers: { "mcp-name": "=?base64?%%%?=" },
    refused: true,
  },
  {
    name: "Mcp-Name with a non-ASCII character",
    method: "prompts/get",
    params: { name: "caf\u00e9" },
    headers: { "mcp-name": "caf\u00e9" },
    refused: true,
  },
  {
    name: "Mcp-Name Base64 of a resource URI",
    method: "resources/read",
    params: { uri: "test://notes/café" },
    headers: { "mcp-name": b64("test://notes/café") },
    refused: false,
  },
  {
    name: "Mcp-Param-Region as the body says",
    method: "tools/call",
    params: call("regional", { region: "us-west1" }),
    headers: { "mcp-name": "regional", "mcp-param-region": "us-west1" },
    refused: false,
  },
  {
    name: "Mcp-Param-Region missing",
    method: "tools/call",
    params: call("regional", { region: "us-west1" }),
    headers: { "mcp-name": "regional" },
    refused: true,
  },
  {
    name: "Mcp-Param-Region mismatched",
    method: "tools/call",
    params: call("regional", { region: "us-west1" }),
    headers: { "mcp-name": "regional", "mcp-param-region": "eu-west1" },
    refused: true,
  },
  {
    name: "Mcp-Param-Region Base64-encoded",
    method: "tools/call",
    params: call("regional", { region: "Zürich" }),
    headers: { "mcp-name": "regional", "mcp-param-region": b64("Zürich") },
    refused: false,
  },
  {
    name: "Mcp-Param-Region sent without the argument",
    method: "tools/call",
    params: call("regional"),
    headers: { "mcp-name": "regional", "mcp-param-region": "us-west1" },
    refused: true,
  },
  {
    name: "Mcp-Param-Limit and -Dry of nested arguments, compared as integer and boolean",
    method: "tools/call",
    params: call("regional", { options: { limit: 42, dry: false } }),
    headers: { "mcp-name": "regional", "mcp-param-limit": "42.0", "mcp-param-dry": "false" },
    refused: false,
  },
  {
    name: "Mcp-Param-Limit mismatched",
    method: "tools/call",
    params: call("regional", { options: { limit: 42 } }),
    headers: { "mcp-name": "regional", "mcp-param-limit": "43" },
    refused: true,
  },
  {
    name: "an Mcp-Param header no schema names passes",
    method: "tools/call",
    params: call("regional"),
    headers: { "mcp-name": "regional", "mcp-param-other": "anything" },
    refused: false,
  },
];

describe.each(RUNTIMES)("2026-07-28 mirrored headers on %s", (runtime) => {
  let upstream: TestUpstream;
  let gw: RunningGateway;
  let endpoint = "";
  let release: (() => void) | undefined;
  /** The store the gateway keeps on Bun (a folder) and Deno (a KV file), so that a second gateway can share it. */
  let storeDir = "";
  const sharedStore = (): Record<string, string> =>
    runtime === "bun" ? { GATEWAY_STORE_DIR: storeDir } : runtime === "deno" ? { GATEWAY_KV_PATH: join(storeDir, "kv.sqlite") } : {};

  function send(method: string, params: Record<string, unknown>, headers: Record<string, string | null>) {
    const all: Record<string, string> = {};
    const defaults = {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": VERSION,
      "mcp-method": method,
    };
    for (const [name, value] of Object.entries({ ...defaults, ...headers })) if (value !== null) all[name] = value;
    return fetch(endpoint, {
      method: "POST",
      headers: all,
      body: JSON.stringify({ jsonrpc: "2.0", id: 7, method, params: { ...params, _meta: META } }),
    });
  }

  beforeAll(async () => {
    upstream = await startUpstream();
    upstream.handle((_req, res: ServerResponse, body) => {
      const message = JSON.parse(body) as { method: string; params?: { name?: string } };
      if (message.method === "tools/list") return jsonRpcResult(res, body, TOOLS);
      if (message.params?.name === "slow") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(
          `data: ${JSON.stringify({ jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: 1, progress: 1 } })}\n\n`,
        );
        return new Promise<void>((done) => {
          release = done;
          res.on("close", () => done());
        });
      }
      return jsonRpcResult(res, body, { content: [], resultType: "complete" });
    });
    storeDir = await mkdtemp(join(tmpdir(), "headers-store-"));
    gw = await startGateway(runtime, [mcpDefinition({ id: "headers", listenPath: "/headers/", upstream: upstream.url })], {
      env: sharedStore(),
    });
    endpoint = `${gw.url}/headers/mcp`;
    // The gateway learns the tools' x-mcp-header arguments from a tools/list that passes through it.
    const listed = await send("tools/list", {}, {});
    expect(listed.status).toBe(200);
    await listed.text();
  }, 60_000);

  afterAll(async () => {
    release?.();
    await gw?.stop();
    await upstream?.stop();
    await rm(storeDir, { recursive: true, force: true });
  });

  test("a gateway sharing the store checks a tool it never saw listed (another isolate or process learnt it)", async () => {
    // What the first learnt is written after its answer: wait for it in the store.
    const key = "mcp-tool-headers:headers";
    const deadline = Date.now() + 10_000;
    const written = async () =>
      runtime === "workers"
        ? (await gw.store!.get(key)) !== null
        : runtime === "bun"
          ? existsSync(join(storeDir, encodeURIComponent(key)))
          : Date.now() > deadline - 9_000; // Deno KV's file is read by Deno alone: a second is ample for the write.
    while (!(await written())) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const second = await startGateway(runtime, [mcpDefinition({ id: "headers", listenPath: "/headers/", upstream: upstream.url })], {
      env: sharedStore(),
    });
    try {
      // Workers: another isolate of the same namespace (here: another workerd sharing the KV entry).
      if (runtime === "workers") await second.store!.put(key, (await gw.store!.get(key))!);
      const at = (headers: Record<string, string>, region: string) =>
        fetch(`${second.url}/headers/mcp`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/json, text/event-stream",
            "mcp-protocol-version": VERSION,
            "mcp-method": "tools/call",
            "mcp-name": "regional",
            ...headers,
          },
          body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { ...call("regional", { region }), _meta: META } }),
        });
      const before = mine().length;
      const refused = await at({ "mcp-param-region": "us-west1" }, "eu-west1");
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ id: 7, error: { code: -32020, message: expect.stringMatching(/Mcp-Param-Region/) } });
      const missing = await at({}, "eu-west1");
      expect(missing.status).toBe(400);
      await missing.body?.cancel();
      expect(mine().length).toBe(before);
      const passed = await at({ "mcp-param-region": "eu-west1" }, "eu-west1");
      expect(passed.status).toBe(200);
      await passed.body?.cancel();
      expect(mine().length).toBe(before + 1);
    } finally {
      await second.stop();
    }
  }, 60_000);

  /** The requests of this test that reached the upstream (not whatever else the gateway may send it). */
  const mine = () => upstream.seen.filter((seen) => seen.body.includes(`"id":7,`));

  test.each(CASES)("$name", async ({ method, params, headers, refused }) => {
    const before = mine().length;
    const response = await send(method, params, headers);
    const answer = (await response.json()) as { id: unknown; error?: { code: number; message: string; data: unknown } };
    if (refused) {
      expect(response.status).toBe(400);
      expect(answer).toMatchObject({ id: 7, error: { code: -32020, data: { http_code: 400 } } });
      expect(mine().length).toBe(before);
    } else {
      expect(response.status, JSON.stringify(answer)).toBe(200);
      expect(mine().length).toBe(before + 1);
      const seen = mine().at(-1)!.headers;
      for (const [name, value] of Object.entries(headers)) if (value !== null) expect(seen[name], name).toBe(value);
    }
  });

  test("a version the gateway does not serve: -32022 with data.supported and data.requested", async () => {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2099-01-01",
        "mcp-method": "tools/list",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 3,
        method: "tools/list",
        params: { _meta: { ...META, "io.modelcontextprotocol/protocolVersion": "2099-01-01" } },
      }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      id: 3,
      error: { code: -32022, data: { supported: [VERSION], requested: "2099-01-01", http_code: 400 } },
    });
  });

  test("a client that closes a 2026-07-28 response stream cancels the request upstream", async () => {
    const aborted = upstream.aborted;
    const response = await send("tools/call", call("slow"), { "mcp-name": "slow" });
    expect(response.headers.get("mcp-session-id")).toBeNull();
    const reader = response.body!.getReader();
    let text = "";
    while (!text.includes("notifications/progress")) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    for (let i = 0; i < 100 && upstream.aborted === aborted; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(upstream.aborted).toBe(aborted + 1);
  });
});
