/**
 * The management APIs end to end, on workerd (admin Durable Object over KV), Bun (file store) and
 * Deno (Deno KV): every row of the reference's error tables, YAML bodies, paging, versioning,
 * isolation of MCP proxies from plain OAS APIs, concurrency, and writes that are live on the next
 * request.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { stringify as toYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { mcpDefinition } from "../helpers/definitions.ts";
import { RUNTIMES, startGateway, TEST_DASHBOARD_KEY, TEST_GATEWAY_SECRET, type RunningGateway } from "../helpers/gateways.ts";
import { startEverything, type Running } from "../helpers/processes.ts";
import { jsonRpcResult, startUpstream, type TestUpstream } from "../helpers/upstream.ts";
import { MCP_POST_HEADERS, ping } from "../helpers/mcp.ts";

function oasDefinition(id: string, listenPath: string, upstream: string) {
  const d = mcpDefinition({ id, listenPath, upstream }) as Record<string, any>;
  d.paths = { "/status": { get: { operationId: "status", responses: { "200": { description: "ok" } } } } };
  return d;
}

describe.each(RUNTIMES)("management APIs on %s", (runtime) => {
  let gw: RunningGateway;
  let up: TestUpstream;
  let up2: TestUpstream;
  let everything: Running;
  let n = 0;
  const uid = (prefix: string) => `${prefix}-${++n}`;

  const tyk = (method: string, path: string, body?: unknown, init: RequestInit = {}) =>
    fetch(`${gw.url}${path}`, {
      method,
      ...init,
      headers: {
        "x-tyk-authorization": TEST_GATEWAY_SECRET,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...(init.headers as Record<string, string>),
      },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
  const dash = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${gw.url}${path}`, {
      method,
      headers: {
        authorization: TEST_DASHBOARD_KEY,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
  const proxyPost = (path: string) => fetch(`${gw.url}${path}`, { method: "POST", headers: MCP_POST_HEADERS, body: ping() });

  beforeAll(async () => {
    [up, up2, everything] = await Promise.all([startUpstream(), startUpstream(), startEverything()]);
    up.handle((_req, res, body) => jsonRpcResult(res, body, { from: "one" }));
    up2.handle((_req, res, body) => jsonRpcResult(res, body, { from: "two" }));
    gw = await startGateway(runtime, []);
  }, 90_000);

  afterAll(async () => {
    await gw?.stop();
    await Promise.all([up?.stop(), up2?.stop(), everything?.stop()]);
  });

  describe("admin authentication", () => {
    test.each([
      ["missing", {}],
      ["wrong", { "x-tyk-authorization": "not-the-secret" }],
      ["empty", { "x-tyk-authorization": "" }],
    ])("Gateway API: a %s secret gets Tyk's 403, the same every time", async (_label, headers) => {
      const res = await fetch(`${gw.url}/tyk/mcps`, { headers });
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({
        status: "error",
        message: "Attempted administrative access with invalid or missing key!",
      });
    });

    test.each([
      ["missing", {}],
      ["wrong", { authorization: "nope" }],
      ["the gateway secret", { authorization: TEST_GATEWAY_SECRET }],
    ])("Dashboard API: a %s key gets 403", async (_label, headers) => {
      const res = await fetch(`${gw.url}/api/mcps`, { headers });
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ Status: "Error", Message: "Not authorised", Meta: null });
    });

    test("a write with a wrong secret changes nothing", async () => {
      const res = await fetch(`${gw.url}/tyk/mcps`, {
        method: "POST",
        headers: { "x-tyk-authorization": "wrong", "content-type": "application/json" },
        body: JSON.stringify(mcpDefinition({ id: "sneaky", listenPath: "/sneaky/", upstream: up.url })),
      });
      expect(res.status).toBe(403);
      expect((await tyk("GET", "/tyk/mcps/sneaky")).status).toBe(404);
    });
  });

  describe("Gateway API: /tyk/mcps", () => {
    test("create answers {key, status, action} and the proxy serves on the next request", async () => {
      const id = uid("gw");
      const res = await tyk("POST", "/tyk/mcps", mcpDefinition({ id, listenPath: `/${id}/`, upstream: up.url }));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ key: id, status: "ok", action: "added" });
      const call = await proxyPost(`/${id}/mcp`);
      expect(call.status).toBe(200);
      expect(await call.json()).toMatchObject({ result: { from: "one" } });
    });

    test("without an id in the definition, the gateway generates one", async () => {
      const d = mcpDefinition({ id: "x", listenPath: `/${uid("gen")}/`, upstream: up.url }) as any;
      delete d["x-tyk-api-gateway"].info.id;
      const res = await tyk("POST", "/tyk/mcps", d);
      const { key } = await res.json();
      expect(key).toMatch(/^[A-Za-z0-9._-]+$/);
      const got = await tyk("GET", `/tyk/mcps/${key}`);
      expect((await got.json())["x-tyk-api-gateway"].info.id).toBe(key);
    });

    test("list returns MCP proxies as a JSON array; get returns the definition", async () => {
      const id = uid("list");
      await tyk("POST", "/tyk/mcps", mcpDefinition({ id, listenPath: `/${id}/`, upstream: up.url }));
      const list = await (await tyk("GET", "/tyk/mcps")).json();
      expect(Array.isArray(list)).toBe(true);
      expect(list.map((d: any) => d["x-tyk-api-gateway"].info.id)).toContain(id);
      const one = await tyk("GET", `/tyk/mcps/${id}`);
      expect(one.status).toBe(200);
      expect(one.headers.get("x-tyk-base-api-id")).toBeNull();
      expect((await one.json())["x-tyk-api-gateway"].upstream.url).toBe(up.url);
    });

    test.each([
      ["not JSON", "{nope"],
      ["a JSON array", "[]"],
      ["without x-tyk-api-gateway", { openapi: "3.0.3", info: { title: "t", version: "1" }, paths: {} }],
      [
        "without paths (OAS structure)",
        (() => {
          const d = mcpDefinition({ id: "p", listenPath: "/p/", upstream: "http://u" }) as any;
          delete d.paths;
          return d;
        })(),
      ],
      [
        "with OpenAPI 2",
        (() => {
          const d = mcpDefinition({ id: "p2", listenPath: "/p2/", upstream: "http://u" }) as any;
          d.openapi = "2.0";
          return d;
        })(),
      ],
      ["with an upstream that is not a URL", mcpDefinition({ id: "bad-up", listenPath: "/bad-up/", upstream: "nope" })],
      [
        "with an mcpTools entry that fails the schema",
        mcpDefinition({
          id: "bad-tool",
          listenPath: "/bad-tool/",
          upstream: "http://u",
          middleware: { mcpTools: { t: { rateLimit: { enabled: true, rate: "lots", per: "1m" } } } },
        }),
      ],
      [
        "with PRM enabled and no authorization server",
        (() => {
          const d = mcpDefinition({ id: "prm", listenPath: "/prm/", upstream: "http://u" }) as any;
          d["x-tyk-api-gateway"].server.authentication = {
            enabled: true,
            protectedResourceMetadata: { enabled: true, authorizationServers: [] },
          };
          return d;
        })(),
      ],
      ["with an id containing path traversal", mcpDefinition({ id: "../etc", listenPath: "/trav/", upstream: "http://u" })],
      ["with an id containing odd characters", mcpDefinition({ id: "a b/c", listenPath: "/odd/", upstream: "http://u" })],
      ["on an admin path", mcpDefinition({ id: "on-admin", listenPath: "/tyk/mine/", upstream: "http://u" })],
      ["on the root path (covers the admin API)", mcpDefinition({ id: "on-root", listenPath: "/", upstream: "http://u" })],
      ["on a listen path with a dot segment", mcpDefinition({ id: "dots", listenPath: "/x/../tyk/", upstream: "http://u" })],
      ["on a listen path with percent-encoding", mcpDefinition({ id: "encoded", listenPath: "/a%2fb/", upstream: "http://u" })],
      ["on a listen path with an empty segment", mcpDefinition({ id: "empty", listenPath: "/a//b/", upstream: "http://u" })],
      [
        "with an upstream URL whose path climbs",
        mcpDefinition({ id: "up-dots", listenPath: "/up-dots/", upstream: "http://u/base/../other" }),
      ],
    ])("create %s: 400 with a message, nothing stored", async (_label, body) => {
      const before = (await (await tyk("GET", "/tyk/mcps")).json()).length;
      const res = await tyk("POST", "/tyk/mcps", body);
      expect(res.status).toBe(400);
      const answer = await res.json();
      expect(answer.status).toBe("error");
      expect(answer.message.length).toBeGreaterThan(10);
      expect((await (await tyk("GET", "/tyk/mcps")).json()).length).toBe(before);
    });

    test("a listen path or upstream URL that is not canonical is refused naming the field", async () => {
      const listen = await tyk("POST", "/tyk/mcps", mcpDefinition({ id: uid("lp"), listenPath: "/a/./b/", upstream: up.url }));
      expect((await listen.json()).message).toContain(
        "x-tyk-api-gateway.server.listenPath.value: must be a canonical path: it has a dot segment",
      );
      const upstream = await dash(
        "POST",
        "/api/mcps",
        mcpDefinition({ id: uid("up"), listenPath: `/${uid("up")}/`, upstream: `${up.url}/a//b` }),
      );
      expect(upstream.status).toBe(400);
      expect((await upstream.json()).Message).toContain(
        "x-tyk-api-gateway.upstream.url: must have a canonical path: it has an empty segment",
      );
    });

    test("the PRM message says what to fix", async () => {
      const d = mcpDefinition({ id: uid("prm"), listenPath: `/${uid("prm")}/`, upstream: up.url }) as any;
      d["x-tyk-api-gateway"].server.authentication = { enabled: true, protectedResourceMetadata: { enabled: true } };
      expect((await (await tyk("POST", "/tyk/mcps", d)).json()).message).toMatch(/authorizationServers/);
    });

    test("a JWT scheme that cannot work gets 400 naming the field, on both APIs, and nothing is stored", async () => {
      const id = uid("jwt");
      const d = mcpDefinition({ id, listenPath: `/${id}/`, upstream: up.url }) as any;
      d.components = { securitySchemes: { jwt: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } };
      d["x-tyk-api-gateway"].server.authentication = { enabled: true, securitySchemes: { jwt: { enabled: true, source: "c2VjcmV0" } } };
      const res = await tyk("POST", "/tyk/mcps", d);
      expect(res.status).toBe(400);
      expect((await res.json()).message).toContain(
        "x-tyk-api-gateway.server.authentication.securitySchemes.jwt: source is not a public key",
      );
      const viaDashboard = await dash("POST", "/api/mcps", d);
      expect(viaDashboard.status).toBe(400);
      expect((await viaDashboard.json()).Message).toContain("securitySchemes.jwt");
      expect((await tyk("GET", `/tyk/mcps/${id}`)).status).toBe(404);
    });

    test("a duplicate id and a listen path already in use get 400", async () => {
      const id = uid("dup");
      await tyk("POST", "/tyk/mcps", mcpDefinition({ id, listenPath: `/${id}/`, upstream: up.url }));
      const again = await tyk("POST", "/tyk/mcps", mcpDefinition({ id, listenPath: `/${id}-other/`, upstream: up.url }));
      expect(again.status).toBe(400);
      expect((await again.json()).message).toMatch(/already exists/);
      const clash = await tyk("POST", "/tyk/mcps", mcpDefinition({ id: uid("clash"), listenPath: `/${id}`, upstream: up.url }));
      expect(clash.status).toBe(400);
      expect((await clash.json()).message).toMatch(/already used by API/);
    });

    test("middleware that MCP ignores is accepted (and has no effect)", async () => {
      const id = uid("ignored");
      const res = await tyk(
        "POST",
        "/tyk/mcps",
        mcpDefinition({
          id,
          listenPath: `/${id}/`,
          upstream: up.url,
          middleware: {
            global: { cache: { enabled: true, timeout: 60 } },
            mcpTools: {
              t: {
                transformRequestMethod: { enabled: true, toMethod: "GET" },
                transformResponseBody: { enabled: true, format: "json", body: "{}" },
                urlRewrite: { enabled: true, pattern: ".*", rewriteTo: "/x" },
                cache: { enabled: true, timeout: 10 },
                mockResponse: { enabled: true, code: 418, body: "teapot" },
              },
            },
          },
        }),
      );
      expect(res.status).toBe(200);
      expect((await proxyPost(`/${id}/mcp`)).status).toBe(200);
    });

    test("a body over the admin size limit gets 413", async () => {
      const d = mcpDefinition({ id: uid("big"), listenPath: `/${uid("big")}/`, upstream: up.url }) as any;
      d.info.description = "x".repeat(3 * 1024 * 1024);
      // The client sees the 413 (not a connection reset) though it is still sending when refused.
      const res = await tyk("POST", "/tyk/mcps", d);
      expect(res.status).toBe(413);
      expect((await tyk("GET", `/tyk/mcps/${d["x-tyk-api-gateway"].info.id}`)).status).toBe(404);
    });

    test.each([
      ["a base that does not exist", { base_api_id: "no-such-api", version_name: "v2" }],
      ["no version_name", { base_api_id: "BASE" }],
      ["a base that is an OAS API", { base_api_id: "OAS", version_name: "v2" }],
    ])("versioning parameters with %s get 422", async (_label, params) => {
      const base = uid("vbase");
      await tyk("POST", "/tyk/mcps", mcpDefinition({ id: base, listenPath: `/${base}/`, upstream: up.url }));
      const oas = uid("voas");
      await tyk("POST", "/tyk/apis", oasDefinition(oas, `/${oas}/`, up.url));
      const query = new URLSearchParams(
        Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.replace("BASE", base).replace("OAS", oas)])),
      );
      const child = uid("vchild");
      const res = await tyk("POST", `/tyk/mcps?${query}`, mcpDefinition({ id: child, listenPath: `/${child}/`, upstream: up.url }));
      expect(res.status).toBe(422);
      expect((await tyk("GET", `/tyk/mcps/${child}`)).status).toBe(404);
    });

    test("update replaces the definition in full; a new upstream serves on the next request", async () => {
      const id = uid("upd");
      await tyk("POST", "/tyk/mcps", mcpDefinition({ id, listenPath: `/${id}/`, upstream: up.url }));
      expect(await (await proxyPost(`/${id}/mcp`)).json()).toMatchObject({ result: { from: "one" } });
      const res = await tyk("PUT", `/tyk/mcps/${id}`, mcpDefinition({ id, listenPath: `/${id}/`, upstream: up2.url }));
      expect(await res.json()).toEqual({ key: id, status: "ok", action: "modified" });
      expect(await (await proxyPost(`/${id}/mcp`)).json()).toMatchObject({ result: { from: "two" } });
    });

    test("update errors: bad id 400, malformed 400, id mismatch 400, not MCP 400, invalid 400, unknown 404", async () => {
      const id = uid("upe");
      await tyk("POST", "/tyk/mcps", mcpDefinition({ id, listenPath: `/${id}/`, upstream: up.url }));
      const oas = uid("upe-oas");
      await tyk("POST", "/tyk/apis", oasDefinition(oas, `/${oas}/`, up.url));
      const good = (i: string) => mcpDefinition({ id: i, listenPath: `/${i}/`, upstream: up.url });
      expect((await tyk("PUT", "/tyk/mcps/%2E%2E%2Fetc", good("../etc"))).status).toBe(400);
      expect((await tyk("PUT", `/tyk/mcps/${id}`, "{broken")).status).toBe(400);
      const mismatch = await tyk("PUT", `/tyk/mcps/${id}`, good("someone-else"));
      expect(mismatch.status).toBe(400);
      expect((await mismatch.json()).message).toMatch(/does not match/);
      expect((await tyk("PUT", `/tyk/mcps/${oas}`, good(oas))).status).toBe(400);
      expect((await tyk("PUT", `/tyk/mcps/${id}`, { ...good(id), openapi: "9" })).status).toBe(400);
      expect((await tyk("PUT", "/tyk/mcps/never-made", good("never-made"))).status).toBe(404);
      // Nothing changed.
      expect(await (await proxyPost(`/${id}/mcp`)).json()).toMatchObject({ result: { from: "one" } });
    });

    test("get errors: traversal 400, unknown 404, an OAS API 404", async () => {
      const oas = uid("get-oas");
      await tyk("POST", "/tyk/apis", oasDefinition(oas, `/${oas}/`, up.url));
      expect((await tyk("GET", "/tyk/mcps/%2E%2E%2Fetc")).status).toBe(400);
      expect((await tyk("GET", "/tyk/mcps/a%20b")).status).toBe(400);
      expect((await tyk("GET", "/tyk/mcps/never-made")).status).toBe(404);
      expect((await tyk("GET", `/tyk/mcps/${oas}`)).status).toBe(404);
    });

    test("delete answers {key, status, action}; the proxy 404s on the next request", async () => {
      const id = uid("del");
      await tyk("POST", "/tyk/mcps", mcpDefinition({ id, listenPath: `/${id}/`, upstream: up.url }));
      expect((await proxyPost(`/${id}/mcp`)).status).toBe(200);
      const res = await tyk("DELETE", `/tyk/mcps/${id}`);
      expect(await res.json()).toEqual({ key: id, status: "ok", action: "deleted" });
      expect((await proxyPost(`/${id}/mcp`)).status).toBe(404);
    });

    test("delete errors: bad id 400, an OAS API 400, unknown 404", async () => {
      const oas = uid("del-oas");
      await tyk("POST", "/tyk/apis", oasDefinition(oas, `/${oas}/`, up.url));
      expect((await tyk("DELETE", "/tyk/mcps/%2E%2E%2Fetc")).status).toBe(400);
      expect((await tyk("DELETE", `/tyk/mcps/${oas}`)).status).toBe(400);
      expect((await tyk("DELETE", "/tyk/mcps/never-made")).status).toBe(404);
      expect((await tyk("GET", `/tyk/apis/${oas}`)).status).toBe(200);
    });

    test("/tyk/reload and /tyk/reload/group answer ok (writes are already live)", async () => {
      for (const path of ["/tyk/reload", "/tyk/reload/group"]) {
        const res = await tyk("GET", path);
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ status: "ok", message: "" });
      }
    });
  });

  describe("versions", () => {
    test("a child created with base_api_id, version_name and set_default routes by header, live", async () => {
      const base = uid("wbase");
      const child = uid("wchild");
      await tyk("POST", "/tyk/mcps", mcpDefinition({ id: base, listenPath: `/${base}/`, upstream: up.url }));
      const res = await tyk(
        "POST",
        `/tyk/mcps?base_api_id=${base}&version_name=v2&set_default=false`,
        mcpDefinition({ id: child, listenPath: `/${child}/`, upstream: up2.url }),
      );
      expect(res.status).toBe(200);
      const got = await tyk("GET", `/tyk/mcps/${child}`);
      expect(got.headers.get("x-tyk-base-api-id")).toBe(base);
      const baseDef = await (await tyk("GET", `/tyk/mcps/${base}`)).json();
      expect(baseDef["x-tyk-api-gateway"].info.versioning.versions).toEqual([{ name: "v2", id: child }]);

      const key = baseDef["x-tyk-api-gateway"].info.versioning.key;
      const viaHeader = (version?: string) =>
        fetch(`${gw.url}/${base}/mcp`, {
          method: "POST",
          headers: { ...MCP_POST_HEADERS, ...(version ? { [key]: version } : {}) },
          body: ping(),
        });
      expect(await (await viaHeader()).json()).toMatchObject({ result: { from: "one" } });
      expect(await (await viaHeader("v2")).json()).toMatchObject({ result: { from: "two" } });
      expect((await viaHeader("v9")).status).toBe(403);

      // Deleting the child removes it from the base's version map, live.
      await tyk("DELETE", `/tyk/mcps/${child}`);
      const after = await (await tyk("GET", `/tyk/mcps/${base}`)).json();
      expect(after["x-tyk-api-gateway"].info.versioning.versions).toEqual([]);
      expect((await viaHeader("v2")).status).toBe(403);
      expect(await (await viaHeader()).json()).toMatchObject({ result: { from: "one" } });
    });

    test("set_default makes the new version the default", async () => {
      const base = uid("dbase");
      const child = uid("dchild");
      await tyk("POST", "/tyk/mcps", mcpDefinition({ id: base, listenPath: `/${base}/`, upstream: up.url }));
      await tyk(
        "POST",
        `/tyk/mcps?base_api_id=${base}&version_name=v2&set_default=true`,
        mcpDefinition({ id: child, listenPath: `/${child}/`, upstream: up2.url }),
      );
      expect(await (await proxyPost(`/${base}/mcp`)).json()).toMatchObject({ result: { from: "two" } });
    });

    test("deleting a base leaves its children, without a parent", async () => {
      const base = uid("obase");
      const child = uid("ochild");
      await tyk("POST", "/tyk/mcps", mcpDefinition({ id: base, listenPath: `/${base}/`, upstream: up.url }));
      await tyk(
        "POST",
        `/tyk/mcps?base_api_id=${base}&version_name=v2`,
        mcpDefinition({ id: child, listenPath: `/${child}/`, upstream: up2.url }),
      );
      expect((await tyk("DELETE", `/tyk/mcps/${base}`)).status).toBe(200);
      const got = await tyk("GET", `/tyk/mcps/${child}`);
      expect(got.status).toBe(200);
      expect(got.headers.get("x-tyk-base-api-id")).toBeNull();
      expect((await proxyPost(`/${child}/mcp`)).status).toBe(200);
    });

    test("Dashboard: versions of a base; 422 for a child or an unknown API; 400 for an OAS API", async () => {
      const base = uid("lbase");
      const child = uid("lchild");
      await dash("POST", "/api/mcps", mcpDefinition({ id: base, listenPath: `/${base}/`, upstream: up.url }));
      const created = await dash(
        "POST",
        `/api/mcps?base_api_id=${base}`,
        mcpDefinition({ id: child, listenPath: `/${child}/`, upstream: up2.url }),
      );
      expect(created.status).toBe(200);
      const res = await dash("GET", `/api/mcps/${base}/versions`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ apis: [{ apiId: child, name: child }], pages: 1 });
      expect((await dash("GET", `/api/mcps/${child}/versions`)).status).toBe(422);
      expect((await dash("GET", "/api/mcps/never-made/versions")).status).toBe(422);
      const oas = uid("loas");
      await dash("POST", "/api/apis", oasDefinition(oas, `/${oas}/`, up.url));
      expect((await dash("GET", `/api/mcps/${oas}/versions`)).status).toBe(400);
    });

    test("Dashboard: base_api_id that does not exist or is not MCP gets 400", async () => {
      const oas = uid("doas");
      await dash("POST", "/api/apis", oasDefinition(oas, `/${oas}/`, up.url));
      for (const base of ["never-made", oas]) {
        const child = uid("dc");
        const res = await dash(
          "POST",
          `/api/mcps?base_api_id=${base}`,
          mcpDefinition({ id: child, listenPath: `/${child}/`, upstream: up.url }),
        );
        expect(res.status).toBe(400);
        expect((await res.json()).Status).toBe("Error");
      }
    });
  });

  describe("Dashboard API: /api/mcps", () => {
    test("create (JSON) answers {Status, Message, Meta}; the SDK client works through it on the next request", async () => {
      const id = uid("sdk");
      const res = await dash("POST", "/api/mcps", mcpDefinition({ id, listenPath: `/${id}/`, upstream: everything.url }));
      expect(await res.json()).toEqual({ Status: "OK", Message: "API created", Meta: id });
      const client = new Client({ name: "admin-e2e", version: "1.0.0" });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/${id}/mcp`)));
      try {
        const tools = await client.listTools();
        expect(tools.tools.map((t) => t.name)).toContain("echo");
      } finally {
        await client.close();
      }
    });

    test("create and update accept YAML bodies", async () => {
      const id = uid("yaml");
      const yaml = toYaml(mcpDefinition({ id, listenPath: `/${id}/`, upstream: up.url }));
      const res = await dash("POST", "/api/mcps", yaml, { "content-type": "application/x-yaml" });
      expect(await res.json()).toEqual({ Status: "OK", Message: "API created", Meta: id });
      const update = toYaml(mcpDefinition({ id, listenPath: `/${id}/`, upstream: up2.url }));
      const put = await dash("PUT", `/api/mcps/${id}`, update, { "content-type": "application/x-yaml" });
      expect(await put.json()).toEqual({ Status: "OK", Message: "API updated", Meta: id });
      expect(await (await proxyPost(`/${id}/mcp`)).json()).toMatchObject({ result: { from: "two" } });
      const bad = await dash("POST", "/api/mcps", "a: [unclosed", { "content-type": "application/x-yaml" });
      expect(bad.status).toBe(400);
      expect((await bad.json()).Message).toMatch(/YAML/);
    });

    test("the listing is {mcps, pages}, paged with p", async () => {
      const first = await (await dash("GET", "/api/mcps")).json();
      expect(Object.keys(first).sort()).toEqual(["mcps", "pages"]);
      // Make sure there are more than 10 proxies.
      for (let i = 0; i < 11; i++) {
        const id = uid("page");
        await dash("POST", "/api/mcps", mcpDefinition({ id, listenPath: `/${id}/`, upstream: up.url }));
      }
      const one = await (await dash("GET", "/api/mcps?p=1")).json();
      const two = await (await dash("GET", "/api/mcps?p=2")).json();
      expect(one.mcps).toHaveLength(10);
      expect(one.pages).toBeGreaterThanOrEqual(2);
      const ids = (page: any) => page.mcps.map((d: any) => d["x-tyk-api-gateway"].info.id);
      expect(ids(one).filter((x: string) => ids(two).includes(x))).toEqual([]);
      expect((await (await dash("GET", "/api/mcps?p=999")).json()).mcps).toEqual([]);
    });

    test("get: 200, 400 for an OAS API, 404 for unknown", async () => {
      const id = uid("dget");
      await dash("POST", "/api/mcps", mcpDefinition({ id, listenPath: `/${id}/`, upstream: up.url }));
      expect((await dash("GET", `/api/mcps/${id}`)).status).toBe(200);
      const oas = uid("dget-oas");
      await dash("POST", "/api/apis", oasDefinition(oas, `/${oas}/`, up.url));
      expect((await dash("GET", `/api/mcps/${oas}`)).status).toBe(400);
      expect((await dash("GET", "/api/mcps/never-made")).status).toBe(404);
    });

    test("update: 400 for an OAS API or invalid, 404 for unknown", async () => {
      const oas = uid("dput-oas");
      await dash("POST", "/api/apis", oasDefinition(oas, `/${oas}/`, up.url));
      expect((await dash("PUT", `/api/mcps/${oas}`, mcpDefinition({ id: oas, listenPath: `/${oas}/`, upstream: up.url }))).status).toBe(
        400,
      );
      const id = uid("dput");
      await dash("POST", "/api/mcps", mcpDefinition({ id, listenPath: `/${id}/`, upstream: up.url }));
      expect((await dash("PUT", `/api/mcps/${id}`, { openapi: "3.0.3" })).status).toBe(400);
      expect(
        (await dash("PUT", "/api/mcps/never-made", mcpDefinition({ id: "never-made", listenPath: "/nm/", upstream: up.url }))).status,
      ).toBe(404);
    });

    test("delete: {Status, Message, Meta}; 400 for an OAS API; 404 for unknown", async () => {
      const id = uid("ddel");
      await dash("POST", "/api/mcps", mcpDefinition({ id, listenPath: `/${id}/`, upstream: up.url }));
      expect(await (await dash("DELETE", `/api/mcps/${id}`)).json()).toEqual({ Status: "OK", Message: "API deleted", Meta: id });
      expect((await proxyPost(`/${id}/mcp`)).status).toBe(404);
      const oas = uid("ddel-oas");
      await dash("POST", "/api/apis", oasDefinition(oas, `/${oas}/`, up.url));
      expect((await dash("DELETE", `/api/mcps/${oas}`)).status).toBe(400);
      expect((await dash("DELETE", "/api/mcps/never-made")).status).toBe(404);
    });

    test("create errors are 400 with a message saying what to fix", async () => {
      const d = mcpDefinition({ id: uid("derr"), listenPath: "relative/", upstream: up.url });
      const res = await dash("POST", "/api/mcps", d);
      expect(res.status).toBe(400);
      expect((await res.json()).Message).toMatch(/listenPath/);
    });

    test("the schema endpoint serves the JSON Schema for OpenAPI 3.0 (default) and 3.1", async () => {
      const s30 = await (await dash("GET", "/api/schemas/apidefs/mcp")).json();
      expect(s30.$schema).toMatch(/draft-07/);
      expect(s30.required).toContain("x-tyk-api-gateway");
      expect(s30.properties.openapi.pattern).toBe("^3\\.0\\.\\d+$");
      const mcpTools = s30.properties["x-tyk-api-gateway"].properties.middleware.properties.mcpTools;
      expect(mcpTools.type).toBe("object");
      const s31 = await (await dash("GET", "/api/schemas/apidefs/mcp?mcpVersion=3.1")).json();
      expect(s31.$schema).toMatch(/2020-12/);
      const pretty = await (await dash("GET", "/api/schemas/apidefs/mcp?pretty=true")).text();
      expect(pretty).toContain('\n  "');
      expect((await dash("GET", "/api/schemas/apidefs/mcp?mcpVersion=2.0")).status).toBe(400);
    });
  });

  describe("MCP proxy isolation from OAS APIs", () => {
    test("listings keep the two kinds apart", async () => {
      const mcp = uid("iso-mcp");
      const oas = uid("iso-oas");
      await tyk("POST", "/tyk/mcps", mcpDefinition({ id: mcp, listenPath: `/${mcp}/`, upstream: up.url }));
      await tyk("POST", "/tyk/apis", oasDefinition(oas, `/${oas}/`, up.url));
      const ids = (list: any[]) => list.map((d) => d["x-tyk-api-gateway"].info.id);
      const tykMcps = ids(await (await tyk("GET", "/tyk/mcps")).json());
      const tykApis = ids(await (await tyk("GET", "/tyk/apis")).json());
      expect(tykMcps).toContain(mcp);
      expect(tykMcps).not.toContain(oas);
      expect(tykApis).toContain(oas);
      expect(tykApis).not.toContain(mcp);
      const dashApis = ids((await (await dash("GET", "/api/apis")).json()).apis);
      expect(dashApis).not.toContain(mcp);
    });

    test("an OAS API with MCP middleware is refused on /tyk/apis", async () => {
      const oas = uid("iso-bad");
      const d = oasDefinition(oas, `/${oas}/`, up.url);
      d["x-tyk-api-gateway"].middleware = { mcpTools: { t: { allow: { enabled: true } } } };
      const res = await tyk("POST", "/tyk/apis", d);
      expect(res.status).toBe(400);
      expect((await res.json()).message).toMatch(/mcpTools/);
    });

    test("a plain OAS API is proxied as plain HTTP (no JSON-RPC reading)", async () => {
      const oas = uid("plain");
      await tyk("POST", "/tyk/apis", oasDefinition(oas, `/${oas}/`, up.url));
      up.seen.length = 0;
      up.handle((_req, res) => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("plain ok");
      });
      try {
        const res = await fetch(`${gw.url}/${oas}/status`, { method: "POST", body: "not json at all" });
        expect(res.status).toBe(200);
        expect(await res.text()).toBe("plain ok");
        expect(up.seen[0]?.body).toBe("not json at all");
      } finally {
        up.handle((_req, res, body) => jsonRpcResult(res, body, { from: "one" }));
      }
    });
  });

  describe("concurrency: no write is lost", () => {
    test("parallel creates all land", async () => {
      const ids = Array.from({ length: 12 }, () => uid("par"));
      const results = await Promise.all(
        ids.map((id) => tyk("POST", "/tyk/mcps", mcpDefinition({ id, listenPath: `/${id}/`, upstream: up.url }))),
      );
      expect(results.map((r) => r.status)).toEqual(ids.map(() => 200));
      const listed = (await (await tyk("GET", "/tyk/mcps")).json()).map((d: any) => d["x-tyk-api-gateway"].info.id);
      for (const id of ids) expect(listed).toContain(id);
    });

    test("parallel versions of one base all land in its version map", async () => {
      const base = uid("pbase");
      await tyk("POST", "/tyk/mcps", mcpDefinition({ id: base, listenPath: `/${base}/`, upstream: up.url }));
      const children = Array.from({ length: 8 }, (_, i) => ({ id: uid("pchild"), name: `v${i + 2}` }));
      const results = await Promise.all(
        children.map((c) =>
          tyk(
            "POST",
            `/tyk/mcps?base_api_id=${base}&version_name=${c.name}`,
            mcpDefinition({ id: c.id, listenPath: `/${c.id}/`, upstream: up.url }),
          ),
        ),
      );
      expect(results.map((r) => r.status)).toEqual(children.map(() => 200));
      const versions = (await (await tyk("GET", `/tyk/mcps/${base}`)).json())["x-tyk-api-gateway"].info.versioning.versions;
      expect(versions.map((v: any) => v.id).sort()).toEqual(children.map((c) => c.id).sort());
    });

    test("parallel creates on the same listen path: exactly one wins", async () => {
      const path = `/${uid("race")}/`;
      const results = await Promise.all(
        Array.from({ length: 5 }, () => tyk("POST", "/tyk/mcps", mcpDefinition({ id: uid("racer"), listenPath: path, upstream: up.url }))),
      );
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      expect(results.filter((r) => r.status === 400)).toHaveLength(4);
    });

    test("parallel updates of different proxies all land", async () => {
      const ids = Array.from({ length: 6 }, () => uid("pupd"));
      for (const id of ids) await tyk("POST", "/tyk/mcps", mcpDefinition({ id, listenPath: `/${id}/`, upstream: up.url }));
      await Promise.all(ids.map((id) => tyk("PUT", `/tyk/mcps/${id}`, mcpDefinition({ id, listenPath: `/${id}/`, upstream: up2.url }))));
      for (const id of ids) {
        expect((await (await tyk("GET", `/tyk/mcps/${id}`)).json())["x-tyk-api-gateway"].upstream.url).toBe(up2.url);
      }
    });
  });
});
