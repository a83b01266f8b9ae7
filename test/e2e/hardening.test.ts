/**
 * The gateway and its upstream read every request the same way, on workerd, Bun and Deno: raw
 * requests (node:http, so paths and headers go out exactly as written) against a gateway with an API
 * key required. Every refusal must be the gateway's own JSON-RPC error (with `data.http_code`) and
 * leave the recording upstream untouched.
 *
 * - identifiers: spellings of a blocked resource that the official SDK reads back as that resource
 *   (checked against the SDK fixture server directly) are refused: 400 -32602 where no parser agrees
 *   on the identifier, 403 -32002 where its canonical form is the blocked one;
 * - paths: one canonical path for routing and forwarding; the same outcome and the same upstream
 *   path on every runtime, whatever the runtime's own URL parser did first;
 * - Host and Origin: DNS rebinding stopped at the gateway;
 * - methods: DELETE ends the upstream's session even where the definition declares no DELETE;
 * - messages: what no upstream reads as JSON-RPC is refused by the gateway, with `data.http_code`.
 */
import { type IncomingHttpHeaders, request } from "node:http";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startConformanceServer } from "../helpers/conformance-server.ts";
import { mcpDefinition, withTokenAuth } from "../helpers/definitions.ts";
import { RUNTIMES, type RunningGateway, startGateway, tykAdmin } from "../helpers/gateways.ts";
import { ping } from "../helpers/mcp.ts";
import type { Running } from "../helpers/processes.ts";
import { jsonRpcResult, startUpstream, type TestUpstream } from "../helpers/upstream.ts";

const BLOCKED = "test://static-text";

/** Spellings of the blocked resource; the SDK's `new URL(uri).href` reads each as `test://static-text`. */
const SPELLINGS: readonly [string, number, number][] = [
  ["TEST://static-text", 403, -32002],
  ["Test://static-text", 403, -32002],
  [" test://static-text", 400, -32602],
  ["test://static-text ", 400, -32602],
  ["test://static-text\n", 400, -32602],
  ["test://static\t-text", 400, -32602],
  ["\ttest://static-text", 400, -32602],
  ["test://static-te\nxt", 400, -32602],
];

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: any;
}

/** One raw HTTP request: the path and headers go out exactly as written. */
function raw(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        headers: { ...(body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) }), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: any;
          try {
            json = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode!, headers: res.headers, text, json });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const POST_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

describe.each(RUNTIMES)("hardening on %s", (runtime) => {
  let gw: RunningGateway;
  let up: TestUpstream;
  let fixture: Running;
  let key: string;
  let hostHeader: string;

  const send = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    raw(gw.port, method, path, { host: hostHeader, ...headers }, body);
  const withKey = (headers: Record<string, string> = {}) => ({ ...POST_HEADERS, authorization: `Bearer ${key}`, ...headers });
  const read = (uri: string, id: number | string = 1) => JSON.stringify({ jsonrpc: "2.0", id, method: "resources/read", params: { uri } });

  /** The gateway answered with its own JSON-RPC error, and the upstream saw nothing. */
  function expectRefused(answer: Answer, before: number, status: number, code: number) {
    expect(answer.status, answer.text).toBe(status);
    expect(answer.json, answer.text).toMatchObject({ jsonrpc: "2.0", error: { code, data: { http_code: status } } });
    expect(up.seen.length, "the upstream saw a refused request").toBe(before);
  }

  beforeAll(async () => {
    [up, fixture] = await Promise.all([startUpstream(), startConformanceServer()]);
    up.handle((_req, res, body) => jsonRpcResult(res, body, { ok: true }));
    const secured = (id: string, upstream: string) => withTokenAuth(mcpDefinition({ id, listenPath: `/${id}/`, upstream }));
    // Tyk's own example definition: POST and GET declared, no DELETE.
    const tykExample = secured("fixture", fixture.url);
    tykExample.paths = {
      "/mcp": {
        post: { operationId: "mcpTransportPost", responses: { "200": { description: "JSON-RPC response" } } },
        get: { operationId: "mcpSSEGet", responses: { "200": { description: "SSE stream" } } },
      },
    };
    const domain = mcpDefinition({ id: "domain", listenPath: "/domain/", upstream: up.url }) as Record<string, any>;
    domain["x-tyk-api-gateway"].server.customDomain = { enabled: true, name: "API.Example.org" };
    gw = await startGateway(
      runtime,
      [
        tykExample,
        secured("rec", up.url),
        mcpDefinition({ id: "p", listenPath: "/p/", upstream: `${up.url}/base` }),
        mcpDefinition({ id: "q", listenPath: "/q/", upstream: `${up.url}/qbase` }),
        domain,
      ],
      { env: { GATEWAY_PUBLIC_ORIGINS: "https://mcp.example.com" } },
    );
    hostHeader = `127.0.0.1:${gw.port}`;
    const admin = (method: string, path: string, body?: unknown) => tykAdmin(gw, method, path, body);
    const access = (apiId: string) => ({
      api_id: apiId,
      json_rpc_methods_access_rights: { allowed: [".*"] },
      mcp_access_rights: { resources: { blocked: [BLOCKED] } },
    });
    expect(
      (await admin("POST", "/tyk/policies", { id: "no-static-text", access_rights: { fixture: access("fixture"), rec: access("rec") } }))
        .status,
    ).toBe(200);
    const created = await admin("POST", "/tyk/keys", { alias: "hardening", apply_policies: ["no-static-text"] });
    expect(created.status).toBe(200);
    key = created.json.key;
  }, 90_000);

  afterAll(async () => {
    await gw?.stop();
    await Promise.all([up?.stop(), fixture?.stop()]);
  });

  describe("an identifier is authorised as the upstream will read it", () => {
    test("the SDK server itself reads each spelling as the blocked resource (so each must be refused)", async () => {
      const client = new Client({ name: "hardening", version: "1.0.0" });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${fixture.url}/mcp`)));
      try {
        const original = await client.readResource({ uri: BLOCKED });
        for (const [spelling] of SPELLINGS) {
          expect(await client.readResource({ uri: spelling }), JSON.stringify(spelling)).toEqual(original);
        }
      } finally {
        await client.close();
      }
    });

    test.each(SPELLINGS)("%j is refused before the upstream (%i, %i)", async (spelling, status, code) => {
      const before = up.seen.length;
      expectRefused(await send("POST", "/rec/mcp", withKey(), read(spelling, 7)), before, status, code);
    });

    test("the rule's own spelling is refused; another resource passes, and so do the other methods", async () => {
      const before = up.seen.length;
      expectRefused(await send("POST", "/rec/mcp", withKey(), read(BLOCKED)), before, 403, -32002);
      expect((await send("POST", "/rec/mcp", withKey(), read("test://static-binary"))).status).toBe(200);
      expect((await send("POST", "/rec/mcp", withKey(), ping())).status).toBe(200);
      expect(up.seen.length).toBe(before + 2);
      // The bytes forwarded are the client's own.
      expect(up.seen.at(-2)!.body).toBe(read("test://static-binary"));
    });
  });

  describe("one canonical path for routing and forwarding", () => {
    test.each([
      ["/p/mcp", 200, "/base/mcp"],
      ["/p/x/../mcp", 200, "/base/mcp"],
      ["/p/./mcp", 200, "/base/mcp"],
      ["/p/%2e%2e/q/mcp", 200, "/qbase/mcp"],
      ["/p/%2E./q/mcp", 200, "/qbase/mcp"],
      ["/p/x/.%2e/mcp", 200, "/base/mcp"],
      ["/p/%6dcp", 200, "/base/mcp"],
      ["/p\\mcp", 200, "/base/mcp"],
      ["/p/../../../../etc/passwd", 404, undefined],
      ["/p/..", 404, undefined],
      ["/p/mcp/..%2f..%2fq/mcp", 400, undefined],
      ["/p/a%2Fb", 400, undefined],
      ["/p/a%5cb", 400, undefined],
      ["/p//mcp", 400, undefined],
      ["/p/mcp%00", 400, undefined],
      ["/p/%zz", 400, undefined],
    ])("%s → %i, upstream path %s", async (path, status, upstreamPath) => {
      const before = up.seen.length;
      const answer = await send("POST", path, POST_HEADERS, ping());
      expect(answer.status, answer.text).toBe(status);
      if (upstreamPath === undefined) {
        expectRefused(answer, before, status, -32000);
      } else {
        expect(up.seen.length).toBe(before + 1);
        expect(up.seen.at(-1)!.url).toBe(upstreamPath);
      }
    });

    test("a path that lands on the admin APIs is the admin API's (its own 403 without the secret), never an upstream's", async () => {
      const before = up.seen.length;
      const answer = await send("GET", "/p/%2e%2e/tyk/mcps");
      expect(answer.status).toBe(403);
      expect(answer.json).toMatchObject({ status: "error" });
      expect(up.seen.length).toBe(before);
    });
  });

  describe("DNS rebinding is stopped at the gateway", () => {
    test.each([
      "evil.example",
      "evil.example:80",
      `evil.example:${0}`,
      "127.0.0.1.evil.example",
      "localhost.evil.example",
      "mcp.example.com.evil",
    ])("Host %s gets 403 before anything else", async (host) => {
      const before = up.seen.length;
      const answer = await raw(gw.port, "POST", "/p/mcp", { ...POST_HEADERS, host, origin: `http://${host}` }, ping());
      expectRefused(answer, before, 403, -32000);
      expect(answer.json.error.message).toMatch(/does not serve the host/);
    });

    test("the admin APIs sit behind the same check", async () => {
      const answer = await raw(gw.port, "GET", "/tyk/mcps", { host: "evil.example", "x-tyk-authorization": "test-gateway-secret" });
      expect(answer.status).toBe(403);
      expect(answer.json.error.code).toBe(-32000);
    });

    test.each([
      "localhost",
      "localhost:1",
      "127.0.0.1:65000",
      "[::1]:8787",
      "LOCALHOST:9",
      "mcp.example.com",
      "mcp.example.com:8443",
      "api.example.org",
    ])("Host %s is served", async (host) => {
      const answer = await raw(gw.port, "POST", host.startsWith("api.") ? "/domain/mcp" : "/p/mcp", { ...POST_HEADERS, host }, ping());
      expect(answer.status, answer.text).toBe(200);
    });

    test.each([
      ["https://mcp.example.com", 200],
      ["http://localhost:6274", 200],
      ["http://127.0.0.1:3000", 200],
      ["http://mcp.example.com", 403],
      ["http://evil.example", 403],
      ["null", 403],
    ])("Origin %s on a trusted Host: %i (compared with the gateway's own origins, never the Host)", async (origin, status) => {
      const answer = await send("POST", "/p/mcp", { ...POST_HEADERS, origin }, ping());
      expect(answer.status, answer.text).toBe(status);
    });

    test("an Origin that names the requested Host is not trusted for that", async () => {
      const answer = await raw(
        gw.port,
        "POST",
        "/p/mcp",
        { ...POST_HEADERS, host: "localhost", origin: "http://attacker.example" },
        ping(),
      );
      expect(answer.status).toBe(403);
    });
  });

  describe("a session ends when the client ends it", () => {
    test("DELETE reaches the upstream although the definition declares only POST and GET; the session is gone after", async () => {
      const init = await send(
        "POST",
        "/fixture/mcp",
        withKey(),
        JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "hardening", version: "1" } },
        }),
      );
      expect(init.status, init.text).toBe(200);
      const session = init.headers["mcp-session-id"] as string;
      expect(session).toBeTruthy();
      const headers = withKey({ "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" });
      expect((await send("POST", "/fixture/mcp", headers, ping(2))).status).toBe(200);
      const ended = await send("DELETE", "/fixture/mcp", { authorization: `Bearer ${key}`, "mcp-session-id": session });
      expect(ended.status, ended.text).toBe(200);
      const after = await send("POST", "/fixture/mcp", headers, ping(3));
      expect(after.status).toBe(404);
      // The upstream's answer, not the gateway's.
      expect(after.json?.error?.data?.http_code).toBeUndefined();
    });

    test("DELETE needs the same credential as POST", async () => {
      const answer = await send("DELETE", "/fixture/mcp", { "mcp-session-id": "any" });
      expect(answer.status).toBe(401);
    });

    test("a method that is not the transport's still gets 405", async () => {
      const answer = await send("PUT", "/fixture/mcp", withKey(), ping());
      expect(answer.status).toBe(405);
      expect(answer.headers.allow).toBe("GET, POST, DELETE");
    });
  });

  describe("every gateway error carries data.http_code; ids are echoed exactly or refused", () => {
    test.each([
      ["valid JSON but not a message", '"hello"', 400, -32600, null],
      ["an object with no method", "{}", 400, -32600, null],
      ["a member JSON-RPC does not have", '{"jsonrpc":"2.0","id":1,"method":"ping","x":1}', 400, -32600, 1],
      ["a result that is no object", '{"jsonrpc":"2.0","id":"r","result":1}', 400, -32600, "r"],
      ["not JSON", "{", 400, -32700, null],
      ["an id beyond 2^53", '{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}', 400, -32600, null],
    ])("%s", async (_label, body, status, code, id) => {
      const before = up.seen.length;
      const answer = await send("POST", "/p/mcp", POST_HEADERS, body);
      expectRefused(answer, before, status, code);
      expect(answer.json.id).toBe(id);
    });

    test("the largest safe id and a long string id are echoed exactly", async () => {
      const big = await send("POST", "/p/mcp", POST_HEADERS, '{"jsonrpc":"2.0","id":9007199254740991,"method":"ping"}');
      expect(big.text).toContain('"id":9007199254740991');
      const text = await send("POST", "/p/mcp", POST_HEADERS, '{"jsonrpc":"2.0","id":"90071992547409931","method":"ping"}');
      expect(text.text).toContain('"id":"90071992547409931"');
    });
  });
});
