import { describe, expect, test } from "vitest";
import { FileStore } from "../../src/adapters/node/file-store.ts";
import { MemoryStore } from "../../src/stores/memory.ts";
import type { KeyValueStore } from "../../src/stores/types.ts";
import { withTempDir } from "../helpers/processes.ts";

async function behaves(store: KeyValueStore) {
  expect(await store.get("api:a")).toBeNull();
  await store.put("api:a", "1");
  await store.put("api:b/../x", "2");
  await store.put("meta:v", "3");
  expect(await store.get("api:a")).toBe("1");
  expect(await store.get("api:b/../x")).toBe("2");
  expect(await store.list("api:")).toEqual(["api:a", "api:b/../x"]);
  await store.put("api:a", "changed");
  expect(await store.get("api:a")).toBe("changed");
  await store.delete("api:a");
  await store.delete("api:missing");
  expect(await store.list("api:")).toEqual(["api:b/../x"]);
}

describe("key-value stores keep the same contract", () => {
  test("memory", () => behaves(new MemoryStore()));
  test("files (Bun, Node): keys with path characters stay inside the folder", () =>
    withTempDir(async (dir) => {
      await behaves(new FileStore(`${dir}/store`));
      const { readdir } = await import("node:fs/promises");
      expect((await readdir(dir)).sort()).toEqual(["store"]);
    }));
});
