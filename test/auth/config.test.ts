/**
 * compileAuth (src/auth/config.ts): how a Tyk OAS definition says its clients authenticate — the
 * OpenAPI security schemes, switched on by x-tyk-api-gateway.server.authentication — and
 * credentialFrom, which reads a credential out of a header value.
 */
import { describe, expect, test } from "vitest";
import { compileAuth, credentialFrom, type AuthConfig } from "../../src/auth/config.ts";
import { DefinitionError, validateDefinition, type McpDefinition } from "../../src/definitions/schema.ts";
import { mcpDefinition } from "../helpers/definitions.ts";
import { MCP_POST_HEADERS, ping } from "../helpers/mcp.ts";

interface AuthSpec {
  /** `components.securitySchemes` (the OpenAPI side). */
  oas?: Record<string, unknown>;
  /** `x-tyk-api-gateway.server.authentication` (the Tyk side). */
  authentication?: Record<string, unknown>;
  clientCertificates?: Record<string, unknown>;
}

function definition(spec: AuthSpec): McpDefinition {
  const doc = mcpDefinition({ id: "a", listenPath: "/a/", upstream: "http://upstream.test" }) as Record<string, any>;
  if (spec.oas) doc.components = { securitySchemes: spec.oas };
  if (spec.authentication) doc["x-tyk-api-gateway"].server.authentication = spec.authentication;
  if (spec.clientCertificates) doc["x-tyk-api-gateway"].server.clientCertificates = spec.clientCertificates;
  const result = validateDefinition(doc);
  if (!result.ok) throw new Error(result.issues.join("; "));
  return result.definition;
}

function compiled(spec: AuthSpec): AuthConfig {
  const auth = compileAuth(definition(spec));
  expect(auth).toBeDefined();
  return auth!;
}

describe("authentication off", () => {
  test("no authentication block: open (undefined)", () => {
    expect(compileAuth(definition({}))).toBeUndefined();
  });

  test("authentication.enabled false, even with schemes configured: open", () => {
    const auth = compileAuth(
      definition({
        oas: { key: { type: "apiKey", in: "header", name: "X-Api-Key" } },
        authentication: { enabled: false, securitySchemes: { key: { enabled: true } } },
      }),
    );
    expect(auth).toBeUndefined();
  });
});

describe("authentication on", () => {
  test("with no scheme named: an auth token in Authorization (Tyk's default)", () => {
    const auth = compiled({ authentication: { enabled: true } });
    expect(auth.schemes).toEqual([{ kind: "token", name: "authToken", header: "Authorization" }]);
    expect([...auth.credentialHeaders]).toEqual(["authorization"]);
    expect(auth.prm).toBeUndefined();
    expect(auth.clientCertificates).toBeUndefined();
  });

  test("an empty securitySchemes map is the same default", () => {
    expect(compiled({ authentication: { enabled: true, securitySchemes: {} } }).schemes).toEqual([
      { kind: "token", name: "authToken", header: "Authorization" },
    ]);
  });

  test("apiKey in a custom header: an auth token read from that header", () => {
    const auth = compiled({
      oas: { key: { type: "apiKey", in: "header", name: "X-Api-Key" } },
      authentication: { enabled: true, securitySchemes: { key: { enabled: true } } },
    });
    expect(auth.schemes).toEqual([{ kind: "token", name: "key", header: "X-Api-Key" }]);
    expect([...auth.credentialHeaders]).toEqual(["x-api-key"]);
  });

  test("Tyk's header.name overrides the OpenAPI one", () => {
    const auth = compiled({
      oas: { key: { type: "apiKey", in: "header", name: "X-Api-Key" } },
      authentication: { enabled: true, securitySchemes: { key: { enabled: true, header: { enabled: true, name: "X-Other" } } } },
    });
    expect(auth.schemes).toEqual([{ kind: "token", name: "key", header: "X-Other" }]);
  });

  test("apiKey in the query string only: never accepted, so no scheme (and no default)", () => {
    const auth = compiled({
      oas: { key: { type: "apiKey", in: "query", name: "api_key" } },
      authentication: { enabled: true, securitySchemes: { key: { enabled: true, query: { enabled: true, name: "api_key" } } } },
    });
    expect(auth.schemes).toEqual([]);
    expect(auth.credentialHeaders.size).toBe(0);
  });

  test("apiKey in a cookie only, or with its header switched off: no scheme either", () => {
    expect(
      compiled({
        oas: { key: { type: "apiKey", in: "cookie", name: "session" } },
        authentication: { enabled: true, securitySchemes: { key: { enabled: true } } },
      }).schemes,
    ).toEqual([]);
    expect(
      compiled({
        oas: { key: { type: "apiKey", in: "header", name: "X-Api-Key" } },
        authentication: { enabled: true, securitySchemes: { key: { enabled: true, header: { enabled: false } } } },
      }).schemes,
    ).toEqual([]);
  });

  test("a scheme switched off in Tyk is left out", () => {
    const auth = compiled({
      oas: { off: { type: "apiKey", in: "header", name: "X-Off" }, on: { type: "apiKey", in: "header", name: "X-On" } },
      authentication: { enabled: true, securitySchemes: { off: { enabled: false }, on: { enabled: true } } },
    });
    expect(auth.schemes.map((s) => s.name)).toEqual(["on"]);
  });

  test("http bearer with bearerFormat JWT: a JWT in Authorization, not OAuth without PRM", () => {
    const auth = compiled({
      oas: { jwt: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      authentication: {
        enabled: true,
        securitySchemes: { jwt: { enabled: true, signingMethod: "rsa", jwksURIs: [{ url: "https://idp.test/jwks" }] } },
      },
    });
    expect(auth.schemes).toHaveLength(1);
    expect(auth.schemes[0]).toMatchObject({ kind: "jwt", name: "jwt", header: "Authorization", oauth: false });
    expect(auth.schemes[0]!.kind === "jwt" && typeof auth.schemes[0]!.verifier.verify).toBe("function");
    expect(auth.prm).toBeUndefined();
  });

  test("a Tyk entry with JWT settings is a JWT even when the OpenAPI side says apiKey", () => {
    const auth = compiled({
      oas: { k: { type: "apiKey", in: "header", name: "X-Token" } },
      authentication: { enabled: true, securitySchemes: { k: { enabled: true, source: "c2VjcmV0", signingMethod: "hmac" } } },
    });
    expect(auth.schemes[0]).toMatchObject({ kind: "jwt", header: "X-Token" });
  });

  test("http bearer without JWT settings or format: an auth token in Authorization", () => {
    const auth = compiled({
      oas: { b: { type: "http", scheme: "bearer" } },
      authentication: { enabled: true, securitySchemes: { b: { enabled: true } } },
    });
    expect(auth.schemes).toEqual([{ kind: "token", name: "b", header: "Authorization" }]);
  });

  test("oauth2 with Protected Resource Metadata: an OAuth access token, validated as a JWT, with its PRM", () => {
    const prm = {
      enabled: true,
      resource: "https://gw.example/a/mcp",
      authorizationServers: ["https://idp.example"],
      scopesSupported: ["mcp:read"],
    };
    const auth = compiled({
      oas: { oauth: { type: "oauth2", flows: { clientCredentials: { tokenUrl: "https://idp.example/token", scopes: {} } } } },
      authentication: {
        enabled: true,
        securitySchemes: { oauth: { enabled: true, jwksURIs: [{ url: "https://idp.example/jwks" }] } },
        protectedResourceMetadata: prm,
      },
    });
    expect(auth.schemes).toHaveLength(1);
    expect(auth.schemes[0]).toMatchObject({ kind: "jwt", name: "oauth", header: "Authorization", oauth: true });
    expect(auth.prm?.config).toMatchObject(prm);
    expect([...auth.credentialHeaders]).toEqual(["authorization"]);
  });

  test("oauth2 is OAuth even without PRM; a bearer JWT becomes OAuth once PRM is on", () => {
    const oauth = compiled({
      oas: { o: { type: "oauth2" } },
      authentication: { enabled: true, securitySchemes: { o: { enabled: true, jwksURIs: [{ url: "https://idp.example/jwks" }] } } },
    });
    expect(oauth.schemes[0]).toMatchObject({ kind: "jwt", oauth: true });
    expect(oauth.prm).toBeUndefined();
    const jwtWithPrm = compiled({
      oas: { j: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      authentication: {
        enabled: true,
        securitySchemes: { j: { enabled: true, jwksURIs: [{ url: "https://idp.example/jwks" }] } },
        protectedResourceMetadata: { enabled: true, authorizationServers: ["https://idp.example"] },
      },
    });
    expect(jwtWithPrm.schemes[0]).toMatchObject({ kind: "jwt", oauth: true });
  });

  test("openIdConnect is OAuth too", () => {
    const auth = compiled({
      oas: { oidc: { type: "openIdConnect", openIdConnectUrl: "https://idp.example/.well-known/openid-configuration" } },
      authentication: { enabled: true, securitySchemes: { oidc: { enabled: true, jwksURIs: [{ url: "https://idp.example/jwks" }] } } },
    });
    expect(auth.schemes[0]).toMatchObject({ kind: "jwt", oauth: true, header: "Authorization" });
  });

  test("a JWT scheme whose settings cannot work is refused when compiled, naming the scheme and the field", () => {
    const refused = (scheme: Record<string, unknown>) => () =>
      compileAuth(
        definition({
          oas: { jwt: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
          authentication: { enabled: true, securitySchemes: { jwt: { enabled: true, ...scheme } } },
        }),
      );
    const field = "x-tyk-api-gateway.server.authentication.securitySchemes.jwt";
    expect(refused({})).toThrow(new DefinitionError(field, "a JWT scheme needs source or jwksURIs"));
    expect(refused({ source: "c2VjcmV0" })).toThrow(/securitySchemes\.jwt: source is not a public key/);
    expect(refused({ source: "c2VjcmV0", signingMethod: "hs256" })).toThrow(/securitySchemes\.jwt: signingMethod "hs256" is not supported/);
    expect(refused({ jwksURIs: [{ url: "https://idp.example/jwks", cacheTimeout: -1 }] })).toThrow(/cacheTimeout/);
  });

  test("PRM switched off is no PRM", () => {
    const auth = compiled({
      authentication: { enabled: true, protectedResourceMetadata: { enabled: false, authorizationServers: ["x"] } },
    });
    expect(auth.prm).toBeUndefined();
  });

  test("several schemes keep their order; credential headers are lower-cased and deduplicated", () => {
    const auth = compiled({
      oas: {
        key: { type: "apiKey", in: "header", name: "X-Api-Key" },
        jwt: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
        tok: { type: "apiKey", in: "header" },
      },
      authentication: {
        enabled: true,
        securitySchemes: {
          key: { enabled: true },
          jwt: { enabled: true, jwksURIs: [{ url: "https://idp.example/jwks" }] },
          tok: { enabled: true },
        },
      },
    });
    expect(auth.schemes.map((s) => [s.name, s.kind, s.header])).toEqual([
      ["key", "token", "X-Api-Key"],
      ["jwt", "jwt", "Authorization"],
      ["tok", "token", "Authorization"], // apiKey in a header with no name: Authorization
    ]);
    expect([...auth.credentialHeaders].sort()).toEqual(["authorization", "x-api-key"]);
  });
});

describe("client certificates (mTLS)", () => {
  test("the allowlist is normalised to lower-case hex without colons", () => {
    const auth = compiled({
      authentication: { enabled: true },
      clientCertificates: { enabled: true, allowlist: ["AB:CD:EF:01", "abcdef02", "Ab:Cd:Ef:03"] },
    });
    expect(auth.clientCertificates).toEqual({ allowlist: ["abcdef01", "abcdef02", "abcdef03"] });
  });

  test("with authentication off, certificates alone still make a config, with no schemes", () => {
    const auth = compiled({ clientCertificates: { enabled: true } });
    expect(auth).toEqual({
      required: false,
      schemes: [],
      prm: undefined,
      credentialHeaders: new Set(),
      clientCertificates: { allowlist: [] },
    });
  });

  test("certificates switched off are none", () => {
    expect(compileAuth(definition({ clientCertificates: { enabled: false, allowlist: ["ab"] } }))).toBeUndefined();
    expect(compiled({ authentication: { enabled: true }, clientCertificates: { enabled: false } }).clientCertificates).toBeUndefined();
  });
});

describe("credentialFrom", () => {
  test('"Bearer x" gives x', () => {
    expect(credentialFrom("Bearer x")).toBe("x");
  });

  test("the scheme is case-insensitive and may be followed by several spaces", () => {
    expect(credentialFrom("bearer   x")).toBe("x");
    expect(credentialFrom("BEARER\tx")).toBe("x");
    expect(credentialFrom("  Bearer x  ")).toBe("x");
  });

  test("a raw value is the credential itself, trimmed", () => {
    expect(credentialFrom("abc123")).toBe("abc123");
    expect(credentialFrom("  abc123 ")).toBe("abc123");
    expect(credentialFrom("Basic dXNlcjpwYXNz")).toBe("Basic dXNlcjpwYXNz");
    expect(credentialFrom("Bearerx")).toBe("Bearerx");
  });

  test("no header, an empty one or blanks only: no credential", () => {
    expect(credentialFrom(undefined)).toBeUndefined();
    expect(credentialFrom("")).toBeUndefined();
    expect(credentialFrom("   ")).toBeUndefined();
  });
});

describe("authentication on with no usable scheme fails closed on the request path", () => {
  // compileAuth gives no scheme for a query-only apiKey; the gateway must then refuse every
  // request, not treat the API as open (as it does for certificates-only configs).
  test("a request with no credential, or a key in the query string, is refused and never forwarded", async () => {
    const { createGateway } = await import("../../src/gateway.ts");
    const { DefinitionRepository } = await import("../../src/definitions/repository.ts");
    const { MemoryStore } = await import("../../src/stores/memory.ts");
    const store = new MemoryStore();
    await new DefinitionRepository(store).put(
      "mcp",
      definition({
        oas: { key: { type: "apiKey", in: "query", name: "api_key" } },
        authentication: { enabled: true, securitySchemes: { key: { enabled: true } } },
      }),
    );
    let forwarded = 0;
    const app = createGateway({
      store,
      log: () => {},
      fetch: async () => {
        forwarded++;
        return Response.json({ jsonrpc: "2.0", id: 1, result: {} });
      },
    });
    const init = {
      method: "POST",
      body: ping(),
      headers: MCP_POST_HEADERS,
    };
    expect((await app.request("/a/mcp", init)).status).toBe(401);
    expect((await app.request("/a/mcp?api_key=anything", init)).status).toBe(401);
    expect(forwarded).toBe(0);
  });
});
