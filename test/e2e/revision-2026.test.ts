/**
 * MCP 2026-07-28 through the gateway, end to end on workerd, Bun and Deno: the official SDK v2
 * client (`@modelcontextprotocol/client`, pinned to 2026-07-28) against the SDK v2 fixture server
 * (test/fixtures/modern-server.ts), behind an MCP proxy that requires an API key and a policy that
 * hides the `secret` tool and the `test://private-notes` resource. Discovery trimmed, filtered lists
 * with caching hints, a tool call with progress, an MRTR elicitation round trip, a subscription
 * that receives `list_changed` (and not what the consumer may not see), the -33000 codes, and the
 * transport rules of the new revision (no session, the upstream's 405 for GET and DELETE, a closed
 * stream cancels the call upstream, `X-Accel-Buffering` and comment keep-alives pass).
 */
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startModernServer } from "../helpers/conformance-server.ts";
import { mcpDefinition, withTokenAuth } from "../helpers/definitions.ts";
import { RUNTIMES, type RunningGateway, startGateway, tykAdmin } from "../helpers/gateways.ts";
import type { Running } from "../helpers/processes.ts";

const API = "modern";
const VERSION = "2026-07-28";
const TEST_TIMEOUT = 30_000;

/** A raw 2026-07-28 POST: the headers the transport asks for, `_meta` in the body. */
function modernPost(key: string | undefined, method: string, params: Record<string, unknown> = {}, extra: Record<string, string> = {}) {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": VERSION,
    "mcp-method": method,
    ...(key ? { authorization: `Bearer ${key}` } : {}),
    ...extra,
  };
  const body = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method,
    params: {
      ...params,
      _meta: {
        "io.modelcontextprotocol/protocolVersion": VERSION,
        "io.modelcontextprotocol/clientCapabilities": { elicitation: {} },
        "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
      },
    },
  });
  return { method: "POST", headers, body };
}

describe.each(RUNTIMES)("MCP 2026-07-28 through the gateway on %s", (runtime) => {
  let upstream: Running;
  let gw: RunningGateway;
  let key = "";
  let endpoint = "";
  const clients: Client[] = [];

  async function connect(capabilities: Record<string, unknown> = {}): Promise<Client> {
    const client = new Client({ name: "revision-e2e", version: "1.0.0" }, { capabilities, versionNegotiation: { mode: { pin: VERSION } } });
    const transport = new StreamableHTTPClientTransport(new URL(endpoint), {
      requestInit: { headers: { Authorization: `Bearer ${key}` } },
    });
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    upstream = await startModernServer(150);
    gw = await startGateway(runtime, [withTokenAuth(mcpDefinition({ id: API, listenPath: `/${API}/`, upstream: upstream.url }))]);
    const policy = await tykAdmin(gw, "POST", "/tyk/policies", {
      id: "modern-user",
      name: "2026-07-28 user",
      state: "active",
      access_rights: {
        [API]: {
          api_id: API,
          api_name: API,
          versions: ["Default"],
          mcp_access_rights: { tools: { blocked: ["secret"] }, resources: { blocked: ["test://private-notes"] } },
        },
      },
    });
    expect(policy.status).toBe(200);
    const created = await tykAdmin(gw, "POST", "/tyk/keys", { alias: "modern-user", apply_policies: ["modern-user"] });
    expect(created.status).toBe(200);
    key = created.json.key as string;
    endpoint = `${gw.url}/${API}/mcp`;
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => {});
    await gw?.stop();
    await upstream?.stop();
  });

  test(
    "discovery: the SDK client connects in 2026-07-28 (server/discover, no session), its capabilities as the consumer may use them",
    async () => {
      const client = await connect();
      expect(client.getProtocolEra()).toBe("modern");
      expect(client.getNegotiatedProtocolVersion()).toBe(VERSION);
      expect(client.getServerCapabilities()).toMatchObject({ tools: {}, resources: {}, prompts: {} });
      const raw = await fetch(endpoint, modernPost(key, "server/discover"));
      expect(raw.status).toBe(200);
      expect(raw.headers.get("mcp-session-id")).toBeNull();
      const discovered = (await raw.json()) as { result: { supportedVersions: string[]; capabilities: Record<string, unknown> } };
      expect(discovered.result.supportedVersions).toEqual([VERSION]);
      expect(Object.keys(discovered.result.capabilities).sort()).toEqual(["completions", "logging", "prompts", "resources", "tools"]);
    },
    TEST_TIMEOUT,
  );

  test(
    "server/discover's capabilities are trimmed for a consumer that may call none of a capability's methods",
    async () => {
      await tykAdmin(gw, "POST", "/tyk/policies", {
        id: "no-prompts",
        name: "no prompts",
        state: "active",
        access_rights: {
          [API]: { api_id: API, api_name: API, versions: ["Default"], json_rpc_methods_access_rights: { blocked: ["prompts/.*"] } },
        },
      });
      const created = await tykAdmin(gw, "POST", "/tyk/keys", { alias: "no-prompts", apply_policies: ["no-prompts"] });
      const raw = await fetch(endpoint, modernPost(created.json.key as string, "server/discover"));
      const discovered = (await raw.json()) as { result: { capabilities: Record<string, unknown> } };
      expect(discovered.result.capabilities.prompts).toBeUndefined();
      expect(discovered.result.capabilities.tools).toBeDefined();
    },
    TEST_TIMEOUT,
  );

  test(
    "lists are filtered for the consumer and go out with cacheScope private (the upstream said public); ttlMs is kept",
    async () => {
      const client = await connect();
      const tools = await client.listTools();
      const names = tools.tools.map((tool) => tool.name);
      expect(names).toContain("echo");
      expect(names).not.toContain("secret");
      const raw = (await (await fetch(endpoint, modernPost(key, "tools/list"))).json()) as { result: Record<string, unknown> };
      expect(raw.result).toMatchObject({ cacheScope: "private", ttlMs: 60_000, resultType: "complete" });
      const resources = (await (await fetch(endpoint, modernPost(key, "resources/list"))).json()) as {
        result: { resources: { uri: string }[]; cacheScope: string };
      };
      expect(resources.result.resources.map((r) => r.uri)).not.toContain("test://private-notes");
      expect(resources.result.cacheScope).toBe("private");
      await expect(client.callTool({ name: "secret", arguments: {} })).rejects.toThrow(/-33002/);
    },
    TEST_TIMEOUT,
  );

  test(
    "a tool call with progress: each notification arrives before the result",
    async () => {
      const client = await connect();
      const progress: number[] = [];
      const result = await client.callTool(
        { name: "test_tool_with_progress", arguments: {} },
        { onprogress: (p: { progress: number }) => void progress.push(p.progress) },
      );
      expect(progress).toEqual([0, 50, 100]);
      expect(result.content).toHaveLength(1);
    },
    TEST_TIMEOUT,
  );

  test(
    "an MRTR elicitation round trip: input_required passes, the retry (inputResponses, requestState untouched) is authorised and answered",
    async () => {
      const asked: string[] = [];
      const client = await connect({ elicitation: {} });
      client.setRequestHandler("elicitation/create", async (request: { params: { message: string } }) => {
        asked.push(request.params.message);
        return { action: "accept", content: { ok: true } };
      });
      const result = await client.callTool({ name: "confirm_delete", arguments: { item: "report.pdf" } });
      expect(asked).toEqual(["Delete report.pdf?"]);
      expect(result.content).toEqual([{ type: "text", text: "Deleted report.pdf" }]);
      // The same round trip by hand: the state comes back as the upstream minted it, and a forged one is the upstream's to refuse.
      const first = (await (
        await fetch(
          endpoint,
          modernPost(key, "tools/call", { name: "confirm_delete", arguments: { item: "a" } }, { "mcp-name": "confirm_delete" }),
        )
      ).json()) as {
        result: { resultType: string; requestState: string; inputRequests: Record<string, unknown> };
      };
      expect(first.result.resultType).toBe("input_required");
      const retry = await fetch(
        endpoint,
        modernPost(
          key,
          "tools/call",
          {
            name: "confirm_delete",
            arguments: { item: "a" },
            inputResponses: { confirm: { action: "accept", content: { ok: false } } },
            requestState: first.result.requestState,
          },
          { "mcp-name": "confirm_delete" },
        ),
      );
      expect(((await retry.json()) as { result: { content: unknown } }).result.content).toEqual([{ type: "text", text: "Kept a" }]);
    },
    TEST_TIMEOUT,
  );

  test(
    "a subscription receives list_changed through the gateway, and not what the consumer may not see",
    async () => {
      const client = await connect();
      const seen: string[] = [];
      client.setNotificationHandler("notifications/tools/list_changed", () => void seen.push("tools"));
      client.setNotificationHandler("notifications/resources/updated", (n: { params: { uri: string } }) => void seen.push(n.params.uri));
      const subscription = await client.listen({
        toolsListChanged: true,
        resourceSubscriptions: ["test://private-notes", "test://static-text"],
      });
      await client.callTool({ name: "touch_resource", arguments: { uri: "test://private-notes" } });
      await client.callTool({ name: "touch_resource", arguments: { uri: "test://static-text" } });
      await client.callTool({ name: "test_trigger_tool_change", arguments: {} });
      for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(seen).toEqual(["test://static-text", "tools"]);
      await subscription.close();
    },
    TEST_TIMEOUT,
  );

  test(
    "the gateway's own errors carry the 2026-07-28 codes; the same refusals on 2025-11-25 keep theirs",
    async () => {
      const noKey = await fetch(endpoint, modernPost(undefined, "tools/list"));
      expect(noKey.status).toBe(401);
      expect(((await noKey.json()) as { error: { code: number } }).error.code).toBe(-33001);
      const denied = await fetch(endpoint, modernPost(key, "tools/call", { name: "secret", arguments: {} }, { "mcp-name": "secret" }));
      expect(denied.status).toBe(403);
      expect(((await denied.json()) as { error: { code: number } }).error.code).toBe(-33002);
      const legacy = await fetch(endpoint, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
      });
      expect(legacy.status).toBe(401);
      expect(((await legacy.json()) as { error: { code: number } }).error.code).toBe(-32001);
      const unsupported = await fetch(endpoint, modernPost(key, "tools/list", {}, { "mcp-protocol-version": "2099-01-01" }));
      expect(unsupported.status).toBe(400);
      expect(await unsupported.json()).toMatchObject({ error: { code: -32020 } });
    },
    TEST_TIMEOUT,
  );

  test(
    "transport: GET and DELETE get the modern-only upstream's 405; SSE answers keep X-Accel-Buffering and comment keep-alives",
    async () => {
      for (const method of ["GET", "DELETE"]) {
        const response = await fetch(endpoint, {
          method,
          headers: { authorization: `Bearer ${key}`, accept: "text/event-stream", "mcp-protocol-version": VERSION },
        });
        expect(response.status, method).toBe(405);
        await response.body?.cancel();
      }
      const listen = await fetch(endpoint, modernPost(key, "subscriptions/listen", { notifications: { toolsListChanged: true } }));
      expect(listen.headers.get("content-type")).toContain("text/event-stream");
      expect(listen.headers.get("x-accel-buffering")).toBe("no");
      const reader = listen.body!.getReader();
      const decoder = new TextDecoder();
      let text = "";
      const until = Date.now() + 5_000;
      while (Date.now() < until && !/^:/m.test(text.replace(/^: stream open$/m, ""))) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      expect(text).toContain("notifications/subscriptions/acknowledged");
      expect(text.replace(/^: stream open$/m, "")).toMatch(/^:/m);
      await reader.cancel();
    },
    TEST_TIMEOUT,
  );
});
