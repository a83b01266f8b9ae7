import { describe, expect, test } from "vitest";
import { validateDefinition } from "../../src/definitions/schema.ts";
import { normaliseListenPath, RouteTable, upstreamUrl } from "../../src/routing/route-table.ts";
import { mcpDefinition, type DefinitionOptions } from "../helpers/definitions.ts";

function table(...defs: DefinitionOptions[]) {
  return RouteTable.fromApis(
    defs.map((d) => {
      const r = validateDefinition(mcpDefinition(d));
      if (!r.ok) throw new Error(r.issues.join("; "));
      return { kind: "mcp" as const, id: d.id, definition: r.definition };
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
});

describe("routing to versions (info.versioning)", () => {
  const versioned = (location: "header" | "url-param" | "url", extra: Record<string, unknown> = {}) => {
    const base = mcpDefinition({ id: "base", listenPath: "/w/", upstream: "http://v1:1" }) as any;
    base["x-tyk-api-gateway"].info.versioning = {
      enabled: true,
      name: "v1",
      default: "v1",
      location,
      key: location === "header" ? "X-Api-Version" : "version",
      versions: [{ name: "v2", id: "child" }],
      ...extra,
    };
    const child = mcpDefinition({ id: "child", listenPath: "/w-v2/", upstream: "http://v2:1" });
    return RouteTable.fromApis(
      [base, child].map((d) => {
        const r = validateDefinition(d);
        if (!r.ok) throw new Error(r.issues.join("; "));
        return { kind: "mcp" as const, id: r.definition["x-tyk-api-gateway"].info.id!, definition: r.definition };
      }),
    );
  };
  const req = (headers: Record<string, string> = {}, query: Record<string, string> = {}) => ({
    header: (n: string) => headers[n.toLowerCase()],
    query: (n: string) => query[n],
  });

  test("by header: the named version serves, no header means the default", () => {
    const t = versioned("header");
    expect(t.match("/w/mcp", req({ "x-api-version": "v2" }))?.route.id).toBe("child");
    expect(t.match("/w/mcp", req({ "x-api-version": "v1" }))?.route.id).toBe("base");
    expect(t.match("/w/mcp", req())?.route.id).toBe("base");
    const m = t.match("/w/mcp", req({ "x-api-version": "v2" }))!;
    expect(upstreamUrl(m, "")).toBe("http://v2:1/mcp");
  });

  test("by query parameter, stripped when stripVersioningData is set", () => {
    const t = versioned("url-param", { stripVersioningData: true });
    const m = t.match("/w/mcp", req({}, { version: "v2" }))!;
    expect(m.route.id).toBe("child");
    expect(upstreamUrl(m, "?version=v2&x=1")).toBe("http://v2:1/mcp?x=1");
  });

  test("by URL segment, stripped when stripVersioningData is set", () => {
    const t = versioned("url", { stripVersioningData: true });
    const m = t.match("/w/v2/mcp")!;
    expect(m.route.id).toBe("child");
    expect(upstreamUrl(m, "")).toBe("http://v2:1/mcp");
    expect(t.match("/w/mcp")?.route.id).toBe("base");
  });

  test("the default version can be a child", () => {
    const t = versioned("header", { default: "v2" });
    expect(t.match("/w/mcp", req())?.route.id).toBe("child");
  });

  test("an unknown version is refused with 403, or falls back to the default when allowed", () => {
    expect(() => versioned("header").match("/w/mcp", req({ "x-api-version": "v9" }))).toThrow(/does not seem to exist/);
    expect(versioned("header", { fallbackToDefault: true }).match("/w/mcp", req({ "x-api-version": "v9" }))?.route.id).toBe("base");
  });

  test("the child still serves on its own listen path", () => {
    expect(versioned("header").match("/w-v2/mcp")?.route.id).toBe("child");
  });
});
