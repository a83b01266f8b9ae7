/**
 * Policies and keys through both management APIs, on workerd, Bun and Deno: Tyk's shapes, every
 * rule of "Policy validation for MCP", and bad input that changes nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { mcpDefinition } from "../helpers/definitions.ts";
import { RUNTIMES, startGateway, TEST_DASHBOARD_KEY, TEST_GATEWAY_SECRET, type RunningGateway } from "../helpers/gateways.ts";

const MCP = "weather-mcp";
const OAS = "weather-rest";

/** The reference's example policy, for an MCP proxy id. */
const referencePolicy = (apiId: string) => ({
  name: "Weather Agent — Standard Tier",
  state: "active",
  rate: 1000,
  per: 60,
  quota_max: 50000,
  quota_renewal_rate: 86400,
  access_rights: {
    [apiId]: {
      api_id: apiId,
      api_name: "Weather MCP Proxy",
      versions: ["Default"],
      limit: { rate: 200, per: 60 },
      json_rpc_methods_access_rights: { allowed: ["tools/call", "tools/list", "resources/list", "resources/read"] },
      mcp_access_rights: {
        tools: { allowed: ["get_forecast", "search_weather"] },
        resources: { blocked: ["internal://.*"] },
        prompts: {},
      },
      json_rpc_methods: [{ name: "tools/call", limit: { rate: 100, per: 60 } }],
      mcp_primitives: [
        { type: "tool", name: "get_forecast", limit: { rate: 20, per: 60 } },
        { type: "resource", name: "weather://current", limit: { rate: 10, per: 60 } },
      ],
    },
  },
});

describe.each(RUNTIMES)("policies and keys on %s", (runtime) => {
  let gw: RunningGateway;
  let n = 0;
  const uid = (p: string) => `${p}-${++n}`;

  const call = async (method: string, path: string, body?: unknown, dashboard = path.startsWith("/api/")) => {
    const res = await fetch(`${gw.url}${path}`, {
      method,
      headers: {
        ...(dashboard ? { authorization: TEST_DASHBOARD_KEY } : { "x-tyk-authorization": TEST_GATEWAY_SECRET }),
        "content-type": "application/json",
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as any };
  };

  beforeAll(async () => {
    const oas = mcpDefinition({ id: OAS, listenPath: "/weather-rest/", upstream: "http://127.0.0.1:9" }) as any;
    gw = await startGateway(runtime, [mcpDefinition({ id: MCP, listenPath: "/weather-mcp/", upstream: "http://127.0.0.1:9" })]);
    expect((await call("POST", "/tyk/apis", oas)).status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
  });

  describe("Gateway API /tyk/policies", () => {
    test("the reference's example policy is accepted: {key, status, action}, then get, list, update, delete", async () => {
      const id = uid("tier");
      const created = await call("POST", "/tyk/policies", { ...referencePolicy(MCP), id });
      expect(created).toEqual({ status: 200, json: { key: id, status: "ok", action: "added" } });
      const got = await call("GET", `/tyk/policies/${id}`);
      expect(got.json.access_rights[MCP].mcp_access_rights.tools.allowed).toEqual(["get_forecast", "search_weather"]);
      expect((await call("GET", "/tyk/policies")).json.map((p: any) => p.id)).toContain(id);
      const updated = await call("PUT", `/tyk/policies/${id}`, { ...referencePolicy(MCP), name: "Renamed" });
      expect(updated.json).toEqual({ key: id, status: "ok", action: "modified" });
      expect((await call("GET", `/tyk/policies/${id}`)).json.name).toBe("Renamed");
      expect((await call("DELETE", `/tyk/policies/${id}`)).json).toEqual({ key: id, status: "ok", action: "deleted" });
      expect((await call("GET", `/tyk/policies/${id}`)).status).toBe(404);
    });

    const mcpField = (field: string, value: unknown) => ({ access_rights: { [OAS]: { api_id: OAS, [field]: value } } });
    const restField = (field: string) => ({ access_rights: { [MCP]: { api_id: MCP, [field]: [{ url: "/x", methods: ["GET"] }] } } });
    test.each([
      ["mcp_access_rights on a non-MCP API", mcpField("mcp_access_rights", { tools: { allowed: ["a"] } }), /mcp_access_rights/],
      [
        "mcp_primitives on a non-MCP API",
        mcpField("mcp_primitives", [{ type: "tool", name: "a", limit: { rate: 1, per: 1 } }]),
        /mcp_primitives/,
      ],
      [
        "json_rpc_methods on a non-MCP API",
        mcpField("json_rpc_methods", [{ name: "tools/call", limit: { rate: 1, per: 1 } }]),
        /json_rpc_methods/,
      ],
      [
        "json_rpc_methods_access_rights on a non-MCP API",
        mcpField("json_rpc_methods_access_rights", { allowed: ["ping"] }),
        /json_rpc_methods_access_rights/,
      ],
      [
        "MCP fields on an API that does not exist",
        { access_rights: { nope: { api_id: "nope", mcp_access_rights: { tools: {} } } } },
        /not one/,
      ],
      ["allowed_urls on an MCP proxy", restField("allowed_urls"), /allowed_urls/],
      ["endpoints on an MCP proxy", restField("endpoints"), /endpoints/],
      ["field_access_rights on an MCP proxy", restField("field_access_rights"), /field_access_rights/],
      [
        "a primitive type that is not tool, resource or prompt",
        { access_rights: { [MCP]: { api_id: MCP, mcp_primitives: [{ type: "tools", name: "a", limit: { rate: 1, per: 60 } }] } } },
        /tool.*resource.*prompt/,
      ],
      [
        "a pattern that is not valid RE2",
        { access_rights: { [MCP]: { api_id: MCP, mcp_access_rights: { tools: { allowed: ["(a)\\1"] } } } } },
        /invalid pattern/,
      ],
      ["a state that is not active, draft or deny", { state: "paused" }, /state/],
      ["api_id that differs from its key", { access_rights: { [MCP]: { api_id: "other" } } }, /must match/],
    ])("%s: 400 with a message, nothing stored", async (_label, body, message) => {
      const id = uid("bad");
      const res = await call("POST", "/tyk/policies", { id, ...body });
      expect(res.status).toBe(400);
      expect(res.json.status).toBe("error");
      expect(res.json.message).toMatch(message);
      expect((await call("GET", `/tyk/policies/${id}`)).status).toBe(404);
    });

    test("update of a missing policy 404s; an id mismatch 400s", async () => {
      expect((await call("PUT", "/tyk/policies/never", referencePolicy(MCP))).status).toBe(404);
      const id = uid("mm");
      await call("POST", "/tyk/policies", { ...referencePolicy(MCP), id });
      expect((await call("PUT", `/tyk/policies/${id}`, { ...referencePolicy(MCP), id: "other" })).status).toBe(400);
    });
  });

  describe("Dashboard API /api/portal/policies", () => {
    test("create, list {Data, Pages}, get, update, delete", async () => {
      const created = await call("POST", "/api/portal/policies", referencePolicy(MCP));
      expect(created.status).toBe(200);
      expect(created.json).toMatchObject({ Status: "OK", Message: "Policy created" });
      const id = created.json.Meta;
      const list = await call("GET", "/api/portal/policies");
      expect(Object.keys(list.json).sort()).toEqual(["Data", "Pages"]);
      expect(list.json.Data.map((p: any) => p.id)).toContain(id);
      expect((await call("PUT", `/api/portal/policies/${id}`, referencePolicy(MCP))).json).toMatchObject({
        Status: "OK",
        Message: "Policy updated",
      });
      expect((await call("DELETE", `/api/portal/policies/${id}`)).json).toMatchObject({ Status: "OK", Message: "Policy deleted" });
      expect((await call("GET", `/api/portal/policies/${id}`)).status).toBe(404);
    });

    test("the MCP validation rules apply here too", async () => {
      const res = await call("POST", "/api/portal/policies", {
        access_rights: { [OAS]: { api_id: OAS, mcp_access_rights: { tools: {} } } },
      });
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ Status: "Error", Meta: null });
    });
  });

  describe("keys", () => {
    test("Gateway API: create shows the key once; list, get, update and delete work by hash", async () => {
      const pol = uid("kp");
      await call("POST", "/tyk/policies", { ...referencePolicy(MCP), id: pol });
      const created = await call("POST", "/tyk/keys", { alias: "agent-1", apply_policies: [pol] });
      expect(created.status).toBe(200);
      expect(created.json).toMatchObject({ status: "ok", action: "added" });
      const { key, key_hash } = created.json;
      expect(key_hash).toMatch(/^[0-9a-f]{64}$/);
      expect((await call("GET", "/tyk/keys")).json.keys).toContain(key_hash);
      const byKey = await call("GET", `/tyk/keys/${encodeURIComponent(key)}`);
      expect(byKey.json).toMatchObject({ alias: "agent-1", apply_policies: [pol], key_hash });
      const byHash = await call("GET", `/tyk/keys/${key_hash}?hashed=true`);
      expect(byHash.json.alias).toBe("agent-1");
      expect(JSON.stringify(byHash.json)).not.toContain(key);
      const updated = await call("PUT", `/tyk/keys/${key_hash}?hashed=true`, { alias: "agent-1b", apply_policies: [pol] });
      expect(updated.json).toMatchObject({ status: "ok", action: "modified" });
      expect((await call("GET", `/tyk/keys/${key_hash}?hashed=true`)).json.alias).toBe("agent-1b");
      expect((await call("DELETE", `/tyk/keys/${key_hash}?hashed=true`)).json).toMatchObject({ status: "ok", action: "deleted" });
      expect((await call("GET", `/tyk/keys/${key_hash}?hashed=true`)).status).toBe(404);
    });

    test("a custom key, and regeneration", async () => {
      const pol = uid("kc");
      await call("POST", "/tyk/policies", { ...referencePolicy(MCP), id: pol });
      const custom = `custom-${uid("key")}-0123456789`;
      expect((await call("POST", `/tyk/keys/${custom}`, { apply_policies: [pol] })).json.key).toBe(custom);
      expect((await call("POST", "/tyk/keys/short", { apply_policies: [pol] })).status).toBe(400);
      const regenerated = await call("POST", `/tyk/keys/${custom}/regenerate`);
      expect(regenerated.status).toBe(200);
      expect(regenerated.json.key).not.toBe(custom);
      expect((await call("GET", `/tyk/keys/${custom}`)).status).toBe(404);
    });

    test.each([
      ["a policy that does not exist", { apply_policies: ["no-such-policy"] }, /does not exist/],
      ["MCP fields on a non-MCP API", { access_rights: { [OAS]: { api_id: OAS, mcp_access_rights: { tools: {} } } } }, /mcp_access_rights/],
      ["a wrong type for expires", { expires: "tomorrow" }, /expires/],
    ])("a key with %s: 400", async (_label, body, message) => {
      const res = await call("POST", "/tyk/keys", body);
      expect(res.status).toBe(400);
      expect(res.json.message).toMatch(message);
    });

    test("Dashboard API: {api_model, key_id, data, key_hash}, paged listing, delete message", async () => {
      const pol = uid("kd");
      await call("POST", "/api/portal/policies", { ...referencePolicy(MCP), id: pol });
      const created = await call("POST", "/api/keys", { alias: "dash-agent", apply_policies: [pol] });
      expect(Object.keys(created.json).sort()).toEqual(["api_model", "data", "key_hash", "key_id"]);
      expect(created.json.data.alias).toBe("dash-agent");
      const hash = created.json.key_hash;
      const list = await call("GET", "/api/keys");
      expect(list.json.data.keys).toContain(hash);
      expect(list.json.pages).toBeGreaterThanOrEqual(1);
      const got = await call("GET", `/api/keys/${hash}`);
      expect(got.json).toMatchObject({ key_id: hash, key_hash: hash, data: { alias: "dash-agent" } });
      expect(JSON.stringify(got.json)).not.toContain(created.json.key_id);
      expect((await call("DELETE", `/api/keys/${hash}`)).json).toEqual({ Status: "OK", Message: "Key deleted successfully", Meta: "" });
      expect((await call("DELETE", `/api/keys/${hash}`)).status).toBe(404);
    });
  });
});
