/**
 * read: on an MCP POST, check the transport headers, read the body within the API's size limit
 * and classify the JSON-RPC message (`state.mcp`, `state.body`). Other methods, and plain OAS APIs,
 * pass untouched (their bodies stream to the upstream as they come).
 *
 * Per MCP 2025-11-25 Streamable HTTP, a POST carries `Content-Type: application/json` and an
 * `Accept` that lists both `application/json` and `text/event-stream`. A wrong media type gets 415,
 * an `Accept` that does not allow both gets 406, both as JSON-RPC errors (-32000); a body over the
 * limit gets 413, a malformed message -32700 or -32600, and none reaches the upstream. A tool,
 * resource or prompt with a `requestSizeLimit` of its own refuses a bigger message with 413 too.
 *
 * The message's MCP revision is decided here (`mcp/revision.ts`: the `MCP-Protocol-Version`
 * header, `params._meta`, `initialize`'s version; -32020 when they disagree, -32022 for a version
 * not served) and kept on `state.revision`. On 2026-07-28 the `Mcp-Method`, `Mcp-Name` and
 * `Mcp-Param-*` headers must mirror the body (-32020); the `x-mcp-header` arguments of each tool are
 * learnt per API from its `tools/list` answers (`state.toolHeaders`, called by `forward`) and shared
 * through the store (`ToolHeaderBook`): a call of a tool this isolate has not seen listed waits for
 * one read of what others learnt.
 */
import { GatewayError } from "../errors.ts";
import { accepts, mediaType } from "../http/headers.ts";
import { canonicalKeys } from "../mcp/identifiers.ts";
import { parseMessage } from "../mcp/jsonrpc.ts";
import type { ToolHeaderBook } from "../mcp/param-headers.ts";
import { checkMirroredHeaders, decideRevision, MODERN } from "../mcp/revision.ts";
import { DEFAULT_MAX_BODY_BYTES, decodeUtf8, readBody } from "../mcp/read-body.ts";
import type { Operation } from "../definitions/schema.ts";
import type { McpMessage, PrimitiveType } from "../mcp/jsonrpc.ts";
import type { WaitUntil } from "../context.ts";
import type { Step } from "./step.ts";

/** What the read step needs of an MCP proxy: its request size limits in bytes. */
export interface ReadPart {
  /** `middleware.global.requestSizeLimit`, else 1 MiB: enforced while reading. */
  maxBodyBytes: number;
  /** A primitive's own `requestSizeLimit` (`mcpTools.<name>`, …), by type and canonical name: checked once the message names it. */
  primitiveLimits: Readonly<Record<PrimitiveType, ReadonlyMap<string, number>>> | undefined;
  /** The API's id (what the tool-header book is keyed by). */
  apiId: string;
}

/** A tool's, resource's or prompt's own `requestSizeLimit` (413). */
function checkPrimitiveLimit(part: ReadPart, mcp: McpMessage, bytes: Uint8Array): void {
  if (part.primitiveLimits === undefined || mcp.primitiveType === "") return;
  const limit = part.primitiveLimits[mcp.primitiveType].get(mcp.primitiveName);
  if (limit !== undefined && bytes.byteLength > limit) {
    throw new GatewayError("body_too_large", `Request body exceeds the limit of ${limit} bytes for this ${mcp.primitiveType}`);
  }
}

export interface ReadDeps {
  /** The `x-mcp-header` arguments of every API's tools, as learnt from 2026-07-28 `tools/list` answers. */
  toolHeaders: ToolHeaderBook;
  /** Where the book's writes go, off the response path. */
  waitUntil: WaitUntil;
}

function sizeLimits(type: PrimitiveType, entries: Record<string, Operation> | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, operation] of canonicalKeys(type, entries)) {
    const limit = operation.requestSizeLimit;
    if (limit?.enabled && limit.value > 0) out.set(name, limit.value);
  }
  return out;
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

export function read(deps: ReadDeps): Step<ReadPart | undefined> {
  const book = deps.toolHeaders;
  return {
    name: "read",
    compile(api) {
      if (api.kind !== "mcp") return undefined;
      // `middleware.global.requestSizeLimit`, else 1 MiB.
      const middleware = api.definition["x-tyk-api-gateway"].middleware;
      const limit = middleware?.global?.requestSizeLimit;
      const primitiveLimits = {
        tool: sizeLimits("tool", middleware?.mcpTools),
        resource: sizeLimits("resource", middleware?.mcpResources),
        prompt: sizeLimits("prompt", middleware?.mcpPrompts),
      };
      const any = primitiveLimits.tool.size + primitiveLimits.resource.size + primitiveLimits.prompt.size > 0;
      return {
        maxBodyBytes: limit?.enabled && limit.value > 0 ? limit.value : DEFAULT_MAX_BODY_BYTES,
        primitiveLimits: any ? primitiveLimits : undefined,
        apiId: api.id,
      };
    },
    run(c, state, part) {
      if (part === undefined || state.method !== "POST") return;
      const headers = state.headers;
      if (mediaType(headers["content-type"]) !== "application/json") throw new GatewayError("unsupported_media_type");
      if (!acceptsJsonAndSse(headers.accept ?? "")) throw new GatewayError("not_acceptable");
      return readBody(c.req.raw, part.maxBodyBytes, headers["content-length"] ?? null).then((bytes) => {
        const declared = headers["mcp-protocol-version"];
        const mcp = parseMessage(decodeUtf8(bytes), declared === MODERN);
        state.mcp = mcp;
        state.body = bytes;
        const revision = decideRevision(declared, mcp);
        state.revision = revision;
        if (revision === MODERN) {
          const apiId = part.apiId;
          if (mcp.method === "tools/list" && mcp.kind === "request") {
            state.toolHeaders = {
              learn(result) {
                const write = book.learn(apiId, result);
                if (write !== undefined) deps.waitUntil(c, write);
              },
            };
          }
          const tool = mcp.method === "tools/call" && mcp.kind === "request" && typeof mcp.name === "string" ? mcp.name : undefined;
          const ready = tool === undefined ? undefined : book.prepare(apiId, tool);
          if (ready !== undefined) {
            return ready.then(() => {
              checkMirroredHeaders(headers, mcp, book.headers(apiId));
              checkPrimitiveLimit(part, mcp, bytes);
            });
          }
          checkMirroredHeaders(headers, mcp, book.headers(apiId));
        }
        checkPrimitiveLimit(part, mcp, bytes);
      });
    },
  };
}
