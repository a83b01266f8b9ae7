import { describe, expect, test } from "vitest";
import { validateDefinition } from "../../src/definitions/schema.ts";
import { normaliseListenPath, RouteTable, upstreamUrl } from "../../src/routing/route-table.ts";
import { mcpDefinition, type DefinitionOptions } from "../helpers/definitions.ts";

function table(...defs: DefinitionOptions[]) {
  return RouteTable.fromDefinitions(
    defs.map((d) => {
      const r = validateDefinition(mcpDefinition(d));
      if (!r.ok) throw new Error(r.issues.join("; "));
      return r.definition;
    }),
  );
}

describe("routing by listen path", () => {
  const t = table(
    { id: "a", listenPath: "/a/", upstream: "http://up-a:1" },
    { id: "ab", listenPath: "/a/b/", upstream: "http://up-ab:1/base/" },
    { id: "keep", listenPath: "/keep/", upstream: "http://up-k:1", strip: false },
    { id: "off", listenPath: "/off/", upstream: "http://up-o:1", active: false },
    { id: "shadowed", listenPath: "/a/b/c/", upstream: "http://up-c:1", active: false },
  );

  test("the longest matching listen path wins", () => {
    expect(t.match("/a/b/mcp")?.route.id).toBe("ab");
    expect(t.match("/a/mcp")?.route.id).toBe("a");
    expect(t.match("/a/bx/mcp")?.route.id).toBe("a");
  });

  test("a prefix only matches on a path-segment boundary", () => {
    expect(t.match("/ab/mcp")).toBeUndefined();
    expect(t.match("/a")?.route.id).toBe("a");
  });

  test("strip removes the listen path; without strip the full path is forwarded", () => {
    const m = t.match("/a/b/mcp")!;
    expect(m.forwardPath).toBe("/mcp");
    expect(upstreamUrl(m, "?x=1")).toBe("http://up-ab:1/base/mcp?x=1");
    const k = t.match("/keep/mcp")!;
    expect(upstreamUrl(k, "")).toBe("http://up-k:1/keep/mcp");
  });

  test("an unknown path does not match", () => {
    expect(t.match("/nope/mcp")).toBeUndefined();
    expect(t.matchesInactive("/nope/mcp")).toBe(false);
  });

  test("an inactive API does not serve, and is recognised to explain the 404", () => {
    expect(t.match("/off/mcp")).toBeUndefined();
    expect(t.matchesInactive("/off/mcp")).toBe(true);
  });

  test("an inactive API with a longer listen path leaves the request to the active one", () => {
    expect(t.match("/a/b/c/mcp")?.route.id).toBe("ab");
  });

  test("listen paths are normalised", () => {
    expect(normaliseListenPath("/x/")).toBe("/x");
    expect(normaliseListenPath("/")).toBe("");
    expect(normaliseListenPath("x")).toBe("/x");
  });

  test("a root listen path catches everything else", () => {
    const r = table({ id: "root", listenPath: "/", upstream: "http://r:1" }, { id: "a", listenPath: "/a/", upstream: "http://a:1" });
    expect(r.match("/a/mcp")?.route.id).toBe("a");
    expect(r.match("/mcp")?.route.id).toBe("root");
    expect(upstreamUrl(r.match("/mcp")!, "")).toBe("http://r:1/mcp");
  });

  test("the request size limit comes from middleware.global.requestSizeLimit, else 1 MiB", () => {
    const r = table(
      { id: "s", listenPath: "/s/", upstream: "http://s:1", middleware: { global: { requestSizeLimit: { enabled: true, value: 100 } } } },
      { id: "d", listenPath: "/d/", upstream: "http://d:1" },
    );
    expect(r.match("/s/mcp")?.route.maxBodyBytes).toBe(100);
    expect(r.match("/d/mcp")?.route.maxBodyBytes).toBe(1024 * 1024);
  });

  test("operation timeouts are keyed by the HTTP method of their operationId", () => {
    const r = table({
      id: "t",
      listenPath: "/t/",
      upstream: "http://t:1",
      middleware: {
        operations: {
          mcpTransportPost: { enforceTimeout: { enabled: true, value: 12 } },
          mcpSSEGet: { enforceTimeout: { enabled: false, value: 99 } },
        },
      },
    });
    const route = r.match("/t/mcp")!.route;
    expect(route.operationTimeouts.get("POST")).toBe(12);
    expect(route.operationTimeouts.has("GET")).toBe(false);
  });
});
