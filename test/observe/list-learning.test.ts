/**
 * Names learnt from list answers (`observe/labels.ts` ListLearning, the record step): a page of an
 * API's list is read when this process has not read it for a minute, or five seconds after a call
 * named a primitive the API does not know; every other list answer passes untouched.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { DefinitionRepository } from "../../src/definitions/repository.ts";
import { validateDefinition } from "../../src/definitions/schema.ts";
import { createGateway } from "../../src/gateway.ts";
import { readObserveConfig } from "../../src/observe/config.ts";
import { LIST_RELEARN_MS, LIST_RELEARN_UNKNOWN_MS, ListLearning, MAX_LIST_PAGES } from "../../src/observe/labels.ts";
import { Observer } from "../../src/observe/observer.ts";
import { MemoryStore } from "../../src/stores/memory.ts";
import { mcpDefinition } from "../helpers/definitions.ts";
import { MCP_POST_HEADERS } from "../helpers/mcp.ts";

describe("which list answers are read (ListLearning)", () => {
  const t0 = 1_000_000;

  test("a page is read once, then again when a minute has passed", () => {
    const lists = new ListLearning();
    expect(lists.claim("a", "tools/list", "", t0)).toBe(true);
    expect(lists.claim("a", "tools/list", "", t0 + 1)).toBe(false);
    expect(lists.claim("a", "tools/list", "", t0 + LIST_RELEARN_MS - 1)).toBe(false);
    expect(lists.claim("a", "tools/list", "", t0 + LIST_RELEARN_MS)).toBe(true);
    expect(lists.claim("a", "tools/list", "", t0 + LIST_RELEARN_MS + 1)).toBe(false);
  });

  test("per API, per list method and per page (cursor); other methods are never read", () => {
    const lists = new ListLearning();
    expect(lists.claim("a", "tools/list", "", t0)).toBe(true);
    expect(lists.claim("b", "tools/list", "", t0)).toBe(true);
    expect(lists.claim("a", "prompts/list", "", t0)).toBe(true);
    expect(lists.claim("a", "resources/list", "", t0)).toBe(true);
    expect(lists.claim("a", "resources/templates/list", "", t0)).toBe(true);
    expect(lists.claim("a", "tools/list", "page-2", t0)).toBe(true);
    expect(lists.claim("a", "tools/list", "page-2", t0 + 1)).toBe(false);
    expect(lists.claim("a", "tools/call", "", t0)).toBe(false);
  });

  test("a call naming a primitive the API does not know has its type's pages read again after five seconds", () => {
    const lists = new ListLearning();
    lists.claim("a", "tools/list", "", t0);
    lists.claim("a", "prompts/list", "", t0);
    lists.unknown("a", "tool");
    expect(lists.claim("a", "tools/list", "", t0 + LIST_RELEARN_UNKNOWN_MS - 1)).toBe(false);
    expect(lists.claim("a", "prompts/list", "", t0 + LIST_RELEARN_UNKNOWN_MS)).toBe(false);
    expect(lists.claim("a", "tools/list", "", t0 + LIST_RELEARN_UNKNOWN_MS)).toBe(true);
    // Read: the next unknown name asks again; until then, a minute.
    expect(lists.claim("a", "tools/list", "", t0 + 2 * LIST_RELEARN_UNKNOWN_MS)).toBe(false);
    lists.unknown("a", "resource");
    expect(lists.claim("a", "resources/templates/list", "", t0 + 1)).toBe(true);
  });

  test("at most MAX_LIST_PAGES pages of one API are remembered; stale ones make room", () => {
    const lists = new ListLearning();
    for (let i = 0; i < MAX_LIST_PAGES; i++) expect(lists.claim("a", "tools/list", `c${i}`, t0)).toBe(true);
    expect(lists.claim("a", "tools/list", "one-more", t0 + 1)).toBe(false);
    expect(lists.claim("b", "tools/list", "one-more", t0 + 1)).toBe(true);
    expect(lists.claim("a", "tools/list", "one-more", t0 + LIST_RELEARN_MS)).toBe(true);
  });

  test("a long cursor is a page of its own", () => {
    const lists = new ListLearning();
    const long = (middle: string) => `${"x".repeat(300)}${middle}${"y".repeat(300)}`;
    expect(lists.claim("a", "tools/list", long("1"), t0)).toBe(true);
    expect(lists.claim("a", "tools/list", long("1"), t0)).toBe(false);
    expect(lists.claim("a", "tools/list", long("22"), t0)).toBe(true);
  });
});

describe("the record step learns names from list answers only when they are due", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A gateway whose upstream lists `listed` tools and answers any call. */
  async function setup() {
    const store = new MemoryStore();
    const r = validateDefinition(mcpDefinition({ id: "a", listenPath: "/a/", upstream: "http://upstream.test" }));
    if (!r.ok) throw new Error("bad definition");
    await new DefinitionRepository(store).put("mcp", r.definition);
    const observer = new Observer({ config: readObserveConfig({}), writeLog: () => {}, log: () => {}, flushMs: 1 });
    const upstream = { listed: ["alpha"], lists: 0 };
    const tasks: Promise<unknown>[] = [];
    const app = createGateway({
      store,
      observer,
      log: () => {},
      waitUntil: (_c, task) => void tasks.push(task),
      fetch: async (input, init) => {
        const message = JSON.parse(await new Request(input, init).text());
        if (message.method === "tools/list") {
          upstream.lists++;
          return Response.json({
            jsonrpc: "2.0",
            id: message.id,
            result: { tools: upstream.listed.map((name) => ({ name, inputSchema: {} })) },
          });
        }
        return Response.json({ jsonrpc: "2.0", id: message.id, result: { content: [] } });
      },
    });
    const send = async (method: string, params: Record<string, unknown> = {}) => {
      const response = await app.request("/a/mcp", {
        method: "POST",
        headers: MCP_POST_HEADERS,
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      });
      const text = await response.text();
      expect(response.status).toBe(200);
      // Everything recorded so far is counted.
      await Promise.all(tasks.splice(0));
      await observer.flush();
      return JSON.parse(text);
    };
    return { observer, upstream, send };
  }

  test("the first list is read; a list within the minute is passed on whole but not read; a list after it is", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(1_000_000);
    const { observer, upstream, send } = await setup();
    await send("tools/list");
    expect(observer.names.knows("a", "tool", "alpha")).toBe(true);
    upstream.listed = ["alpha", "beta"];
    vi.setSystemTime(1_000_000 + LIST_RELEARN_MS - 1);
    const answer = await send("tools/list");
    expect(answer.result.tools.map((t: { name: string }) => t.name)).toEqual(["alpha", "beta"]);
    expect(observer.names.knows("a", "tool", "beta")).toBe(false);
    vi.setSystemTime(1_000_000 + LIST_RELEARN_MS);
    await send("tools/list");
    expect(observer.names.knows("a", "tool", "beta")).toBe(true);
    expect(upstream.lists).toBe(3);
  });

  test("a call of a name not yet known has the next list read after five seconds, not before", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(2_000_000);
    const { observer, upstream, send } = await setup();
    await send("tools/list");
    upstream.listed = ["alpha", "gamma"];
    await send("tools/call", { name: "gamma", arguments: {} });
    expect(observer.names.knows("a", "tool", "gamma")).toBe(false);
    vi.setSystemTime(2_000_000 + LIST_RELEARN_UNKNOWN_MS - 1);
    await send("tools/list");
    expect(observer.names.knows("a", "tool", "gamma")).toBe(false);
    vi.setSystemTime(2_000_000 + LIST_RELEARN_UNKNOWN_MS);
    await send("tools/list");
    expect(observer.names.knows("a", "tool", "gamma")).toBe(true);
  });

  test("each page (cursor) is read for itself", async () => {
    const { observer, upstream, send } = await setup();
    await send("tools/list");
    upstream.listed = ["delta"];
    await send("tools/list", { cursor: "2" });
    expect(observer.names.knows("a", "tool", "delta")).toBe(true);
  });

  test("the gateway never calls the upstream on its own to learn names", async () => {
    const { upstream, send } = await setup();
    for (let i = 0; i < 5; i++) await send("tools/call", { name: `made-up-${i}`, arguments: {} });
    expect(upstream.lists).toBe(0);
  });
});
