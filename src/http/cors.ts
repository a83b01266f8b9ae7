/**
 * CORS for an API that enables `middleware.global.cors` (Tyk's fields: `allowedOrigins`,
 * `allowedMethods`, `allowedHeaders`, `exposedHeaders`, `allowCredentials`, `maxAge`,
 * `optionsPassthrough`), so that a browser-based MCP client can use it. Pure: the policy, the
 * preflight answer and the labels. The `cors` step (`steps/cors.ts`) applies them.
 *
 * - Which origins may call is the Origin check's rule (`origins.ts`), applied first: an origin that
 *   may not call gets 403 and no CORS headers.
 * - The gateway answers a browser's preflight (`OPTIONS` with `Origin` and
 *   `Access-Control-Request-Method`) itself with 204, before authentication: a preflight carries
 *   no credentials, so a secured API could not be reached from a browser otherwise. With
 *   `optionsPassthrough` the preflight goes to the upstream instead, through the request path.
 * - Every other answer to an allowed origin, the gateway's own errors included, is labelled with
 *   `Access-Control-Allow-Origin` (and `-Credentials`, `-Expose-Headers`); the upstream's own
 *   `Access-Control-*` headers are replaced, so the definition alone decides what browsers may do.
 * - An MCP proxy always exposes `Mcp-Session-Id`, `MCP-Protocol-Version` and `WWW-Authenticate`
 *   (a browser client must read the session id, and the 401's pointer to the OAuth metadata), and
 *   where `allowedHeaders` is set it always allows the transport's request headers (`Accept`,
 *   `Authorization`, `Content-Type`, `Last-Event-ID`, `MCP-Protocol-Version`, `Mcp-Session-Id`).
 *   Without `allowedHeaders`, a preflight's requested headers are allowed as asked; without
 *   `allowedMethods`, an MCP proxy allows its transport's methods (GET, POST, DELETE).
 *
 * Written here rather than with Hono's `cors` middleware: the policy is per API and read from the
 * store (live on the next request), it runs after the Origin check and before authentication, it
 * must replace the upstream's own CORS headers, and a request without `Origin` must not pay for it.
 */
import { appendVary, HTTP_TOKEN, type HeaderRecord } from "./headers.ts";

/** Tyk's `middleware.global.cors` fields the policy is built from. */
export interface CorsSettings {
  allowedOrigins?: readonly string[] | undefined;
  allowedMethods?: readonly string[] | undefined;
  allowedHeaders?: readonly string[] | undefined;
  exposedHeaders?: readonly string[] | undefined;
  allowCredentials?: boolean | undefined;
  maxAge?: number | undefined;
  optionsPassthrough?: boolean | undefined;
}

export interface CorsPolicy {
  /** Answer `Access-Control-Allow-Origin: *` (any origin allowed, no credentials); else echo the origin. */
  anyOrigin: boolean;
  credentials: boolean;
  /** `Access-Control-Allow-Methods` of a preflight answer. */
  allowMethods: string;
  /** `Access-Control-Allow-Headers` of a preflight answer; `undefined`: the headers the preflight asks for. */
  allowHeaders: string | undefined;
  /** `Access-Control-Expose-Headers` of every other answer; `undefined`: none. */
  exposeHeaders: string | undefined;
  /** `Access-Control-Max-Age` of a preflight answer (seconds); `undefined`: not sent. */
  maxAge: string | undefined;
  /** Preflights go to the upstream instead of being answered by the gateway. */
  optionsPassthrough: boolean;
}

const MCP_REQUEST_HEADERS = ["accept", "authorization", "content-type", "last-event-id", "mcp-protocol-version", "mcp-session-id"];
const MCP_RESPONSE_HEADERS = ["mcp-session-id", "mcp-protocol-version", "www-authenticate"];
const MCP_METHODS = ["GET", "POST", "DELETE"];
const HTTP_METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"];

/** The `Access-Control-*` response headers: the upstream's are replaced by the policy's. */
const RESPONSE_HEADERS = [
  "access-control-allow-origin",
  "access-control-allow-credentials",
  "access-control-allow-methods",
  "access-control-allow-headers",
  "access-control-expose-headers",
  "access-control-max-age",
];

/** Names joined as a header value, each once (compared without case), in the order first given. */
function joinNames(names: readonly string[]): string | undefined {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const name of names) {
    const key = name.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(name);
  }
  return out.length ? out.join(", ") : undefined;
}

/**
 * The CORS policy of an API that enables CORS.
 *
 * @param mcp whether the API is an MCP proxy (its transport's headers and methods are added)
 * @param anyOrigin whether its Origin rule allows any origin (`allowedOrigins: ["*"]`)
 */
export function corsPolicy(cors: CorsSettings, mcp: boolean, anyOrigin: boolean): CorsPolicy {
  const credentials = cors.allowCredentials === true;
  const methods = cors.allowedMethods?.length ? cors.allowedMethods.map((m) => m.toUpperCase()) : mcp ? MCP_METHODS : HTTP_METHODS;
  const headers = cors.allowedHeaders?.length ? [...cors.allowedHeaders, ...(mcp ? MCP_REQUEST_HEADERS : [])] : undefined;
  const exposed = [...(cors.exposedHeaders ?? []), ...(mcp ? MCP_RESPONSE_HEADERS : [])];
  return {
    // A credentialed answer may not say `*` (Fetch standard). The validator refuses `*` with
    // credentials; this keeps any policy from saying both.
    anyOrigin: anyOrigin && !credentials,
    credentials,
    allowMethods: joinNames(methods)!,
    allowHeaders: headers ? joinNames(headers) : undefined,
    exposeHeaders: joinNames(exposed),
    maxAge: cors.maxAge !== undefined && cors.maxAge > 0 ? String(cors.maxAge) : undefined,
    optionsPassthrough: cors.optionsPassthrough === true,
  };
}

/** Whether a request is a CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`. */
export function isPreflight(method: string, headers: HeaderRecord): boolean {
  return method === "OPTIONS" && headers.origin !== undefined && headers["access-control-request-method"] !== undefined;
}

/** The headers a preflight asks for, as a header value, when every one is a valid name. */
function requestedHeaders(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const names: string[] = [];
  for (const part of value.split(",")) {
    const name = part.trim();
    if (name === "") continue;
    if (!HTTP_TOKEN.test(name)) return undefined;
    names.push(name);
  }
  return joinNames(names);
}

function labelOrigin(headers: Headers, policy: CorsPolicy, origin: string): void {
  if (policy.anyOrigin) {
    headers.set("access-control-allow-origin", "*");
  } else {
    headers.set("access-control-allow-origin", origin);
    appendVary(headers, "Origin");
  }
  if (policy.credentials) headers.set("access-control-allow-credentials", "true");
}

/**
 * The gateway's answer to a preflight from an allowed origin ({@link isPreflight}): 204. (With a
 * policy for any origin, `headers` need hold only `Access-Control-Request-Headers`.)
 */
export function preflightResponse(policy: CorsPolicy, headers: HeaderRecord): Response {
  const out = new Headers();
  labelOrigin(out, policy, headers.origin!);
  out.set("access-control-allow-methods", policy.allowMethods);
  const allowHeaders = policy.allowHeaders ?? requestedHeaders(headers["access-control-request-headers"]);
  if (allowHeaders !== undefined) out.set("access-control-allow-headers", allowHeaders);
  if (policy.allowHeaders === undefined) appendVary(out, "Access-Control-Request-Headers");
  if (policy.maxAge !== undefined) out.set("access-control-max-age", policy.maxAge);
  return new Response(null, { status: 204, headers: out });
}

/**
 * The policy of a public document that needs no credentials (Protected Resource Metadata): any
 * origin may read it with GET, sending the headers it asks for (the MCP SDK's discovery sends
 * `MCP-Protocol-Version`, which makes its fetch a preflighted one). For {@link preflightResponse}.
 */
export const PUBLIC_DOCUMENT: CorsPolicy = {
  anyOrigin: true,
  credentials: false,
  allowMethods: "GET, HEAD",
  allowHeaders: undefined,
  exposeHeaders: undefined,
  maxAge: "86400",
  optionsPassthrough: false,
};

/**
 * `response` labelled for `origin` (an allowed one): the policy's `Access-Control-*` headers in
 * place of any the upstream sent. Status and body (a stream stays a stream) are the response's own.
 */
export function withCors(response: Response, policy: CorsPolicy, origin: string): Response {
  const headers = new Headers(response.headers);
  for (const name of RESPONSE_HEADERS) headers.delete(name);
  labelOrigin(headers, policy, origin);
  if (policy.exposeHeaders !== undefined) headers.set("access-control-expose-headers", policy.exposeHeaders);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
