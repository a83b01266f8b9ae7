/**
 * Which MCP revision a request is read in, and the 2026-07-28 headers that mirror its body. Pure.
 *
 * One endpoint serves both revisions; each request says which it speaks ({@link decideRevision}):
 *
 * - the `MCP-Protocol-Version` header (exactly one `YYYY-MM-DD` value),
 * - `params._meta["io.modelcontextprotocol/protocolVersion"]` (how 2026-07-28 declares it),
 * - `initialize`'s `params.protocolVersion` (how 2025-11-25 negotiates it).
 *
 * Where more than one is present they must agree (-32020, 400). A version the gateway does not
 * serve gets -32022 (400) with `data.supported` and `data.requested`: an `initialize` is told the
 * versions of its own era, any other request those of 2026-07-28 (as the SDKs do: each era's
 * operations name only that era's versions, and a client that declares its version per request
 * speaks the stateless era). No declaration at all is
 * 2025-11-25, as every request was before (sessions as the upstream runs them). 2026-07-28 is
 * read by its own rules; every earlier supported version (2025-11-25, 2025-06-18, 2025-03-26,
 * 2024-11-05) by 2025-11-25's, which the gateway has always applied to them.
 *
 * On 2026-07-28 the transport mirrors the body into headers so that intermediaries can route
 * without parsing it, and a server that reads the body must refuse a request whose headers say
 * something else ({@link checkMirroredHeaders}): `Mcp-Method` on every request, `Mcp-Name` on
 * `tools/call`, `resources/read` and `prompts/get` (the name or URI exactly as in the body), and
 * `Mcp-Param-{Name}` for the tool arguments its schema marks with `x-mcp-header` (see
 * `param-headers.ts`). A value may come as `=?base64?…?=` (the UTF-8 bytes in Base64) and is
 * decoded before it is compared. Missing, different, or with characters a header value may not
 * carry: -32020, 400. The gateway itself decides on the body alone: authorization and limits never
 * read these headers, which pass to the upstream unchanged.
 */
import { GatewayError, type Revision } from "../errors.ts";
import type { McpMessage } from "./jsonrpc.ts";
import type { ToolHeaders } from "./param-headers.ts";

export type { Revision };

export const MODERN: Revision = "2026-07-28";
export const LEGACY: Revision = "2025-11-25";

/** The protocol versions of the stateless era (2026-07-28 on) the gateway serves. */
export const MODERN_VERSIONS: readonly string[] = ["2026-07-28"];
/** The protocol versions of the `initialize` era the gateway serves (by 2025-11-25's rules). */
export const LEGACY_VERSIONS: readonly string[] = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
/** Every protocol version the gateway serves, newest first. */
export const SUPPORTED_VERSIONS: readonly string[] = [...MODERN_VERSIONS, ...LEGACY_VERSIONS];

/** The methods whose target `Mcp-Name` mirrors. */
const NAMED_METHODS: ReadonlySet<string> = new Set(["tools/call", "resources/read", "prompts/get"]);

function mismatch(message: string): GatewayError {
  return new GatewayError("header_mismatch", `Header mismatch: ${message}`);
}

/**
 * The revision a request's headers alone declare: 2026-07-28 when its `MCP-Protocol-Version` says
 * so, else 2025-11-25. For answers given before the body is read (or when it is not).
 */
export function headerRevision(header: string | undefined): Revision {
  return header === MODERN ? MODERN : LEGACY;
}

/**
 * The revision of a message: from the `MCP-Protocol-Version` header (`header`), the body's `_meta`
 * and `initialize`'s `protocolVersion`, which must agree.
 *
 * @throws GatewayError -32020 (400) when they disagree, or the header carries more than one
 *   version; -32602 when a body's version is not a string; -32022 (400) for a version
 *   the gateway does not serve
 */
export function decideRevision(header: string | undefined, mcp: McpMessage): Revision {
  const { metaVersion, initVersion } = mcp;
  // The common cases first, allocating nothing: a declaration by the header alone.
  if (metaVersion === undefined && initVersion === undefined) {
    if (header === undefined) return LEGACY;
    if (header === MODERN) return MODERN;
    if (header === LEGACY) return LEGACY;
  }
  let version: string | undefined;
  let from = "";
  if (header !== undefined) {
    if (header.includes(",")) throw mismatch("MCP-Protocol-Version must carry exactly one protocol version");
    version = header;
    from = "the MCP-Protocol-Version header";
  }
  const agree = (value: unknown, where: string) => {
    if (value === undefined) return;
    if (typeof value !== "string") throw new GatewayError("invalid_params", `Invalid params: ${where} must be a string`);
    if (version !== undefined && value !== version) throw mismatch(`${from} says ${version}, ${where} says ${value}`);
    version = value;
    from = where;
  };
  agree(metaVersion, 'params._meta["io.modelcontextprotocol/protocolVersion"]');
  agree(initVersion, "initialize's params.protocolVersion");
  if (version === undefined) return LEGACY;
  if (!SUPPORTED_VERSIONS.includes(version)) {
    throw new GatewayError("unsupported_protocol_version", `Unsupported protocol version: ${version}`, {
      data: { supported: mcp.method === "initialize" ? LEGACY_VERSIONS : MODERN_VERSIONS, requested: version },
    });
  }
  return version === MODERN ? MODERN : LEGACY;
}

/** Whether a header value holds only what RFC 9110 lets a field value carry (visible ASCII, space, tab). */
function plainValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code > 0x7e) return false;
  }
  return true;
}

const SENTINEL_START = "=?base64?";
const SENTINEL_END = "?=";
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A mirrored header's value as the client meant it: a `=?base64?…?=` value decoded (Base64 of
 * UTF-8; the markers are case-sensitive), any other as it is.
 *
 * @throws GatewayError -32020 for characters a header value may not carry, or a Base64 value that
 *   does not decode to UTF-8
 */
export function decodeHeaderValue(name: string, value: string): string {
  if (!plainValue(value)) throw mismatch(`${name} carries characters a header value may not`);
  if (!value.startsWith(SENTINEL_START) || !value.endsWith(SENTINEL_END) || value.length < SENTINEL_START.length + SENTINEL_END.length) {
    return value;
  }
  const encoded = value.slice(SENTINEL_START.length, value.length - SENTINEL_END.length);
  if (encoded.length % 4 !== 0 || !BASE64.test(encoded)) throw mismatch(`${name} is not valid Base64`);
  try {
    const binary = atob(encoded);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return utf8.decode(bytes);
  } catch {
    throw mismatch(`${name} is not valid Base64 of UTF-8 text`);
  }
}

/**
 * The 2026-07-28 rule that the headers mirror the body: `MCP-Protocol-Version` (whose agreement
 * {@link decideRevision} checked), `Mcp-Method` on every request (and, when
 * sent, on a notification), `Mcp-Name` on `tools/call`, `resources/read` and `prompts/get`, and on
 * a tool call the `Mcp-Param-*` headers of the tool's `x-mcp-header` arguments (when the gateway has
 * seen the tool's schema: `tools`). A client's response has no method: there is nothing to mirror.
 *
 * @param headers the request's headers, lower-case names
 * @throws GatewayError -32020 (400) for a missing header, one that disagrees with the body, or one
 *   with characters a header value may not carry
 */
export function checkMirroredHeaders(headers: Readonly<Record<string, string>>, mcp: McpMessage, tools?: ToolHeaders): void {
  if (mcp.kind === "response") return;
  if (headers["mcp-protocol-version"] === undefined) throw mismatch("the MCP-Protocol-Version header is required");
  const method = headers["mcp-method"];
  if (method === undefined) {
    if (mcp.kind === "request") throw mismatch("the Mcp-Method header is required");
  } else {
    if (!plainValue(method)) throw mismatch("Mcp-Method carries characters a header value may not");
    if (method !== mcp.method) throw mismatch(`the Mcp-Method header says "${method}", the body's method is "${mcp.method}"`);
  }
  if (mcp.kind !== "request" || !NAMED_METHODS.has(mcp.method)) return;
  const raw = headers["mcp-name"];
  if (raw === undefined) throw mismatch(`the Mcp-Name header is required on ${mcp.method}`);
  const name = decodeHeaderValue("Mcp-Name", raw);
  if (name !== mcp.name)
    throw mismatch(`the Mcp-Name header does not match the ${mcp.method === "resources/read" ? "params.uri" : "params.name"} of the body`);
  if (mcp.method === "tools/call") tools?.check(headers, name, mcp.args, decodeHeaderValue, mismatch);
}
