/**
 * The gateway's one error boundary.
 *
 * Every error the gateway itself produces is a {@link GatewayError}: a JSON-RPC error code, an
 * HTTP status and a client-facing message that leaks nothing internal. {@link errorResponse} is
 * the only function that writes the wire shape:
 *
 * ```json
 * {"jsonrpc":"2.0","id":<request id or null>,"error":{"code":-32004,"message":"…","data":{"http_code":502}}}
 * ```
 *
 * Errors from the upstream are never rebuilt here: they pass through untouched.
 */

/** JSON-RPC error codes the gateway maps its rejections to (see the README's error table). */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  /** Any other gateway rejection (unknown route, wrong media type, …). */
  Rejected: -32000,
  AuthRequired: -32001,
  AccessDenied: -32002,
  RateLimited: -32003,
  UpstreamError: -32004,
  QuotaExceeded: -32005,
  IpBlocked: -32006,
  HeaderMismatch: -32020,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

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

/** An error produced by the gateway itself; `app.onError` turns it into a response. */
export class GatewayError extends Error {
  override readonly name = "GatewayError";
  readonly code: ErrorCodeValue;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly data: Record<string, unknown> | undefined;
  /** The id of the JSON-RPC message being rejected, when the error is raised before it is known elsewhere. */
  id: JsonRpcId | undefined;

  constructor(code: ErrorCodeValue, status: number, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = status;
    this.headers = options.headers ?? {};
    this.data = options.data;
  }
}

/** Builds the JSON-RPC error body for a gateway error. */
export function errorBody(error: GatewayError, id: JsonRpcId): string {
  return JSON.stringify({
    jsonrpc: "2.0",
    id,
    error: { code: error.code, message: error.message, data: { ...error.data, http_code: error.status } },
  });
}

/** Writes a gateway error as an HTTP response carrying a JSON-RPC error with the request's id. */
export function errorResponse(error: GatewayError, id: JsonRpcId = null): Response {
  const headers = new Headers(error.headers);
  headers.set("content-type", "application/json");
  return new Response(errorBody(error, id), { status: error.status, headers });
}

/** Shorthands for the errors the request path raises most. */
export const errors = {
  parse: (message = "Parse error: the body is not valid JSON") => new GatewayError(ErrorCode.ParseError, 400, message),
  invalidRequest: (message: string) => new GatewayError(ErrorCode.InvalidRequest, 400, message),
  tooLarge: (limit: number) => new GatewayError(ErrorCode.InvalidRequest, 413, `Request body exceeds the limit of ${limit} bytes`),
  notFound: (message = "No API is listening on this path") => new GatewayError(ErrorCode.Rejected, 404, message),
  upstreamUnavailable: (message = "Upstream MCP server is unavailable", cause?: unknown) =>
    new GatewayError(ErrorCode.UpstreamError, 502, message, { cause }),
  upstreamTimeout: (seconds: number) =>
    new GatewayError(ErrorCode.UpstreamError, 504, `Upstream MCP server did not answer within ${seconds}s`),
};
