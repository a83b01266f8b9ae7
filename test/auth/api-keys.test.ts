/**
 * API keys (src/auth/api-keys.ts): the hash they are stored under, the hashes the request path
 * remembers, and the parsed sessions it reuses while the stored text is unchanged (the store is
 * still read on every request, so a revoked or changed key is seen at once).
 */
import { createHash } from "node:crypto";
import { describe, expect, test } from "vitest";
import { hashKey, KeyHashes, KeyRepository, MAX_REMEMBERED_KEY_LENGTH } from "../../src/auth/api-keys.ts";
import { API_KEY_PREFIX } from "../../src/stores/layout.ts";
import { MemoryStore } from "../../src/stores/memory.ts";

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

describe("hashKey", () => {
  test("is SHA-256 of the key's UTF-8 bytes, in lower-case hex", async () => {
    for (const key of ["", "a", "bench-key-0123456789", "ключ-🔑", "x".repeat(1000)]) {
      expect(await hashKey(key)).toBe(sha256(key));
    }
  });
});

describe("KeyHashes", () => {
  test("answers the same hash as hashKey, at once for a key seen lately", async () => {
    const hashes = new KeyHashes();
    const first = hashes.of("some-key-1");
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toBe(sha256("some-key-1"));
    expect(hashes.of("some-key-1")).toBe(sha256("some-key-1"));
  });

  test("remembers at most its bound, forgetting the oldest first", async () => {
    const hashes = new KeyHashes(2);
    await hashes.of("key-a");
    await hashes.of("key-b");
    await hashes.of("key-c");
    expect(hashes.of("key-a")).toBeInstanceOf(Promise);
    expect(hashes.of("key-c")).toBe(sha256("key-c"));
    expect(await hashes.of("key-a")).toBe(sha256("key-a"));
  });

  test("does not remember credentials longer than any key", async () => {
    const hashes = new KeyHashes();
    const long = "k".repeat(MAX_REMEMBERED_KEY_LENGTH + 1);
    expect(await hashes.of(long)).toBe(sha256(long));
    expect(hashes.of(long)).toBeInstanceOf(Promise);
    expect(await hashes.of(long)).toBe(sha256(long));
  });
});

describe("KeyRepository", () => {
  const hash = sha256("the-key");

  test("reuseParsed: an unchanged record is parsed once and handed out frozen", async () => {
    const store = new MemoryStore();
    const keys = new KeyRepository(store, { reuseParsed: true });
    await keys.put(hash, {
      alias: "a",
      apply_policies: ["p"],
      access_rights: { api: { api_id: "api", mcp_access_rights: { tools: { allowed: ["x"] } } } },
    });
    const first = await keys.get(hash);
    const second = await keys.get(hash);
    expect(second).toBe(first);
    expect(first).toMatchObject({ alias: "a", apply_policies: ["p"] });
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first?.apply_policies)).toBe(true);
    expect(Object.isFrozen(first?.access_rights?.api?.mcp_access_rights?.tools?.allowed)).toBe(true);
  });

  test("reuseParsed: a changed, deleted or broken record is seen on the next read", async () => {
    const store = new MemoryStore();
    const keys = new KeyRepository(store, { reuseParsed: true });
    await keys.put(hash, { alias: "a", apply_policies: ["p"] });
    const before = await keys.get(hash);
    await keys.put(hash, { alias: "a", apply_policies: ["p"], is_inactive: true });
    const changed = await keys.get(hash);
    expect(changed).not.toBe(before);
    expect(changed?.is_inactive).toBe(true);
    await keys.delete(hash);
    expect(await keys.get(hash)).toBeNull();
    await store.put(API_KEY_PREFIX + hash, "{not json");
    expect(await keys.get(hash)).toBeNull();
    await store.put(API_KEY_PREFIX + hash, JSON.stringify({ apply_policies: "not a list" }));
    expect(await keys.get(hash)).toBeNull();
    await keys.put(hash, { alias: "again" });
    expect((await keys.get(hash))?.alias).toBe("again");
  });

  test("reuseParsed: remembers at most its bound of keys", async () => {
    const store = new MemoryStore();
    const keys = new KeyRepository(store, { reuseParsed: true, maxParsed: 1 });
    await keys.put("a".repeat(64), { alias: "a" });
    await keys.put("b".repeat(64), { alias: "b" });
    const a = await keys.get("a".repeat(64));
    await keys.get("b".repeat(64));
    const again = await keys.get("a".repeat(64));
    expect(again).toEqual(a);
    expect(again).not.toBe(a);
  });

  test("without reuseParsed (the management APIs), every read is a fresh, mutable parse", async () => {
    const store = new MemoryStore();
    const keys = new KeyRepository(store);
    await keys.put(hash, { alias: "a" });
    const first = await keys.get(hash);
    const second = await keys.get(hash);
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
    expect(Object.isFrozen(first)).toBe(false);
  });
});
