/**
 * CORS (src/http/cors.ts, wired in src/gateway.ts): the policy compiled from
 * `middleware.global.cors`, the gateway's own answer to a preflight (before authentication), and
 * the labels on every other answer to an allowed origin, errors included, in place of the
 * upstream's own. Through the composed app with a memory store and a recording fetch.
 */
import { describe, expect, test } from "vitest";
import { isPreflight, preflightResponse, withCors } from "../../src/http/cors.ts";
import { compileCors } from "../../src/steps/cors.ts";
import { DefinitionRepository } from "../../src/definitions/repository.ts";
import { validateDefinition, type McpDefinition } from "../../src/definitions/schema.ts";
import { createGateway } from "../../src/gateway.ts";
import { MemoryStore } from "../../src/stores/memory.ts";
import { mcpDefinition, withTokenAuth } from "../helpers/definitions.ts";
import { MCP_POST_HEADERS, ping } from "../helpers/mcp.ts";

const APP = "https://app.example";

function definition(cors: Record<string, unknown> | undefined, secured = false): McpDefinition {
  const d = mcpDefinition({
    id: "a",
    listenPath: "/a/",
    upstream: "http://upstream.test",
    ...(cors ? { middleware: { global: { cors } } } : {}),
  });
  if (secured) withTokenAuth(d);
  const result = validateDefinition(d);
  if (!result.ok) throw new Error(result.issues.join("; "));
  return result.definition;
}

async function setup(
  cors: Record<string, unknown> | undefined,
  options: { secured?: boolean; upstream?: (request: Request) => Response } = {},
) {
  const store = new MemoryStore();
  await new DefinitionRepository(store).put("mcp", definition(cors, options.secured));
  const calls: Request[] = [];
  const app = createGateway({
    store,
    log: () => {},
    fetch: async (input, init) => {
      const request = new Request(input, init);
      calls.push(request);
      return options.upstream
        ? options.upstream(request)
        : Response.json({ jsonrpc: "2.0", id: 1, result: {} }, { headers: { "mcp-session-id": "s-1" } });
    },
  });
  return { app, calls };
}

const preflight = (origin: string, extra: Record<string, string> = {}) => ({
  method: "OPTIONS",
  headers: { origin, "access-control-request-method": "POST", ...extra },
});

describe("compileCors: the policy a definition sets", () => {
  test("CORS off (absent or disabled): no policy", () => {
    expect(compileCors(definition(undefined), "mcp")).toBeUndefined();
    expect(compileCors(definition({ enabled: false, allowedOrigins: ["*"] }), "mcp")).toBeUndefined();
  });

  test("an MCP proxy's defaults: its transport's methods, MCP's headers exposed, requested headers echoed", () => {
    const policy = compileCors(definition({ enabled: true }), "mcp")!;
    expect(policy).toMatchObject({
      anyOrigin: false,
      credentials: false,
      allowMethods: "GET, POST, DELETE",
      allowHeaders: undefined,
      exposeHeaders: "mcp-session-id, mcp-protocol-version, www-authenticate",
      maxAge: undefined,
      optionsPassthrough: false,
    });
  });

  test("configured lists: methods upper-cased; an MCP proxy adds its transport's headers, each name once", () => {
    const policy = compileCors(
      definition({
        enabled: true,
        allowedMethods: ["post", "GET"],
        allowedHeaders: ["X-Tenant", "Authorization"],
        exposedHeaders: ["X-Request-Id", "Mcp-Session-Id"],
        maxAge: 600,
      }),
      "mcp",
    )!;
    expect(policy.allowMethods).toBe("POST, GET");
    expect(policy.allowHeaders).toBe("X-Tenant, Authorization, accept, content-type, last-event-id, mcp-protocol-version, mcp-session-id");
    expect(policy.exposeHeaders).toBe("X-Request-Id, Mcp-Session-Id, mcp-protocol-version, www-authenticate");
    expect(policy.maxAge).toBe("600");
  });

  test("a plain HTTP API gets the usual methods and nothing MCP-specific", () => {
    const policy = compileCors(definition({ enabled: true, allowedHeaders: ["X-Tenant"] }), "oas")!;
    expect(policy.allowMethods).toBe("GET, HEAD, PUT, POST, DELETE, PATCH");
    expect(policy.allowHeaders).toBe("X-Tenant");
    expect(policy.exposeHeaders).toBeUndefined();
  });

  test('"*" answers "*"; with credentials a listed origin is echoed (the Fetch standard forbids "*" there)', () => {
    expect(compileCors(definition({ enabled: true, allowedOrigins: ["*"] }), "mcp")!.anyOrigin).toBe(true);
    const credentialed = compileCors(
      definition({ enabled: true, allowedOrigins: ["https://*.example.com"], allowCredentials: true }),
      "mcp",
    )!;
    expect(credentialed).toMatchObject({ anyOrigin: false, credentials: true });
  });

  test("a preflight is OPTIONS with Origin and Access-Control-Request-Method", () => {
    expect(isPreflight("OPTIONS", { origin: APP, "access-control-request-method": "POST" })).toBe(true);
    expect(isPreflight("OPTIONS", { origin: APP })).toBe(false);
    expect(isPreflight("OPTIONS", { "access-control-request-method": "POST" })).toBe(false);
    expect(isPreflight("POST", { origin: APP, "access-control-request-method": "POST" })).toBe(false);
  });

  test("a preflight asking for a header that is no header name gets no Access-Control-Allow-Headers", () => {
    const policy = compileCors(definition({ enabled: true }), "mcp")!;
    const ok = preflightResponse(policy, { origin: APP, "access-control-request-headers": "content-type, mcp-session-id" });
    expect(ok.headers.get("access-control-allow-headers")).toBe("content-type, mcp-session-id");
    const bad = preflightResponse(policy, { origin: APP, "access-control-request-headers": "content-type, bad header" });
    expect(bad.headers.get("access-control-allow-headers")).toBeNull();
    expect(bad.status).toBe(204);
  });

  test("withCors keeps status, body and the upstream's other headers; Vary gains Origin once", async () => {
    const policy = compileCors(definition({ enabled: true }), "mcp")!;
    const upstream = new Response("event: message\ndata: {}\n\n", {
      status: 202,
      headers: { "content-type": "text/event-stream", vary: "Accept", "x-upstream": "1" },
    });
    const out = withCors(upstream, policy, APP);
    expect(out.status).toBe(202);
    expect(out.headers.get("content-type")).toBe("text/event-stream");
    expect(out.headers.get("x-upstream")).toBe("1");
    expect(out.headers.get("vary")).toBe("Accept, Origin");
    const again = withCors(out, policy, APP);
    expect(again.headers.get("vary")).toBe("Accept, Origin");
    expect(await again.text()).toBe("event: message\ndata: {}\n\n");
  });
});

describe("through the gateway, with CORS enabled", () => {
  test("a preflight to a secured API is answered by the gateway with 204, without credentials, and reaches no upstream", async () => {
    const { app, calls } = await setup({ enabled: true, allowedOrigins: [APP], maxAge: 600 }, { secured: true });
    const res = await app.request(
      "/a/mcp",
      preflight(APP, { "access-control-request-headers": "authorization, content-type, mcp-protocol-version" }),
    );
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(APP);
    expect(res.headers.get("access-control-allow-methods")).toBe("GET, POST, DELETE");
    expect(res.headers.get("access-control-allow-headers")).toBe("authorization, content-type, mcp-protocol-version");
    expect(res.headers.get("access-control-max-age")).toBe("600");
    expect(res.headers.get("vary")).toBe("Origin, Access-Control-Request-Headers");
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    expect(await res.text()).toBe("");
    expect(calls).toHaveLength(0);
  });

  test("an answer to an allowed origin is labelled, and exposes the session id", async () => {
    const { app, calls } = await setup({ enabled: true, allowedOrigins: [APP], allowCredentials: true });
    const res = await app.request("/a/mcp", { method: "POST", body: ping(), headers: { ...MCP_POST_HEADERS, origin: APP } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(APP);
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(res.headers.get("access-control-expose-headers")).toBe("mcp-session-id, mcp-protocol-version, www-authenticate");
    expect(res.headers.get("mcp-session-id")).toBe("s-1");
    expect(res.headers.get("vary")).toBe("Origin");
    expect(await res.json()).toMatchObject({ id: 1, result: {} });
    expect(calls).toHaveLength(1);
  });

  test("the upstream's own Access-Control-* headers are replaced by the definition's", async () => {
    const { app } = await setup(
      { enabled: true, allowedOrigins: [APP] },
      {
        upstream: () =>
          Response.json(
            { jsonrpc: "2.0", id: 1, result: {} },
            {
              headers: {
                "access-control-allow-origin": "*",
                "access-control-allow-credentials": "true",
                "access-control-expose-headers": "x-secret",
              },
            },
          ),
      },
    );
    const res = await app.request("/a/mcp", { method: "POST", body: ping(), headers: { ...MCP_POST_HEADERS, origin: APP } });
    expect(res.headers.get("access-control-allow-origin")).toBe(APP);
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    expect(res.headers.get("access-control-expose-headers")).toBe("mcp-session-id, mcp-protocol-version, www-authenticate");
  });

  test("the gateway's own errors are labelled too: a browser can read a 401 and its WWW-Authenticate", async () => {
    const { app, calls } = await setup({ enabled: true, allowedOrigins: [APP] }, { secured: true });
    const res = await app.request("/a/mcp", { method: "POST", body: ping(), headers: { ...MCP_POST_HEADERS, origin: APP } });
    expect(res.status).toBe(401);
    expect(res.headers.get("access-control-allow-origin")).toBe(APP);
    expect(res.headers.get("access-control-expose-headers")).toContain("www-authenticate");
    expect(await res.json()).toMatchObject({ error: { data: { http_code: 401 } } });
    expect(calls).toHaveLength(0);
  });

  test("an origin that may not call gets 403 and no CORS headers, for a preflight and for a POST", async () => {
    const { app, calls } = await setup({ enabled: true, allowedOrigins: [APP] });
    for (const init of [
      preflight("https://evil.example"),
      { method: "POST", body: ping(), headers: { ...MCP_POST_HEADERS, origin: "https://evil.example" } },
    ]) {
      const res = await app.request("/a/mcp", init);
      expect(res.status).toBe(403);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
    }
    expect(calls).toHaveLength(0);
  });

  test('"*" labels answers "*" and needs no Vary', async () => {
    const { app } = await setup({ enabled: true, allowedOrigins: ["*"] });
    const res = await app.request("/a/mcp", preflight("https://anyone.example"));
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("vary")).toBe("Access-Control-Request-Headers");
  });

  test("without allowedOrigins, the default Origin rule decides (here: loopback from loopback) and the origin is echoed", async () => {
    const { app } = await setup({ enabled: true });
    const res = await app.request("http://127.0.0.1:8787/a/mcp", preflight("http://localhost:6274"));
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://localhost:6274");
  });

  test("a request without Origin (not from a browser) gets no CORS headers", async () => {
    const { app } = await setup({ enabled: true, allowedOrigins: ["*"] });
    const res = await app.request("/a/mcp", { method: "POST", body: ping(), headers: MCP_POST_HEADERS });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("optionsPassthrough: the preflight goes to the upstream, whose answer is labelled", async () => {
    const { app, calls } = await setup(
      { enabled: true, allowedOrigins: [APP], optionsPassthrough: true },
      { upstream: () => new Response(null, { status: 204, headers: { allow: "GET, POST, DELETE" } }) },
    );
    const res = await app.request("/a/mcp", preflight(APP));
    expect(res.status).toBe(204);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.method).toBe("OPTIONS");
    expect(res.headers.get("allow")).toBe("GET, POST, DELETE");
    expect(res.headers.get("access-control-allow-origin")).toBe(APP);
  });
});

describe("through the gateway, with CORS off", () => {
  test("a preflight is forwarded like any request, and the upstream's CORS headers pass untouched", async () => {
    const { app, calls } = await setup(undefined, {
      upstream: () => new Response(null, { status: 204, headers: { "access-control-allow-origin": "*" } }),
    });
    const res = await app.request("http://127.0.0.1:8787/a/mcp", preflight("http://localhost:6274"));
    expect(res.status).toBe(204);
    expect(calls).toHaveLength(1);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });
});

describe("validation of the CORS fields", () => {
  const invalid = (cors: Record<string, unknown>) => {
    const d = mcpDefinition({ id: "a", listenPath: "/a/", upstream: "http://upstream.test", middleware: { global: { cors } } });
    const result = validateDefinition(d);
    return result.ok ? [] : result.issues;
  };

  test("a method or header name that is no HTTP token is refused, naming the field", () => {
    expect(invalid({ enabled: true, allowedMethods: ["GET POST"] }).join("; ")).toMatch(/allowedMethods.*HTTP method/);
    expect(invalid({ enabled: true, allowedHeaders: ["x-ok", "bad\r\nheader"] }).join("; ")).toMatch(/allowedHeaders.*header name/);
    expect(invalid({ enabled: true, exposedHeaders: [""] }).join("; ")).toMatch(/exposedHeaders.*header name/);
  });

  test("an origin entry holding several origins, or a negative or fractional maxAge, is refused", () => {
    expect(invalid({ enabled: true, allowedOrigins: ["https://a.example, https://b.example"] }).join("; ")).toMatch(
      /allowedOrigins.*one origin/,
    );
    expect(invalid({ enabled: true, maxAge: -1 }).join("; ")).toMatch(/maxAge/);
    expect(invalid({ enabled: true, maxAge: 1.5 }).join("; ")).toMatch(/maxAge/);
  });

  test('credentials for any origin ("*") are refused: any site could send them and read the answer', () => {
    expect(invalid({ enabled: true, allowedOrigins: ["https://app.example", " * "], allowCredentials: true }).join("; ")).toMatch(
      /middleware\.global\.cors: allowCredentials cannot be combined with allowedOrigins "\*"/,
    );
    // Spelt as the Origin check still reads as "*" (trailing slash, case): refused alike.
    expect(invalid({ enabled: true, allowedOrigins: ["*/"], allowCredentials: true }).join("; ")).toMatch(
      /allowCredentials cannot be combined/,
    );
    expect(invalid({ enabled: true, allowedOrigins: ["*"], allowCredentials: false })).toEqual([]);
    expect(invalid({ enabled: true, allowedOrigins: ["https://*.example.com"], allowCredentials: true })).toEqual([]);
  });

  test("valid fields pass", () => {
    expect(
      invalid({
        enabled: true,
        allowedOrigins: ["https://*.example.com", "*"],
        allowedMethods: ["GET"],
        allowedHeaders: ["X-Tenant"],
        maxAge: 0,
      }),
    ).toEqual([]);
  });
});
