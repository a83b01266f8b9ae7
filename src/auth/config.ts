/**
 * How an API authenticates its clients, compiled from its definition the way Tyk OAS writes it:
 * the OpenAPI `components.securitySchemes` (what kind of credential, and where), switched on by
 * `x-tyk-api-gateway.server.authentication.securitySchemes.<name>.enabled` (and Tyk's settings for
 * it). Compiled once per routing table, JWT verifiers included, so a scheme that cannot work is
 * found when the definition is written or loaded, never on a request.
 *
 * - `apiKey` in a header → an auth token (API key) in that header (`Authorization` by default;
 *   `Bearer <key>` accepted there);
 * - `http` `bearer` with `bearerFormat: JWT`, or a Tyk entry with JWT settings → a JWT;
 * - `oauth2` / `openIdConnect` → an OAuth 2.1 access token, validated as a JWT, with Protected
 *   Resource Metadata when configured;
 * - authentication on with no scheme named → an auth token in `Authorization` (Tyk's default).
 *
 * Credentials are only ever read from headers: a token in the query string or a cookie is never
 * accepted (MCP forbids tokens in URIs; cookies would allow cross-site requests).
 */
import type * as v from "valibot";
import { DefinitionError, type McpDefinition, type SecurityScheme } from "../definitions/schema.ts";
import { createJwtVerifier, type JwtVerifier } from "./jwt.ts";
import type { PrmConfig } from "./prm.ts";

export type TykScheme = v.InferOutput<typeof SecurityScheme>;

export type AuthScheme =
  | { kind: "token"; name: string; header: string }
  | { kind: "jwt"; name: string; header: string; oauth: boolean; verifier: JwtVerifier };

/** An MCP proxy as an OAuth protected resource (RFC 9728), where it serves Protected Resource Metadata. */
export interface ProtectedResource {
  config: PrmConfig;
  /** The MCP endpoint's path on this gateway (listen path + the definition's first path). */
  endpointPath: string;
  /** `server.customDomain.name` (lower case) when enabled: the origin the resource is known by. */
  customDomain: string | undefined;
  /** `scopesSupported` as a `scope` challenge parameter, `undefined` when there are none. */
  scopes: string | undefined;
}

export interface AuthConfig {
  /** Authentication is on (`server.authentication.enabled`): a credential is required. */
  required: boolean;
  schemes: readonly AuthScheme[];
  /** Protected Resource Metadata, when enabled on an MCP proxy. */
  prm: ProtectedResource | undefined;
  /** Lower-case names of the headers that carry credentials (never forwarded). */
  credentialHeaders: ReadonlySet<string>;
  /** Whether the definition asks for client certificates (mTLS). */
  clientCertificates: { allowlist: readonly string[] } | undefined;
}

export interface AuthCompileOptions {
  /** The fetch JWKS are read with (default: the global fetch). */
  fetch?: typeof fetch;
}

interface OasScheme {
  type?: string;
  in?: string;
  name?: string;
  scheme?: string;
  bearerFormat?: string;
}

const SCHEMES_FIELD = "x-tyk-api-gateway.server.authentication.securitySchemes";

const hasJwtSettings = (s: TykScheme) => s.source !== undefined || (s.jwksURIs?.length ?? 0) > 0 || s.signingMethod !== undefined;

/**
 * The authentication of a definition, or `undefined` when it is open.
 *
 * @throws DefinitionError naming the field, for a JWT scheme whose settings cannot work
 */
export function compileAuth(definition: McpDefinition, options: AuthCompileOptions = {}): AuthConfig | undefined {
  const tyk = definition["x-tyk-api-gateway"];
  const auth = tyk.server.authentication;
  const certs = tyk.server.clientCertificates;
  const clientCertificates = certs?.enabled
    ? { allowlist: (certs.allowlist ?? []).map((f) => f.toLowerCase().replace(/:/g, "")) }
    : undefined;
  if (!auth?.enabled) {
    return clientCertificates
      ? { required: false, schemes: [], prm: undefined, credentialHeaders: new Set(), clientCertificates }
      : undefined;
  }
  const oas = (definition.components?.securitySchemes ?? {}) as Record<string, OasScheme>;
  const jwtOptions = options.fetch ? { fetch: options.fetch } : {};
  const schemes: AuthScheme[] = [];
  for (const [name, settings] of Object.entries(auth.securitySchemes ?? {})) {
    if (!settings.enabled) continue;
    const declared = oas[name] ?? {};
    const header = settings.header?.enabled === false ? undefined : settings.header?.name || headerOf(declared);
    if (header === undefined) continue; // query- or cookie-only: never accepted
    const type = (declared.type ?? "").toLowerCase();
    const bearer = type === "http" && (declared.scheme ?? "").toLowerCase() === "bearer";
    const oauth = type === "oauth2" || type === "openidconnect";
    if (oauth || (bearer && (declared.bearerFormat ?? "").toUpperCase() === "JWT") || hasJwtSettings(settings)) {
      let verifier: JwtVerifier;
      try {
        verifier = createJwtVerifier(settings, jwtOptions);
      } catch (error) {
        throw new DefinitionError(`${SCHEMES_FIELD}.${name}`, (error as Error).message);
      }
      schemes.push({ kind: "jwt", name, header, oauth: oauth || auth.protectedResourceMetadata?.enabled === true, verifier });
    } else {
      schemes.push({ kind: "token", name, header });
    }
  }
  if (schemes.length === 0 && Object.keys(auth.securitySchemes ?? {}).length === 0) {
    schemes.push({ kind: "token", name: "authToken", header: "Authorization" });
  }
  const prmConfig = auth.protectedResourceMetadata?.enabled ? auth.protectedResourceMetadata : undefined;
  const domain = tyk.server.customDomain;
  const scopes = prmConfig?.scopesSupported?.length ? prmConfig.scopesSupported.join(" ") : undefined;
  return {
    required: true,
    schemes,
    prm: prmConfig && {
      config: prmConfig,
      endpointPath: `${tyk.server.listenPath.value.replace(/\/+$/, "")}${endpointPath(definition)}`,
      customDomain: domain?.enabled && domain.name ? domain.name.toLowerCase() : undefined,
      scopes,
    },
    credentialHeaders: new Set(schemes.map((s) => s.header.toLowerCase())),
    clientCertificates,
  };
}

/** The MCP endpoint's path under the listen path: the definition's first path (`/mcp` by default). */
function endpointPath(definition: McpDefinition): string {
  const first = Object.keys(definition.paths)[0];
  return first?.startsWith("/") ? first : "/mcp";
}

function headerOf(declared: OasScheme): string | undefined {
  const where = (declared.in ?? "header").toLowerCase();
  if (declared.type === "apiKey" || declared.type === "apikey") {
    return where === "header" ? declared.name || "Authorization" : undefined;
  }
  return "Authorization";
}

/** The credential in a header value: the value itself, or what follows `Bearer `. */
export function credentialFrom(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^bearer$/i.test(trimmed)) return undefined;
  const match = /^bearer\s+(.+)$/i.exec(trimmed);
  const credential = (match ? match[1]! : trimmed).trim();
  return credential === "" ? undefined : credential;
}
