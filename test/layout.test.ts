/**
 * The layout of src/: no import runs backwards against the request path, there are no import cycles
 * (type-only imports included), and the pure cores touch no runtime.
 *
 * Layers, lowest first (a module imports only its own layer or lower ones):
 *   0  errors.ts, stores/ (the store port, its key names, stamps), http/ (headers, origins, CORS)
 *   1  definitions/ (the schema)
 *   2  mcp/, policy/, proxy/, routing/, traffic/ (pure cores; traffic/ holds the limiter backends),
 *      observe/ (records, access log, metrics, traces, analytics, catalog; the OpenTelemetry SDK)
 *   3  auth/ (cores over policy: keys, JWT, PRM, challenges)
 *   4  context.ts (the request's state)
 *   5  steps/ (the request path, one module per step; a step imports only steps before it)
 *   6  gateway.ts, endpoints/, admin/, ui/, options.ts, background.ts
 *   7  adapters/ and the entries (worker.ts, bun.ts, deno.ts)
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, test } from "vitest";

const SRC = resolve(import.meta.dirname, "..", "src");

/** The request path's steps, in the order `src/gateway.ts` runs them (`step.ts` is the runner). */
const STEP_ORDER = [
  "step",
  "record",
  "host",
  "path",
  "endpoints",
  "route",
  "ip",
  "origin",
  "cors",
  "authenticate",
  "method",
  "read",
  "authorize",
  "limit",
  "forward",
];
/** The names the steps go by in gateway.ts's list, where they differ from their modules'. */
const LISTED_AS: Record<string, string> = { authenticate: "authentication", path: "canonicalPath" };

function layerOf(file: string): number {
  const [top] = file.split("/");
  if (file === "errors.ts" || top === "stores" || top === "http") return 0;
  if (top === "definitions") return 1;
  if (top === "mcp" || top === "policy" || top === "proxy" || top === "routing" || top === "traffic" || top === "observe") return 2;
  if (top === "auth") return 3;
  if (file === "context.ts") return 4;
  if (top === "steps") return 5;
  if (["gateway.ts", "options.ts", "background.ts"].includes(file) || top === "endpoints" || top === "admin" || top === "ui") return 6;
  if (top === "adapters" || ["worker.ts", "bun.ts", "deno.ts"].includes(file)) return 7;
  throw new Error(`${file} has no layer: give it one in test/layout.test.ts`);
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
  );
}

/** Every relative import of every module (type-only ones included), as paths under src/. */
const graph = new Map<string, string[]>(
  sources(SRC).map((path) => {
    const text = readFileSync(path, "utf8");
    const imports = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/gms)]
      .map((m) => relative(SRC, resolve(dirname(path), m[1]!)))
      // A package's file reached by path (a module its exports map leaves out) is no module of src/.
      .filter((file) => !file.startsWith("../"));
    return [relative(SRC, path), imports];
  }),
);

describe("the layout of src/", () => {
  test("every module has a layer, and imports only its own layer or lower ones", () => {
    const backwards: string[] = [];
    for (const [file, imports] of graph) {
      for (const imported of imports) {
        if (layerOf(imported) > layerOf(file)) backwards.push(`${file} → ${imported}`);
      }
    }
    expect(backwards).toEqual([]);
  });

  test("a step imports only the steps before it on the request path", () => {
    const step = (file: string) => STEP_ORDER.indexOf(file.replace(/^steps\//, "").replace(/\.ts$/, ""));
    const backwards: string[] = [];
    for (const [file, imports] of graph) {
      if (!file.startsWith("steps/")) continue;
      expect(step(file), `${file} is not in STEP_ORDER`).toBeGreaterThanOrEqual(0);
      for (const imported of imports) {
        if (imported.startsWith("steps/") && step(imported) >= step(file)) backwards.push(`${file} → ${imported}`);
      }
    }
    expect(backwards).toEqual([]);
  });

  test("gateway.ts runs the steps in the order this test knows", () => {
    const text = readFileSync(join(SRC, "gateway.ts"), "utf8");
    const list = text.slice(text.indexOf("new RequestPath("));
    const positions = STEP_ORDER.slice(1).map((name) => list.search(new RegExp(`^\\s*${LISTED_AS[name] ?? name}\\b`, "m")));
    expect(positions.every((at) => at > 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  test("there are no import cycles", () => {
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (file: string, trail: string[]) => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "open") {
        cycles.push([...trail.slice(trail.indexOf(file)), file].join(" → "));
        return;
      }
      state.set(file, "open");
      for (const imported of graph.get(file) ?? []) visit(imported, [...trail, file]);
      state.set(file, "done");
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });

  test("the pure cores and the steps touch no runtime: no Hono, no Bun or Deno globals", () => {
    const impure: string[] = [];
    for (const path of sources(SRC)) {
      const file = relative(SRC, path);
      if (layerOf(file) >= 6) continue;
      const text = readFileSync(path, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
      if (/from\s+"hono(\/[^"]*)?"/.test(text) && !/import type/.test(text.match(/.*from\s+"hono.*/)?.[0] ?? ""))
        impure.push(`${file}: imports Hono`);
      if (/\b(Bun|Deno)\./.test(text)) impure.push(`${file}: uses a runtime global`);
    }
    expect(impure).toEqual([]);
  });
});
