/** The transport paths an MCP proxy declares (src/steps/method.ts). */
import { describe, expect, test } from "vitest";
import { validateDefinition } from "../../src/definitions/schema.ts";
import { relativePath, RouteTable, routeBase } from "../../src/routing/route-table.ts";
import { method, type TransportPath, transportPath } from "../../src/steps/method.ts";
import { mcpDefinition } from "../helpers/definitions.ts";

describe("transport methods (the OAS paths an MCP proxy declares)", () => {
  const declared = (paths: readonly TransportPath[], path: string) => transportPath(paths, path)?.path;
  const op = { responses: { "200": { description: "x" } } };
  function routeWith(paths: Record<string, unknown>, strip = true, kind: "mcp" | "oas" = "mcp") {
    const d = mcpDefinition({ id: "m", listenPath: "/m/", upstream: "http://m:1", strip }) as any;
    d.paths = paths;
    const r = validateDefinition(d);
    if (!r.ok) throw new Error(r.issues.join("; "));
    const api = { kind, id: "m", definition: r.definition };
    const base = routeBase(api);
    return { base, paths: method.compile!(api, base), match: (path: string) => RouteTable.fromApis([api]).match(path)! };
  }

  test("a path is an MCP endpoint when it declares an operation", () => {
    const t = routeWith({ "/mcp": { delete: op, get: op, post: op }, "/sse": { get: op }, "/empty": {} });
    const route = t.paths!;
    expect(declared(route, "/mcp")).toBe("/mcp");
    expect(declared(route, "/sse")).toBe("/sse");
    // A path item with no operation declares nothing.
    expect(declared(route, "/empty")).toBeUndefined();
    expect(declared(route, "/other")).toBeUndefined();
    expect(declared(route, "/mcp/")).toBeUndefined();
  });

  test("the request path is taken below the listen path, with or without strip", () => {
    for (const strip of [true, false]) {
      const t = routeWith({ "/mcp": { post: op } }, strip);
      const match = t.match("/m/mcp")!;
      expect(relativePath(match)).toBe("/mcp");
      expect(declared(t.paths!, relativePath(match))).toBe("/mcp");
      expect(relativePath(t.match("/m")!)).toBe("");
    }
    // The listen path itself is the path "/".
    const root = routeWith({ "/": { post: op, get: op } });
    expect(declared(root.paths!, "")).toBe("/");
  });

  test("a {template} stands for one segment; the rest of the path matches literally, never as a pattern", () => {
    const t = routeWith({ "/{tenant}/mcp": { post: op, get: op }, "/a.b/{x}": { post: op }, "/(x+)+y": { post: op, delete: op } });
    const route = t.paths!;
    expect(declared(route, "/acme/mcp")).toBe("/{tenant}/mcp");
    expect(declared(route, "/acme/corp/mcp")).toBeUndefined();
    expect(declared(route, "/a.b/1")).toBe("/a.b/{x}");
    expect(declared(route, "/aXb/1")).toBeUndefined();
    expect(declared(route, "/(x+)+y")).toBe("/(x+)+y");
    expect(declared(route, "/xxxxy")).toBeUndefined();
  });

  test("a literal path wins over a template that also matches", () => {
    const t = routeWith({ "/{any}": { post: op }, "/mcp": { post: op, get: op } });
    expect(declared(t.paths!, "/mcp")).toBe("/mcp");
  });

  test("a plain HTTP API declares no transport", () => {
    const t = routeWith({ "/mcp": { post: op } }, true, "oas");
    expect(t.paths).toBeUndefined();
  });
});
