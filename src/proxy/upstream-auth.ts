/**
 * The upstream's own credential. The client's credential never travels upstream (MCP forbids token
 * passthrough); a definition can give the upstream a credential of its own instead:
 *
 * - `upstream.authentication.basicAuth`: `Authorization: Basic …` (or another header);
 * - `upstream.authentication.oauth.clientCredentials`: an OAuth 2.0 client-credentials token from
 *   `tokenUrl`, cached until shortly before it expires, sent as `Authorization: Bearer …`;
 * - `middleware.global.transformRequestHeaders`: static headers to add or remove.
 *
 * Values may name a secret instead of holding it: `$secret_env.NAME` (Tyk's form) is replaced by the
 * secret `NAME` from the runtime (Worker secrets, or the process environment). A secret that is not
 * there fails the request (502) rather than sending a blank credential.
 */
import type { McpDefinition } from "../definitions/schema.ts";
import { GatewayError } from "../errors.ts";

/** Looks a secret up by name (the entry supplies this from its bindings or environment). */
export type SecretSource = (name: string) => string | undefined;

const SECRET_REF = /\$secret_env\.([A-Za-z_][A-Za-z0-9_]*)/g;

/** Replaces `$secret_env.NAME` references. @throws GatewayError 502 when a secret is missing */
export function resolveSecrets(value: string, secrets: SecretSource): string {
  return value.replace(SECRET_REF, (_match, name: string) => {
    const secret = secrets(name);
    if (secret === undefined) {
      throw new GatewayError("upstream_credential_unavailable", "The upstream credential is not configured", {
        cause: new Error(`secret ${name} is not set`),
      });
    }
    return secret;
  });
}

interface CachedToken {
  value: string;
  expiresAt: number;
}

/** Client-credentials tokens, per token URL + client id + scopes. */
const tokens = new Map<string, Promise<CachedToken>>();

async function clientCredentialsToken(
  config: { tokenUrl: string; clientId: string; clientSecret: string; scopes?: string[] | null | undefined },
  secrets: SecretSource,
  fetchFn: typeof fetch,
  nowMs: number,
): Promise<string> {
  const clientSecret = resolveSecrets(config.clientSecret, secrets);
  const clientId = resolveSecrets(config.clientId, secrets);
  const cacheKey = `${config.tokenUrl}|${clientId}|${(config.scopes ?? []).join(" ")}`;
  const cached = tokens.get(cacheKey);
  if (cached) {
    const token = await cached.catch(() => undefined);
    if (token && token.expiresAt > nowMs) return token.value;
  }
  const pending = (async (): Promise<CachedToken> => {
    const body = new URLSearchParams({ grant_type: "client_credentials" });
    if (config.scopes?.length) body.set("scope", config.scopes.join(" "));
    let response: Response;
    try {
      response = await fetchFn(config.tokenUrl, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
          authorization: `Basic ${btoa(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`)}`,
        },
        body,
      });
    } catch (cause) {
      throw new GatewayError("upstream_credential_unavailable", undefined, { cause });
    }
    const json = (await response.json().catch(() => ({}))) as { access_token?: unknown; expires_in?: unknown };
    if (!response.ok || typeof json.access_token !== "string") {
      throw new GatewayError("upstream_credential_unavailable", undefined, {
        cause: new Error(`token endpoint answered HTTP ${response.status}`),
      });
    }
    const lifetime = typeof json.expires_in === "number" && json.expires_in > 0 ? json.expires_in : 300;
    // Renew 30 s (or a tenth of the lifetime) before expiry.
    return { value: json.access_token, expiresAt: Date.now() + Math.max(lifetime - Math.min(30, lifetime / 10), 1) * 1000 };
  })();
  tokens.set(cacheKey, pending);
  pending.catch(() => tokens.delete(cacheKey));
  return (await pending).value;
}

/** Tyk's `transformRequestHeaders` / `transformResponseHeaders`: headers to remove, then headers to add. */
export type HeaderTransform = NonNullable<
  NonNullable<NonNullable<McpDefinition["x-tyk-api-gateway"]["middleware"]>["global"]>["transformRequestHeaders"]
>;
type Transform = HeaderTransform;
type UpstreamAuthentication = NonNullable<McpDefinition["x-tyk-api-gateway"]["upstream"]["authentication"]>;
type BasicAuth = NonNullable<UpstreamAuthentication["basicAuth"]>;
type ClientCredentials = NonNullable<NonNullable<UpstreamAuthentication["oauth"]>["clientCredentials"]>;

/** What a definition gives the upstream request, compiled: header transforms and the upstream's own credential. */
export interface UpstreamAuth {
  transform: Transform | undefined;
  basic: BasicAuth | undefined;
  clientCredentials: ClientCredentials | undefined;
}

/** The definition's upstream credential and header transforms, or `undefined` when it has none. */
export function compileUpstreamAuth(definition: McpDefinition): UpstreamAuth | undefined {
  const tyk = definition["x-tyk-api-gateway"];
  const transform = tyk.middleware?.global?.transformRequestHeaders;
  const auth = tyk.upstream.authentication;
  const basic = auth?.enabled && auth.basicAuth?.enabled ? auth.basicAuth : undefined;
  const cc = auth?.enabled && auth.oauth?.enabled ? auth.oauth.clientCredentials : undefined;
  const clientCredentials =
    cc && (auth?.oauth?.allowedAuthorizeTypes ?? ["clientCredentials"]).includes("clientCredentials") ? cc : undefined;
  if (!transform?.enabled && !basic && !clientCredentials) return undefined;
  return { transform: transform?.enabled ? transform : undefined, basic, clientCredentials };
}

/** Applies a header transform: its `remove` names, then its `add` headers (values may name `$secret_env.NAME`). */
export function applyHeaderTransform(headers: Headers, transform: HeaderTransform, secrets: SecretSource): void {
  for (const name of transform.remove ?? []) headers.delete(name);
  for (const { name, value } of transform.add ?? []) headers.set(name, resolveSecrets(value, secrets));
}

/** Applies a definition's upstream credential and header transforms to the upstream request headers. */
export async function applyUpstreamAuth(headers: Headers, auth: UpstreamAuth, secrets: SecretSource, fetchFn: typeof fetch): Promise<void> {
  if (auth.transform) applyHeaderTransform(headers, auth.transform, secrets);
  const basic = auth.basic;
  if (basic) {
    const user = resolveSecrets(basic.username, secrets);
    const pass = resolveSecrets(basic.password, secrets);
    const bytes = new TextEncoder().encode(`${user}:${pass}`);
    let binary = "";
    for (const b of bytes) binary += String.fromCharCode(b);
    headers.set(basic.header?.enabled && basic.header.name ? basic.header.name : "Authorization", `Basic ${btoa(binary)}`);
  }
  const cc = auth.clientCredentials;
  if (cc) {
    const token = await clientCredentialsToken(cc, secrets, fetchFn, Date.now());
    headers.set(cc.header?.enabled && cc.header.name ? cc.header.name : "Authorization", `Bearer ${token}`);
  }
}
