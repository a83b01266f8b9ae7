/**
 * Policies and keys as Tyk writes them (src/policy/model.ts), against the reference's "Policy
 * validation for MCP": MCP fields only on MCP proxies, REST fields never on them, primitive types,
 * compiling patterns; and the helpers the request path uses (appliedPolicies, isExpired).
 */
import { describe, expect, test } from "vitest";
import type { ApiKind } from "../../src/stores/layout.ts";
import { appliedPolicies, checkKeySession, checkPolicy, isExpired, type KeySession } from "../../src/policy/model.ts";

const MCP = "weather-mcp";
const OAS = "petstore";
const kinds: Record<string, ApiKind> = { [MCP]: "mcp", [OAS]: "oas" };
const kindOf = (id: string): ApiKind | undefined => kinds[id];

/** The reference's "Example policy request", as written, for the MCP proxy `weather-mcp`. */
const examplePolicy = () => ({
  name: "Weather Agent — Standard Tier",
  state: "active",
  rate: 1000,
  per: 60,
  quota_max: 50000,
  quota_renewal_rate: 86400,
  access_rights: {
    "weather-mcp": {
      api_id: "weather-mcp",
      api_name: "Weather MCP Proxy",
      versions: ["Default"],
      limit: { rate: 200, per: 60 },
      json_rpc_methods_access_rights: {
        allowed: ["tools/call", "tools/list", "resources/list", "resources/read"],
      },
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

/** A policy with one access-rights entry. */
const policyFor = (apiId: string, entry: Record<string, unknown>) => ({
  name: "p",
  access_rights: { [apiId]: { api_id: apiId, ...entry } },
});

const MCP_FIELDS: Record<string, unknown> = {
  mcp_primitives: [{ type: "tool", name: "get_forecast", limit: { rate: 1, per: 1 } }],
  mcp_access_rights: { tools: { allowed: ["x"] } },
  json_rpc_methods: [{ name: "tools/call", limit: { rate: 1, per: 1 } }],
  json_rpc_methods_access_rights: { allowed: ["tools/call"] },
};
const REST_FIELDS: Record<string, unknown> = {
  allowed_urls: [{ url: "/pets", methods: ["GET"] }],
  endpoints: [{ path: "/pets", methods: [{ name: "GET", limit: { rate: 1, per: 1 } }] }],
  field_access_rights: [{ type_name: "Query", field_name: "pets" }],
};

function refused(result: { ok: boolean; message?: string }): string {
  expect(result.ok).toBe(false);
  return (result as { message: string }).message;
}

describe("the reference's example policy", () => {
  test("is accepted as written, for an MCP proxy", () => {
    const result = checkPolicy(examplePolicy(), kindOf);
    expect(result).toMatchObject({ ok: true });
    if (!result.ok) return;
    expect(result.value.name).toBe("Weather Agent — Standard Tier");
    expect(result.value.access_rights?.[MCP]).toMatchObject({
      mcp_access_rights: { tools: { allowed: ["get_forecast", "search_weather"] } },
      mcp_primitives: [
        { type: "tool", name: "get_forecast" },
        { type: "resource", name: "weather://current" },
      ],
    });
  });

  test("is refused when its API id is an OAS API, naming the first MCP field", () => {
    const body = examplePolicy() as { access_rights: Record<string, unknown> };
    body.access_rights = { [OAS]: { ...(body.access_rights[MCP] as object), api_id: OAS } };
    expect(refused(checkPolicy(body, kindOf))).toMatch(/access_rights\["petstore"\]\.mcp_primitives is only valid for an MCP proxy/);
  });
});

describe("MCP fields against an API that is not an MCP proxy are refused", () => {
  for (const [field, value] of Object.entries(MCP_FIELDS)) {
    test(`${field} on an OAS API`, () => {
      const message = refused(checkPolicy(policyFor(OAS, { [field]: value }), kindOf));
      expect(message).toContain(`access_rights["${OAS}"].${field}`);
      expect(message).toContain("only valid for an MCP proxy");
    });

    test(`${field} on an API id that does not exist`, () => {
      const message = refused(checkPolicy(policyFor("no-such-api", { [field]: value }), kindOf));
      expect(message).toContain(`access_rights["no-such-api"].${field}`);
    });
  }

  test("null and empty lists do not count as set (Tyk clients send them as defaults)", () => {
    const entry = { mcp_primitives: [], json_rpc_methods: [] };
    expect(checkPolicy(policyFor(OAS, entry), kindOf).ok).toBe(true);
  });

  test("an OAS API with only standard fields is fine", () => {
    expect(checkPolicy(policyFor(OAS, { versions: ["Default"], limit: { rate: 1, per: 1 }, ...REST_FIELDS }), kindOf).ok).toBe(true);
  });
});

describe("REST fields against an MCP proxy are refused", () => {
  for (const [field, value] of Object.entries(REST_FIELDS)) {
    test(field, () => {
      const message = refused(checkPolicy(policyFor(MCP, { [field]: value }), kindOf));
      expect(message).toContain(`access_rights["${MCP}"].${field}`);
      expect(message).toContain("REST field");
    });
  }

  test("null and empty lists do not count as set", () => {
    expect(checkPolicy(policyFor(MCP, { allowed_urls: null, endpoints: [], field_access_rights: null }), kindOf).ok).toBe(true);
  });
});

describe("mcp_primitives entries", () => {
  const withPrimitive = (primitive: Record<string, unknown>) => policyFor(MCP, { mcp_primitives: [primitive] });

  test.each(["tool", "resource", "prompt"])('type "%s" is accepted', (type) => {
    expect(checkPolicy(withPrimitive({ type, name: "x", limit: { rate: 1, per: 60 } }), kindOf).ok).toBe(true);
  });

  test.each(["method", "Tool", "tools", ""])('type "%s" is refused', (type) => {
    const message = refused(checkPolicy(withPrimitive({ type, name: "x", limit: { rate: 1, per: 60 } }), kindOf));
    expect(message).toContain('must be "tool", "resource" or "prompt"');
    expect(message).toContain("mcp_primitives.0.type");
  });

  test("an empty name, or a missing or negative limit, is refused", () => {
    expect(checkPolicy(withPrimitive({ type: "tool", name: "", limit: { rate: 1, per: 60 } }), kindOf).ok).toBe(false);
    expect(checkPolicy(withPrimitive({ type: "tool", name: "x" }), kindOf).ok).toBe(false);
    expect(checkPolicy(withPrimitive({ type: "tool", name: "x", limit: { rate: -1, per: 60 } }), kindOf).ok).toBe(false);
  });

  test("json_rpc_methods entries need a name and a limit", () => {
    expect(checkPolicy(policyFor(MCP, { json_rpc_methods: [{ name: "", limit: { rate: 1, per: 1 } }] }), kindOf).ok).toBe(false);
    expect(checkPolicy(policyFor(MCP, { json_rpc_methods: [{ name: "tools/call" }] }), kindOf).ok).toBe(false);
  });
});

describe("patterns must compile", () => {
  test.each([
    ["json_rpc_methods_access_rights", { json_rpc_methods_access_rights: { allowed: ["(tools/call"] } }, "(tools/call"],
    ["mcp_access_rights.tools", { mcp_access_rights: { tools: { blocked: ["(?!safe).*"] } } }, "(?!safe).*"],
    ["mcp_access_rights.resources", { mcp_access_rights: { resources: { allowed: ["(a)\\1"] } } }, "(a)\\1"],
    ["mcp_access_rights.prompts", { mcp_access_rights: { prompts: { allowed: ["x".repeat(1025)] } } }, "x".repeat(60)],
  ])("a bad pattern in %s is refused, quoting it", (_where, entry, quoted) => {
    const message = refused(checkPolicy(policyFor(MCP, entry), kindOf));
    expect(message).toContain(`access_rights["${MCP}"]: invalid pattern "${quoted}`);
  });

  test("patterns must be strings", () => {
    const message = refused(checkPolicy(policyFor(MCP, { mcp_access_rights: { tools: { allowed: [42] } } }), kindOf));
    expect(message).toContain("access_rights.weather-mcp.mcp_access_rights.tools.allowed.0");
  });
});

describe("the shape of a policy", () => {
  test("an entry's api_id must match its key", () => {
    const body = { access_rights: { [MCP]: { api_id: OAS } } };
    expect(refused(checkPolicy(body, kindOf))).toContain(`access_rights["${MCP}"].api_id "${OAS}" must match its key "${MCP}"`);
  });

  test("an entry may leave api_id out", () => {
    expect(checkPolicy({ access_rights: { [MCP]: { mcp_access_rights: {} } } }, kindOf).ok).toBe(true);
  });

  test.each(["active", "draft", "deny"])('state "%s" is accepted', (state) => {
    expect(checkPolicy({ state }, kindOf).ok).toBe(true);
  });

  test.each(["Active", "inactive", "paused", ""])('state "%s" is refused', (state) => {
    expect(refused(checkPolicy({ state }, kindOf))).toContain('state: must be "active", "draft" or "deny"');
  });

  test("the body must be one object", () => {
    for (const body of [null, [], "policy", 42, [examplePolicy()]]) {
      expect(refused(checkPolicy(body, kindOf))).toBe("The request body must be one policy object");
    }
  });

  test("typed fields are checked", () => {
    expect(refused(checkPolicy({ rate: "fast" }, kindOf))).toMatch(/^Invalid policy: rate:/);
    expect(checkPolicy({ access_rights: null, tags: null, meta_data: null }, kindOf).ok).toBe(true);
  });

  test("unknown fields are kept (Tyk has many this gateway does not act on)", () => {
    const result = checkPolicy({ name: "p", hmac_enabled: false, partitions: { quota: true } }, kindOf);
    expect(result.ok && result.value).toMatchObject({ hmac_enabled: false, partitions: { quota: true } });
  });
});

describe("checkKeySession: a key's own access rights follow the same rules", () => {
  test("the reference's access-rights entry is accepted on a key", () => {
    const result = checkKeySession({ alias: "agent", access_rights: examplePolicy().access_rights }, kindOf);
    expect(result.ok).toBe(true);
  });

  test("MCP fields on a non-MCP or unknown API are refused, naming the field", () => {
    for (const apiId of [OAS, "no-such-api"]) {
      for (const [field, value] of Object.entries(MCP_FIELDS)) {
        const message = refused(checkKeySession({ access_rights: { [apiId]: { api_id: apiId, [field]: value } } }, kindOf));
        expect(message).toMatch(/^Invalid key: /);
        expect(message).toContain(`access_rights["${apiId}"].${field}`);
      }
    }
  });

  test("REST fields on an MCP proxy are refused", () => {
    for (const [field, value] of Object.entries(REST_FIELDS)) {
      expect(refused(checkKeySession({ access_rights: { [MCP]: { [field]: value } } }, kindOf))).toContain(`.${field} is a REST field`);
    }
  });

  test("primitive types, patterns and api_id are checked", () => {
    const primitive = { access_rights: { [MCP]: { mcp_primitives: [{ type: "widget", name: "x", limit: { rate: 1, per: 1 } }] } } };
    expect(refused(checkKeySession(primitive, kindOf))).toContain('must be "tool", "resource" or "prompt"');
    const pattern = { access_rights: { [MCP]: { mcp_access_rights: { tools: { allowed: ["(?=x)"] } } } } };
    expect(refused(checkKeySession(pattern, kindOf))).toContain('invalid pattern "(?=x)"');
    const mismatch = { access_rights: { [MCP]: { api_id: "other" } } };
    expect(refused(checkKeySession(mismatch, kindOf))).toContain("must match its key");
  });

  test("the body must be one object; typed fields are checked", () => {
    expect(refused(checkKeySession([], kindOf))).toBe("The request body must be one key session object");
    expect(refused(checkKeySession({ expires: "tomorrow" }, kindOf))).toMatch(/^Invalid key: expires:/);
    expect(refused(checkKeySession({ apply_policies: "p1" }, kindOf))).toMatch(/^Invalid key: apply_policies:/);
  });

  test("a key with no access rights at all is valid", () => {
    expect(checkKeySession({}, kindOf).ok).toBe(true);
  });
});

describe("appliedPolicies", () => {
  test("apply_policies, in order", () => {
    expect(appliedPolicies({ apply_policies: ["a", "b"] })).toEqual(["a", "b"]);
  });

  test("the legacy apply_policy_id when apply_policies is absent, null or empty", () => {
    expect(appliedPolicies({ apply_policy_id: "legacy" })).toEqual(["legacy"]);
    expect(appliedPolicies({ apply_policies: null, apply_policy_id: "legacy" })).toEqual(["legacy"]);
    expect(appliedPolicies({ apply_policies: [], apply_policy_id: "legacy" })).toEqual(["legacy"]);
  });

  test("apply_policies wins over apply_policy_id", () => {
    expect(appliedPolicies({ apply_policies: ["a"], apply_policy_id: "legacy" })).toEqual(["a"]);
  });

  test("neither: none (an empty apply_policy_id is none too)", () => {
    expect(appliedPolicies({})).toEqual([]);
    expect(appliedPolicies({ apply_policy_id: "" })).toEqual([]);
  });
});

describe("isExpired", () => {
  const now = 1_700_000_000;
  const at = (expires: number | undefined): KeySession => (expires === undefined ? {} : { expires });

  test("no expiry, 0 and negative values never expire", () => {
    expect(isExpired(at(undefined), now)).toBe(false);
    expect(isExpired(at(0), now)).toBe(false);
    expect(isExpired(at(-1), now)).toBe(false);
    expect(isExpired(at(-now), now)).toBe(false);
  });

  test("a key expires at its expires second (Unix seconds), not before", () => {
    expect(isExpired(at(now + 1), now)).toBe(false);
    expect(isExpired(at(now), now)).toBe(true);
    expect(isExpired(at(now - 1), now)).toBe(true);
    expect(isExpired(at(1), now)).toBe(true);
  });
});
