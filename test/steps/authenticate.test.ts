/**
 * authenticate (src/steps/authenticate.ts) through the composed app, with a memory store. A key's
 * record is kept at most the max age (`GATEWAY_CONFIG_MAX_AGE_MS`): with 0 it is read on every
 * request, so whatever the step reuses (a key's hash, the parse of an unchanged record), a key that
 * is deleted, deactivated, expired or changed in the store is treated as such on its very next
 * request; with a max age, a change made elsewhere is seen once it has passed, and one made through
 * this gateway's admin API on the next request.
 */
import { describe, expect, test } from "vitest";
import { adminFor } from "../../src/admin/admin.ts";
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

const SECRET = "admin-secret";

async function setup(session: KeySession, configMaxAgeMs = 0) {
  const store = new MemoryStore();
  const r = validateDefinition(
    withTokenAuth(mcpDefinition({ id: "api", listenPath: "/svc/", upstream: "http://upstream.test" }), "X-Api-Key"),
  );
  if (!r.ok) throw new Error(r.issues.join("; "));
  await new DefinitionRepository(store).put("mcp", r.definition);
  const keys = new KeyRepository(store);
  const hash = await hashKey(KEY);
  await keys.put(hash, session);
  let forwarded = 0;
  const settings = { enabled: true, host: undefined, gatewaySecret: SECRET, dashboardKeys: [] };
  const app = createGateway({
    store,
    configMaxAgeMs,
    admin: { settings, handler: adminFor(store, settings) },
    log: () => {},
    fetch: async () => {
      forwarded++;
      return Response.json({ jsonrpc: "2.0", id: 1, result: {} });
    },
  });
  const call = async (tool: string, key = KEY) => {
    const res = await app.request("/svc/mcp", {
      method: "POST",
      headers: { ...MCP_POST_HEADERS, "x-api-key": key },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: tool, arguments: {} } }),
    });
    await res.text();
    return res.status;
  };
  /** Changes the key through this gateway's Gateway API. */
  const admin = async (method: string, body?: unknown) => {
    const res = await app.request(`/tyk/keys/${KEY}`, {
      method,
      headers: { "x-tyk-authorization": SECRET, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    expect(res.status, await res.text()).toBe(200);
  };
  return { store, keys, hash, call, admin, forwarded: () => forwarded };
}

describe("with a max age of 0, a key is read on every request", () => {
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

describe("with a max age, a key's session is kept that long", () => {
  test("a change made elsewhere (the store, another isolate) is seen once the max age has passed", async () => {
    const { keys, hash, call } = await setup({ access_rights: access(["echo"]) }, 100);
    expect(await call("echo")).toBe(200);
    await keys.put(hash, { access_rights: access(["echo"]), is_inactive: true });
    const changedAt = Date.now();
    let status = await call("echo");
    while (status === 200) {
      expect(Date.now() - changedAt).toBeLessThan(150);
      await new Promise((resolve) => setTimeout(resolve, 10));
      status = await call("echo");
    }
    expect(status).toBe(401);
    expect(Date.now() - changedAt).toBeGreaterThanOrEqual(90);
  });

  test("a change through this gateway's admin API is seen on the next request", async () => {
    const { call, admin } = await setup({ access_rights: access(["echo"]) }, 60_000);
    expect(await call("echo")).toBe(200);
    await admin("PUT", { access_rights: access(["echo"]), is_inactive: true });
    expect(await call("echo")).toBe(401);
    await admin("PUT", { access_rights: access(["other"]) });
    expect(await call("echo")).toBe(403);
    expect(await call("other")).toBe(200);
    await admin("DELETE");
    expect(await call("other")).toBe(401);
  });

  test("an unknown key is looked up every time: a key made elsewhere works at once", async () => {
    const { keys, hash, call } = await setup({ access_rights: access(["echo"]) }, 60_000);
    await keys.delete(hash);
    expect(await call("echo")).toBe(401);
    await keys.put(hash, { access_rights: access(["echo"]) });
    expect(await call("echo")).toBe(200);
  });
});
