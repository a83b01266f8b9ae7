/**
 * resolveAccess (src/policy/resolve.ts): a consumer's grants on one API, from its policies or, with
 * none, its own access rights. It fails closed: a missing policy, a deny policy, or no grant for the
 * API denies.
 */
import { describe, expect, test } from "vitest";
import { compileAccess, consumerVisibility } from "../../src/policy/evaluate.ts";
import type { Policy } from "../../src/policy/model.ts";
import { resolveAccess, type AccessDecision } from "../../src/policy/resolve.ts";
import type { CompiledPolicy } from "../../src/policy/store.ts";
import type { AccessRights } from "../../src/policy/types.ts";

const API = "weather";

/** A stored policy, with access rights in the evaluator's types. */
type TestPolicy = Omit<Policy, "access_rights"> & { id: string; access_rights?: AccessRights };

/** Compiles policies the way PolicyCache does. */
function compiled(...policies: TestPolicy[]): Map<string, CompiledPolicy> {
  return new Map(
    policies.map((policy) => [
      policy.id,
      {
        policy: policy as Policy,
        grants: new Map(Object.entries(policy.access_rights ?? {}).map(([id, access]) => [id, compileAccess(access)])),
      },
    ]),
  );
}

const tools = (apiId: string, allowed: string[]): AccessRights => ({
  [apiId]: { api_id: apiId, mcp_access_rights: { tools: { allowed } } },
});

const forecast: TestPolicy = { id: "forecast", state: "active", access_rights: tools(API, ["get_forecast"]) };
const search: TestPolicy = { id: "search", state: "active", access_rights: tools(API, ["search_weather"]) };
const other: TestPolicy = { id: "other", state: "active", access_rights: tools("other-api", [".*"]) };
const denied: TestPolicy = { id: "denied", state: "deny", access_rights: tools(API, [".*"]) };
const draft: TestPolicy = { id: "draft", state: "draft", access_rights: tools(API, [".*"]) };
const inactive: TestPolicy = { id: "inactive", is_inactive: true, access_rights: tools(API, [".*"]) };
const notActive: TestPolicy = { id: "not-active", active: false, access_rights: tools(API, [".*"]) };
const noState: TestPolicy = { id: "no-state", access_rights: tools(API, ["get_forecast"]) };
const all = compiled(forecast, search, other, denied, draft, inactive, notActive, noState);

function granted(decision: AccessDecision) {
  expect(decision.ok).toBe(true);
  if (!decision.ok) throw new Error(decision.message);
  return consumerVisibility(decision.grants);
}

function refusal(decision: AccessDecision) {
  expect(decision.ok).toBe(false);
  if (decision.ok) throw new Error("granted");
  return decision;
}

describe("access through policies", () => {
  test("a policy granting the API gives its grant", () => {
    const decision = resolveAccess({ policies: ["forecast"] }, [API], all);
    const v = granted(decision);
    expect(decision.ok && decision.grants).toHaveLength(1);
    expect(v.canSee("tool", "get_forecast")).toBe(true);
    expect(v.canSee("tool", "search_weather")).toBe(false);
  });

  test("several policies granting the API: the union of their grants", () => {
    const v = granted(resolveAccess({ policies: ["forecast", "search"] }, [API], all));
    expect(v.canSee("tool", "get_forecast")).toBe(true);
    expect(v.canSee("tool", "search_weather")).toBe(true);
    expect(v.canSee("tool", "delete")).toBe(false);
  });

  test("a policy without a state is active", () => {
    expect(resolveAccess({ policies: ["no-state"] }, [API], all).ok).toBe(true);
  });

  test("a policy that no longer exists denies, even beside one that grants (fail closed)", () => {
    const decision = refusal(resolveAccess({ policies: ["forecast", "gone"] }, [API], all));
    expect(decision.reason).toBe("policy_missing");
    expect(refusal(resolveAccess({ policies: ["gone"] }, [API], all)).reason).toBe("policy_missing");
  });

  test("a deny policy denies, even beside one that grants", () => {
    expect(refusal(resolveAccess({ policies: ["forecast", "denied"] }, [API], all))).toMatchObject({
      reason: "policy_denied",
      message: "Access denied by policy",
    });
    expect(refusal(resolveAccess({ policies: ["denied", "forecast"] }, [API], all)).reason).toBe("policy_denied");
  });

  test("a deny policy denies even on an API it does not name", () => {
    expect(refusal(resolveAccess({ policies: ["denied", "other"] }, ["other-api"], all)).reason).toBe("policy_denied");
  });

  test.each(["draft", "inactive", "not-active"])("a %s policy grants nothing", (id) => {
    expect(refusal(resolveAccess({ policies: [id] }, [API], all)).reason).toBe("no_access");
    // ... and does not stop another policy from granting.
    const v = granted(resolveAccess({ policies: [id, "forecast"] }, [API], all));
    expect(v.canSee("tool", "get_forecast")).toBe(true);
    expect(v.canSee("tool", "anything")).toBe(false);
  });

  test("policies that grant other APIs only: denied", () => {
    expect(refusal(resolveAccess({ policies: ["other"] }, [API], all))).toMatchObject({
      reason: "no_access",
      message: "Access to this API has been disallowed",
    });
  });

  test("policies take precedence: a key's own rights are ignored once it applies policies", () => {
    const decision = resolveAccess({ policies: ["other"], ownAccess: tools(API, [".*"]) }, [API], all);
    expect(refusal(decision).reason).toBe("no_access");
  });
});

describe("versions: a grant on the base API gives access to its versions", () => {
  test("the base id (second in apiIds) grants", () => {
    const v = granted(resolveAccess({ policies: ["forecast"] }, ["weather-v2", API], all));
    expect(v.canSee("tool", "get_forecast")).toBe(true);
  });

  test("a grant on the version itself is preferred to the base's", () => {
    const both = compiled({ id: "both", access_rights: { ...tools("weather-v2", ["v2_only"]), ...tools(API, ["base_only"]) } });
    const v = granted(resolveAccess({ policies: ["both"] }, ["weather-v2", API], both));
    expect(v.canSee("tool", "v2_only")).toBe(true);
    expect(v.canSee("tool", "base_only")).toBe(false);
  });

  test("a grant on a version does not give access to its base", () => {
    const v2 = compiled({ id: "v2", access_rights: tools("weather-v2", [".*"]) });
    expect(refusal(resolveAccess({ policies: ["v2"] }, [API], v2)).reason).toBe("no_access");
  });
});

describe("a key's own access rights, without policies", () => {
  test("its entry for the API grants", () => {
    const v = granted(resolveAccess({ policies: [], ownAccess: tools(API, ["get_forecast"]) }, [API], new Map()));
    expect(v.canSee("tool", "get_forecast")).toBe(true);
    expect(v.canSee("tool", "search_weather")).toBe(false);
  });

  test("its entry for the base API grants a version", () => {
    expect(resolveAccess({ policies: [], ownAccess: tools(API, [".*"]) }, ["weather-v2", API], new Map()).ok).toBe(true);
  });

  test("no entry for the API: denied", () => {
    expect(refusal(resolveAccess({ policies: [], ownAccess: tools("other-api", [".*"]) }, [API], new Map())).reason).toBe("no_access");
  });

  test("no access rights and no policies reaches nothing (unlike Tyk's legacy 'no rights means all')", () => {
    for (const ownAccess of [undefined, null, {}]) {
      expect(refusal(resolveAccess({ policies: [], ownAccess }, [API], new Map())).reason).toBe("no_access");
    }
  });

  test("own rights whose patterns do not compile: invalid_rights, not a crash", () => {
    const bad: AccessRights = { [API]: { api_id: API, mcp_access_rights: { tools: { allowed: ["(?=x)"] } } } };
    expect(refusal(resolveAccess({ policies: [], ownAccess: bad }, [API], new Map()))).toMatchObject({
      reason: "invalid_rights",
      message: "This credential's access rights are invalid",
    });
  });
});

describe("a key's own access rights", () => {
  const own = (allowed: string[]): AccessRights => tools(API, allowed);
  const sees = (decision: AccessDecision, name: string) => decision.ok && consumerVisibility(decision.grants).canSee("tool", name);

  test("a frozen entry (a session reused as read) is compiled once; the grants are the same", () => {
    const rights = Object.freeze(own(["get_.*"]));
    Object.freeze(rights[API]);
    const a = resolveAccess({ policies: [], ownAccess: rights }, [API], compiled());
    const b = resolveAccess({ policies: [], ownAccess: rights }, [API], compiled());
    expect(a.ok && b.ok && a.grants[0] === b.grants[0]).toBe(true);
    expect(sees(a, "get_forecast")).toBe(true);
  });

  test("an entry that is not frozen is compiled on every call, so a change to it counts", () => {
    const rights = own(["get_.*"]);
    expect(sees(resolveAccess({ policies: [], ownAccess: rights }, [API], compiled()), "get_forecast")).toBe(true);
    rights[API]!.mcp_access_rights = { tools: { allowed: ["search_.*"] } };
    const after = resolveAccess({ policies: [], ownAccess: rights }, [API], compiled());
    expect(sees(after, "get_forecast")).toBe(false);
    expect(sees(after, "search_weather")).toBe(true);
  });

  test("invalid rights are refused every time, frozen or not", () => {
    const rights = Object.freeze(own(["(unclosed"]));
    Object.freeze(rights[API]);
    for (let i = 0; i < 2; i++) {
      expect(resolveAccess({ policies: [], ownAccess: rights }, [API], compiled())).toMatchObject({ ok: false, reason: "invalid_rights" });
    }
  });
});
