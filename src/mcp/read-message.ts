/**
 * readMessage: on POST, check the transport headers, read the body within the API's size limit and
 * classify the JSON-RPC message (`c.var.mcp`, `c.var.body`). Other methods, and plain OAS APIs,
 * pass untouched.
 *
 * Per MCP 2025-11-25 Streamable HTTP, a POST carries `Content-Type: application/json` and an
 * `Accept` that lists both `application/json` and `text/event-stream`. A wrong media type gets 415,
 * an `Accept` that does not allow both gets 406, both as JSON-RPC errors (-32000); a malformed
 * message never reaches the upstream.
 */
import type { GatewayContext, RequestState } from "../context.ts";
import { ErrorCode, GatewayError } from "../errors.ts";
import { parseMessage } from "./jsonrpc.ts";
import { decodeUtf8, readBody } from "./read-body.ts";

/** Whether an Accept header allows a media type (`type/subtype`), honouring wildcards and q=0. */
export function accepts(accept: string, mediaType: string): boolean {
  const [type] = mediaType.split("/");
  for (const part of accept.split(",")) {
    const [range = "", ...params] = part.trim().toLowerCase().split(";");
    const refused = params.some((p) => /^\s*q\s*=\s*0(\.0*)?\s*$/.test(p));
    if (refused) continue;
    if (range === mediaType || range === "*/*" || range === `${type}/*`) return true;
  }
  return false;
}

function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const type = value.split(";")[0]!.trim().toLowerCase();
  return type === "application/json";
}

/** Verdicts on Accept values seen: clients send the same few values over and over. */
const acceptVerdicts = new Map<string, boolean>();

function acceptsJsonAndSse(accept: string): boolean {
  let verdict = acceptVerdicts.get(accept);
  if (verdict === undefined) {
    verdict = accepts(accept, "application/json") && accepts(accept, "text/event-stream");
    if (acceptVerdicts.size >= 256) acceptVerdicts.clear();
    acceptVerdicts.set(accept, verdict);
  }
  return verdict;
}

/**
 * The read step: on an MCP POST, checks the transport headers, reads the body and sets `mcp` and
 * `body` on the request's state. Synchronous (nothing to read) for other methods and plain OAS APIs.
 */
export function readMessage(c: GatewayContext, state: RequestState): void | Promise<void> {
  const route = state.match.route;
  if (state.method !== "POST" || route.kind !== "mcp") return;
  const headers = state.headers;
  if (!isJsonContentType(headers["content-type"])) {
    throw new GatewayError(ErrorCode.Rejected, 415, "Unsupported Media Type: an MCP POST must have Content-Type: application/json");
  }
  if (!acceptsJsonAndSse(headers.accept ?? "")) {
    throw new GatewayError(ErrorCode.Rejected, 406, "Not Acceptable: an MCP POST must accept both application/json and text/event-stream");
  }
  return readBody(c.req.raw, route.maxBodyBytes, headers["content-length"] ?? null).then((bytes) => {
    state.mcp = parseMessage(decodeUtf8(bytes));
    state.body = bytes;
  });
}
