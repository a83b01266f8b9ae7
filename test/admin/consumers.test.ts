/**
 * ConsumerService (src/admin/consumers.ts) over a memory store: policies and keys as the Gateway and
 * Dashboard APIs manage them. Policies are validated against the kinds of the stored APIs; keys are
 * returned once and stored only as their SHA-256 hash.
 */
import { beforeEach, describe, expect, test } from "vitest";
import { ConsumerService, type CreatedKey } from "../../src/admin/consumers.ts";
import { Mutex } from "../../src/admin/mutex.ts";
import { DefinitionRepository } from "../../src/definitions/repository.ts";
import { validateDefinition } from "../../src/definitions/schema.ts";
import { hashKey } from "../../src/auth/api-keys.ts";
import { POLICIES_VERSION_KEY } from "../../src/stores/layout.ts";
import { MemoryStore } from "../../src/stores/memory.ts";
import { mcpDefinition } from "../helpers/definitions.ts";

const NOW = 1_700_000_000;
const MCP = "weather";
const OAS = "petstore";

let store: MemoryStore;
let service: ConsumerService;

beforeEach(async () => {
  store = new MemoryStore();
  service = new ConsumerService(store, new Mutex(), () => NOW);
  const apis = new DefinitionRepository(store);
  for (const [kind, id] of [
    ["mcp", MCP],
    ["oas", OAS],
  ] as const) {
    const result = validateDefinition(mcpDefinition({ id, listenPath: `/${id}/`, upstream: "http://upstream.test" }));
    if (!result.ok) throw new Error(result.issues.join("; "));
    await apis.put(kind, result.definition);
  }
});

/** Every key and value in the store. */
async function dump(): Promise<[string, string][]> {
  const keys = await store.list("");
  return Promise.all(keys.map(async (k) => [k, (await store.get(k))!] as [string, string]));
}

function ok<T>(outcome: { ok: true; value: T } | { ok: false; code: string; message: string }): T {
  if (!outcome.ok) throw new Error(`${outcome.code}: ${outcome.message}`);
  return outcome.value;
}

const mcpGrant = { [MCP]: { api_id: MCP, mcp_access_rights: { tools: { allowed: ["get_forecast"] } } } };

describe("policies: create, read, update, delete", () => {
  test("create with an id; read it back, with state defaulting to active", async () => {
    expect(await service.createPolicy({ id: "gold", name: "Gold", access_rights: mcpGrant })).toEqual({ ok: true, value: "gold" });
    const policy = ok(await service.getPolicy("gold"));
    expect(policy).toMatchObject({ id: "gold", name: "Gold", state: "active", access_rights: mcpGrant });
  });

  test("a given state is kept", async () => {
    ok(await service.createPolicy({ id: "d", state: "draft" }));
    expect(ok(await service.getPolicy("d")).state).toBe("draft");
  });

  test("create without an id: one is generated (32 hex digits)", async () => {
    const id = ok(await service.createPolicy({ name: "anonymous" }));
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(ok(await service.getPolicy(id)).name).toBe("anonymous");
  });

  test("Tyk's _id is used as the id, and not stored", async () => {
    expect(ok(await service.createPolicy({ _id: "from-underscore", name: "x" }))).toBe("from-underscore");
    const policy = ok(await service.getPolicy("from-underscore"));
    expect(policy.id).toBe("from-underscore");
    expect(policy._id).toBeUndefined();
  });

  test("an id that is not a safe path component is refused", async () => {
    for (const id of ["../escape", "a/b", "with space", "."]) {
      expect(await service.createPolicy({ id })).toMatchObject({ ok: false, code: "invalid" });
      expect(await service.getPolicy(id)).toMatchObject({ ok: false, code: "invalid" });
    }
  });

  test("a duplicate id is refused and the first policy kept", async () => {
    ok(await service.createPolicy({ id: "gold", name: "first" }));
    expect(await service.createPolicy({ id: "gold", name: "second" })).toMatchObject({ ok: false, code: "already_exists" });
    expect(ok(await service.getPolicy("gold")).name).toBe("first");
  });

  test("concurrent creates of one id: exactly one wins (writes run under the mutex)", async () => {
    const results = await Promise.all([1, 2, 3].map((n) => service.createPolicy({ id: "race", name: `n${n}` })));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.code === "already_exists")).toHaveLength(2);
  });

  test("list returns every policy with its id", async () => {
    ok(await service.createPolicy({ id: "a" }));
    ok(await service.createPolicy({ id: "b" }));
    expect((await service.listPolicies()).map((p) => p.id).sort()).toEqual(["a", "b"]);
  });

  test("update replaces the policy", async () => {
    ok(await service.createPolicy({ id: "gold", name: "old", rate: 1 }));
    expect(await service.updatePolicy("gold", { name: "new" })).toEqual({ ok: true, value: "gold" });
    const policy = ok(await service.getPolicy("gold"));
    expect(policy.name).toBe("new");
    expect(policy.rate).toBeUndefined();
  });

  test("update with a body id (or _id) that differs from the URL's: id_mismatch, nothing changed", async () => {
    ok(await service.createPolicy({ id: "gold", name: "old" }));
    expect(await service.updatePolicy("gold", { id: "silver", name: "new" })).toMatchObject({ ok: false, code: "id_mismatch" });
    expect(await service.updatePolicy("gold", { _id: "silver", name: "new" })).toMatchObject({ ok: false, code: "id_mismatch" });
    expect(ok(await service.updatePolicy("gold", { id: "gold", name: "same id is fine" }))).toBe("gold");
  });

  test("update or delete of a policy that does not exist: not_found", async () => {
    expect(await service.updatePolicy("ghost", { name: "x" })).toMatchObject({ ok: false, code: "not_found" });
    expect(await service.deletePolicy("ghost")).toMatchObject({ ok: false, code: "not_found" });
    expect(await service.getPolicy("ghost")).toMatchObject({ ok: false, code: "not_found" });
  });

  test("delete removes it", async () => {
    ok(await service.createPolicy({ id: "gold" }));
    expect(await service.deletePolicy("gold")).toEqual({ ok: true, value: "gold" });
    expect(await service.getPolicy("gold")).toMatchObject({ ok: false, code: "not_found" });
    expect(await service.listPolicies()).toEqual([]);
  });

  test("every policy write bumps the policies' version stamp (gateways reload on it)", async () => {
    const stamps: (string | null)[] = [await store.get(POLICIES_VERSION_KEY)];
    ok(await service.createPolicy({ id: "gold" }));
    stamps.push(await store.get(POLICIES_VERSION_KEY));
    ok(await service.updatePolicy("gold", { name: "x" }));
    stamps.push(await store.get(POLICIES_VERSION_KEY));
    ok(await service.deletePolicy("gold"));
    stamps.push(await store.get(POLICIES_VERSION_KEY));
    expect(stamps[0]).toBeNull();
    expect(new Set(stamps).size).toBe(4);
  });
});

describe("policies are validated against the stored APIs' kinds", () => {
  test("MCP fields on the MCP proxy are accepted", async () => {
    expect((await service.createPolicy({ id: "p", access_rights: mcpGrant })).ok).toBe(true);
  });

  test("MCP fields on the OAS API are refused, on create and on update", async () => {
    const bad = { access_rights: { [OAS]: { api_id: OAS, json_rpc_methods_access_rights: { allowed: ["tools/call"] } } } };
    const created = await service.createPolicy({ id: "p", ...bad });
    expect(created).toMatchObject({ ok: false, code: "invalid" });
    expect(!created.ok && created.message).toContain(`access_rights["${OAS}"].json_rpc_methods_access_rights`);
    ok(await service.createPolicy({ id: "p" }));
    expect(await service.updatePolicy("p", bad)).toMatchObject({ ok: false, code: "invalid" });
  });

  test("MCP fields on an API id that is not stored are refused", async () => {
    const result = await service.createPolicy({ access_rights: { ghost: { api_id: "ghost", mcp_access_rights: {} } } });
    expect(result).toMatchObject({ ok: false, code: "invalid" });
  });

  test("REST fields on the MCP proxy are refused; on the OAS API they are fine", async () => {
    const rest = (id: string) => ({ access_rights: { [id]: { api_id: id, allowed_urls: [{ url: "/x", methods: ["GET"] }] } } });
    const refused = await service.createPolicy(rest(MCP));
    expect(refused).toMatchObject({ ok: false, code: "invalid" });
    expect(!refused.ok && refused.message).toContain("allowed_urls is a REST field");
    expect((await service.createPolicy(rest(OAS))).ok).toBe(true);
  });

  test("nothing is written when a policy is refused", async () => {
    const before = await dump();
    await service.createPolicy({ id: "bad", state: "sometimes" });
    expect(await dump()).toEqual(before);
  });
});

describe("keys: stored only as their SHA-256 hash", () => {
  test("create returns the key once; the store holds its hash, never the key", async () => {
    ok(await service.createPolicy({ id: "gold", access_rights: mcpGrant }));
    const created = ok(await service.createKey({ alias: "agent", apply_policies: ["gold"] }));
    expect(created.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(created.hash).toBe(await hashKey(created.key));
    expect(created.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(created.session).toMatchObject({ alias: "agent", apply_policies: ["gold"] });

    const entries = await dump();
    expect(entries.map(([k]) => k)).toContain(`key:${created.hash}`);
    for (const [k, value] of entries) {
      expect(k).not.toContain(created.key);
      expect(value).not.toContain(created.key);
    }
    expect(JSON.parse((await store.get(`key:${created.hash}`))!)).toEqual(created.session);
  });

  test("each created key is new", async () => {
    const a = ok(await service.createKey({}));
    const b = ok(await service.createKey({}));
    expect(a.key).not.toBe(b.key);
    expect((await service.listKeys()).sort()).toEqual([a.hash, b.hash].sort());
  });

  test("a custom key is stored by its hash too, and found by the key", async () => {
    const customKey = "my-custom-key_01";
    const created = ok(await service.createKey({ alias: "custom" }, customKey));
    expect(created.key).toBe(customKey);
    expect(created.hash).toBe(await hashKey(customKey));
    for (const [k, value] of await dump()) expect(`${k} ${value}`).not.toContain(customKey);
    expect(ok(await service.getKey(customKey, false)).session.alias).toBe("custom");
  });

  test.each([
    ["too short", "short"],
    ["too long", "k".repeat(257)],
    ["with a space", "has a space"],
    ["with a tab", "tab\there-x"],
    ["non-ASCII", "ключ-ключ-ключ"],
    ["empty", ""],
  ])("a custom key %s is refused", async (_what, customKey) => {
    expect(await service.createKey({}, customKey)).toMatchObject({ ok: false, code: "invalid" });
    expect(await service.listKeys()).toEqual([]);
  });

  test("custom keys at the length limits (8 and 256) are accepted", async () => {
    expect((await service.createKey({}, "12345678")).ok).toBe(true);
    expect((await service.createKey({}, "k".repeat(256))).ok).toBe(true);
  });

  test("a custom key that exists already is refused, the first one kept", async () => {
    ok(await service.createKey({ alias: "first" }, "duplicate-key"));
    expect(await service.createKey({ alias: "second" }, "duplicate-key")).toMatchObject({ ok: false, code: "already_exists" });
    expect(ok(await service.getKey("duplicate-key", false)).session.alias).toBe("first");
  });

  // Known bug (reported): a custom key of 64 lower-case hex digits is taken for a hash by every
  // by-key operation, so it can be created but never found, updated or deleted by the key.
  test("a custom key that looks like a hash is refused, or found by the key", async () => {
    const customKey = "ab".repeat(32);
    const created = await service.createKey({ alias: "hexy" }, customKey);
    if (created.ok) expect((await service.getKey(customKey, false)).ok).toBe(true);
  });
});

describe("keys: read, update, delete, regenerate", () => {
  let created: CreatedKey;
  beforeEach(async () => {
    ok(await service.createPolicy({ id: "gold", access_rights: mcpGrant }));
    created = ok(await service.createKey({ alias: "agent", apply_policies: ["gold"] }));
  });

  test("get by the key, by the hash (hashed), and by a hash recognised as one", async () => {
    for (const [keyOrHash, hashed] of [
      [created.key, false],
      [created.hash, true],
      [created.hash, false],
      [created.hash.toUpperCase(), true],
    ] as const) {
      expect(ok(await service.getKey(keyOrHash, hashed))).toEqual({ hash: created.hash, session: created.session });
    }
  });

  test("an unknown key or hash: not_found", async () => {
    expect(await service.getKey("not-a-key-at-all", false)).toMatchObject({ ok: false, code: "not_found" });
    expect(await service.getKey("0".repeat(64), true)).toMatchObject({ ok: false, code: "not_found" });
    // The hash is not the key: hashing a hash finds nothing.
    expect(await service.getKey(created.key, true)).toMatchObject({ ok: false, code: "not_found" });
  });

  test("update replaces the session under the same hash", async () => {
    const updated = ok(await service.updateKey(created.key, false, { alias: "renamed", is_inactive: true }));
    expect(updated.hash).toBe(created.hash);
    expect(ok(await service.getKey(created.hash, true)).session).toEqual({ alias: "renamed", is_inactive: true });
  });

  test("update validates like create, and an unknown key is not_found", async () => {
    expect(await service.updateKey(created.key, false, { apply_policies: ["ghost"] })).toMatchObject({ ok: false, code: "invalid" });
    expect(await service.updateKey(created.key, false, { access_rights: { [OAS]: { mcp_access_rights: {} } } })).toMatchObject({
      ok: false,
      code: "invalid",
    });
    expect(ok(await service.getKey(created.key, false)).session.alias).toBe("agent");
    expect(await service.updateKey("unknown-key", false, {})).toMatchObject({ ok: false, code: "not_found" });
  });

  test("delete removes the key; deleting again is not_found", async () => {
    expect(await service.deleteKey(created.key, false)).toEqual({ ok: true, value: created.hash });
    expect(await service.getKey(created.key, false)).toMatchObject({ ok: false, code: "not_found" });
    expect(await service.deleteKey(created.hash, true)).toMatchObject({ ok: false, code: "not_found" });
    expect(await service.listKeys()).toEqual([]);
  });

  test("delete by hash works too", async () => {
    expect(ok(await service.deleteKey(created.hash, true))).toBe(created.hash);
    expect(await service.listKeys()).toEqual([]);
  });

  test("regenerate: a new key for the same session; the old key stops working at once", async () => {
    const fresh = ok(await service.regenerateKey(created.key, false));
    expect(fresh.key).not.toBe(created.key);
    expect(fresh.hash).toBe(await hashKey(fresh.key));
    expect(fresh.session).toEqual(created.session);
    expect(await service.getKey(created.key, false)).toMatchObject({ ok: false, code: "not_found" });
    expect(await store.get(`key:${created.hash}`)).toBeNull();
    expect(ok(await service.getKey(fresh.key, false)).session).toEqual(created.session);
    expect(await service.listKeys()).toEqual([fresh.hash]);
    for (const [k, value] of await dump()) expect(`${k} ${value}`).not.toContain(fresh.key);
  });

  test("regenerate by hash; an unknown key is not_found", async () => {
    expect((await service.regenerateKey(created.hash, true)).ok).toBe(true);
    expect(await service.regenerateKey(created.hash, true)).toMatchObject({ ok: false, code: "not_found" });
  });
});

describe("keys: validation and policies", () => {
  test("apply_policies naming a policy that does not exist: invalid, naming it, and nothing stored", async () => {
    ok(await service.createPolicy({ id: "gold" }));
    const result = await service.createKey({ apply_policies: ["gold", "ghost"] });
    expect(result).toMatchObject({ ok: false, code: "invalid" });
    expect(!result.ok && result.message).toContain('policy "ghost" does not exist');
    expect(await service.listKeys()).toEqual([]);
  });

  // Known bug (reported): the legacy single apply_policy_id is not checked (nor used for
  // key_expires_in), though appliedPolicies() makes the key use it.
  test("a legacy apply_policy_id naming a policy that does not exist: invalid", async () => {
    expect(await service.createKey({ apply_policy_id: "ghost" })).toMatchObject({ ok: false, code: "invalid" });
  });

  test("a key's own access rights follow the MCP rules against the stored APIs", async () => {
    expect((await service.createKey({ access_rights: mcpGrant })).ok).toBe(true);
    const mcpOnOas = await service.createKey({
      access_rights: { [OAS]: { api_id: OAS, mcp_primitives: [{ type: "tool", name: "x", limit: { rate: 1, per: 1 } }] } },
    });
    expect(mcpOnOas).toMatchObject({ ok: false, code: "invalid" });
    const badPattern = await service.createKey({ access_rights: { [MCP]: { mcp_access_rights: { tools: { allowed: ["(?=x)"] } } } } });
    expect(badPattern).toMatchObject({ ok: false, code: "invalid" });
    expect(await service.createKey([])).toMatchObject({ ok: false, code: "invalid" });
  });
});

describe("keys: a policy's key_expires_in sets expires", () => {
  beforeEach(async () => {
    ok(await service.createPolicy({ id: "hour", key_expires_in: 3600 }));
    ok(await service.createPolicy({ id: "ten-minutes", key_expires_in: 600 }));
    ok(await service.createPolicy({ id: "forever" }));
    ok(await service.createPolicy({ id: "zero", key_expires_in: 0 }));
  });

  test("a key without expires takes now + the policy's key_expires_in", async () => {
    expect(ok(await service.createKey({ apply_policies: ["hour"] })).session.expires).toBe(NOW + 3600);
  });

  test("several policies: the shortest", async () => {
    expect(ok(await service.createKey({ apply_policies: ["hour", "ten-minutes", "forever"] })).session.expires).toBe(NOW + 600);
  });

  test("expires 0 (never) is filled in too; the stored session has it", async () => {
    const created = ok(await service.createKey({ expires: 0, apply_policies: ["hour"] }));
    expect(created.session.expires).toBe(NOW + 3600);
    expect(ok(await service.getKey(created.key, false)).session.expires).toBe(NOW + 3600);
  });

  test("an explicit expires is kept", async () => {
    expect(ok(await service.createKey({ expires: NOW + 5, apply_policies: ["hour"] })).session.expires).toBe(NOW + 5);
    expect(ok(await service.createKey({ expires: -1, apply_policies: ["hour"] })).session.expires).toBe(-1);
  });

  test("policies without a positive key_expires_in leave the key without expiry", async () => {
    expect(ok(await service.createKey({ apply_policies: ["forever", "zero"] })).session.expires).toBeUndefined();
    expect(ok(await service.createKey({})).session.expires).toBeUndefined();
  });
});
