/**
 * originAllowed (src/http/origins.ts): which browser origins may call a proxy. Without configured
 * origins: the request's own host, or loopback from loopback; a loopback origin calling a public
 * host (DNS rebinding) and anything malformed are refused. With CORS origins configured: that list,
 * or "*".
 */
import { describe, expect, test } from "vitest";
import { originAllowed } from "../../src/http/origins.ts";
import { compileOrigins } from "../../src/steps/origin.ts";
import { validateDefinition, type McpDefinition } from "../../src/definitions/schema.ts";
import { mcpDefinition } from "../helpers/definitions.ts";

function withCors(cors: Record<string, unknown> | undefined): McpDefinition {
  const doc = mcpDefinition({
    id: "a",
    listenPath: "/a/",
    upstream: "http://upstream.test",
    ...(cors ? { middleware: { global: { cors } } } : {}),
  });
  const result = validateDefinition(doc);
  if (!result.ok) throw new Error(result.issues.join("; "));
  return result.definition;
}

describe("without configured origins (the default rule)", () => {
  /** The gateway is known by https://gw.example.com and http://gw.example.com:8080 (GATEWAY_PUBLIC_ORIGINS). */
  const trusted = new Set(["https://gw.example.com", "http://gw.example.com:8080"]);
  const allowed = (origin: string, host: string) => originAllowed(origin, host, undefined, trusted);

  test("an origin the gateway is known by is allowed", () => {
    expect(allowed("https://gw.example.com", "gw.example.com")).toBe(true);
    expect(allowed("http://gw.example.com:8080", "gw.example.com:8080")).toBe(true);
    expect(allowed("HTTPS://GW.Example.com/", "gw.example.com")).toBe(true);
    expect(allowed("https://gw.example.com:443", "gw.example.com")).toBe(true); // the default port is no port
  });

  test("the request's own Host is no reason to allow an origin: the client chose it", () => {
    expect(originAllowed("https://attacker.example", "attacker.example", undefined, trusted)).toBe(false);
    expect(originAllowed("http://attacker.example:8080", "attacker.example:8080", undefined)).toBe(false);
  });

  test("an origin on another host is refused", () => {
    expect(allowed("https://evil.example", "gw.example.com")).toBe(false);
    expect(allowed("https://gw.example.com.evil.example", "gw.example.com")).toBe(false);
    expect(allowed("https://sub.gw.example.com", "gw.example.com")).toBe(false);
  });

  test("the same host name on another port is another origin", () => {
    expect(allowed("http://gw.example.com:9999", "gw.example.com:8080")).toBe(false);
  });

  test("a loopback origin may call a gateway reached on a loopback host (a local tool such as the MCP Inspector)", () => {
    expect(allowed("http://localhost:6274", "localhost:8080")).toBe(true);
    expect(allowed("http://127.0.0.1:6274", "localhost:8080")).toBe(true);
    expect(allowed("http://localhost:6274", "127.0.0.1:8080")).toBe(true);
    expect(allowed("http://127.1.2.3:6274", "127.0.0.1")).toBe(true);
    expect(allowed("http://[::1]:6274", "[::1]:8080")).toBe(true);
    expect(allowed("http://inspector.localhost:6274", "localhost:8080")).toBe(true);
  });

  test("a loopback origin calling a public host is refused (DNS rebinding)", () => {
    expect(allowed("http://localhost:6274", "gw.example.com")).toBe(false);
    expect(allowed("http://127.0.0.1:6274", "gw.example.com:8080")).toBe(false);
    expect(allowed("http://[::1]:6274", "203.0.113.7:8080")).toBe(false);
  });

  test("a public origin calling a loopback host is refused", () => {
    expect(allowed("https://evil.example", "localhost:8080")).toBe(false);
    expect(allowed("https://evil.example", "127.0.0.1:8080")).toBe(false);
  });

  test('the "null" origin (sandboxed frames, file: pages) is refused', () => {
    expect(allowed("null", "gw.example.com")).toBe(false);
    expect(allowed("null", "localhost:8080")).toBe(false);
  });

  test("malformed origins are refused", () => {
    for (const origin of ["", " ", "gw.example.com", "//gw.example.com", "http://", "not a url", "http://[::1"]) {
      expect(allowed(origin, "gw.example.com"), JSON.stringify(origin)).toBe(false);
    }
  });
});

describe("with configured CORS origins", () => {
  test("only the listed origins are allowed, compared without case or trailing slash", () => {
    const rule = compileOrigins(withCors({ enabled: true, allowedOrigins: ["https://App.Example/", " https://other.example "] }));
    expect(rule).toBeDefined();
    expect(originAllowed("https://app.example", "gw.example.com", rule)).toBe(true);
    expect(originAllowed("https://APP.example/", "gw.example.com", rule)).toBe(true);
    expect(originAllowed("https://other.example", "gw.example.com", rule)).toBe(true);
    expect(originAllowed("https://evil.example", "gw.example.com", rule)).toBe(false);
  });

  test("the list replaces the default rule: even the request's own host must be listed", () => {
    const rule = compileOrigins(withCors({ enabled: true, allowedOrigins: ["https://app.example"] }));
    expect(originAllowed("https://gw.example.com", "gw.example.com", rule)).toBe(false);
    expect(originAllowed("http://localhost:6274", "localhost:8080", rule)).toBe(false);
  });

  test('"*" allows any origin', () => {
    const rule = compileOrigins(withCors({ enabled: true, allowedOrigins: ["*"] }));
    expect(rule?.any).toBe(true);
    expect(originAllowed("https://anyone.example", "gw.example.com", rule)).toBe(true);
    expect(originAllowed("null", "gw.example.com", rule)).toBe(true);
  });

  test('"null" is allowed only when listed', () => {
    const rule = compileOrigins(withCors({ enabled: true, allowedOrigins: ["https://app.example"] }));
    expect(originAllowed("null", "gw.example.com", rule)).toBe(false);
    const listed = compileOrigins(withCors({ enabled: true, allowedOrigins: ["null"] }));
    expect(originAllowed("null", "gw.example.com", listed)).toBe(true);
  });

  test("CORS off, or on with no origins: the default rule", () => {
    expect(compileOrigins(withCors(undefined))).toBeUndefined();
    expect(compileOrigins(withCors({ enabled: false, allowedOrigins: ["https://app.example"] }))).toBeUndefined();
    expect(compileOrigins(withCors({ enabled: true, allowedOrigins: [] }))).toBeUndefined();
    expect(compileOrigins(withCors({ enabled: true }))).toBeUndefined();
  });
});

describe("configured origins with a wildcard (one `*`, as Tyk's)", () => {
  const rule = compileOrigins(withCors({ enabled: true, allowedOrigins: ["https://*.example.com", "http://localhost:*"] }));

  test("an entry with one * matches any run of characters in its place", () => {
    expect(originAllowed("https://app.example.com", "gw.test", rule)).toBe(true);
    expect(originAllowed("https://a.b.example.com", "gw.test", rule)).toBe(true);
    expect(originAllowed("HTTPS://App.Example.com/", "gw.test", rule)).toBe(true);
    expect(originAllowed("http://localhost:6274", "gw.test", rule)).toBe(true);
  });

  test("what lies outside the * must match exactly", () => {
    expect(originAllowed("https://example.com", "gw.test", rule)).toBe(false);
    expect(originAllowed("https://evilexample.com", "gw.test", rule)).toBe(false);
    expect(originAllowed("http://app.example.com", "gw.test", rule)).toBe(false);
    expect(originAllowed("https://app.example.com.evil.test", "gw.test", rule)).toBe(false);
    expect(originAllowed("http://localhost", "gw.test", rule)).toBe(false);
  });

  test("prefix and suffix may not overlap to make a match", () => {
    const tight = compileOrigins(withCors({ enabled: true, allowedOrigins: ["https://ab*ba.test"] }));
    expect(originAllowed("https://aba.test", "gw.test", tight)).toBe(false);
    expect(originAllowed("https://abba.test", "gw.test", tight)).toBe(true);
  });

  test("a long hostile origin against many wildcard entries is decided by string comparison (no pattern engine to hang)", () => {
    // A second * is literal text of the suffix: only the first one is a wildcard.
    const many = compileOrigins(
      withCors({ enabled: true, allowedOrigins: Array.from({ length: 200 }, (_, i) => `https://*${i}*.example.com`) }),
    );
    expect(originAllowed(`https://${"a".repeat(100_000)}.example.org`, "gw.test", many)).toBe(false);
    expect(originAllowed("https://x7*.example.com", "gw.test", many)).toBe(true);
    expect(originAllowed("https://x7y.example.com", "gw.test", many)).toBe(false);
  });
});
