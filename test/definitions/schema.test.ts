import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { validateDefinition } from "../../src/definitions/schema.ts";
import { seedDirEntries } from "../../src/adapters/node/seed-dir.ts";
import { policySeedEntries, seedEntries } from "../../src/admin/seed.ts";
import { mcpDefinition } from "../helpers/definitions.ts";
import { root } from "../helpers/processes.ts";

const base = () => mcpDefinition({ id: "w", listenPath: "/w/", upstream: "https://weather-mcp.example.com" });

describe("the MCP proxy definition schema", () => {
  test("the reference's minimum viable definition is valid", () => {
    const minimal = {
      openapi: "3.0.3",
      info: { title: "Weather MCP proxy", version: "2025-11-25" },
      paths: { "/mcp": { post: { operationId: "mcpTransportPost", responses: { "200": { description: "x" } } } } },
      "x-tyk-api-gateway": {
        info: { name: "Weather MCP proxy", state: { active: true } },
        server: { listenPath: { value: "/weather-mcp/", strip: true }, authentication: { enabled: true } },
        upstream: { url: "https://weather-mcp.example.com" },
      },
    };
    expect(validateDefinition(minimal)).toMatchObject({ ok: true });
  });

  test("every field the reference pages name is accepted", () => {
    const d = base() as Record<string, any>;
    const tyk = d["x-tyk-api-gateway"];
    tyk.info.versioning = {
      enabled: true,
      name: "v1",
      default: "v1",
      location: "header",
      key: "x-api-version",
      versions: [{ name: "v2", id: "w2" }],
    };
    tyk.server.authentication = {
      enabled: true,
      securitySchemes: { authToken: { enabled: true, header: { enabled: true, name: "Authorization" } } },
      protectedResourceMetadata: {
        enabled: true,
        resource: "https://gw/w/mcp",
        authorizationServers: ["https://as.example"],
        scopesSupported: ["mcp:read"],
      },
    };
    tyk.server.batchProcessing = { enabled: false };
    tyk.upstream.rateLimit = { enabled: true, rate: 100, per: "1m" };
    tyk.middleware = {
      global: { cache: { enabled: false }, requestSizeLimit: { enabled: true, value: 2048 } },
      operations: { mcpTransportPost: { enforceTimeout: { enabled: true, value: 30 } } },
      mcpTools: {
        get_forecast: {
          allow: { enabled: true },
          rateLimit: { enabled: true, rate: 10, per: "10s" },
          enforceTimeout: { enabled: true, value: 5 },
          circuitBreaker: { enabled: true, threshold: 0.5, sampleSize: 10, coolDownPeriod: 30, halfOpenStateEnabled: true },
          requestSizeLimit: { enabled: true, value: 512 },
          transformRequestMethod: { enabled: true, toMethod: "GET" },
          transformResponseBody: { enabled: true, format: "json", body: "{}" },
          urlRewrite: { enabled: true, pattern: ".*", rewriteTo: "/x" },
          cache: { enabled: true, timeout: 60 },
          mockResponse: { enabled: true, code: 200, body: "{}" },
        },
      },
      mcpResources: { "weather://current": { block: { enabled: true } } },
      mcpPrompts: { summarise: { allow: { enabled: true } } },
    };
    const r = validateDefinition(d);
    expect(r.ok ? [] : r.issues).toEqual([]);
  });

  test("unknown Tyk fields are kept, not refused", () => {
    const d = base() as Record<string, any>;
    d["x-tyk-api-gateway"].server.gatewayTags = { enabled: true, tags: ["edge"] };
    const r = validateDefinition(d);
    expect(r.ok && (r.definition["x-tyk-api-gateway"].server as Record<string, unknown>).gatewayTags).toBeTruthy();
  });

  test.each([
    ["no x-tyk-api-gateway", (d: any) => delete d["x-tyk-api-gateway"], "x-tyk-api-gateway"],
    ["no listen path", (d: any) => delete d["x-tyk-api-gateway"].server.listenPath, "listenPath"],
    ["a listen path without a leading slash", (d: any) => (d["x-tyk-api-gateway"].server.listenPath.value = "w/"), "listenPath"],
    ["an upstream that is not a URL", (d: any) => (d["x-tyk-api-gateway"].upstream.url = "not a url"), "upstream.url"],
    ["a non-HTTP upstream", (d: any) => (d["x-tyk-api-gateway"].upstream.url = "ftp://x"), "upstream.url"],
    ["a bad rate-limit duration", (d: any) => (d["x-tyk-api-gateway"].upstream.rateLimit = { enabled: true, rate: 1, per: "soon" }), "per"],
    [
      "a threshold over 1",
      (d: any) =>
        (d["x-tyk-api-gateway"].middleware = {
          mcpTools: {
            t: { circuitBreaker: { enabled: true, threshold: 2, sampleSize: 1, coolDownPeriod: 1, halfOpenStateEnabled: false } },
          },
        }),
      "threshold",
    ],
    ["an empty name", (d: any) => (d["x-tyk-api-gateway"].info.name = " "), "name"],
    ["no state", (d: any) => delete d["x-tyk-api-gateway"].info.state, "state"],
    ["OpenAPI 2", (d: any) => (d.openapi = "2.0"), "openapi"],
  ])("%s is refused, naming the field", (_label, mutate, field) => {
    const d = base();
    mutate(d);
    const r = validateDefinition(d);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.join("\n")).toContain(field);
  });
});

describe("seeding definitions/", () => {
  test("every example in definitions/ is valid and seeds, the version stamp last", async () => {
    const dir = join(root, "definitions");
    const files = (await readdir(dir)).filter((f) => f.endsWith(".json"));
    expect(files.length).toBeGreaterThan(0);
    const docs = await Promise.all(files.map(async (f) => [f, JSON.parse(await readFile(join(dir, f), "utf8"))] as const));
    const entries = seedEntries(docs);
    expect(entries.at(-1)?.key).toBe("meta:apis-version");
    expect(entries.map((e) => e.key)).toContain("mcp:everything");
  });

  test("an id is taken from the file name when the definition has none", () => {
    const d = base() as Record<string, any>;
    delete d["x-tyk-api-gateway"].info.id;
    expect(seedEntries([["weather.json", d]])[0]?.key).toBe("mcp:weather");
  });

  test("invalid documents and clashing ids are all reported at once", () => {
    expect(() =>
      seedEntries([
        ["a.json", {}],
        ["b.json", base()],
        ["c.json", base()],
      ]),
    ).toThrow(/a\.json[\s\S]*c\.json: API id "w" is also used by b\.json/);
  });

  test("an id with path characters is refused", () => {
    const d = base() as Record<string, any>;
    d["x-tyk-api-gateway"].info.id = "../etc";
    expect(() => seedEntries([["x.json", d]])).toThrow(/may contain only/);
  });

  test("definitions/ with its policies seeds whole: APIs, then policies, each followed by its stamp", async () => {
    const keys = (await seedDirEntries(join(root, "definitions"))).map((e) => e.key);
    expect(keys).toContain("mcp:everything-secure");
    expect(keys).toContain("policy:analyst");
    expect(keys.indexOf("meta:apis-version")).toBeLessThan(keys.indexOf("policy:analyst"));
    expect(keys.at(-1)).toBe("meta:policies-version");
  });

  test("a seeded policy is held to the MCP policy rules", () => {
    const policy = { id: "p", access_rights: { rest: { api_id: "rest", mcp_access_rights: { tools: {} } } } };
    expect(() => policySeedEntries([["p.json", policy]], new Map([["rest", "oas" as const]]))).toThrow(/mcp_access_rights/);
  });
});
