import { describe, expect, test } from "vitest";
import { DefinitionRepository } from "../../src/definitions/repository.ts";
import { APIS_VERSION_KEY } from "../../src/stores/layout.ts";
import { validateDefinition } from "../../src/definitions/schema.ts";
import { GatewayError } from "../../src/errors.ts";
import { RouteRegistry } from "../../src/routing/registry.ts";
import { MemoryStore } from "../../src/stores/memory.ts";
import type { KeyValueStore } from "../../src/stores/types.ts";
import { mcpDefinition } from "../helpers/definitions.ts";

const def = (id: string, listenPath: string, upstream = "http://u:1") => {
  const r = validateDefinition(mcpDefinition({ id, listenPath, upstream }));
  if (!r.ok) throw new Error("invalid");
  return r.definition;
};

/** Counts table builds: each build lists the two kinds of definitions once. */
class CountingStore extends MemoryStore {
  lists = 0;
  get builds() {
    return this.lists / 2;
  }
  failing = false;
  override async list(prefix: string) {
    this.lists++;
    return super.list(prefix);
  }
  override async get(key: string) {
    if (this.failing) throw new Error("store down");
    return super.get(key);
  }
}

describe("the routing table stays live", () => {
  test("a write is served on the next request; an unchanged stamp reuses the cached table", async () => {
    const store = new CountingStore();
    const repo = new DefinitionRepository(store);
    const registry = new RouteRegistry(store, { maxAgeMs: 0 });
    await repo.put("mcp", def("a", "/a/"));
    expect((await registry.table()).match("/a/mcp")?.route.id).toBe("a");
    await registry.table();
    expect(store.builds).toBe(1);

    await repo.put("mcp", def("b", "/b/"));
    expect((await registry.table()).match("/b/mcp")?.route.id).toBe("b");
    expect(store.builds).toBe(2);

    await repo.delete("mcp", "a");
    expect((await registry.table()).match("/a/mcp")).toBeUndefined();
  });

  test("an update to an upstream is live on the next request", async () => {
    const store = new MemoryStore();
    const repo = new DefinitionRepository(store);
    const registry = new RouteRegistry(store, { maxAgeMs: 0 });
    await repo.put("mcp", def("a", "/a/", "http://old:1"));
    expect((await registry.table()).match("/a/mcp")?.route.upstream.host).toBe("old:1");
    await repo.put("mcp", def("a", "/a/", "http://new:1"));
    expect((await registry.table()).match("/a/mcp")?.route.upstream.host).toBe("new:1");
  });

  test("concurrent requests all get the current table, and later ones reuse it", async () => {
    const store = new CountingStore();
    await new DefinitionRepository(store).put("mcp", def("a", "/a/"));
    const registry = new RouteRegistry(store, { maxAgeMs: 0 });
    const tables = await Promise.all(Array.from({ length: 20 }, () => registry.table()));
    expect(tables.every((t) => t.match("/a/mcp")?.route.id === "a")).toBe(true);
    const builds = store.builds;
    await registry.table();
    expect(store.builds).toBe(builds);
  });

  test("a stored definition that no longer validates is skipped, the others serve", async () => {
    const store = new MemoryStore();
    await new DefinitionRepository(store).put("mcp", def("good", "/good/"));
    await store.put("mcp:bad", JSON.stringify({ openapi: "3.0.3" }));
    await store.put("mcp:garbage", "{nope");
    await store.put(APIS_VERSION_KEY, "changed");
    const skipped: string[] = [];
    const registry = new RouteRegistry(store, { maxAgeMs: 0, onInvalid: (key) => skipped.push(key) });
    expect((await registry.table()).match("/good/mcp")?.route.id).toBe("good");
    expect(skipped.sort()).toEqual(["mcp:bad", "mcp:garbage"]);
  });

  test("a store that cannot be read fails closed with 503", async () => {
    const store = new CountingStore();
    await new DefinitionRepository(store).put("mcp", def("a", "/a/"));
    const registry = new RouteRegistry(store, { maxAgeMs: 0 });
    await registry.table();
    store.failing = true;
    const error = await registry.table().catch((e) => e);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error.status).toBe(503);
  });

  test("an empty store routes nothing", async () => {
    const registry = new RouteRegistry(new MemoryStore() as KeyValueStore, { maxAgeMs: 0 });
    expect((await registry.table()).match("/a/mcp")).toBeUndefined();
  });

  test("by default the stamp is read at most once a second, and at once after invalidate()", async () => {
    const store = new CountingStore();
    const repo = new DefinitionRepository(store);
    await repo.put("mcp", def("a", "/a/"));
    let reads = 0;
    const original = store.get.bind(store);
    store.get = async (key: string) => {
      if (key === APIS_VERSION_KEY) reads++;
      return original(key);
    };
    const registry = new RouteRegistry(store);
    await registry.table();
    await registry.table();
    await registry.table();
    expect(reads).toBe(1);
    await repo.put("mcp", def("b", "/b/"));
    expect((await registry.table()).match("/b/mcp")).toBeUndefined();
    registry.invalidate();
    expect((await registry.table()).match("/b/mcp")?.route.id).toBe("b");
    expect(reads).toBe(2);
  });
});
