import { describe, expect, test } from "vitest";
import { checkApiId, checkDefinition, checkListenPath } from "../../src/admin/validate.ts";
import { mcpDefinition } from "../helpers/definitions.ts";

describe("API ids", () => {
  test.each(["weather-mcp", "a.b_c-1", "A1"])("%s is accepted", (id) => expect(checkApiId(id).ok).toBe(true));
  test.each(["", ".", "..", "../etc", "a/b", "a\\b", "a b", "é", "x".repeat(129), "%2e%2e", "a?b"])("%j is refused", (id) =>
    expect(checkApiId(id).ok).toBe(false),
  );
});

describe("definition rules", () => {
  const base = () => mcpDefinition({ id: "w", listenPath: "/w/", upstream: "http://u" }) as Record<string, any>;

  test("a missing extension is named as such", () => {
    const d = base();
    delete d["x-tyk-api-gateway"];
    const r = checkDefinition(d, "mcp");
    expect(r.ok === false && r.message).toMatch(/x-tyk-api-gateway extension is missing/);
  });

  test("PRM enabled needs an authorization server on MCP proxies", () => {
    const d = base();
    d["x-tyk-api-gateway"].server.authentication = {
      enabled: true,
      protectedResourceMetadata: { enabled: true, authorizationServers: [" "] },
    };
    expect(checkDefinition(d, "mcp").ok).toBe(false);
    d["x-tyk-api-gateway"].server.authentication.protectedResourceMetadata.authorizationServers = ["https://as.example"];
    expect(checkDefinition(d, "mcp").ok).toBe(true);
    d["x-tyk-api-gateway"].server.authentication.protectedResourceMetadata = { enabled: false };
    expect(checkDefinition(d, "mcp").ok).toBe(true);
  });

  test("MCP middleware maps are refused on plain OAS APIs", () => {
    const d = base();
    d["x-tyk-api-gateway"].middleware = { mcpPrompts: { p: {} } };
    expect(checkDefinition(d, "mcp").ok).toBe(true);
    const r = checkDefinition(d, "oas");
    expect(r.ok === false && r.message).toMatch(/mcpPrompts is only valid on an MCP proxy/);
  });

  test("a CORS header name that is no HTTP token is refused with a message naming the field", () => {
    const d = base();
    d["x-tyk-api-gateway"].middleware = { global: { cors: { enabled: true, allowedHeaders: ["X-Ok", "x bad"] } } };
    const r = checkDefinition(d, "mcp");
    expect(r.ok === false && r.message).toMatch(/allowedHeaders.*header name/);
    d["x-tyk-api-gateway"].middleware.global.cors.allowedHeaders = ["X-Ok"];
    expect(checkDefinition(d, "mcp").ok).toBe(true);
  });

  test("a JWT scheme whose settings cannot work is refused when written, naming the scheme and what is wrong", () => {
    const withJwt = (scheme: Record<string, unknown>) => {
      const d = base();
      d.components = { securitySchemes: { jwt: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } };
      d["x-tyk-api-gateway"].server.authentication = { enabled: true, securitySchemes: { jwt: { enabled: true, ...scheme } } };
      return checkDefinition(d, "mcp");
    };
    const message = (scheme: Record<string, unknown>) => {
      const r = withJwt(scheme);
      return r.ok ? "accepted" : r.message;
    };
    const field = "x-tyk-api-gateway.server.authentication.securitySchemes.jwt";
    expect(message({})).toBe(`The MCP proxy definition is invalid: ${field}: a JWT scheme needs source or jwksURIs`);
    expect(message({ source: "c2VjcmV0" })).toContain(`${field}: source is not a public key`);
    expect(message({ source: "-----BEGIN PRIVATE KEY-----\nMC4=\n-----END PRIVATE KEY-----" })).toContain(
      `${field}: source holds a private key`,
    );
    expect(message({ jwksURIs: [{ url: "https://idp.example/jwks" }], signingMethod: "hmac" })).toContain(
      `${field}: signingMethod "hmac" cannot use a JWKS`,
    );
    expect(withJwt({ jwksURIs: [{ url: "https://idp.example/jwks" }] }).ok).toBe(true);
    expect(withJwt({ source: "c2VjcmV0", signingMethod: "hmac" }).ok).toBe(true);
  });

  test("server.batchProcessing and global cache are accepted (and ignored)", () => {
    const d = base();
    d["x-tyk-api-gateway"].server.batchProcessing = { enabled: true };
    d["x-tyk-api-gateway"].middleware = { global: { cache: { enabled: true, timeout: 5 } } };
    expect(checkDefinition(d, "mcp").ok).toBe(true);
  });
});

describe("listen paths", () => {
  const others = [{ id: "a", listenPath: "/a/" }];
  test("the same listen path as another API is refused, with or without the trailing slash", () => {
    expect(checkListenPath("/a", "b", others, []).ok).toBe(false);
    expect(checkListenPath("/a/", "a", others, []).ok).toBe(true);
  });
  test("nested listen paths are allowed (longest prefix wins)", () => {
    expect(checkListenPath("/a/b/", "b", others, []).ok).toBe(true);
  });
  test("admin paths, and the root that covers them, are refused only while the admin API shares the host", () => {
    for (const p of ["/tyk/", "/tyk/x/", "/api", "/api/v1/", "/"]) expect(checkListenPath(p, "x", [], ["/tyk", "/api"]).ok, p).toBe(false);
    expect(checkListenPath("/apis/", "x", [], ["/tyk", "/api"]).ok).toBe(true);
    expect(checkListenPath("/api/", "x", [], []).ok).toBe(true);
  });
});

describe("listen paths and upstream URLs are canonical", () => {
  const check = (listenPath: string, upstream = "http://u") => {
    const r = checkDefinition(mcpDefinition({ id: "w", listenPath, upstream }), "mcp");
    return r.ok ? "ok" : r.message;
  };
  test.each([
    ["/a/../tyk/", "listenPath.value: must be a canonical path: it has a dot segment"],
    ["/a/./b/", "listenPath.value: must be a canonical path: it has a dot segment"],
    ["/a/%2e%2e/", "listenPath.value: must be a canonical path: it has percent-encoded characters"],
    ["/a%2Fb/", "listenPath.value: must be a canonical path: it has percent-encoded characters"],
    ["/a//b/", "listenPath.value: must be a canonical path: it has an empty segment (//)"],
  ])("listen path %j is refused", (listenPath, message) => {
    expect(check(listenPath)).toContain(`x-tyk-api-gateway.server.${message}`);
  });
  test.each([
    ["http://u/base/../admin", "a dot segment"],
    ["http://u/./x", "a dot segment"],
    ["http://u/a%2Fb", "percent-encoded characters"],
    ["http://u//x", "an empty segment (//)"],
    ["http://u/a\\..\\b", "a backslash"],
  ])("upstream %j is refused", (upstream, problem) => {
    expect(check("/ok/", upstream)).toContain(`x-tyk-api-gateway.upstream.url: must have a canonical path: it has ${problem}`);
  });
  test.each([["/ok/"], ["/a/b"], ["/"]])("listen path %j is accepted", (listenPath) => expect(check(listenPath)).toBe("ok"));
  test.each([["http://u"], ["http://u/"], ["http://u/base/"], ["https://u:8443/a/b?x=1"]])("upstream %j is accepted", (upstream) =>
    expect(check("/ok/", upstream)).toBe("ok"),
  );
});
