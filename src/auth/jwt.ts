/**
 * JWT verification for one JWT security scheme (Tyk OAS
 * `x-tyk-api-gateway.server.authentication.securitySchemes.<name>`), built once per definition.
 *
 * {@link createJwtVerifier} normalises the scheme at creation, synchronously: it decodes the static
 * key (see `jwt-source.ts`) or builds the JWKS getters, fixes the allowed algorithms, and throws an `Error`
 * naming the problem when the configuration is unusable. `verify` never throws: it answers a
 * {@link JwtResult} whose failure `message` is safe to show a client.
 *
 * Rules, in order:
 * 1. Signature. Algorithms allowed: from `signingMethod` (`hmac` → HS256/384/512; `rsa` →
 *    RS256/384/512 and PS256/384/512; `ecdsa` → ES256/384/512; `eddsa`/`ed25519` → EdDSA, an
 *    extension to Tyk's three), else from the key: a static public key's own algorithm (an EC key
 *    allows only its curve's ES*), any asymmetric algorithm for a JWKS (jose then matches the JWK's
 *    `kty`, `crv` and `alg`). `none` and HMAC with a public key are never accepted: a public key is
 *    never used as an HMAC secret, and an HMAC secret needs `signingMethod: "hmac"` explicitly.
 * 2. Keys. `jwksURIs` (each `cacheTimeout` seconds → jose `cacheMaxAge`; unset or 0 → 240 s)
 *    take precedence over `source` (base64 of a PEM public key or certificate, of an HMAC secret or
 *    of a JWKS URL: see `jwt-source.ts`; RSA keys need 2048 bits). An unknown `kid` refetches a JWKS at
 *    most once per `jwksCooldownMs`. A JWKS that cannot be fetched fails closed: `jwks_unavailable`.
 * 3. Time. `exp`, `nbf` and `iat` are optional (as in Tyk) but enforced when present, each with its
 *    own skew in seconds (`expiresAtValidationSkew`, `notBeforeValidationSkew`,
 *    `issuedAtValidationSkew`, default 0); `iat` must not be in the future.
 * 4. Claims. `allowedIssuers` (any of, exact), `allowedAudiences` (any `aud` member in the list),
 *    `requiredAudience` (RFC 8707: `aud` must contain the resource URL; a trailing slash is not
 *    significant), `allowedSubjects` (checked against the identity of rule 5). Empty lists check
 *    nothing.
 * 5. Identity: the first non-empty string among `subjectClaims` (Tyk 5.10; else
 *    `identityBaseField`), then `sub`. Unlike Tyk's default, the `kid` header is never the identity.
 * 6. Policies, as Tyk combines them: the policy ids in the first present claim of
 *    `basePolicyClaims` (else `policyFieldName`; a string or an array) plus the policies that
 *    `scopes.scopeToPolicyMapping` maps the token's scopes to; when both give none,
 *    `defaultPolicies`; still none → `no_policy`. Scopes come from the first present claim of
 *    `scopes.claims` (else `scopes.claimName`, default `scope`): a space-separated string or an
 *    array. Claim names may use dots for nested claims (`realm_access.roles`).
 *
 * Keep one verifier per scheme: each holds its own JWKS cache. A resource URL that varies per
 * request goes to `verify(token, { requiredAudience })`, not into a new verifier.
 */
import {
  createRemoteJWKSet,
  customFetch,
  errors,
  importSPKI,
  jwtVerify,
  type CryptoKey,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
  type JWTPayload,
  type JWTVerifyOptions,
} from "jose";
import type * as v from "valibot";
import type { SecurityScheme } from "../definitions/schema.ts";
import { decodeSource, type DecodedSource } from "./jwt-source.ts";

export type JwtScheme = v.InferOutput<typeof SecurityScheme>;

export type JwtFailureCode =
  | "invalid_token"
  | "expired"
  | "wrong_audience"
  | "wrong_issuer"
  | "wrong_subject"
  | "no_policy"
  | "jwks_unavailable";

export type JwtResult =
  | { ok: true; claims: JWTPayload; identity: string; policies: string[]; scopes: string[] }
  /** `message` is safe to show a client; `cause` is for logs only. */
  | { ok: false; code: JwtFailureCode; message: string; cause?: unknown };

export interface JwtVerifier {
  verify(token: string, options?: { requiredAudience?: string }): Promise<JwtResult>;
}

export interface JwtVerifierOptions {
  /** The fetch used for JWKS requests. Default: the global `fetch` (jose's default). */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /** RFC 8707 resource URL the token's `aud` must contain (set when Protected Resource Metadata is on). */
  requiredAudience?: string;
  /** Timeout of one JWKS request, in ms. Default 5000. */
  jwksTimeoutMs?: number;
  /** Minimum time between two refetches caused by an unknown `kid`, in ms. Default 30000 (jose's). */
  jwksCooldownMs?: number;
}

/** The JWKS cache lifetime when `cacheTimeout` is unset or 0, in seconds. */
export const DEFAULT_JWKS_CACHE_SECONDS = 240;

const FAMILIES: Record<string, string[]> = {
  hmac: ["HS256", "HS384", "HS512"],
  rsa: ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"],
  ecdsa: ["ES256", "ES384", "ES512"],
  eddsa: ["EdDSA", "Ed25519"],
};
const KEY_FAMILY_METHOD = { rsa: "rsa", ec: "ecdsa", ed25519: "eddsa" } as const;
const ASYMMETRIC = [...FAMILIES.rsa!, ...FAMILIES.ecdsa!, ...FAMILIES.eddsa!];

const MESSAGES: Record<JwtFailureCode, string> = {
  invalid_token: "The access token is invalid",
  expired: "The access token has expired",
  wrong_audience: "The access token is not intended for this resource",
  wrong_issuer: "The access token was not issued by a trusted issuer",
  wrong_subject: "The access token's subject is not allowed",
  no_policy: "The access token grants no access policy",
  jwks_unavailable: "The token signing keys are unavailable; try again later",
};

type KeyGetter = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey | Uint8Array>;

/** Raised by a JWKS getter when a key set cannot be fetched or parsed. */
class KeysUnavailable extends Error {}

/** Builds the verifier of one JWT security scheme; throws an `Error` when the scheme is unusable. */
export function createJwtVerifier(scheme: JwtScheme, options: JwtVerifierOptions = {}): JwtVerifier {
  const given = scheme.signingMethod?.trim().toLowerCase() || undefined;
  const method = given === "ed25519" ? "eddsa" : given;
  if (method !== undefined && !Object.hasOwn(FAMILIES, method)) {
    throw new Error(`signingMethod "${scheme.signingMethod}" is not supported (use hmac, rsa, ecdsa or eddsa)`);
  }
  const skews = {
    exp: skew(scheme.expiresAtValidationSkew, "expiresAtValidationSkew"),
    nbf: skew(scheme.notBeforeValidationSkew, "notBeforeValidationSkew"),
    iat: skew(scheme.issuedAtValidationSkew, "issuedAtValidationSkew"),
  };
  const { algorithms, getKey } = keySource(scheme, method, options);
  const claimRules = claimRulesOf(scheme);
  const jwtOptions: JWTVerifyOptions = {
    algorithms,
    clockTolerance: Math.max(skews.exp, skews.nbf),
    ...(nonEmpty(scheme.allowedIssuers) && { issuer: scheme.allowedIssuers }),
    ...(nonEmpty(scheme.allowedAudiences) && { audience: scheme.allowedAudiences }),
  };

  return {
    async verify(token, call = {}) {
      let claims: JWTPayload;
      try {
        claims = (await verifyWithCandidates(token, getKey, jwtOptions)).payload;
      } catch (error) {
        if (error instanceof errors.JWTClaimValidationFailed && error.claim === "nbf") return { ...notYetValid(), cause: error };
        return failure(classify(error), error);
      }
      const now = Math.floor(Date.now() / 1000);
      if (typeof claims.exp === "number" && now >= claims.exp + skews.exp) return failure("expired");
      if (typeof claims.nbf === "number" && claims.nbf > now + skews.nbf) return notYetValid();
      if (typeof claims.iat === "number" && claims.iat > now + skews.iat) return notYetValid();
      const resource = call.requiredAudience ?? options.requiredAudience;
      if (resource !== undefined && !audiences(claims).some((aud) => sameResource(aud, resource))) {
        return failure("wrong_audience");
      }
      return claimRules(claims);
    },
  };
}

/** The allowed algorithms and the key resolver, from `jwksURIs` or `source`. */
function keySource(scheme: JwtScheme, method: string | undefined, options: JwtVerifierOptions) {
  const uris = (scheme.jwksURIs ?? []).filter((entry) => entry.url.trim() !== "");
  const decoded: DecodedSource | undefined = uris.length > 0 ? undefined : scheme.source?.trim() ? decodeSource(scheme.source) : undefined;
  if (uris.length === 0 && decoded === undefined) throw new Error("a JWT scheme needs source or jwksURIs");

  if (decoded?.kind === "secret") {
    if (method !== "hmac") {
      throw new Error('source is not a public key; to use it as an HMAC secret, set signingMethod to "hmac"');
    }
    const secret = decoded.secret;
    return { algorithms: FAMILIES.hmac!, getKey: (async () => secret) as KeyGetter };
  }
  if (decoded?.kind === "public") {
    if (method === "hmac") throw new Error('signingMethod "hmac" needs a shared secret in source, not a public key');
    if (method !== undefined && method !== KEY_FAMILY_METHOD[decoded.family]) {
      throw new Error(`signingMethod "${method}" does not match the ${decoded.family} public key in source`);
    }
    return { algorithms: decoded.algorithms, getKey: staticKeyGetter(decoded.spkiPem, decoded.algorithms) };
  }

  if (method === "hmac") throw new Error('signingMethod "hmac" cannot use a JWKS: HMAC secrets are never published');
  const endpoints = decoded?.kind === "jwks" ? [{ url: decoded.url }] : uris;
  const sets = endpoints.map(({ url, cacheTimeout }: { url: string; cacheTimeout?: number }) => {
    let parsed: URL;
    try {
      parsed = new URL(url.trim());
    } catch {
      throw new Error(`JWKS URL "${url}" is not a valid URL`);
    }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new Error(`JWKS URL "${url}" must be http or https`);
    if (cacheTimeout !== undefined && !(Number.isFinite(cacheTimeout) && cacheTimeout >= 0)) {
      throw new Error(`cacheTimeout of JWKS URL "${url}" must be a non-negative number of seconds`);
    }
    return createRemoteJWKSet(parsed, {
      cacheMaxAge: (cacheTimeout || DEFAULT_JWKS_CACHE_SECONDS) * 1000,
      cooldownDuration: options.jwksCooldownMs ?? 30_000,
      timeoutDuration: options.jwksTimeoutMs ?? 5_000,
      ...(options.fetch && { [customFetch]: options.fetch }),
    });
  });
  return { algorithms: method ? FAMILIES[method]! : ASYMMETRIC, getKey: jwksGetter(sets) };
}

/** Imports the static public key once per algorithm, eagerly (so the first request pays nothing). */
function staticKeyGetter(spkiPem: string, algorithms: string[]): KeyGetter {
  const keys = new Map(algorithms.map((alg) => [alg, importSPKI(spkiPem, alg)]));
  for (const pending of keys.values()) pending.catch(() => undefined);
  return async (header) => {
    const key = keys.get(String(header.alg));
    if (!key) throw new errors.JOSEAlgNotAllowed("alg not allowed");
    return key;
  };
}

/** Tries the key sets in order; an unreachable set is skipped unless no other set has the key. */
function jwksGetter(sets: ReturnType<typeof createRemoteJWKSet>[]): KeyGetter {
  return async (header, token) => {
    let unavailable: unknown;
    for (const set of sets) {
      try {
        return await set(header, token);
      } catch (error) {
        if (error instanceof errors.JWKSNoMatchingKey) continue;
        if (error instanceof errors.JWKSMultipleMatchingKeys || error instanceof errors.JOSENotSupported) throw error;
        unavailable = error;
      }
    }
    if (unavailable !== undefined) throw new KeysUnavailable("JWKS unavailable", { cause: unavailable });
    throw new errors.JWKSNoMatchingKey();
  };
}

/** `jwtVerify`, also trying each candidate when a JWKS holds several keys matching the header. */
async function verifyWithCandidates(token: string, getKey: KeyGetter, options: JWTVerifyOptions) {
  try {
    return await jwtVerify(token, getKey, options);
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
    const candidates = error as unknown as AsyncIterable<CryptoKey>;
    let last: unknown = error;
    for await (const key of candidates) {
      try {
        return await jwtVerify(token, key, options);
      } catch (next) {
        last = next;
        if (!(next instanceof errors.JWSSignatureVerificationFailed)) break;
      }
    }
    throw last;
  }
}

function classify(error: unknown): JwtFailureCode {
  if (error instanceof KeysUnavailable) return "jwks_unavailable";
  if (error instanceof errors.JWTExpired) return "expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "iss") return "wrong_issuer";
    if (error.claim === "aud") return "wrong_audience";
  }
  return "invalid_token";
}

/** Identity, subject check and policies, from the verified claims. */
function claimRulesOf(scheme: JwtScheme): (claims: JWTPayload) => JwtResult {
  const subjectClaims = nonEmpty(scheme.subjectClaims) ? scheme.subjectClaims : scheme.identityBaseField ? [scheme.identityBaseField] : [];
  const identityClaims = [...subjectClaims, "sub"];
  const policyClaims = nonEmpty(scheme.basePolicyClaims) ? scheme.basePolicyClaims : scheme.policyFieldName ? [scheme.policyFieldName] : [];
  const scopeClaims = nonEmpty(scheme.scopes?.claims) ? scheme.scopes.claims : [scheme.scopes?.claimName || "scope"];
  const scopeMap = scheme.scopes?.scopeToPolicyMapping ?? [];
  const allowedSubjects = nonEmpty(scheme.allowedSubjects) ? new Set(scheme.allowedSubjects) : undefined;
  const defaults = scheme.defaultPolicies ?? [];

  return (claims) => {
    const identity = identityClaims
      .map((name) => claimAt(claims, name))
      .find((value): value is string => typeof value === "string" && value !== "");
    if (identity === undefined) return { ok: false, code: "invalid_token", message: "The access token has no subject" };
    if (allowedSubjects && !allowedSubjects.has(identity)) return failure("wrong_subject");
    const scopes = strings(firstPresent(claims, scopeClaims), /\s+/);
    const direct = strings(firstPresent(claims, policyClaims));
    const mapped = scopeMap.filter((entry) => scopes.includes(entry.scope)).map((entry) => entry.policyId);
    let policies = [...new Set([...direct, ...mapped])];
    if (policies.length === 0) policies = [...new Set(defaults.filter((id) => id !== ""))];
    if (policies.length === 0) return failure("no_policy");
    return { ok: true, claims, identity, policies, scopes };
  };
}

/** A claim by name; a name with dots that is not itself a claim walks nested objects. */
function claimAt(claims: JWTPayload, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  let value: unknown = claims;
  for (const part of name.split(".")) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function firstPresent(claims: JWTPayload, names: string[]): unknown {
  for (const name of names) {
    const value = claimAt(claims, name);
    if (value !== undefined && value !== null) return value;
  }
  return undefined;
}

/** A claim as a list of non-empty strings: an array's strings, or a string (split by `separator`). */
function strings(value: unknown, separator?: RegExp): string[] {
  const list = typeof value === "string" ? (separator ? value.split(separator) : [value]) : Array.isArray(value) ? value : [];
  return list.filter((item): item is string => typeof item === "string" && item !== "");
}

function audiences(claims: JWTPayload): string[] {
  return strings(claims.aud);
}

function sameResource(a: string, b: string): boolean {
  return a.replace(/\/$/, "") === b.replace(/\/$/, "");
}

function skew(value: number | undefined, field: string): number {
  if (value === undefined) return 0;
  if (!Number.isFinite(value) || value < 0) throw new Error(`${field} must be a non-negative number of seconds`);
  return value;
}

function nonEmpty<T>(list: T[] | null | undefined): list is T[] {
  return Array.isArray(list) && list.length > 0;
}

function failure(code: JwtFailureCode, cause?: unknown): JwtResult {
  return cause === undefined ? { ok: false, code, message: MESSAGES[code] } : { ok: false, code, message: MESSAGES[code], cause };
}

function notYetValid(): JwtResult {
  return { ok: false, code: "invalid_token", message: "The access token is not valid yet" };
}
