/** The transport paths an MCP proxy declares (src/steps/method.ts). */
import { describe, expect, test } from "vitest";
import { validateDefinition } from "../../src/definitions/schema.ts";
import { relativePath, RouteTable, routeBase } from "../../src/routing/route-table.ts";
import { method, type TransportPath, transportPath } from "../../src/steps/method.ts";
import { mcpDefinition } from "../helpers/definitions.ts";

describe("transport methods (the OAS paths an MCP proxy declares)", () => {
  const transportMethods = (paths: readonly TransportPath[], path: string) => transportPath(paths, path)?.methods;
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

  test("a declared path offers its operations' methods, POST always among them, in a fixed order", () => {
    const t = routeWith({ "/mcp": { delete: op, get: op, post: op }, "/sse": { get: op }, "/empty": {} });
    const route = t.paths!;
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
      expect(transportMethods(t.paths!, relativePath(match))).toEqual(["POST"]);
      expect(relativePath(t.match("/m")!)).toBe("");
    }
    // The listen path itself is the path "/".
    const root = routeWith({ "/": { post: op, get: op } });
    expect(transportMethods(root.paths!, "")).toEqual(["GET", "POST"]);
  });

  test("a {template} stands for one segment; the rest of the path matches literally, never as a pattern", () => {
    const t = routeWith({ "/{tenant}/mcp": { post: op, get: op }, "/a.b/{x}": { post: op }, "/(x+)+y": { post: op, delete: op } });
    const route = t.paths!;
    expect(transportMethods(route, "/acme/mcp")).toEqual(["GET", "POST"]);
    expect(transportMethods(route, "/acme/corp/mcp")).toBeUndefined();
    expect(transportMethods(route, "/a.b/1")).toEqual(["POST"]);
    expect(transportMethods(route, "/aXb/1")).toBeUndefined();
    expect(transportMethods(route, "/(x+)+y")).toEqual(["POST", "DELETE"]);
    expect(transportMethods(route, "/xxxxy")).toBeUndefined();
  });

  test("a literal path wins over a template that also matches", () => {
    const t = routeWith({ "/{any}": { post: op }, "/mcp": { post: op, get: op } });
    expect(transportMethods(t.paths!, "/mcp")).toEqual(["GET", "POST"]);
  });

  test("a plain HTTP API declares no transport", () => {
    const t = routeWith({ "/mcp": { post: op } }, true, "oas");
    expect(t.paths).toBeUndefined();
  });
});
