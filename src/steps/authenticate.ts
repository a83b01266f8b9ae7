/**
 * authenticate: who is calling, and what may they do on this API (`state.session`, `state.access`).
 * Runs after routing and the Origin check, before the body is read, so an unauthenticated client
 * costs the gateway no body parsing.
 *
 * - Open API (authentication off): no session; the definition's own allow/block rules still apply.
 * - Auth token: the key is hashed and looked up (`auth/api-keys.ts`); an unknown, revoked, expired
 *   or inactive key gets 401 (-32001): at once after an admin write this gateway handled, within
 *   the max age elsewhere (a session is kept at most `GATEWAY_CONFIG_MAX_AGE_MS`, default 1 s).
 * - JWT / OAuth 2.1: the token is verified (signature, algorithm, expiry, issuer, audience) by the
 *   scheme's verifier, compiled with the route; its policies come from its claims.
 * - Either way the consumer's access to this API comes from its policies (or a key's own
 *   `access_rights`): none, a missing policy or a `deny` policy gets 403 (-32002).
 * - Client certificates (mTLS): when the definition asks for them, the runtime's verified
 *   certificate must be on the allowlist; a key bound to a certificate only works with it.
 *
 * Every 401 carries `WWW-Authenticate` (`auth/challenge.ts`). Failure is closed: a store or JWKS
 * that cannot be read denies.
 */
import { KeyHashes, KeyRepository } from "../auth/api-keys.ts";
import { challengeFor } from "../auth/challenge.ts";
import { type AuthCompileOptions, type AuthConfig, compileAuth, credentialFrom } from "../auth/config.ts";
import type { JwtResult } from "../auth/jwt.ts";
import { publicOrigin, resourceUrlFor } from "../auth/resource.ts";
import type { ClientCertificateSource, GatewayContext, RequestState, Session } from "../context.ts";
import { GatewayError } from "../errors.ts";
import { consumerVisibility } from "../policy/evaluate.ts";
import { consumerLimits, type LimitFields } from "../policy/limits.ts";
import { appliedPolicies, isExpired, type KeySession } from "../policy/model.ts";
import { resolveAccess } from "../policy/resolve.ts";
import type { CompiledPolicy, PolicyCache } from "../policy/store.ts";
import type { AccessRights } from "../policy/types.ts";
import type { KeyValueStore } from "../stores/types.ts";
import type { Step } from "./step.ts";

export interface AuthenticateOptions extends AuthCompileOptions {
  store: KeyValueStore;
  /** The compiled policies (shared with the gateway, which invalidates them after admin writes). */
  policies: PolicyCache;
  /** The client certificate the runtime verified, where it can tell. */
  clientCertificate?: ClientCertificateSource;
  /** Seconds since the epoch (tests). */
  now?: () => number;
  /** The gateway's public origins (`GATEWAY_PUBLIC_ORIGINS`); see `publicOrigin`. */
  publicOrigins?: readonly string[];
  /**
   * The keys' sessions as the request path reads them (shared with the gateway, which invalidates
   * them after admin writes). Default: read from `store` on every request.
   */
  keys?: KeyRepository;
}

/** A 401 with the challenge that tells the client how to authenticate. */
function unauthenticated(state: RequestState, auth: AuthConfig, reason: "credential_missing" | "credential_invalid", message?: string) {
  return new GatewayError(reason, message, { headers: { "WWW-Authenticate": challengeFor(auth, state.publicOrigin) } });
}

/**
 * The authentication step: sets `auth`, `session`, `access` and `credentialHeaders` (and
 * `publicOrigin` with PRM) on the request's state, or throws the 401/403/503. Does nothing, and
 * returns nothing to wait for, on an open API (the state's defaults are an open API's).
 */
export function authenticate(options: AuthenticateOptions): Step<AuthConfig | undefined> {
  // A key's record is read from the store at most once per max age (and at once after an admin
  // write); the parse of an unchanged record, and the hash of a key seen lately, are reused.
  const keys = options.keys ?? new KeyRepository(options.store, { reuseParsed: true });
  const keyHashes = new KeyHashes();
  const policies = options.policies;
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const publicOrigins = options.publicOrigins ?? [];
  const compileOptions: AuthCompileOptions = options.fetch ? { fetch: options.fetch } : {};

  async function authenticateCaller(c: GatewayContext, state: RequestState, auth: AuthConfig): Promise<void> {
    const route = state.match.route;
    state.auth = auth;
    if (auth.prm) state.publicOrigin = publicOrigin(c.req.url, auth.prm.customDomain, publicOrigins);
    state.credentialHeaders = auth.credentialHeaders;

    const certificate = options.clientCertificate?.(c);
    if (auth.clientCertificates) {
      const fingerprint = certificate?.verified ? certificate.fingerprintSha256 : undefined;
      if (!fingerprint || (auth.clientCertificates.allowlist.length > 0 && !auth.clientCertificates.allowlist.includes(fingerprint))) {
        throw new GatewayError("client_certificate_required", undefined, {
          headers: { "WWW-Authenticate": challengeFor(auth, state.publicOrigin) },
        });
      }
    }
    if (!auth.required) return;

    let session: Session | undefined;
    let ownAccess: AccessRights | null | undefined;
    let ownFields: LimitFields | undefined;
    let lastFailure: string | undefined;
    for (const scheme of auth.schemes) {
      const credential = credentialFrom(state.headers[scheme.header.toLowerCase()]);
      if (credential === undefined) continue;
      if (scheme.kind === "token") {
        const known = keyHashes.of(credential);
        const hash = typeof known === "string" ? known : await known;
        let record: KeySession | null;
        try {
          const read = keys.get(hash);
          record = read instanceof Promise ? await read : read;
        } catch (cause) {
          throw new GatewayError("key_store_unavailable", undefined, { cause });
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
        ownFields = record;
        break;
      }
      // The audience an OAuth token must carry (RFC 8707): the configured resource, else this MCP URL.
      const audience = scheme.oauth && auth.prm ? resourceUrlFor(state.publicOrigin, auth.prm) : undefined;
      let result: JwtResult;
      try {
        result = await scheme.verifier.verify(credential, audience ? { requiredAudience: audience } : {});
      } catch (cause) {
        // A scheme whose configuration cannot be used: closed, and loud in the logs.
        throw new GatewayError("auth_misconfigured", undefined, { cause });
      }
      if (!result.ok) {
        if (result.code === "jwks_unavailable") throw new GatewayError("signing_keys_unavailable");
        lastFailure = `Authentication failed: ${result.message}`;
        if (result.code === "no_policy") {
          throw new GatewayError("api_access_denied", "Access to this API has been disallowed: the token maps to no policy", {
            ...(scheme.oauth && auth.prm
              ? { headers: { "WWW-Authenticate": challengeFor(auth, state.publicOrigin, { error: "insufficient_scope" }) } }
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
    if (!session) {
      throw lastFailure === undefined
        ? unauthenticated(state, auth, "credential_missing")
        : unauthenticated(state, auth, "credential_invalid", lastFailure);
    }

    const apiIds = route.baseId ? [route.id, route.baseId] : [route.id];
    let compiled: ReadonlyMap<string, CompiledPolicy>;
    try {
      compiled = await policies.policies();
    } catch (cause) {
      throw new GatewayError("policy_store_unavailable", undefined, { cause });
    }
    const decision = resolveAccess({ policies: session.policies, ownAccess }, apiIds, compiled);
    if (!decision.ok) {
      // An OAuth client is told it may ask for more scope (MCP: scope challenge on 403).
      const hint =
        session.kind === "oauth" && auth.prm
          ? { headers: { "WWW-Authenticate": challengeFor(auth, state.publicOrigin, { error: "insufficient_scope" }) } }
          : {};
      throw new GatewayError("api_access_denied", decision.message, hint);
    }

    state.session = session;
    state.access = consumerVisibility(decision.grants);
    state.limits = consumerLimits(session.policies, { fields: ownFields, access: ownAccess }, apiIds, compiled);
  }

  return {
    name: "authenticate",
    compile: (api) => compileAuth(api.definition, compileOptions),
    run(c, state, auth) {
      // An open API: nothing to do, and no await on the way (each costs a microtask).
      if (auth === undefined) return;
      return authenticateCaller(c, state, auth);
    },
  };
}
