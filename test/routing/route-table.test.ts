import { describe, expect, test } from "vitest";
import { validateDefinition } from "../../src/definitions/schema.ts";
import { normaliseListenPath, relativePath, RouteTable, transportPath, upstreamUrl, type ApiRoute } from "../../src/routing/route-table.ts";
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

describe("transport methods (the OAS paths an MCP proxy declares)", () => {
  const transportMethods = (route: ApiRoute, path: string) => transportPath(route, path)?.methods;
  const op = { responses: { "200": { description: "x" } } };
  function routeWith(paths: Record<string, unknown>, strip = true, kind: "mcp" | "oas" = "mcp") {
    const d = mcpDefinition({ id: "m", listenPath: "/m/", upstream: "http://m:1", strip }) as any;
    d.paths = paths;
    const r = validateDefinition(d);
    if (!r.ok) throw new Error(r.issues.join("; "));
    return RouteTable.fromApis([{ kind, id: "m", definition: r.definition }]);
  }

  test("a declared path offers its operations' methods, POST always among them, in a fixed order", () => {
    const t = routeWith({ "/mcp": { delete: op, get: op, post: op }, "/sse": { get: op }, "/empty": {} });
    const route = t.match("/m/mcp")!.route;
    expect(transportMethods(route, "/mcp")).toEqual(["GET", "POST", "DELETE"]);
    expect(transportMethods(route, "/sse")).toEqual(["POST", "GET"]);
    // A path item with no operation declares nothing.
    expect(transportMethods(route, "/empty")).toBeUndefined();
    expect(transportMethods(route, "/other")).toBeUndefined();
    expect(transportMethods(route, "/mcp/")).toBeUndefined();
  });

  test("the request path is taken below the listen path, with or without strip", () => {
    for (const strip of [true, false]) {
      const t = routeWith({ "/mcp": { post: op } }, strip);
      const match = t.match("/m/mcp")!;
      expect(relativePath(match)).toBe("/mcp");
      expect(transportMethods(match.route, relativePath(match))).toEqual(["POST"]);
      expect(relativePath(t.match("/m")!)).toBe("");
    }
    // The listen path itself is the path "/".
    const root = routeWith({ "/": { post: op, get: op } });
    expect(transportMethods(root.match("/m")!.route, "")).toEqual(["GET", "POST"]);
  });

  test("a {template} stands for one segment; the rest of the path matches literally, never as a pattern", () => {
    const t = routeWith({ "/{tenant}/mcp": { post: op, get: op }, "/a.b/{x}": { post: op }, "/(x+)+y": { post: op, delete: op } });
    const route = t.match("/m/x")!.route;
    expect(transportMethods(route, "/acme/mcp")).toEqual(["GET", "POST"]);
    expect(transportMethods(route, "/acme/corp/mcp")).toBeUndefined();
    expect(transportMethods(route, "/a.b/1")).toEqual(["POST"]);
    expect(transportMethods(route, "/aXb/1")).toBeUndefined();
    expect(transportMethods(route, "/(x+)+y")).toEqual(["POST", "DELETE"]);
    expect(transportMethods(route, "/xxxxy")).toBeUndefined();
  });

  test("a literal path wins over a template that also matches", () => {
    const t = routeWith({ "/{any}": { post: op }, "/mcp": { post: op, get: op } });
    expect(transportMethods(t.match("/m/mcp")!.route, "/mcp")).toEqual(["GET", "POST"]);
  });

  test("a plain HTTP API declares no transport", () => {
    const t = routeWith({ "/mcp": { post: op } }, true, "oas");
    expect(t.match("/m/mcp")!.route.transportPaths).toEqual([]);
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
