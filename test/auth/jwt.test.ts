import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { X509Certificate, createPublicKey, generateKeyPairSync } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  SignJWT,
  base64url,
  exportJWK,
  exportPKCS8,
  exportSPKI,
  generateKeyPair,
  importPKCS8,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from "jose";
import { createJwtVerifier, type JwtResult, type JwtScheme, type JwtVerifierOptions } from "../../src/auth/jwt.ts";
import { decodeSource } from "../../src/auth/jwt-source.ts";

const b64 = (text: string) => Buffer.from(text).toString("base64");
const now = () => Math.floor(Date.now() / 1000);

type Pair = { publicKey: CryptoKey; privateKey: CryptoKey };
let rsa: Pair, rsa2: Pair, ec: Pair, ed: Pair;
let rsaPem: string, ecPem: string, edPem: string;
const hmacSecret = new TextEncoder().encode("a-shared-secret-of-32-bytes-long!");

beforeAll(async () => {
  [rsa, rsa2, ec, ed] = await Promise.all([
    generateKeyPair("RS256", { extractable: true }),
    generateKeyPair("RS256", { extractable: true }),
    generateKeyPair("ES256", { extractable: true }),
    generateKeyPair("EdDSA", { extractable: true }),
  ]);
  [rsaPem, ecPem, edPem] = await Promise.all([exportSPKI(rsa.publicKey), exportSPKI(ec.publicKey), exportSPKI(ed.publicKey)]);
});

function sign(claims: JWTPayload, key: CryptoKey | Uint8Array, alg: string, header: Record<string, unknown> = {}) {
  return new SignJWT(claims).setProtectedHeader({ ...header, alg }).sign(key);
}

/** The RSA private key, imported for another RSA algorithm (a CryptoKey is bound to one). */
async function rsaFor(alg: string): Promise<CryptoKey> {
  return importPKCS8(await exportPKCS8(rsa.privateKey), alg);
}

function scheme(extra: Partial<JwtScheme>): JwtScheme {
  return { enabled: true, defaultPolicies: ["default"], ...extra };
}

function verify(s: Partial<JwtScheme>, token: string, options?: JwtVerifierOptions): Promise<JwtResult> {
  return createJwtVerifier(scheme(s), options).verify(token);
}

const failed = (code: string) => expect.objectContaining({ ok: false, code });

/** An unsigned token (`alg: none`). */
function unsecured(claims: JWTPayload): string {
  const part = (value: object) => base64url.encode(JSON.stringify(value));
  return `${part({ alg: "none", typ: "JWT" })}.${part(claims)}.`;
}

describe("static keys", () => {
  it("verifies HS256 with a base64 secret and signingMethod hmac", async () => {
    const token = await sign({ sub: "alice" }, hmacSecret, "HS256");
    const result = await verify({ source: b64(new TextDecoder().decode(hmacSecret)), signingMethod: "hmac" }, token);
    expect(result).toEqual({ ok: true, claims: { sub: "alice" }, identity: "alice", policies: ["default"], scopes: [] });
  });

  it("verifies RS256 and PS256 with a base64 PEM, and with a raw PEM", async () => {
    for (const source of [b64(rsaPem), rsaPem]) {
      for (const alg of ["RS256", "PS256"]) {
        expect(await verify({ source }, await sign({ sub: "a" }, await rsaFor(alg), alg))).toMatchObject({ ok: true });
      }
    }
    expect(
      await verify({ source: b64(rsaPem), signingMethod: "RSA" }, await sign({ sub: "a" }, await rsaFor("RS512"), "RS512")),
    ).toMatchObject({ ok: true });
  });

  it("verifies an RSA PKCS#1 public key (RSA PUBLIC KEY)", async () => {
    const pkcs1 = createPublicKey(rsaPem).export({ type: "pkcs1", format: "pem" }).toString();
    expect(pkcs1).toContain("BEGIN RSA PUBLIC KEY");
    expect(await verify({ source: b64(pkcs1), signingMethod: "rsa" }, await sign({ sub: "a" }, rsa.privateKey, "RS256"))).toMatchObject({
      ok: true,
    });
  });

  it("verifies ES256 and EdDSA, and an EC key allows only its own curve", async () => {
    expect(await verify({ source: b64(ecPem), signingMethod: "ecdsa" }, await sign({ sub: "a" }, ec.privateKey, "ES256"))).toMatchObject({
      ok: true,
    });
    expect(await verify({ source: b64(edPem) }, await sign({ sub: "a" }, ed.privateKey, "EdDSA"))).toMatchObject({ ok: true });
    expect(await verify({ source: b64(edPem), signingMethod: "eddsa" }, await sign({ sub: "a" }, ed.privateKey, "EdDSA"))).toMatchObject({
      ok: true,
    });
    expect(decodeSource(b64(ecPem))).toMatchObject({ kind: "public", family: "ec", algorithms: ["ES256"] });
    // An ES384 header against a P-256 key is refused before any key is imported.
    const forged = (await sign({ sub: "a" }, ec.privateKey, "ES256")).replace(/^[^.]+/, base64url.encode('{"alg":"ES384"}'));
    expect(await verify({ source: b64(ecPem) }, forged)).toEqual(failed("invalid_token"));
  });

  it("reads the public key of an X.509 certificate", async () => {
    const der = await syntheticCertificate(rsa.publicKey);
    const pem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString("base64")}\n-----END CERTIFICATE-----\n`;
    expect(await verify({ source: b64(pem) }, await sign({ sub: "a" }, rsa.privateKey, "RS256"))).toMatchObject({ ok: true });
    // A real certificate (openssl, P-384): same SPKI as node's parser finds, ES384 only.
    const decoded = decodeSource(b64(REAL_CERT));
    expect(decoded).toMatchObject({ kind: "public", family: "ec", algorithms: ["ES384"] });
    const expected = new X509Certificate(REAL_CERT).publicKey.export({ type: "spki", format: "pem" }).toString();
    expect(decoded.kind === "public" && decoded.spkiPem.replace(/\s/g, "")).toBe(expected.replace(/\s/g, ""));
  });

  it("refuses a token signed by another key, or with a changed payload", async () => {
    expect(await verify({ source: b64(rsaPem) }, await sign({ sub: "a" }, rsa2.privateKey, "RS256"))).toEqual(failed("invalid_token"));
    const token = await sign({ sub: "a" }, rsa.privateKey, "RS256");
    const [h, , s] = token.split(".");
    const tampered = `${h}.${base64url.encode(JSON.stringify({ sub: "admin" }))}.${s}`;
    expect(await verify({ source: b64(rsaPem) }, tampered)).toEqual(failed("invalid_token"));
    expect(await verify({ source: b64(rsaPem) }, "not-a-jwt")).toEqual(failed("invalid_token"));
    expect(await verify({ source: b64(rsaPem) }, "")).toEqual(failed("invalid_token"));
  });

  it("always refuses alg none", async () => {
    const token = unsecured({ sub: "alice" });
    expect(await verify({ source: b64(rsaPem) }, token)).toEqual(failed("invalid_token"));
    expect(await verify({ source: b64("secret!!"), signingMethod: "hmac" }, token)).toEqual(failed("invalid_token"));
  });

  it("refuses HS256 signed with the RSA public key's PEM text (key confusion)", async () => {
    for (const secret of [rsaPem, b64(rsaPem)]) {
      const token = await sign({ sub: "mallory" }, new TextEncoder().encode(secret), "HS256");
      expect(await verify({ source: b64(rsaPem) }, token)).toEqual(failed("invalid_token"));
      expect(await verify({ source: b64(rsaPem), signingMethod: "rsa" }, token)).toEqual(failed("invalid_token"));
      expect(await verify({ source: rsaPem }, token)).toEqual(failed("invalid_token"));
    }
    // Configuring a public key as an HMAC secret is refused at creation.
    expect(() => createJwtVerifier(scheme({ source: b64(rsaPem), signingMethod: "hmac" }))).toThrow(/needs a shared secret/);
  });

  it("refuses an asymmetric token against an HMAC secret", async () => {
    const token = await sign({ sub: "a" }, rsa.privateKey, "RS256");
    expect(await verify({ source: b64("secret!!"), signingMethod: "hmac" }, token)).toEqual(failed("invalid_token"));
  });
});

describe("configuration errors", () => {
  const cases: [string, Partial<JwtScheme>, RegExp][] = [
    ["no key", {}, /needs source or jwksURIs/],
    ["unknown signingMethod", { source: b64(""), signingMethod: "magic" }, /not supported/],
    ["inherited property as signingMethod", { source: b64(""), signingMethod: "constructor" }, /not supported/],
    ["secret without signingMethod", { source: b64("secret!!") }, /set signingMethod to "hmac"/],
    ["not base64", { source: "not base64!" }, /must be base64/],
    ["empty secret", { source: "  ", signingMethod: "hmac" }, /needs source or jwksURIs/],
    ["private key", { source: b64("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----") }, /private key/],
    ["garbage PEM", { source: b64("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----") }, /unusable public key/],
    ["hmac with a JWKS", { jwksURIs: [{ url: "https://idp.example/jwks" }], signingMethod: "hmac" }, /cannot use a JWKS/],
    ["bad JWKS URL scheme", { jwksURIs: [{ url: "ftp://idp.example/jwks" }] }, /http or https/],
    ["negative cacheTimeout", { jwksURIs: [{ url: "https://idp.example/jwks", cacheTimeout: -1 }] }, /cacheTimeout/],
    ["negative skew", { source: b64("secret!!"), signingMethod: "hmac", expiresAtValidationSkew: -5 }, /expiresAtValidationSkew/],
  ];
  it.each(cases)("throws for %s", (_, s, message) => {
    expect(() => createJwtVerifier(scheme(s))).toThrow(message);
  });

  it("throws for an RSA key shorter than 2048 bits", () => {
    const small = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ type: "spki", format: "pem" }).toString();
    expect(() => createJwtVerifier(scheme({ source: b64(small) }))).toThrow(/at least 2048 bits/);
  });

  it("throws when signingMethod does not match the key", () => {
    expect(() => createJwtVerifier(scheme({ source: b64(ecPem), signingMethod: "rsa" }))).toThrow(/does not match the ec/);
    expect(() => createJwtVerifier(scheme({ source: b64(rsaPem), signingMethod: "ecdsa" }))).toThrow(/does not match the rsa/);
    expect(() => createJwtVerifier(scheme({ source: b64(edPem), signingMethod: "ed25519" }))).not.toThrow();
  });
});

describe("time claims", () => {
  const at = async (claims: JWTPayload, extra: Partial<JwtScheme> = {}) =>
    verify({ source: b64(rsaPem), ...extra }, await sign({ sub: "a", ...claims }, rsa.privateKey, "RS256"));

  it("accepts a token without exp, and enforces exp when present", async () => {
    expect(await at({})).toMatchObject({ ok: true });
    expect(await at({ exp: now() + 60 })).toMatchObject({ ok: true });
    expect(await at({ exp: now() - 10 })).toEqual({
      ok: false,
      code: "expired",
      message: "The access token has expired",
      cause: expect.anything(),
    });
    expect(await at({ exp: now() - 10 }, { expiresAtValidationSkew: 30 })).toMatchObject({ ok: true });
    expect(await at({ exp: now() - 60 }, { expiresAtValidationSkew: 30, notBeforeValidationSkew: 120 })).toEqual(failed("expired"));
  });

  it("enforces nbf and iat with their own skews", async () => {
    expect(await at({ nbf: now() + 60 })).toEqual(
      expect.objectContaining({ code: "invalid_token", message: "The access token is not valid yet" }),
    );
    expect(await at({ nbf: now() + 60 }, { notBeforeValidationSkew: 120 })).toMatchObject({ ok: true });
    expect(await at({ iat: now() + 60 })).toEqual(failed("invalid_token"));
    expect(await at({ iat: now() + 60 }, { issuedAtValidationSkew: 120 })).toMatchObject({ ok: true });
    expect(await at({ exp: "tomorrow" as unknown as number })).toEqual(failed("invalid_token"));
  });
});

describe("issuer, audience and subject", () => {
  let source: string;
  beforeAll(() => {
    source = b64(rsaPem);
  });
  const tok = (claims: JWTPayload) => sign({ sub: "alice", ...claims }, rsa.privateKey, "RS256");

  it("checks allowedIssuers", async () => {
    const s = { source, allowedIssuers: ["https://idp.example", "https://other.example"] };
    expect(await verify(s, await tok({ iss: "https://other.example" }))).toMatchObject({ ok: true });
    expect(await verify(s, await tok({ iss: "https://evil.example" }))).toEqual(failed("wrong_issuer"));
    expect(await verify(s, await tok({}))).toEqual(failed("wrong_issuer"));
  });

  it("checks allowedAudiences against a string or an array aud", async () => {
    const s = { source, allowedAudiences: ["api-a", "api-b"] };
    expect(await verify(s, await tok({ aud: "api-b" }))).toMatchObject({ ok: true });
    expect(await verify(s, await tok({ aud: ["x", "api-a"] }))).toMatchObject({ ok: true });
    expect(await verify(s, await tok({ aud: "x" }))).toEqual(failed("wrong_audience"));
    expect(await verify(s, await tok({}))).toEqual(failed("wrong_audience"));
  });

  it("checks requiredAudience (RFC 8707), from the options or per call", async () => {
    const resource = "https://gw.example/proxy/mcp";
    const options = { requiredAudience: resource };
    expect(await verify({ source }, await tok({ aud: resource }), options)).toMatchObject({ ok: true });
    expect(await verify({ source }, await tok({ aud: ["other", `${resource}/`] }), options)).toMatchObject({ ok: true });
    expect(await verify({ source }, await tok({ aud: "https://gw.example/other/mcp" }), options)).toEqual(failed("wrong_audience"));
    expect(await verify({ source }, await tok({}), options)).toEqual(failed("wrong_audience"));
    expect(await verify({ source }, await tok({ aud: [42, resource] as unknown as string[] }), options)).toMatchObject({ ok: true });
    expect(await verify({ source }, await tok({ aud: 42 as unknown as string }), options)).toEqual(failed("wrong_audience"));
    // Both rules apply together.
    const both = { source, allowedAudiences: ["api-a"] };
    expect(await verify(both, await tok({ aud: "api-a" }), options)).toEqual(failed("wrong_audience"));
    expect(await verify(both, await tok({ aud: ["api-a", resource] }), options)).toMatchObject({ ok: true });
    const verifier = createJwtVerifier(scheme({ source }));
    expect(await verifier.verify(await tok({ aud: resource }), { requiredAudience: resource })).toMatchObject({ ok: true });
    expect(await verifier.verify(await tok({ aud: resource }), { requiredAudience: "https://gw.example/x" })).toEqual(
      failed("wrong_audience"),
    );
  });

  it("checks allowedSubjects against the identity", async () => {
    const s = { source, allowedSubjects: ["alice"] };
    expect(await verify(s, await tok({}))).toMatchObject({ ok: true });
    expect(await verify(s, await tok({ sub: "bob" }))).toEqual(failed("wrong_subject"));
    expect(await verify({ ...s, subjectClaims: ["user_id"] }, await tok({ sub: "bob", user_id: "alice" }))).toMatchObject({ ok: true });
  });
});

describe("identity, scopes and policies", () => {
  const run = async (extra: Partial<JwtScheme>, claims: JWTPayload) =>
    verify({ source: b64(rsaPem), ...extra }, await sign(claims, rsa.privateKey, "RS256"));

  it("takes the identity from identityBaseField or subjectClaims, else sub", async () => {
    expect(await run({}, { sub: "s1", email: "e@x" })).toMatchObject({ identity: "s1" });
    expect(await run({ identityBaseField: "email" }, { sub: "s1", email: "e@x" })).toMatchObject({ identity: "e@x" });
    expect(await run({ identityBaseField: "email" }, { sub: "s1" })).toMatchObject({ identity: "s1" });
    expect(
      await run({ identityBaseField: "email", subjectClaims: ["uid", "username"] }, { sub: "s1", email: "e@x", username: "u" }),
    ).toMatchObject({ identity: "u" });
    expect(await run({ subjectClaims: ["user.id"] }, { sub: "s1", user: { id: "nested" } })).toMatchObject({ identity: "nested" });
    expect(await run({}, { email: "e@x" })).toEqual(
      expect.objectContaining({ ok: false, code: "invalid_token", message: "The access token has no subject" }),
    );
    expect(await run({}, { sub: "" })).toEqual(failed("invalid_token"));
  });

  it("reads policies from policyFieldName (a string or an array), basePolicyClaims first", async () => {
    expect(await run({ policyFieldName: "pol" }, { sub: "a", pol: "p1" })).toMatchObject({ policies: ["p1"] });
    expect(await run({ policyFieldName: "pol" }, { sub: "a", pol: ["p1", "p2", "p1"] })).toMatchObject({ policies: ["p1", "p2"] });
    expect(await run({ policyFieldName: "pol", basePolicyClaims: ["tyk_pol"] }, { sub: "a", pol: "p1", tyk_pol: "p9" })).toMatchObject({
      policies: ["p9"],
    });
  });

  it("maps scopes to policies, from a space-separated string or an array", async () => {
    const scopes = {
      scopeToPolicyMapping: [
        { scope: "read", policyId: "p-read" },
        { scope: "write", policyId: "p-write" },
      ],
    };
    expect(await run({ scopes }, { sub: "a", scope: "read other" })).toMatchObject({ policies: ["p-read"], scopes: ["read", "other"] });
    expect(await run({ scopes: { ...scopes, claimName: "scp" } }, { sub: "a", scp: ["read", "write"] })).toMatchObject({
      policies: ["p-read", "p-write"],
      scopes: ["read", "write"],
    });
    expect(
      await run(
        { scopes: { ...scopes, claimName: "scp", claims: ["access.scopes"] } },
        { sub: "a", scp: "read", access: { scopes: "write" } },
      ),
    ).toMatchObject({ policies: ["p-write"], scopes: ["write"] });
    // Direct and scope policies combine (Tyk); defaults are not added.
    expect(await run({ scopes, policyFieldName: "pol" }, { sub: "a", pol: "p1", scope: "write" })).toMatchObject({
      policies: ["p1", "p-write"],
    });
  });

  it("falls back to defaultPolicies, and fails with no_policy when there are none", async () => {
    const scopes = { scopeToPolicyMapping: [{ scope: "read", policyId: "p-read" }] };
    expect(await run({ scopes }, { sub: "a", scope: "other" })).toMatchObject({ policies: ["default"], scopes: ["other"] });
    const result = await run({ scopes, defaultPolicies: [] }, { sub: "a", scope: "other" });
    expect(result).toEqual({ ok: false, code: "no_policy", message: "The access token grants no access policy" });
  });
});

describe("JWKS", () => {
  let keys: JWK[];
  let calls: number;
  let server: Server;
  let serverUrl: string;
  let respond: (res: import("node:http").ServerResponse) => void;

  beforeAll(async () => {
    server = createServer((_, res) => {
      calls++;
      respond(res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  afterEach(() => vi.useRealTimers());

  const jwk = async (key: CryptoKey, kid: string, extra: Partial<JWK> = {}) => ({ ...(await exportJWK(key)), kid, ...extra });
  const serveKeys = () => (res: import("node:http").ServerResponse) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys }));
  };
  const reset = async () => {
    keys = [await jwk(rsa.publicKey, "k1", { alg: "RS256", use: "sig" })];
    calls = 0;
    respond = serveKeys();
  };

  it("verifies against a JWKS served over HTTP, and caches it for cacheTimeout", async () => {
    await reset();
    vi.useFakeTimers({ toFake: ["Date"] });
    const verifier = createJwtVerifier(scheme({ jwksURIs: [{ url: serverUrl, cacheTimeout: 60 }] }));
    const token = await sign({ sub: "a" }, rsa.privateKey, "RS256", { kid: "k1" });
    expect(await verifier.verify(token)).toMatchObject({ ok: true, identity: "a" });
    expect(await verifier.verify(token)).toMatchObject({ ok: true });
    expect(calls).toBe(1);
    vi.setSystemTime(Date.now() + 59_000);
    expect(await verifier.verify(token)).toMatchObject({ ok: true });
    expect(calls).toBe(1);
    vi.setSystemTime(Date.now() + 2_000);
    expect(await verifier.verify(token)).toMatchObject({ ok: true });
    expect(calls).toBe(2);
  });

  it("refetches for an unknown kid only after the cooldown (key rotation)", async () => {
    await reset();
    vi.useFakeTimers({ toFake: ["Date"] });
    const verifier = createJwtVerifier(scheme({ jwksURIs: [{ url: serverUrl, cacheTimeout: 3600 }] }), { jwksCooldownMs: 10_000 });
    expect(await verifier.verify(await sign({ sub: "a" }, rsa.privateKey, "RS256", { kid: "k1" }))).toMatchObject({ ok: true });
    // The IdP rotates to k2.
    keys = [await jwk(rsa2.publicKey, "k2")];
    const rotated = await sign({ sub: "a" }, rsa2.privateKey, "RS256", { kid: "k2" });
    expect(await verifier.verify(rotated)).toEqual(failed("invalid_token"));
    expect(calls).toBe(1);
    vi.setSystemTime(Date.now() + 10_001);
    expect(await verifier.verify(rotated)).toMatchObject({ ok: true });
    expect(calls).toBe(2);
  });

  it("fails closed with jwks_unavailable when the JWKS cannot be fetched", async () => {
    await reset();
    respond = (res) => {
      res.writeHead(500);
      res.end("down");
    };
    const token = await sign({ sub: "a" }, rsa.privateKey, "RS256", { kid: "k1" });
    const result = await verify({ jwksURIs: [{ url: serverUrl }] }, token);
    expect(result).toEqual({
      ok: false,
      code: "jwks_unavailable",
      message: "The token signing keys are unavailable; try again later",
      cause: expect.anything(),
    });
    respond = (res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{not json");
    };
    expect(await verify({ jwksURIs: [{ url: serverUrl }] }, token)).toEqual(failed("jwks_unavailable"));
    const refused = vi.fn(async () => Promise.reject(new TypeError("fetch failed")));
    expect(await verify({ jwksURIs: [{ url: "https://idp.example/jwks" }] }, token, { fetch: refused })).toEqual(
      failed("jwks_unavailable"),
    );
    expect(refused).toHaveBeenCalledOnce();
  });

  describe("with an injected fetch", () => {
    const jwksFetch = (sets: Record<string, () => JWK[] | Error>) =>
      vi.fn(async (url: string) => {
        const set = sets[url]?.();
        if (set === undefined || set instanceof Error) throw set ?? new TypeError("unknown host");
        return Response.json({ keys: set });
      });

    it("uses source as a base64 JWKS URL", async () => {
      const keysNow = [await jwk(ec.publicKey, "e1")];
      const fetch = jwksFetch({ "https://idp.example/jwks": () => keysNow });
      const token = await sign({ sub: "a" }, ec.privateKey, "ES256", { kid: "e1" });
      expect(await verify({ source: b64("https://idp.example/jwks") }, token, { fetch })).toMatchObject({ ok: true });
      expect(fetch).toHaveBeenCalledOnce();
    });

    it("tries every jwksURIs entry; an unreachable one only matters when no other has the key", async () => {
      const second = [await jwk(ed.publicKey, "d1")];
      const fetch = jwksFetch({ "https://a.example/jwks": () => new TypeError("down"), "https://b.example/jwks": () => second });
      const s = { jwksURIs: [{ url: "https://a.example/jwks" }, { url: "https://b.example/jwks" }] };
      expect(await verify(s, await sign({ sub: "a" }, ed.privateKey, "EdDSA", { kid: "d1" }), { fetch })).toMatchObject({ ok: true });
      expect(await verify(s, await sign({ sub: "a" }, rsa.privateKey, "RS256", { kid: "zz" }), { fetch })).toEqual(
        failed("jwks_unavailable"),
      );
      const healthy = jwksFetch({ "https://a.example/jwks": () => [], "https://b.example/jwks": () => second });
      expect(await verify(s, await sign({ sub: "a" }, rsa.privateKey, "RS256", { kid: "zz" }), { fetch: healthy })).toEqual(
        failed("invalid_token"),
      );
    });

    it("tries each key when several match a token without kid", async () => {
      const both = [await jwk(rsa2.publicKey, "r2"), await jwk(rsa.publicKey, "r1")];
      const fetch = jwksFetch({ "https://idp.example/jwks": () => both });
      const s = { jwksURIs: [{ url: "https://idp.example/jwks" }] };
      expect(await verify(s, await sign({ sub: "a" }, rsa.privateKey, "RS256"), { fetch })).toMatchObject({ ok: true });
      expect(await verify(s, await sign({ sub: "a" }, ec.privateKey, "ES256"), { fetch })).toEqual(failed("invalid_token"));
    });

    it("never accepts HMAC or none against a JWKS, and honours signingMethod", async () => {
      const published = [await jwk(rsa.publicKey, "k1"), { kty: "oct", k: base64url.encode(hmacSecret), kid: "h1" }];
      const fetch = jwksFetch({ "https://idp.example/jwks": () => published });
      const s = { jwksURIs: [{ url: "https://idp.example/jwks" }] };
      expect(await verify(s, await sign({ sub: "a" }, hmacSecret, "HS256", { kid: "h1" }), { fetch })).toEqual(failed("invalid_token"));
      expect(await verify(s, unsecured({ sub: "a" }), { fetch })).toEqual(failed("invalid_token"));
      const rs = await sign({ sub: "a" }, rsa.privateKey, "RS256", { kid: "k1" });
      expect(await verify({ ...s, signingMethod: "rsa" }, rs, { fetch })).toMatchObject({ ok: true });
      expect(await verify({ ...s, signingMethod: "ecdsa" }, rs, { fetch })).toEqual(failed("invalid_token"));
    });
  });
});

/** A structurally valid X.509 certificate around a public key (its signature is not checked by the verifier). */
async function syntheticCertificate(publicKey: CryptoKey): Promise<Uint8Array> {
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", publicKey));
  const el = (tag: number, ...parts: Uint8Array[]) => {
    const body = Buffer.concat(parts);
    const n = body.length;
    const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
    return new Uint8Array(Buffer.concat([Buffer.from([tag, ...len]), body]));
  };
  const sha256WithRsa = el(0x30, el(0x06, Uint8Array.from([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b])), el(0x05));
  const name = el(0x30, el(0x31, el(0x30, el(0x06, Uint8Array.from([0x55, 0x04, 0x03])), el(0x0c, Buffer.from("test")))));
  const time = (s: string) => el(0x17, Buffer.from(s));
  const tbs = el(
    0x30,
    el(0xa0, el(0x02, Uint8Array.of(2))),
    el(0x02, Uint8Array.of(1)),
    sha256WithRsa,
    name,
    el(0x30, time("260101000000Z"), time("360101000000Z")),
    name,
    spki,
  );
  return el(0x30, tbs, sha256WithRsa, el(0x03, Uint8Array.of(0, 1, 2, 3)));
}

const REAL_CERT = `-----BEGIN CERTIFICATE-----
MIIBuTCCAUCgAwIBAgIUOfz0kv50oP93mMOKuJU8Mu3LAvowCgYIKoZIzj0EAwIw
EzERMA8GA1UEAwwIand0LXRlc3QwIBcNMjYxMTIyMDQyMTQzWhgPMjEyNjEwMjkw
NDIxNDNaMBMxETAPBgNVBAMMCGp3dC10ZXN0MHYwEAYHKoZIzj0CAQYFK4EEACID
YgAEm2Fti2A07d9Jh4Z4BAwcB8mDVPx2NMdiha+BUv8hRO598F7Xxp32yTlsQ66K
TV1fLC1lQJYQ8O4cBl4gvZTosGrKmpJpRtWVz/pc7ryvHDLwT8ba2pGoV5OFPNP8
B0Ubo1MwUTAdBgNVHQ4EFgQU0BMKsnaUGxXZlWazqZxJSrVTN4cwHwYDVR0jBBgw
FoAU0BMKsnaUGxXZlWazqZxJSrVTN4cwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjO
PQQDAgNnADBkAjBiesK7jL4FfikzV/6T4Y1vTd1jP3W9byBW19Fy5zdtnVeX5eMh
5GfRbad4Dcr3aXYCMC+v38XNYzYrr08zft8bz8iV5N2WKOZpgcTVyE9gMM0aoBxz
mouw89NnxNCVgEfpSA==
-----END CERTIFICATE-----
`;
