/**
 * The gateway's one error boundary.
 *
 * Every error the gateway itself produces is a {@link GatewayError} with a reason from the closed
 * list {@link REASONS} (jose's stable error codes are the model): the reason fixes the JSON-RPC error
 * code and the HTTP status, so a `switch` on `error.reason` sees every case, and the access log can
 * carry the reason beside `mcp_error_code`. The message is client-facing and leaks nothing
 * internal. {@link errorResponse} is the only function that writes the wire shape:
 *
 * ```json
 * {"jsonrpc":"2.0","id":<request id or null>,"error":{"code":-32004,"message":"…","data":{"http_code":502}}}
 * ```
 *
 * The code depends on the MCP revision the request is read in ({@link Revision}): on 2026-07-28,
 * which reserves -32020 to -32099 for the specification and asks implementations to stay out of
 * -32000 to -32019, the gateway's own codes move to -33000 to -33006 as Tyk's do
 * ({@link MODERN_CODES}); -32020 (header mismatch), -32022 (unsupported protocol version) and the
 * JSON-RPC codes (-32700, -32600, -32602) are the same in both. `GatewayError.code` is the
 * 2025-11-25 code; {@link wireCode} gives the one a revision sends.
 *
 * Errors from the upstream are never rebuilt here: they pass through untouched.
 */

/** JSON-RPC error codes the gateway maps its rejections to (see the README's error table). */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  InvalidParams: -32602,
  /** Any other gateway rejection (unknown route, wrong media type, …). */
  Rejected: -32000,
  AuthRequired: -32001,
  AccessDenied: -32002,
  RateLimited: -32003,
  UpstreamError: -32004,
  QuotaExceeded: -32005,
  IpBlocked: -32006,
  HeaderMismatch: -32020,
  UnsupportedProtocolVersion: -32022,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The MCP revisions whose rules the gateway applies: 2026-07-28 (stateless, per-request `_meta`,
 * mirrored headers), and 2025-11-25, whose rules every earlier version is read by too.
 */
export type Revision = "2025-11-25" | "2026-07-28";

/** The gateway's own codes on 2026-07-28 (Tyk's -33000 range); codes not listed stay as they are. */
export const MODERN_CODES: Readonly<Partial<Record<ErrorCodeValue, number>>> = {
  [ErrorCode.Rejected]: -33000,
  [ErrorCode.AuthRequired]: -33001,
  [ErrorCode.AccessDenied]: -33002,
  [ErrorCode.QuotaExceeded]: -33003,
  [ErrorCode.RateLimited]: -33004,
  [ErrorCode.IpBlocked]: -33005,
  [ErrorCode.UpstreamError]: -33006,
};

/** The JSON-RPC code `error` goes out with on `revision` (default 2025-11-25). */
export function wireCode(error: GatewayError, revision: Revision = "2025-11-25"): number {
  return revision === "2026-07-28" ? (MODERN_CODES[error.code] ?? error.code) : error.code;
}

interface ReasonSpec {
  readonly code: ErrorCodeValue;
  readonly status: number;
  /** The message when the caller gives none. */
  readonly message: string;
}

const reason = (code: ErrorCodeValue, status: number, message: string): ReasonSpec => ({ code, status, message });

/**
 * Every refusal the gateway makes, with its JSON-RPC code and HTTP status. Closed: a new refusal
 * gets a new reason here, never an ad-hoc code or status at the throw.
 */
export const REASONS = {
  // The message itself (read step).
  parse_error: reason(ErrorCode.ParseError, 400, "Parse error: the body is not valid JSON"),
  invalid_request: reason(ErrorCode.InvalidRequest, 400, "Invalid Request"),
  invalid_params: reason(ErrorCode.InvalidParams, 400, "Invalid params"),
  body_too_large: reason(ErrorCode.InvalidRequest, 413, "Request body exceeds the size limit"),
  unsupported_media_type: reason(ErrorCode.Rejected, 415, "Unsupported Media Type: an MCP POST must have Content-Type: application/json"),
  not_acceptable: reason(ErrorCode.Rejected, 406, "Not Acceptable: an MCP POST must accept both application/json and text/event-stream"),
  // Routing (host, path, route, origin, method steps).
  host_forbidden: reason(ErrorCode.Rejected, 403, "Forbidden: this gateway does not serve this host"),
  invalid_path: reason(ErrorCode.Rejected, 400, "Bad Request: the path cannot be read one way only"),
  no_route: reason(ErrorCode.Rejected, 404, "No API is listening on this path"),
  api_inactive: reason(ErrorCode.Rejected, 404, "The API on this path is not active"),
  version_not_found: reason(ErrorCode.Rejected, 403, "This API version does not seem to exist"),
  version_unavailable: reason(ErrorCode.Rejected, 403, "This API version is not available"),
  origin_forbidden: reason(ErrorCode.Rejected, 403, "Forbidden: this Origin may not call this MCP server"),
  method_not_allowed: reason(ErrorCode.Rejected, 405, "This MCP proxy does not serve this HTTP method here"),
  // The MCP revision and its mirrored headers (read step).
  header_mismatch: reason(ErrorCode.HeaderMismatch, 400, "Header mismatch: the MCP headers do not match the body"),
  unsupported_protocol_version: reason(ErrorCode.UnsupportedProtocolVersion, 400, "Unsupported protocol version"),
  // Authentication.
  credential_missing: reason(ErrorCode.AuthRequired, 401, "Authentication required: no credential was presented"),
  credential_invalid: reason(ErrorCode.AuthRequired, 401, "Authentication failed"),
  client_certificate_required: reason(ErrorCode.AuthRequired, 401, "A valid client certificate is required"),
  auth_misconfigured: reason(ErrorCode.Rejected, 500, "This API's authentication is misconfigured"),
  signing_keys_unavailable: reason(ErrorCode.Rejected, 503, "The token's signing keys cannot be fetched right now"),
  // Authorization.
  api_access_denied: reason(ErrorCode.AccessDenied, 403, "Access to this API has been disallowed"),
  method_denied: reason(ErrorCode.AccessDenied, 403, "Access denied: this method is not allowed"),
  primitive_denied: reason(ErrorCode.AccessDenied, 403, "Access denied: this tool, resource or prompt is not allowed"),
  // Traffic (ip, limit steps).
  ip_blocked: reason(ErrorCode.IpBlocked, 403, "Forbidden: this client address may not call this API"),
  rate_limited: reason(ErrorCode.RateLimited, 429, "Rate limit exceeded"),
  quota_exceeded: reason(ErrorCode.QuotaExceeded, 403, "Quota exceeded"),
  circuit_open: reason(ErrorCode.UpstreamError, 503, "This tool is unavailable for now: its upstream keeps failing"),
  limiter_unavailable: reason(ErrorCode.Rejected, 503, "The gateway's limits cannot be checked right now"),
  // The upstream (forward step).
  upstream_unreachable: reason(ErrorCode.UpstreamError, 502, "Upstream MCP server is unavailable"),
  upstream_timeout: reason(ErrorCode.UpstreamError, 504, "Upstream MCP server did not answer in time"),
  upstream_failed: reason(ErrorCode.UpstreamError, 502, "Upstream MCP server failed"),
  upstream_stream_broken: reason(ErrorCode.UpstreamError, 502, "Upstream MCP server closed the stream unexpectedly"),
  upstream_credential_unavailable: reason(ErrorCode.UpstreamError, 502, "The upstream's credential could not be obtained"),
  // The gateway itself.
  definition_store_unavailable: reason(ErrorCode.Rejected, 503, "The gateway's definition store is unavailable"),
  key_store_unavailable: reason(ErrorCode.Rejected, 503, "The gateway's key store is unavailable"),
  policy_store_unavailable: reason(ErrorCode.Rejected, 503, "The gateway's policy store is unavailable"),
  gateway_misconfigured: reason(ErrorCode.Rejected, 500, "The gateway is misconfigured: its log names the setting"),
  client_closed: reason(ErrorCode.Rejected, 499, "Client closed the request"),
  internal_error: reason(ErrorCode.Rejected, 500, "Internal gateway error"),
} as const satisfies Record<string, ReasonSpec>;

/** Why the gateway refused a request: one of {@link REASONS}. */
export type ErrorReason = keyof typeof REASONS;

/** A JSON-RPC request id as the client sent it; `null` when unknown or not a request. */
export type JsonRpcId = string | number | null;

export interface GatewayErrorOptions {
  /** Extra response headers, e.g. `WWW-Authenticate`, `Retry-After` or `Allow`. */
  headers?: Record<string, string>;
  /** Extra members for `error.data` (beside `http_code`). Must be safe to show a client. */
  data?: Record<string, unknown>;
  /** The underlying cause, for logs only; never sent to the client. */
  cause?: unknown;
}

/** An error produced by the gateway itself; the request path turns it into a response. */
export class GatewayError extends Error {
  override readonly name = "GatewayError";
  readonly reason: ErrorReason;
  readonly code: ErrorCodeValue;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly data: Record<string, unknown> | undefined;
  /** The id of the JSON-RPC message being rejected, when the error is raised before it is known elsewhere. */
  id: JsonRpcId | undefined;

  /** @param message the client-facing message (default: the reason's own) */
  constructor(reason: ErrorReason, message?: string, options: GatewayErrorOptions = {}) {
    const spec = REASONS[reason];
    super(message ?? spec.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.code = spec.code;
    this.status = spec.status;
    this.headers = options.headers ?? {};
    this.data = options.data;
  }
}

/** Builds the JSON-RPC error body for a gateway error, with the code of `revision` (default 2025-11-25). */
export function errorBody(error: GatewayError, id: JsonRpcId, revision?: Revision): string {
  return JSON.stringify({
    jsonrpc: "2.0",
    id,
    error: { code: wireCode(error, revision), message: error.message, data: { ...error.data, http_code: error.status } },
  });
}

/** Writes a gateway error as an HTTP response carrying a JSON-RPC error with the request's id. */
export function errorResponse(error: GatewayError, id: JsonRpcId = null, revision?: Revision): Response {
  const headers = new Headers(error.headers);
  headers.set("content-type", "application/json");
  return new Response(errorBody(error, id, revision), { status: error.status, headers });
}

/**
 * Any error as the gateway's answer: a {@link GatewayError} as it is, anything else as a 500 that
 * shows the client nothing of it (`log` gets it, as it gets the cause of a gateway 5xx). `revision`
 * is the MCP revision the request is read in (default 2025-11-25): it decides the code.
 */
export function answerError(
  error: unknown,
  id: JsonRpcId,
  log: (message: string, detail?: unknown) => void,
  revision?: Revision,
): Response {
  if (error instanceof GatewayError) {
    if (error.status >= 500 && error.cause !== undefined) log(error.message, String(error.cause));
    return errorResponse(error, error.id ?? id, revision);
  }
  log("unexpected error", error);
  return errorResponse(new GatewayError("internal_error"), id, revision);
}
