/**
 * Reading one JSON-RPC 2.0 message of MCP (2025-11-25 or 2026-07-28) and classifying it.
 *
 * Pure: no runtime imports. The HTTP body has already been read within its size limit
 * (see `read-body.ts`); this module decides what the message is and what it targets:
 *
 * - `mcp_method`: the JSON-RPC method (`""` for a client's response to a server request);
 * - `mcp_primitive_type` / `mcp_primitive_name`: `tools/call` and `prompts/get` by `params.name`;
 *   `resources/read`, `resources/subscribe` and `resources/unsubscribe` by `params.uri`;
 *   `completion/complete` by its `ref` (`ref/prompt` → the prompt's name, `ref/resource` → the
 *   resource template's URI).
 *
 * A message that a policy check and the upstream could read differently is refused: duplicate
 * member names anywhere, member names that collide without regard to case at the top level and in
 * `params`, and odd-case spellings of the members the gateway reads (`Method`, `Name`, …). So is
 * one the upstream would not take as a JSON-RPC message at all (a member the protocol does not
 * have, a `result` that is no object, an id no JSON parser reads back exactly): the gateway answers
 * it with its own error rather than passing it on to the upstream's parse error.
 *
 * What decides the message's MCP revision is kept too (`params._meta`'s protocol version,
 * `initialize`'s `protocolVersion`), with the target as written and a tool call's arguments, which
 * the 2026-07-28 mirrored headers are compared with (`revision.ts`).
 *
 * The primitive's name is the identifier in its canonical form (`identifiers.ts`): the form
 * authorization compares. One that cannot be read one way only (a control character, surrounding
 * whitespace, a resource URI that does not parse) is refused with -32602.
 */
import { GatewayError, type JsonRpcId } from "../errors.ts";
import { canonicalIdentifier } from "./identifiers.ts";
import { findAmbiguousMember, hasLowerAsciiKeys, isUnambiguous } from "./json-guard.ts";

export type PrimitiveType = "tool" | "resource" | "prompt";

export type MessageKind = "request" | "notification" | "response";

/** One classified JSON-RPC message. */
export interface McpMessage {
  kind: MessageKind;
  /** The request id; `null` for notifications. For responses: the id being answered. */
  id: JsonRpcId;
  /** `mcp_method`: the JSON-RPC method, `""` for responses. */
  method: string;
  /** `mcp_primitive_type`, or `""` when the message does not target one primitive. */
  primitiveType: PrimitiveType | "";
  /** `mcp_primitive_name`, or `""`. */
  primitiveName: string;
  /**
   * `params._meta["io.modelcontextprotocol/protocolVersion"]` as sent (MCP 2026-07-28 declares the
   * revision there), `undefined` when absent.
   */
  metaVersion?: unknown;
  /** `initialize`'s `params.protocolVersion` as sent, `undefined` otherwise. */
  initVersion?: unknown;
  /**
   * The target as written in the body (`params.name` or `params.uri`, before canonical form), for
   * comparison with the `Mcp-Name` header; `undefined` for a method that names none.
   */
  name?: string | undefined;
  /** `tools/call`'s `params.arguments` as sent (for `Mcp-Param-*` headers), `undefined` otherwise. */
  args?: unknown;
  /** A request's `params.cursor` when it is a string (the page a list request asks for), else `undefined`. */
  cursor?: string | undefined;
}

/** A list method: the member of its result that holds the items, each item's key, and what they are. */
export interface ListMethod {
  member: "tools" | "prompts" | "resources" | "resourceTemplates";
  key: "name" | "uri" | "uriTemplate";
  type: PrimitiveType;
}

const LIST_METHODS: Readonly<Record<string, ListMethod>> = {
  "tools/list": { member: "tools", key: "name", type: "tool" },
  "prompts/list": { member: "prompts", key: "name", type: "prompt" },
  "resources/list": { member: "resources", key: "uri", type: "resource" },
  "resources/templates/list": { member: "resourceTemplates", key: "uriTemplate", type: "resource" },
};

/** `method` as a list method (`tools/list`, `prompts/list`, `resources/list`, `resources/templates/list`), else `undefined`. */
export function listMethod(method: string): ListMethod | undefined {
  return Object.hasOwn(LIST_METHODS, method) ? LIST_METHODS[method] : undefined;
}

/** Where MCP 2026-07-28 declares a request's protocol version: a key of `params._meta`. */
export const PROTOCOL_VERSION_META_KEY = "io.modelcontextprotocol/protocolVersion";

/** Member names the gateway reads; an odd-case spelling of one of them is refused. */
const TOP_LEVEL_MEMBERS = ["jsonrpc", "id", "method", "params", "result", "error"] as const;
const PARAMS_MEMBERS = ["name", "uri", "ref", "arguments", "cursor", "_meta", "task"] as const;
const REF_MEMBERS = ["type", "name", "uri"] as const;

const CASE_FOLD_PATHS: ReadonlySet<string> = new Set(["", "params", "params.ref"]);

/** Methods whose target primitive is named by `params.name` or `params.uri`. */
const PRIMITIVE_TARGETS: Readonly<Record<string, { type: PrimitiveType; member: "name" | "uri" }>> = {
  "tools/call": { type: "tool", member: "name" },
  "prompts/get": { type: "prompt", member: "name" },
  "resources/read": { type: "resource", member: "uri" },
  "resources/subscribe": { type: "resource", member: "uri" },
  "resources/unsubscribe": { type: "resource", member: "uri" },
};

/**
 * The same on 2026-07-28, which has no `resources/subscribe` or `resources/unsubscribe` (replaced
 * by `subscriptions/listen`): they are methods like any unknown one, for the upstream to refuse.
 */
const MODERN_PRIMITIVE_TARGETS: Readonly<Record<string, { type: PrimitiveType; member: "name" | "uri" }>> = {
  "tools/call": PRIMITIVE_TARGETS["tools/call"]!,
  "prompts/get": PRIMITIVE_TARGETS["prompts/get"]!,
  "resources/read": PRIMITIVE_TARGETS["resources/read"]!,
};

/**
 * Parses and classifies one JSON-RPC message.
 *
 * @param modern the request's header declares MCP 2026-07-28 (whose methods differ a little)
 * @throws GatewayError -32700 (400) for text that is not JSON; -32600 (400) for JSON that is not
 *   one MCP JSON-RPC message (a batch array, a missing or odd member, a duplicate member name).
 */
export function parseMessage(text: string, modern = false): McpMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new GatewayError("parse_error");
  }
  if (Array.isArray(value)) {
    throw invalidRequest("Invalid Request: JSON-RPC batches are not part of MCP 2025-11-25; send one message per HTTP request");
  }
  if (value === null || typeof value !== "object") {
    throw invalidRequest("Invalid Request: the body must be one JSON-RPC message object");
  }
  try {
    return classify(text, value as Record<string, unknown>, modern ? MODERN_PRIMITIVE_TARGETS : PRIMITIVE_TARGETS);
  } catch (error) {
    if (error instanceof GatewayError) error.id ??= peekId(value);
    throw error;
  }
}

function classify(text: string, message: Record<string, unknown>, targets: typeof PRIMITIVE_TARGETS): McpMessage {
  // The cheap check first; the full scan only to name what is wrong.
  const ambiguous = isUnambiguous(text, message) ? undefined : findAmbiguousMember(text, CASE_FOLD_PATHS);
  if (ambiguous) {
    const where = ambiguous.path === "" ? "the message" : `"${ambiguous.path}"`;
    throw invalidRequest(
      ambiguous.reason === "too-deep"
        ? "Invalid Request: the message is nested too deeply"
        : `Invalid Request: member "${ambiguous.name}" appears more than once in ${where}` +
            (ambiguous.reason === "case-duplicate" ? " (names differing only in case)" : ""),
    );
  }
  rejectOddCase(message, TOP_LEVEL_MEMBERS, "the message");

  const rawId = message.id;
  const id: JsonRpcId = typeof rawId === "string" || typeof rawId === "number" ? rawId : null;

  for (const key in message) {
    if (!(TOP_LEVEL_MEMBERS as readonly string[]).includes(key)) fail(`"${key}" is not a member of a JSON-RPC message`);
  }
  if (message.jsonrpc !== "2.0") fail('"jsonrpc" must be "2.0"');
  if ("id" in message && !isValidId(rawId)) fail('"id" must be a string or an integer');
  if (typeof rawId === "number" && !Number.isSafeInteger(rawId)) {
    // Answered with id null: JSON.parse has already rounded it, so it cannot be echoed as sent.
    fail('"id" must be an integer between -(2^53 - 1) and 2^53 - 1, or a string');
  }

  const hasMethod = "method" in message;
  const isResponse = "result" in message || "error" in message;
  if (hasMethod && isResponse) fail('a message cannot carry both "method" and "result"/"error"');

  if (isResponse) {
    if (!("id" in message)) fail('a response must carry the "id" it answers');
    if ("result" in message && "error" in message) fail('a response carries "result" or "error", not both');
    if ("error" in message && !isErrorObject(message.error)) fail('"error" must have an integer "code" and a string "message"');
    if ("result" in message && !isObject(message.result)) fail('"result" must be an object');
    return {
      kind: "response",
      id,
      method: "",
      primitiveType: "",
      primitiveName: "",
      metaVersion: undefined,
      initVersion: undefined,
      name: undefined,
      args: undefined,
      cursor: undefined,
    };
  }

  if (!hasMethod) fail('the message has no "method"');
  const method = message.method;
  if (typeof method !== "string" || method === "") fail('"method" must be a non-empty string');
  const params = message.params;
  if ("params" in message && (params === null || typeof params !== "object" || Array.isArray(params))) {
    fail('"params" must be an object');
  }
  const kind: MessageKind = "id" in message ? "request" : "notification";
  const p = params as Record<string, unknown> | undefined;
  const target = classifyTarget(method as string, p, targets);
  // Only the classification is kept (and, for a tool call, its arguments): the rest can be collected at once.
  let metaVersion: unknown;
  let initVersion: unknown;
  let name: string | undefined;
  let args: unknown;
  let cursor: string | undefined;
  if (p !== undefined) {
    const meta = p._meta;
    if (meta !== null && typeof meta === "object") metaVersion = (meta as Record<string, unknown>)[PROTOCOL_VERSION_META_KEY];
    if (method === "initialize") initVersion = p.protocolVersion;
    const member = targets[method as string]?.member;
    if (member !== undefined) name = p[member] as string;
    if (method === "tools/call") args = p.arguments;
    if (typeof p.cursor === "string") cursor = p.cursor;
  }
  return {
    kind,
    id,
    method: method as string,
    primitiveType: target.type,
    primitiveName: target.name,
    metaVersion,
    initVersion,
    name,
    args,
    cursor,
  };
}

function invalidRequest(message: string): GatewayError {
  return new GatewayError("invalid_request", message);
}

function fail(reason: string): never {
  throw invalidRequest(`Invalid Request: ${reason}`);
}

const NO_TARGET = { type: "", name: "" } as const;

function classifyTarget(
  method: string,
  params: Record<string, unknown> | undefined,
  targets: typeof PRIMITIVE_TARGETS,
): { type: PrimitiveType | ""; name: string } {
  if (params) rejectOddCase(params, PARAMS_MEMBERS, '"params"');
  const target = targets[method];
  if (target) {
    const name = params?.[target.member];
    if (typeof name !== "string" || name === "") fail(`${method} needs "params.${target.member}" as a non-empty string`);
    return { type: target.type, name: canonical(target.type, name as string, `params.${target.member}`) };
  }
  if (method === "completion/complete") {
    const ref = params?.ref;
    if (ref === null || typeof ref !== "object" || Array.isArray(ref)) fail('completion/complete needs "params.ref"');
    const r = ref as Record<string, unknown>;
    rejectOddCase(r, REF_MEMBERS, '"params.ref"');
    if (r.type === "ref/prompt") {
      if (typeof r.name !== "string" || r.name === "") fail('a "ref/prompt" reference needs "name"');
      return { type: "prompt", name: canonical("prompt", r.name as string, "params.ref.name") };
    }
    if (r.type === "ref/resource") {
      if (typeof r.uri !== "string" || r.uri === "") fail('a "ref/resource" reference needs "uri"');
      return { type: "resource", name: canonical("resource", r.uri as string, "params.ref.uri") };
    }
    fail('"params.ref.type" must be "ref/prompt" or "ref/resource"');
  }
  return NO_TARGET;
}

/** The identifier in its canonical form, or -32602 saying why it cannot be read one way only. */
function canonical(type: PrimitiveType, identifier: string, member: string): string {
  const result = canonicalIdentifier(type, identifier);
  if (!result.ok) throw new GatewayError("invalid_params", `Invalid params: "${member}" ${result.problem}`);
  return result.value;
}

function isObject(value: unknown): boolean {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function rejectOddCase(obj: Record<string, unknown>, members: readonly string[], where: string): void {
  // The common case: every key lower-case ASCII, so none is an odd-case spelling of a member.
  if (hasLowerAsciiKeys(obj)) return;
  for (const key of Object.keys(obj)) {
    const lower = key.toLowerCase();
    if (key !== lower || !members.includes(key)) {
      const canonical = members.find((m) => m.toLowerCase() === lower);
      if (canonical !== undefined && canonical !== key) {
        throw invalidRequest(`Invalid Request: "${key}" in ${where} must be spelled "${canonical}"`);
      }
    }
  }
}

function isValidId(id: unknown): boolean {
  return typeof id === "string" || (typeof id === "number" && Number.isInteger(id));
}

function isErrorObject(error: unknown): boolean {
  if (error === null || typeof error !== "object") return false;
  const e = error as Record<string, unknown>;
  return typeof e.code === "number" && Number.isInteger(e.code) && typeof e.message === "string";
}

/**
 * Best effort: the id of a message whose full parse failed, so that an error can still name it.
 * Returns `null` when there is none to be had, or none that can be echoed exactly (a number JSON
 * parsing may have rounded).
 */
export function peekId(value: unknown): JsonRpcId {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const id = (value as Record<string, unknown>).id;
    if (typeof id === "string" || (typeof id === "number" && Number.isSafeInteger(id))) return id;
  }
  return null;
}
