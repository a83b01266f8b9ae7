/**
 * The admin service with stores that fail or lag: writes are serialised, a failed write leaves the
 * previous state whole, and the Workers overlay reads its own writes over a lagging KV.
 */
import { describe, expect, test } from "vitest";
import { Mutex } from "../../src/admin/mutex.ts";
import { ApiService } from "../../src/admin/service.ts";
import { MemoryStore } from "../../src/stores/memory.ts";
import { OverlayStore } from "../../src/stores/overlay.ts";
import { mcpDefinition } from "../helpers/definitions.ts";

const def = (id: string, upstream = "http://u") => mcpDefinition({ id, listenPath: `/${id}/`, upstream });

describe("the mutex", () => {
  test("runs one at a time, in order, and survives a failure", async () => {
    const m = new Mutex();
    const log: string[] = [];
    const slow = (name: string, ms: number) =>
      m.run(async () => {
        log.push(`${name}+`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`${name}-`);
      });
    const failing = m.run(async () => {
      throw new Error("x");
    });
    await Promise.all([slow("a", 20), failing.catch(() => {}), slow("b", 1)]);
    expect(log).toEqual(["a+", "a-", "b+", "b-"]);
  });
});

class FlakyStore extends MemoryStore {
  failOn: ((key: string) => boolean) | undefined;
  override async put(key: string, value: string) {
    if (this.failOn?.(key)) throw new Error("store write failed");
    return super.put(key, value);
  }
}

describe("a failed write leaves the previous state whole", () => {
  test("creating a version whose base cannot be updated removes the child again", async () => {
    const store = new FlakyStore();
    const service = new ApiService(store);
    await service.create("mcp", def("base"));
    store.failOn = (key) => key === "mcp:base";
    await expect(service.create("mcp", def("child"), { baseApiId: "base", versionName: "v2" })).rejects.toThrow();
    store.failOn = undefined;
    expect((await service.get("mcp", "child")).ok).toBe(false);
    const base = await service.get("mcp", "base");
    expect(base.ok && base.value.definition["x-tyk-api-gateway"].info.versioning).toBeUndefined();
  });

  test("an update that cannot be written keeps the old definition", async () => {
    const store = new FlakyStore();
    const service = new ApiService(store);
    await service.create("mcp", def("a", "http://old"));
    store.failOn = (key) => key === "mcp:a";
    await expect(service.update("mcp", "a", def("a", "http://new"))).rejects.toThrow();
    store.failOn = undefined;
    const got = await service.get("mcp", "a");
    expect(got.ok && got.value.definition["x-tyk-api-gateway"].upstream.url).toBe("http://old");
  });
});

/** A store whose reads lag behind its writes, like KV seen from another location. */
class LaggingStore extends MemoryStore {
  readonly #stale = new MemoryStore();
  override async get(key: string) {
    return this.#stale.get(key);
  }
  override async list(prefix: string) {
    return this.#stale.list(prefix);
  }
}

describe("the Workers overlay over a lagging KV", () => {
  test("the admin service reads its own writes, deletes included", async () => {
    const service = new ApiService(new OverlayStore(new LaggingStore()));
    await service.create("mcp", def("a"));
    expect((await service.get("mcp", "a")).ok).toBe(true);
    expect((await service.list("mcp")).map((d) => d["x-tyk-api-gateway"].info.id)).toEqual(["a"]);
    await service.delete("mcp", "a");
    expect((await service.get("mcp", "a")).ok).toBe(false);
    expect(await service.list("mcp")).toEqual([]);
  });

  test("keys it never wrote come from the base store", async () => {
    const base = new MemoryStore();
    await base.put("mcp:seeded", JSON.stringify(def("seeded")));
    const overlay = new OverlayStore(base);
    await overlay.put("mcp:new", JSON.stringify(def("new")));
    expect(await overlay.list("mcp:")).toEqual(["mcp:new", "mcp:seeded"]);
  });
});
