/**
 * How an API authenticates its clients, read from its definition the way Tyk OAS writes it: the
 * OpenAPI `components.securitySchemes` (what kind of credential, and where), switched on by
 * `x-tyk-api-gateway.server.authentication.securitySchemes.<name>.enabled` (and Tyk's settings for
 * it). Pure; compiled once per routing table.
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
import type { McpDefinition } from "../definitions/schema.ts";
import type * as v from "valibot";
import type { ProtectedResourceMetadata, SecurityScheme } from "../definitions/schema.ts";

export type TykScheme = v.InferOutput<typeof SecurityScheme>;
export type PrmConfig = v.InferOutput<typeof ProtectedResourceMetadata>;

export type AuthScheme =
  | { kind: "token"; name: string; header: string }
  | { kind: "jwt"; name: string; header: string; oauth: boolean; settings: TykScheme };

export interface AuthConfig {
  schemes: AuthScheme[];
  /** Protected Resource Metadata, when enabled. */
  prm: PrmConfig | undefined;
  /** Lower-case names of the headers that carry credentials (never forwarded). */
  credentialHeaders: ReadonlySet<string>;
  /** Whether the definition asks for client certificates (mTLS). */
  clientCertificates: { allowlist: readonly string[] } | undefined;
}

interface OasScheme {
  type?: string;
  in?: string;
  name?: string;
  scheme?: string;
  bearerFormat?: string;
}

const hasJwtSettings = (s: TykScheme) => s.source !== undefined || (s.jwksURIs?.length ?? 0) > 0 || s.signingMethod !== undefined;

/** The authentication of a definition, or `undefined` when it is open. */
export function compileAuth(definition: McpDefinition): AuthConfig | undefined {
  const tyk = definition["x-tyk-api-gateway"];
  const auth = tyk.server.authentication;
  const certs = tyk.server.clientCertificates;
  const clientCertificates = certs?.enabled
    ? { allowlist: (certs.allowlist ?? []).map((f) => f.toLowerCase().replace(/:/g, "")) }
    : undefined;
  if (!auth?.enabled) {
    return clientCertificates ? { schemes: [], prm: undefined, credentialHeaders: new Set(), clientCertificates } : undefined;
  }
  const oas = (definition.components?.securitySchemes ?? {}) as Record<string, OasScheme>;
  const schemes: AuthScheme[] = [];
  for (const [name, settings] of Object.entries(auth.securitySchemes ?? {})) {
    if (!settings.enabled) continue;
    const declared = oas[name] ?? {};
    const header = settings.header?.enabled === false ? undefined : settings.header?.name || headerOf(declared);
    if (header === undefined) continue; // query- or cookie-only: never accepted
    const type = (declared.type ?? "").toLowerCase();
    const bearer = type === "http" && (declared.scheme ?? "").toLowerCase() === "bearer";
    if (type === "oauth2" || type === "openidconnect") {
      schemes.push({ kind: "jwt", name, header, oauth: true, settings });
    } else if ((bearer && (declared.bearerFormat ?? "").toUpperCase() === "JWT") || hasJwtSettings(settings)) {
      schemes.push({ kind: "jwt", name, header, oauth: auth.protectedResourceMetadata?.enabled === true, settings });
    } else {
      schemes.push({ kind: "token", name, header });
    }
  }
  if (schemes.length === 0 && Object.keys(auth.securitySchemes ?? {}).length === 0) {
    schemes.push({ kind: "token", name: "authToken", header: "Authorization" });
  }
  const prm = auth.protectedResourceMetadata?.enabled ? auth.protectedResourceMetadata : undefined;
  return {
    schemes,
    prm,
    credentialHeaders: new Set(schemes.map((s) => s.header.toLowerCase())),
    clientCertificates,
  };
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
