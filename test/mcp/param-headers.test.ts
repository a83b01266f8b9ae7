/** What one isolate learns of a tool's x-mcp-header arguments, another checks (src/mcp/param-headers.ts's ToolHeaderBook). */
import { describe, expect, test } from "vitest";
import { DefinitionRepository } from "../../src/definitions/repository.ts";
import { validateDefinition } from "../../src/definitions/schema.ts";
import { GatewayError } from "../../src/errors.ts";
import { ToolHeaderBook } from "../../src/mcp/param-headers.ts";
import { decodeHeaderValue } from "../../src/mcp/revision.ts";
import { MemoryStore } from "../../src/stores/memory.ts";
import { toolHeadersKey } from "../../src/stores/layout.ts";
import type { KeyValueStore } from "../../src/stores/types.ts";
import { mcpDefinition } from "../helpers/definitions.ts";

const LIST = {
  tools: [
    { name: "regional", inputSchema: { type: "object", properties: { region: { type: "string", "x-mcp-header": "Region" } } } },
    { name: "plain", inputSchema: { type: "object" } },
  ],
};
const mismatch = (message: string) => new GatewayError("header_mismatch", message);

/** Checks a call of `tool` with `region` against `headers` in `book` (after waiting for it, as the read step does). */
async function check(book: ToolHeaderBook, headers: Record<string, string>, region: string | undefined, tool = "regional") {
  await book.prepare("api", tool);
  book.headers("api").check(headers, tool, region === undefined ? {} : { region }, decodeHeaderValue, mismatch);
}

/** A store that counts its reads. */
function counting(store: KeyValueStore) {
  const counted = { reads: 0, store: { ...store } as KeyValueStore };
  counted.store = {
    get: (key) => {
      counted.reads++;
      return store.get(key);
    },
    put: (key, value) => store.put(key, value),
    delete: (key) => store.delete(key),
    list: (prefix) => store.list(prefix),
  };
  return counted;
}

describe("the tool-header book", () => {
  test("a tool listed through one isolate is checked on another that never saw the list", async () => {
    const store = new MemoryStore();
    const first = new ToolHeaderBook(store);
    await first.learn("api", LIST);
    expect(JSON.parse((await store.get(toolHeadersKey("api")))!)).toEqual({
      regional: [{ header: "mcp-param-region", display: "Mcp-Param-Region", path: ["region"], type: "string" }],
    });
    const second = new ToolHeaderBook(store);
    await expect(check(second, { "mcp-param-region": "us" }, "eu")).rejects.toThrow(/does not match/);
    await expect(check(second, {}, "eu")).rejects.toThrow(/required/);
    await expect(check(second, { "mcp-param-region": "eu" }, "eu")).resolves.toBeUndefined();
    await expect(check(second, {}, undefined, "plain")).resolves.toBeUndefined();
  });

  test("a listing that changes nothing writes nothing; one that drops an annotation forgets it everywhere", async () => {
    const store = new MemoryStore();
    const first = new ToolHeaderBook(store);
    expect(first.learn("api", LIST)).toBeInstanceOf(Promise);
    expect(first.learn("api", LIST)).toBeUndefined();
    await first.learn("api", { tools: [{ name: "regional", inputSchema: { type: "object" } }] });
    expect(await store.get(toolHeadersKey("api"))).toBe("{}");
    await expect(check(new ToolHeaderBook(store), {}, "eu")).resolves.toBeUndefined();
  });

  test("two isolates learning different pages keep both in the store", async () => {
    const store = new MemoryStore();
    await new ToolHeaderBook(store).learn("api", LIST);
    const page2 = { tools: [{ name: "n", inputSchema: { properties: { n: { type: "integer", "x-mcp-header": "N" } } } }] };
    await new ToolHeaderBook(store).learn("api", page2);
    expect(Object.keys(JSON.parse((await store.get(toolHeadersKey("api")))!)).sort()).toEqual(["n", "regional"]);
  });

  test("what an isolate learnt itself wins over an older stored entry", async () => {
    const store = new MemoryStore();
    await store.put(
      toolHeadersKey("api"),
      JSON.stringify({ regional: [{ header: "mcp-param-old", display: "Mcp-Param-Old", path: ["old"], type: "string" }] }),
    );
    const book = new ToolHeaderBook(store);
    await book.learn("api", LIST);
    await expect(check(book, { "mcp-param-region": "eu" }, "eu")).resolves.toBeUndefined();
    expect(await store.get(toolHeadersKey("api"))).toContain("mcp-param-region");
  });

  test("an unknown tool reads the store at most once per max age; a known one never waits", async () => {
    let now = 0;
    const counted = counting(new MemoryStore());
    const book = new ToolHeaderBook(counted.store, { maxAgeMs: 1000, now: () => now });
    const reading = book.prepare("api", "unknown");
    expect(reading).toBeInstanceOf(Promise);
    await reading;
    expect(counted.reads).toBe(1);
    expect(book.prepare("api", "unknown")).toBeUndefined();
    now = 1000;
    await book.prepare("api", "unknown");
    expect(counted.reads).toBe(2);
    await book.learn("api", LIST);
    now = 10_000;
    const reads = counted.reads;
    expect(book.prepare("api", "regional")).toBeUndefined();
    expect(counted.reads).toBe(reads);
  });

  test("stored entries that are not of the book's form are passed over", async () => {
    const store = new MemoryStore();
    await store.put(
      toolHeadersKey("api"),
      JSON.stringify({
        a: [{ header: "x-evil", display: "X-Evil", path: ["a"], type: "string" }],
        b: [{ header: "mcp-param-b", display: "Mcp-Param-B", path: [], type: "string" }],
        c: [{ header: "mcp-param-c", display: "Mcp-Param-C", path: ["c"], type: "object" }],
        d: "nonsense",
        regional: [{ header: "mcp-param-region", display: "Mcp-Param-Region", path: ["region"], type: "string" }],
      }),
    );
    const book = new ToolHeaderBook(store);
    await expect(check(book, {}, "eu")).rejects.toThrow(/required/);
    for (const tool of ["a", "b", "c", "d"]) {
      await book.prepare("api", tool);
      expect(book.headers("api").has(tool), tool).toBe(false);
    }
    await store.put(toolHeadersKey("api"), "not json");
    await expect(check(new ToolHeaderBook(store), {}, "eu")).resolves.toBeUndefined();
  });

  test("a store that cannot be read or written is logged, and refuses nothing (the upstream checks the headers too)", async () => {
    const logged: string[] = [];
    const broken: KeyValueStore = {
      get: () => Promise.reject(new Error("down")),
      put: () => Promise.reject(new Error("down")),
      delete: () => Promise.reject(new Error("down")),
      list: () => Promise.reject(new Error("down")),
    };
    const book = new ToolHeaderBook(broken, { log: (message) => logged.push(message) });
    await expect(check(book, {}, "eu")).resolves.toBeUndefined();
    await book.learn("api", LIST);
    // What it learnt itself still counts.
    await expect(check(book, {}, "eu")).rejects.toThrow(/required/);
    expect(logged).toEqual([
      "the x-mcp-header annotations of api could not be read",
      "the x-mcp-header annotations of api could not be stored",
    ]);
  });
});

describe("the learnt annotations and their API", () => {
  test("removing an MCP proxy removes what was learnt of its tools", async () => {
    const store = new MemoryStore();
    const repo = new DefinitionRepository(store);
    const checked = validateDefinition(mcpDefinition({ id: "api", listenPath: "/api/", upstream: "http://127.0.0.1:1" }));
    if (!checked.ok) throw new Error(checked.issues.join("; "));
    await repo.put("mcp", checked.definition);
    await new ToolHeaderBook(store).learn("api", LIST);
    expect(await store.get(toolHeadersKey("api"))).not.toBeNull();
    await repo.delete("mcp", "api");
    expect(await store.get(toolHeadersKey("api"))).toBeNull();
  });
});
