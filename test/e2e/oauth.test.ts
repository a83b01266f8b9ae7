/**
 * OAuth 2.1 and JWT consumers end to end on workerd, Bun and Deno, with the official SDK client
 * against server-everything.
 *
 * - `/oauth/` is an OAuth-protected MCP proxy: `components.securitySchemes.oauth` is `oauth2`,
 *   access tokens are RS256 JWTs checked against a JWKS this suite serves on 127.0.0.1, their
 *   scopes map to policies (`scopes.scopeToPolicyMapping`), and Protected Resource Metadata names
 *   the authorization server `https://as.example.test`. That authorization server is simulated in
 *   process (its host does not resolve): the clients reach it through a `fetch` that answers for it.
 * - `/jwt/` is a plain JWT proxy (`http` bearer, `bearerFormat: JWT`, an ES256 public key in
 *   `source`), without Protected Resource Metadata.
 *
 * Checked: the 401 challenge (`resource_metadata`, `scope`), the metadata document (its `resource`
 * is the MCP endpoint, at the RFC 9728 path and under the listen path), discovery with the SDK's
 * helpers, a JWT consumer that mints its token for the discovered resource and connects with
 * `requestInit`, an OAuth consumer (the SDK's client-credentials provider) that discovers
 * everything from the challenge by itself, audience binding (RFC 8707), per-scope tool lists, and
 * the 403 `insufficient_scope` answer.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  discoverOAuthProtectedResourceMetadata,
  discoverOAuthServerInfo,
  extractWWWAuthenticateParams,
} from "@modelcontextprotocol/sdk/client/auth.js";
import { ClientCredentialsProvider } from "@modelcontextprotocol/sdk/client/auth-extensions.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { mcpDefinition } from "../helpers/definitions.ts";
import { RUNTIMES, startGateway, type RunningGateway, tykAdmin } from "../helpers/gateways.ts";
import { startEverything, type Running } from "../helpers/processes.ts";
import { MCP_POST_HEADERS, ping } from "../helpers/mcp.ts";

const AS = "https://as.example.test";
const IDP = "https://idp.example.test";
const SCOPES = ["mcp:read", "mcp:tools"];
const RS_KID = "as-rs256-1";

/** The clients the authorization server knows, and the scopes each may be granted. */
const AS_CLIENTS: Record<string, { secret: string; scopes: string[] }> = {
  reader: { secret: "reader-secret", scopes: ["mcp:read"] },
  power: { secret: "power-secret", scopes: ["mcp:read", "mcp:tools"] },
};

interface Keys {
  rs: { privateKey: CryptoKey; publicKey: CryptoKey };
  es: { privateKey: CryptoKey; publicKey: CryptoKey };
}

function oauthDefinition(upstream: string, jwksUrl: string) {
  const d = mcpDefinition({ id: "oauth-mcp", listenPath: "/oauth/", upstream }) as Record<string, any>;
  d.components = {
    securitySchemes: {
      oauth: {
        type: "oauth2",
        flows: {
          clientCredentials: {
            tokenUrl: `${AS}/token`,
            scopes: { "mcp:read": "Read-only tools", "mcp:tools": "Every tool this API offers" },
          },
        },
      },
    },
  };
  d.security = [{ oauth: ["mcp:read"] }];
  d["x-tyk-api-gateway"].server.authentication = {
    enabled: true,
    securitySchemes: {
      oauth: {
        enabled: true,
        jwksURIs: [{ url: jwksUrl, cacheTimeout: 60 }],
        allowedIssuers: [AS],
        scopes: {
          claimName: "scope",
          scopeToPolicyMapping: [
            { scope: "mcp:read", policyId: "oauth-read" },
            { scope: "mcp:tools", policyId: "oauth-tools" },
          ],
        },
      },
    },
    protectedResourceMetadata: {
      enabled: true,
      authorizationServers: [AS],
      scopesSupported: SCOPES,
      resourceName: "Everything (OAuth)",
    },
  };
  return d;
}

function jwtDefinition(upstream: string, publicKeyPem: string) {
  const d = mcpDefinition({ id: "jwt-mcp", listenPath: "/jwt/", upstream }) as Record<string, any>;
  d.components = { securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } };
  d.security = [{ bearer: [] }];
  d["x-tyk-api-gateway"].server.authentication = {
    enabled: true,
    securitySchemes: {
      bearer: {
        enabled: true,
        source: Buffer.from(publicKeyPem).toString("base64"),
        signingMethod: "ecdsa",
        allowedIssuers: [IDP],
        allowedAudiences: ["jwt-mcp"],
        policyFieldName: "pol",
      },
    },
  };
  return d;
}

/** A JWKS server on 127.0.0.1 that publishes the authorization server's RS256 public key. */
async function startJwks(publicKey: CryptoKey): Promise<Running & { fetches: number }> {
  const jwk = { ...(await exportJWK(publicKey)), kid: RS_KID, alg: "RS256", use: "sig" };
  const state = { fetches: 0 };
  const server: Server = createServer((req, res) => {
    if (req.url === "/jwks.json") {
      state.fetches++;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get fetches() {
      return state.fetches;
    },
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const now = () => Math.floor(Date.now() / 1000);

/** Any SDK / fetch error: the HTTP status the SDK saw, and its text. */
function expectHttpError(error: unknown, status: number, contains?: string) {
  expect(error, "the call should have failed").toBeInstanceOf(Error);
  expect((error as { code?: unknown }).code, String(error)).toBe(status);
  if (contains) expect(String((error as Error).message)).toContain(contains);
}

describe.each(RUNTIMES)("OAuth and JWT consumers on %s", (runtime) => {
  let gw: RunningGateway;
  let everything: Running;
  let jwks: Awaited<ReturnType<typeof startJwks>>;
  let keys: Keys;
  let mcpUrl: string;
  const clients: Client[] = [];
  /** Token requests the authorization server received. */
  const tokenRequests: { client: string; scope: string | null; resource: string | null; granted: string }[] = [];

  /** Mints an access token as the authorization server would. */
  const accessToken = (claims: { sub: string; aud?: string | string[]; scope?: string; iss?: string; exp?: number }) => {
    let jwt = new SignJWT({ ...(claims.scope !== undefined ? { scope: claims.scope } : {}), client_id: claims.sub })
      .setProtectedHeader({ alg: "RS256", kid: RS_KID, typ: "at+jwt" })
      .setIssuer(claims.iss ?? AS)
      .setSubject(claims.sub)
      .setIssuedAt(now() - 5)
      .setExpirationTime(claims.exp ?? now() + 300);
    if (claims.aud !== undefined) jwt = jwt.setAudience(claims.aud);
    return jwt.sign(keys.rs.privateKey);
  };

  /** The authorization server `https://as.example.test`: RFC 8414 metadata and a client-credentials token endpoint. */
  async function authorizationServer(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === "GET" && url.pathname === "/.well-known/oauth-authorization-server") {
      return Response.json({
        issuer: AS,
        authorization_endpoint: `${AS}/authorize`,
        token_endpoint: `${AS}/token`,
        response_types_supported: ["code"],
        grant_types_supported: ["client_credentials"],
        token_endpoint_auth_methods_supported: ["client_secret_basic"],
        scopes_supported: SCOPES,
      });
    }
    if (request.method === "POST" && url.pathname === "/token") {
      const [id, secret] = Buffer.from((request.headers.get("authorization") ?? "").replace(/^Basic /i, ""), "base64")
        .toString()
        .split(":")
        .map(decodeURIComponent);
      const client = AS_CLIENTS[id ?? ""];
      if (!client || client.secret !== secret) return Response.json({ error: "invalid_client" }, { status: 401 });
      const form = new URLSearchParams(await request.text());
      if (form.get("grant_type") !== "client_credentials") return Response.json({ error: "unsupported_grant_type" }, { status: 400 });
      const requested = (form.get("scope") ?? "").split(" ").filter(Boolean);
      const granted = requested.filter((s) => client.scopes.includes(s)).join(" ");
      const resource = form.get("resource");
      tokenRequests.push({ client: id!, scope: form.get("scope"), resource, granted });
      const token = await accessToken({ sub: id!, scope: granted, ...(resource ? { aud: resource } : {}) });
      return Response.json({ access_token: token, token_type: "Bearer", expires_in: 300, scope: granted });
    }
    return new Response("not found", { status: 404 });
  }

  /** `fetch`, except that the authorization server's host is answered in process. */
  const fetchWithAs = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.origin === AS) return authorizationServer(new Request(url, init));
    return fetch(input, init);
  };

  const admin = (method: string, path: string, body?: unknown) => tykAdmin(gw, method, path, body);

  const initialize = (headers: Record<string, string> = {}, path = "/oauth/mcp") =>
    fetch(`${gw.url}${path}`, {
      method: "POST",
      headers: { ...MCP_POST_HEADERS, ...headers },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
      }),
    });

  async function connect(path: string, options: ConstructorParameters<typeof StreamableHTTPClientTransport>[1]) {
    const client = new Client({ name: "oauth-e2e", version: "1.0.0" });
    const transport = new StreamableHTTPClientTransport(new URL(`${gw.url}${path}`), options);
    clients.push(client);
    await client.connect(transport);
    return client;
  }

  const toolNames = async (client: Client) => (await client.listTools()).tools.map((t) => t.name).sort();

  beforeAll(async () => {
    keys = {
      rs: await generateKeyPair("RS256", { extractable: true }),
      es: await generateKeyPair("ES256", { extractable: true }),
    };
    [everything, jwks] = await Promise.all([startEverything(), startJwks(keys.rs.publicKey)]);
    gw = await startGateway(
      runtime,
      [oauthDefinition(everything.url, `${jwks.url}/jwks.json`), jwtDefinition(everything.url, await exportSPKI(keys.es.publicKey))],
      { env: { GATEWAY_PUBLIC_ORIGINS: "{origin}" } },
    );
    mcpUrl = `${gw.url}/oauth/mcp`;
    const policies = [
      { id: "oauth-read", access_rights: { "oauth-mcp": { api_id: "oauth-mcp", mcp_access_rights: { tools: { allowed: ["echo"] } } } } },
      {
        id: "oauth-tools",
        access_rights: { "oauth-mcp": { api_id: "oauth-mcp", mcp_access_rights: { tools: { allowed: ["echo", "get-sum"] } } } },
      },
      {
        id: "jwt-consumer",
        access_rights: { "jwt-mcp": { api_id: "jwt-mcp", mcp_access_rights: { tools: { allowed: ["echo", "get-sum"] } } } },
      },
    ];
    for (const policy of policies) {
      const created = await admin("POST", "/tyk/policies", policy);
      expect(created.status, JSON.stringify(created.json)).toBe(200);
    }
  }, 90_000);

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  });

  afterAll(async () => {
    await gw?.stop();
    await everything?.stop();
    await jwks?.stop();
  });

  test("without a token: 401 with a Bearer challenge naming the metadata and the scopes", async () => {
    const res = await initialize();
    expect(res.status).toBe(401);
    const body = await res.json();
    expect(body).toMatchObject({ jsonrpc: "2.0", error: { code: -32001, data: { http_code: 401 } } });
    // Authentication comes before the body is read, so the id may be unknown.
    expect([1, null]).toContain(body.id);
    const header = res.headers.get("www-authenticate") ?? "";
    const expectedMetadataUrl = `${gw.url}/.well-known/oauth-protected-resource/oauth/mcp`;
    expect(header).toMatch(/^Bearer /);
    expect(header).toContain(`resource_metadata="${expectedMetadataUrl}"`);
    expect(header).toContain(`scope="${SCOPES.join(" ")}"`);
    // As the SDK reads it.
    const params = extractWWWAuthenticateParams(res);
    expect(params.resourceMetadataUrl?.href).toBe(expectedMetadataUrl);
    expect(params.scope).toBe(SCOPES.join(" "));
    expect(params.error).toBeUndefined();
  });

  test("the metadata document names the MCP endpoint and the authorization server, wherever clients look", async () => {
    const expected = {
      resource: mcpUrl,
      authorization_servers: [AS],
      scopes_supported: SCOPES,
      bearer_methods_supported: ["header"],
      resource_name: "Everything (OAuth)",
    };
    const challenge = extractWWWAuthenticateParams(await initialize());
    // The SDK's discovery: from the challenge's URL, and from the server URL alone (RFC 9728 path).
    expect(await discoverOAuthProtectedResourceMetadata(mcpUrl, { resourceMetadataUrl: challenge.resourceMetadataUrl! })).toEqual(expected);
    expect(await discoverOAuthProtectedResourceMetadata(mcpUrl)).toEqual(expected);
    // Plain fetches, without credentials: the RFC 9728 paths, and under the listen path.
    for (const path of [
      "/.well-known/oauth-protected-resource/oauth/mcp",
      "/.well-known/oauth-protected-resource/oauth",
      "/oauth/.well-known/oauth-protected-resource",
    ]) {
      const res = await fetch(`${gw.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
      expect(await res.json(), path).toEqual(expected);
      // A browser's preflight for it (the SDK's discovery sends MCP-Protocol-Version): 204, any origin.
      const preflight = await fetch(`${gw.url}${path}`, {
        method: "OPTIONS",
        headers: {
          origin: "https://app.example",
          "access-control-request-method": "GET",
          "access-control-request-headers": "mcp-protocol-version",
        },
      });
      expect(preflight.status, path).toBe(204);
      expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
      expect(preflight.headers.get("access-control-allow-methods")).toBe("GET, HEAD");
      expect(preflight.headers.get("access-control-allow-headers")).toBe("mcp-protocol-version");
    }
    // The full discovery, through to the authorization server's own metadata.
    const info = await discoverOAuthServerInfo(mcpUrl, { resourceMetadataUrl: challenge.resourceMetadataUrl!, fetchFn: fetchWithAs });
    expect(String(info.authorizationServerUrl).replace(/\/$/, "")).toBe(AS);
    expect(info.authorizationServerMetadata?.token_endpoint).toBe(`${AS}/token`);
    expect(info.resourceMetadata?.resource).toBe(mcpUrl);
    // The plain JWT proxy publishes none, and its challenge points nowhere.
    expect((await fetch(`${gw.url}/.well-known/oauth-protected-resource/jwt/mcp`)).status).toBe(404);
    // Under its listen path, the path belongs to the proxy itself: no document, a 401.
    const underJwt = await fetch(`${gw.url}/jwt/.well-known/oauth-protected-resource`);
    expect([401, 404]).toContain(underJwt.status);
    expect(await underJwt.json()).not.toHaveProperty("resource");
    const plain = await initialize({}, "/jwt/mcp");
    expect(plain.status).toBe(401);
    expect(plain.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(plain.headers.get("www-authenticate")).not.toContain("resource_metadata");
  });

  test("a JWT consumer discovers the resource, gets a token for it and lists only its policy's tools", async () => {
    const challenge = extractWWWAuthenticateParams(await initialize());
    const prm = await discoverOAuthProtectedResourceMetadata(mcpUrl, { resourceMetadataUrl: challenge.resourceMetadataUrl! });
    expect(prm.authorization_servers).toEqual([AS]);

    const reader = await accessToken({ sub: "jwt-reader", aud: prm.resource, scope: "mcp:read" });
    const client = await connect("/oauth/mcp", { requestInit: { headers: { Authorization: `Bearer ${reader}` } } });
    expect(await toolNames(client)).toEqual(["echo"]);
    const echoed = await client.callTool({ name: "echo", arguments: { message: "through the gateway" } });
    expect(JSON.stringify(echoed.content)).toContain("through the gateway");
    const denied = await client.callTool({ name: "get-sum", arguments: { a: 2, b: 3 } }).catch((e) => e);
    expectHttpError(denied, 403, '"code":-32002');

    // The same token as an array audience, and a scope mapped to the wider policy.
    const power = await accessToken({ sub: "jwt-power", aud: ["https://other.example.test", prm.resource], scope: "mcp:read mcp:tools" });
    const powerClient = await connect("/oauth/mcp", { requestInit: { headers: { Authorization: `Bearer ${power}` } } });
    expect(await toolNames(powerClient)).toEqual(["echo", "get-sum"]);
    const sum = await powerClient.callTool({ name: "get-sum", arguments: { a: 2, b: 3 } });
    expect(JSON.stringify(sum.content)).toContain("5");
  });

  test("a token whose policy does not allow a tool gets 403 -32002 with insufficient_scope", async () => {
    const reader = await accessToken({ sub: "jwt-reader", aud: mcpUrl, scope: "mcp:read" });
    const headers = { Authorization: `Bearer ${reader}` };
    const init = await initialize(headers);
    expect(init.status).toBe(200);
    const session = init.headers.get("mcp-session-id");
    await init.body?.cancel();
    const res = await fetch(mcpUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2025-11-25",
        ...(session ? { "mcp-session-id": session } : {}),
        ...headers,
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "get-sum", arguments: { a: 1, b: 2 } } }),
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ jsonrpc: "2.0", id: 7, error: { code: -32002, data: { http_code: 403 } } });
    const header = res.headers.get("www-authenticate") ?? "";
    expect(header).toMatch(/^Bearer /);
    expect(header).toContain('error="insufficient_scope"');
    const params = extractWWWAuthenticateParams(res);
    expect(params.error).toBe("insufficient_scope");
    expect(params.resourceMetadataUrl?.href).toBe(`${gw.url}/.well-known/oauth-protected-resource/oauth/mcp`);
    expect(params.scope?.split(" ")).toEqual(expect.arrayContaining(["mcp:tools"]));
  });

  test("tokens for another audience, issuer or key, expired, or without a mapped scope are refused", async () => {
    const expect401 = async (token: string, what: string) => {
      const res = await initialize({ Authorization: `Bearer ${token}` });
      expect(res.status, what).toBe(401);
      expect(await res.json(), what).toMatchObject({ error: { code: -32001, data: { http_code: 401 } } });
      expect(res.headers.get("www-authenticate"), what).toContain("resource_metadata=");
    };
    await expect401(await accessToken({ sub: "a", aud: "https://other.example.test/mcp", scope: "mcp:read" }), "another audience");
    await expect401(await accessToken({ sub: "a", aud: `${gw.url}/jwt/mcp`, scope: "mcp:read" }), "another proxy of this gateway");
    await expect401(await accessToken({ sub: "a", aud: `${gw.url}/oauth/mcp/other`, scope: "mcp:read" }), "a longer path");
    await expect401(await accessToken({ sub: "a", scope: "mcp:read" }), "no audience");
    await expect401(await accessToken({ sub: "a", aud: mcpUrl, scope: "mcp:read", iss: "https://evil.example.test" }), "another issuer");
    await expect401(await accessToken({ sub: "a", aud: mcpUrl, scope: "mcp:read", exp: now() - 60 }), "expired");
    const foreign = await generateKeyPair("RS256");
    const forged = await new SignJWT({ scope: "mcp:read mcp:tools" })
      .setProtectedHeader({ alg: "RS256", kid: RS_KID })
      .setIssuer(AS)
      .setSubject("forger")
      .setAudience(mcpUrl)
      .setExpirationTime("5m")
      .sign(foreign.privateKey);
    await expect401(forged, "signed with another key under the JWKS key's kid");
    // An ES256 token (the plain JWT proxy's key) is not an access token for this resource.
    const es = await new SignJWT({ scope: "mcp:read" })
      .setProtectedHeader({ alg: "ES256" })
      .setIssuer(AS)
      .setSubject("x")
      .setAudience(mcpUrl)
      .setExpirationTime("5m")
      .sign(keys.es.privateKey);
    await expect401(es, "another key");

    // Valid, but its scopes map to no policy: 403.
    const unmapped = await initialize({ Authorization: `Bearer ${await accessToken({ sub: "a", aud: mcpUrl, scope: "profile email" })}` });
    expect(unmapped.status).toBe(403);
    expect(await unmapped.json()).toMatchObject({ error: { code: -32002, data: { http_code: 403 } } });
  });

  /**
   * The audience a token must carry is built from the gateway's public origin
   * (`GATEWAY_PUBLIC_ORIGINS`), never from the client's `Host`: a token the same authorization
   * server issued for another resource server (a malicious MCP server replaying its users' tokens)
   * is refused even when the request claims that server's host name.
   */
  test("a token for another resource server cannot be replayed by sending its Host", async () => {
    const body = ping();
    const send = (host: string, token: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          {
            host: "127.0.0.1",
            port: gw.port,
            path: "/oauth/mcp",
            method: "POST",
            headers: {
              host,
              authorization: `Bearer ${token}`,
              "content-type": "application/json",
              accept: "application/json, text/event-stream",
              "content-length": Buffer.byteLength(body),
            },
          },
          (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode!));
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    // A host the gateway does not serve is refused before the token is read.
    const foreign = await accessToken({ sub: "victim", aud: "http://evil.example.test/oauth/mcp", scope: "mcp:read mcp:tools" });
    expect(await send("evil.example.test", foreign)).toBe(403);
    // A host it does serve (a loopback name) but is not known by: the audience is still its public origin's.
    const local = await accessToken({ sub: "victim", aud: `http://localhost:${gw.port}/oauth/mcp`, scope: "mcp:read mcp:tools" });
    expect(await send(`localhost:${gw.port}`, local)).toBe(401);
  });

  test("an OAuth consumer finds the authorization server from the challenge, gets a token and connects", async () => {
    tokenRequests.length = 0;
    // The SDK's client-credentials flow asks for the scope the client is configured with.
    const provider = new ClientCredentialsProvider({
      clientId: "power",
      clientSecret: AS_CLIENTS.power!.secret,
      expectedIssuer: AS,
      scope: SCOPES.join(" "),
    });
    const client = await connect("/oauth/mcp", { authProvider: provider, fetch: fetchWithAs });
    expect(await toolNames(client)).toEqual(["echo", "get-sum"]);
    const sum = await client.callTool({ name: "get-sum", arguments: { a: 20, b: 22 } });
    expect(JSON.stringify(sum.content)).toContain("42");
    // It asked for the challenge's scopes, for this resource (RFC 8707).
    expect(tokenRequests).toEqual([{ client: "power", scope: SCOPES.join(" "), resource: mcpUrl, granted: "mcp:read mcp:tools" }]);
    expect(provider.tokens()?.scope).toBe("mcp:read mcp:tools");
  });

  test("an OAuth consumer granted fewer scopes sees fewer tools, and cannot upscope past its grant", async () => {
    tokenRequests.length = 0;
    const provider = new ClientCredentialsProvider({
      clientId: "reader",
      clientSecret: AS_CLIENTS.reader!.secret,
      expectedIssuer: AS,
      scope: SCOPES.join(" "),
    });
    const client = await connect("/oauth/mcp", { authProvider: provider, fetch: fetchWithAs });
    expect(await toolNames(client)).toEqual(["echo"]);
    expect(tokenRequests).toHaveLength(1);
    const denied = await client.callTool({ name: "get-sum", arguments: { a: 1, b: 1 } }).catch((e) => e);
    expectHttpError(denied, 403);
    // The 403's insufficient_scope made the SDK ask again; the authorization server granted no more.
    expect(tokenRequests.length).toBe(2);
    expect(tokenRequests[1]).toMatchObject({ client: "reader", resource: mcpUrl, granted: "mcp:read" });
    expect(tokenRequests[1]!.scope?.split(" ")).toContain("mcp:tools");
    // The session still works for what the grant allows.
    const echoed = await client.callTool({ name: "echo", arguments: { message: "still here" } });
    expect(JSON.stringify(echoed.content)).toContain("still here");
  });

  test("an OAuth client that asks for no mapped scope gets 403 with a scope challenge, tries to upscope, and stops", async () => {
    tokenRequests.length = 0;
    const provider = new ClientCredentialsProvider({
      clientId: "power",
      clientSecret: AS_CLIENTS.power!.secret,
      expectedIssuer: AS,
      scope: "profile",
    });
    // The 403 carries `error="insufficient_scope"`, so the SDK asks the AS for more scope; the AS
    // grants none here, and the client stops with the 403.
    expectHttpError(await connect("/oauth/mcp", { authProvider: provider, fetch: fetchWithAs }).catch((e) => e), 403, "upscoping");
    expect(tokenRequests[0]).toMatchObject({ client: "power", scope: "profile", granted: "" });
    const raw = await fetch(`${gw.url}/oauth/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        authorization: `Bearer ${await accessToken({ sub: "a", aud: mcpUrl, scope: "profile" })}`,
      },
      body: ping(),
    });
    expect(raw.status).toBe(403);
    expect(await raw.json()).toMatchObject({ error: { code: -32002 } });
    expect(raw.headers.get("www-authenticate")).toMatch(/error="insufficient_scope"/);
  });

  test("an OAuth client with wrong credentials never gets through", async () => {
    const provider = new ClientCredentialsProvider({ clientId: "power", clientSecret: "wrong", expectedIssuer: AS });
    await expect(connect("/oauth/mcp", { authProvider: provider, fetch: fetchWithAs })).rejects.toThrow();
    expect(provider.tokens()).toBeUndefined();
  });

  test("a plain JWT consumer (http bearer JWT, no metadata) works with the SDK client", async () => {
    const sign = (claims: Record<string, unknown>, aud = "jwt-mcp") =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "ES256" })
        .setIssuer(IDP)
        .setSubject("jwt-user")
        .setAudience(aud)
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(keys.es.privateKey);
    const token = await sign({ pol: "jwt-consumer" });
    const client = await connect("/jwt/mcp", { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
    expect(await toolNames(client)).toEqual(["echo", "get-sum"]);
    const sum = await client.callTool({ name: "get-sum", arguments: { a: 3, b: 4 } });
    expect(JSON.stringify(sum.content)).toContain("7");
    expectHttpError(await client.callTool({ name: "get-env", arguments: {} }).catch((e) => e), 403, '"code":-32002');

    // Refusals: another audience, the OAuth proxy's RS256 key, no token.
    const wrongAud = await sign({ pol: "jwt-consumer" }, "oauth-mcp");
    expectHttpError(await connect("/jwt/mcp", { requestInit: { headers: { Authorization: `Bearer ${wrongAud}` } } }).catch((e) => e), 401);
    const rs = await accessToken({ sub: "x", aud: "jwt-mcp", iss: IDP });
    expectHttpError(await connect("/jwt/mcp", { requestInit: { headers: { Authorization: `Bearer ${rs}` } } }).catch((e) => e), 401);
    // The plain JWT proxy's 403 has no OAuth challenge.
    const res = await fetch(`${gw.url}/jwt/mcp`, {
      method: "POST",
      headers: { ...MCP_POST_HEADERS, authorization: `Bearer ${token}` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "get-env", arguments: {} } }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate") ?? "").not.toContain("insufficient_scope");
  });

  test("the gateway fetched the JWKS and cached it", () => {
    expect(jwks.fetches).toBeGreaterThan(0);
    // One key set per scheme, cached: far fewer fetches than verified tokens.
    expect(jwks.fetches).toBeLessThanOrEqual(3);
  });
});
