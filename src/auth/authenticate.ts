/**
 * authenticate: who is calling, and what may they do on this API (`c.var.session`,
 * `c.var.visibility`). Runs after routing and the Origin check, before the body is read, so an
 * unauthenticated client costs the gateway no body parsing.
 *
 * - Open API (authentication off): no session; the definition's own allow/block rules still apply.
 * - Auth token: the key is hashed and looked up (`key:<sha256>`); an unknown, revoked, expired or
 *   inactive key gets 401 (-32001) on the very next request after the change.
 * - JWT / OAuth 2.1: the token is verified (signature, algorithm, expiry, issuer, audience); its
 *   policies come from its claims.
 * - Either way the consumer's access to this API comes from its policies (or a key's own
 *   `access_rights`): none, a missing policy or a `deny` policy gets 403 (-32002).
 * - Client certificates (mTLS): when the definition asks for them, the runtime's verified
 *   certificate must be on the allowlist; a key bound to a certificate only works with it.
 *
 * Every 401 carries `WWW-Authenticate`; with Protected Resource Metadata it is
 * `Bearer resource_metadata="…"` (and `scope="…"`) so MCP clients can discover the authorization
 * server. Failure is closed: a store or JWKS that cannot be read denies.
 */
import type { ClientCertificateSource, GatewayContext, RequestState, Session } from "../context.ts";
import { ErrorCode, GatewayError } from "../errors.ts";
import { bothVisible, consumerVisibility } from "../policy/evaluate.ts";
import { appliedPolicies, isExpired } from "../policy/model.ts";
import { resolveAccess } from "../policy/resolve.ts";
import { hashKey, KeyRepository, PolicyCache } from "../policy/store.ts";
import type { AccessRights } from "../policy/types.ts";
import type { ApiRoute } from "../routing/route-table.ts";
import type { KeyValueStore } from "../stores/types.ts";
import { credentialFrom, type AuthConfig, type AuthScheme } from "./config.ts";
import { bearerChallenge } from "./prm.ts";
import { prmUrlFor, publicOrigin, resourceUrlFor } from "./resource.ts";
import { createJwtVerifier, type JwtResult, type JwtVerifier } from "./jwt.ts";

export interface AuthenticateOptions {
  store: KeyValueStore;
  /** The fetch used for JWKS (default: the global fetch). */
  fetch?: typeof fetch;
  /** The client certificate the runtime verified, where it can tell. */
  clientCertificate?: ClientCertificateSource;
  /** Seconds since the epoch (tests). */
  now?: () => number;
  /** The gateway's public origins (`GATEWAY_PUBLIC_ORIGINS`); see `publicOrigin`. */
  publicOrigins?: readonly string[];
  /** The compiled policies (shared with the gateway, which invalidates them after admin writes). */
  policies?: PolicyCache;
}

/** A 401 with the challenge that tells the client how to authenticate. */
function unauthenticated(state: RequestState, auth: AuthConfig, message: string): GatewayError {
  return new GatewayError(ErrorCode.AuthRequired, 401, message, {
    headers: { "WWW-Authenticate": challenge(state, auth) },
  });
}

function challenge(state: RequestState, auth: AuthConfig, extra: { error?: string; scope?: string } = {}): string {
  if (auth.prm) {
    const route = state.match.route;
    const scope = extra.scope ?? (auth.prm.scopesSupported?.length ? auth.prm.scopesSupported.join(" ") : undefined);
    return bearerChallenge({
      resourceMetadataUrl: prmUrlFor(state.publicOrigin, route),
      ...(scope ? { scope } : {}),
      ...(extra.error ? { error: extra.error } : {}),
    });
  }
  return extra.error ? `Bearer realm="mcp-gateway", error="${extra.error}"` : 'Bearer realm="mcp-gateway"';
}

/** Compiled per route: the JWT verifiers of its schemes. */
const verifiers = new WeakMap<ApiRoute, Map<string, JwtVerifier>>();

/**
 * The authentication step: sets `session`, `visibility` and `credentialHeaders` (and
 * `publicOrigin` with PRM) on the request's state, or throws the 401/403/503. Does nothing, and
 * returns nothing to wait for, on an open API (the state's defaults are an open API's).
 */
export type Authenticate = (c: GatewayContext, state: RequestState) => void | Promise<void>;

export function authenticator(options: AuthenticateOptions): Authenticate {
  const keys = new KeyRepository(options.store);
  const policies = options.policies ?? new PolicyCache(options.store);
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const fetchJwks = options.fetch;
  const publicOrigins = options.publicOrigins ?? [];

  /** One verifier (and JWKS cache) per scheme of a compiled route. */
  function verifierFor(route: ApiRoute, scheme: Extract<AuthScheme, { kind: "jwt" }>): JwtVerifier {
    let map = verifiers.get(route);
    if (!map) {
      map = new Map();
      verifiers.set(route, map);
    }
    let verifier = map.get(scheme.name);
    if (!verifier) {
      verifier = createJwtVerifier(scheme.settings, fetchJwks ? { fetch: fetchJwks } : {});
      map.set(scheme.name, verifier);
    }
    return verifier;
  }

  return function authenticateRequest(c, state) {
    const route = state.match.route;
    const auth = route.auth;
    // An open API: nothing to do, and no await on the way (each costs a microtask).
    if (!auth) return;
    return authenticateCaller(c, state, route, auth);
  };

  async function authenticateCaller(c: GatewayContext, state: RequestState, route: ApiRoute, auth: AuthConfig): Promise<void> {
    const rules = route.rules;
    if (auth.prm) state.publicOrigin = publicOrigin(c.req.url, route, publicOrigins);
    state.credentialHeaders = auth.credentialHeaders;

    const certificate = options.clientCertificate?.(c);
    if (auth.clientCertificates) {
      const fingerprint = certificate?.verified ? certificate.fingerprintSha256 : undefined;
      if (!fingerprint || (auth.clientCertificates.allowlist.length > 0 && !auth.clientCertificates.allowlist.includes(fingerprint))) {
        throw new GatewayError(ErrorCode.AuthRequired, 401, "A valid client certificate is required", {
          headers: { "WWW-Authenticate": challenge(state, auth) },
        });
      }
    }
    if (auth.schemes.length === 0 && !route.definition["x-tyk-api-gateway"].server.authentication?.enabled) {
      return;
    }

    let session: Session | undefined;
    let ownAccess: AccessRights | null | undefined;
    let lastFailure = "Authentication required: no credential was presented";
    for (const scheme of auth.schemes) {
      const credential = credentialFrom(state.headers[scheme.header.toLowerCase()]);
      if (credential === undefined) continue;
      if (scheme.kind === "token") {
        const hash = await hashKey(credential);
        let record: Awaited<ReturnType<KeyRepository["get"]>>;
        try {
          record = await keys.get(hash);
        } catch (cause) {
          throw new GatewayError(ErrorCode.Rejected, 503, "The gateway's key store is unavailable", { cause });
        }
        if (!record) {
          lastFailure = "Authentication failed: the key is not valid";
          continue;
        }
        if (record.is_inactive) {
          lastFailure = "Authentication failed: the key is inactive";
          continue;
        }
        if (isExpired(record, now())) {
          lastFailure = "Authentication failed: the key has expired";
          continue;
        }
        if (record.certificate) {
          const bound = record.certificate.toLowerCase().replace(/:/g, "");
          if (!certificate?.verified || certificate.fingerprintSha256 !== bound) {
            lastFailure = "Authentication failed: this key requires its client certificate";
            continue;
          }
        }
        session = { kind: "token", id: hash, alias: record.alias ?? "", policies: appliedPolicies(record), scopes: [] };
        ownAccess = record.access_rights as AccessRights | null | undefined;
        break;
      }
      // The audience an OAuth token must carry (RFC 8707): the configured resource, else this MCP URL.
      const audience = scheme.oauth && auth.prm ? resourceUrlFor(state.publicOrigin, route) : undefined;
      let result: JwtResult;
      try {
        result = await verifierFor(route, scheme).verify(credential, audience ? { requiredAudience: audience } : {});
      } catch (cause) {
        // A scheme whose configuration cannot be used: closed, and loud in the logs.
        throw new GatewayError(ErrorCode.Rejected, 500, "This API's authentication is misconfigured", { cause });
      }
      if (!result.ok) {
        if (result.code === "jwks_unavailable") {
          throw new GatewayError(ErrorCode.Rejected, 503, "The token's signing keys cannot be fetched right now");
        }
        lastFailure = `Authentication failed: ${result.message}`;
        if (result.code === "no_policy") {
          throw new GatewayError(ErrorCode.AccessDenied, 403, "Access to this API has been disallowed: the token maps to no policy", {
            ...(scheme.oauth && auth.prm
              ? { headers: { "WWW-Authenticate": challenge(state, auth, { error: "insufficient_scope" }) } }
              : {}),
          });
        }
        continue;
      }
      session = {
        kind: scheme.oauth ? "oauth" : "jwt",
        id: result.identity,
        alias: result.identity,
        policies: result.policies,
        scopes: result.scopes,
      };
      break;
    }
    if (!session) throw unauthenticated(state, auth, lastFailure);

    const apiIds = route.baseId ? [route.id, route.baseId] : [route.id];
    let compiled: Awaited<ReturnType<PolicyCache["policies"]>>;
    try {
      compiled = await policies.policies();
    } catch (cause) {
      throw new GatewayError(ErrorCode.Rejected, 503, "The gateway's policy store is unavailable", { cause });
    }
    const decision = resolveAccess({ policies: session.policies, ownAccess }, apiIds, compiled);
    if (!decision.ok) {
      // An OAuth client is told it may ask for more scope (MCP: scope challenge on 403).
      const hint =
        session.kind === "oauth" && auth.prm
          ? { headers: { "WWW-Authenticate": challenge(state, auth, { error: "insufficient_scope" }) } }
          : {};
      throw new GatewayError(ErrorCode.AccessDenied, 403, decision.message, hint);
    }

    state.session = session;
    state.visibility = bothVisible(rules, consumerVisibility(decision.grants));
  }
}

/** The `WWW-Authenticate` value for a 403 on a primitive, for OAuth callers (RFC 6750 §3.1). */
export function insufficientScope(state: RequestState, scope: string | undefined): string | undefined {
  const auth = state.match.route.auth;
  if (!auth?.prm || state.session?.kind !== "oauth") return undefined;
  return challenge(state, auth, { error: "insufficient_scope", ...(scope ? { scope } : {}) });
}
