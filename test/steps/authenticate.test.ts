/**
 * authenticate (src/steps/authenticate.ts) through the composed app, with a memory store: the key's
 * record is read on every request, so whatever the step reuses (a key's hash, the parse of an
 * unchanged record), a key that is deleted, deactivated, expired or changed is treated as such on
 * its very next request.
 */
import { describe, expect, test } from "vitest";
import { hashKey, KeyRepository } from "../../src/auth/api-keys.ts";
import { DefinitionRepository } from "../../src/definitions/repository.ts";
import { validateDefinition } from "../../src/definitions/schema.ts";
import { createGateway } from "../../src/gateway.ts";
import type { KeySession } from "../../src/policy/model.ts";
import { MemoryStore } from "../../src/stores/memory.ts";
import { mcpDefinition, withTokenAuth } from "../helpers/definitions.ts";
import { MCP_POST_HEADERS } from "../helpers/mcp.ts";

const KEY = "a-key-for-the-tests";
const access = (tools: string[]) => ({ api: { api_id: "api", mcp_access_rights: { tools: { allowed: tools } } } });

async function setup(session: KeySession) {
  const store = new MemoryStore();
  const r = validateDefinition(
    withTokenAuth(mcpDefinition({ id: "api", listenPath: "/api/", upstream: "http://upstream.test" }), "X-Api-Key"),
  );
  if (!r.ok) throw new Error(r.issues.join("; "));
  await new DefinitionRepository(store).put("mcp", r.definition);
  const keys = new KeyRepository(store);
  const hash = await hashKey(KEY);
  await keys.put(hash, session);
  let forwarded = 0;
  const app = createGateway({
    store,
    log: () => {},
    fetch: async () => {
      forwarded++;
      return Response.json({ jsonrpc: "2.0", id: 1, result: {} });
    },
  });
  const call = async (tool: string, key = KEY) => {
    const res = await app.request("/api/mcp", {
      method: "POST",
      headers: { ...MCP_POST_HEADERS, "x-api-key": key },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: tool, arguments: {} } }),
    });
    await res.text();
    return res.status;
  };
  return { store, keys, hash, call, forwarded: () => forwarded };
}

describe("a key is read on every request", () => {
  test("deleted, deactivated, expired, restored: each seen on the next request", async () => {
    const { keys, hash, call } = await setup({ access_rights: access(["echo"]) });
    expect(await call("echo")).toBe(200);
    expect(await call("echo")).toBe(200);
    await keys.put(hash, { access_rights: access(["echo"]), is_inactive: true });
    expect(await call("echo")).toBe(401);
    await keys.put(hash, { access_rights: access(["echo"]), expires: Math.floor(Date.now() / 1000) - 1 });
    expect(await call("echo")).toBe(401);
    await keys.put(hash, { access_rights: access(["echo"]) });
    expect(await call("echo")).toBe(200);
    await keys.delete(hash);
    expect(await call("echo")).toBe(401);
    await keys.put(hash, { access_rights: access(["echo"]) });
    expect(await call("echo")).toBe(200);
  });

  test("a change to the key's own access rights applies on the next request", async () => {
    const { keys, hash, call } = await setup({ access_rights: access(["echo"]) });
    expect(await call("echo")).toBe(200);
    expect(await call("other")).toBe(403);
    await keys.put(hash, { access_rights: access(["other"]) });
    expect(await call("echo")).toBe(403);
    expect(await call("other")).toBe(200);
  });

  test("an unknown key is refused, before and after a known one was seen", async () => {
    const { call, forwarded } = await setup({ access_rights: access(["echo"]) });
    expect(await call("echo", "not-the-key")).toBe(401);
    expect(await call("echo")).toBe(200);
    expect(await call("echo", "not-the-key")).toBe(401);
    expect(await call("echo", `${KEY}x`)).toBe(401);
    expect(forwarded()).toBe(1);
  });
});
