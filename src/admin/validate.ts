/**
 * Validating a definition written through the management APIs. Pure; returns results, not
 * exceptions. The rules, in the order a client meets them (the reference's "Validation" section):
 *
 * 1. the body is one JSON (or, on the Dashboard API, YAML) object;
 * 2. the `x-tyk-api-gateway` extension is present at the root;
 * 3. the OpenAPI structure (`openapi` 3.0.x/3.1.x, `info.title`, `info.version`, `paths`) and the
 *    extension validate against the schema (`src/definitions/schema.ts`, including the
 *    `mcpTools`, `mcpResources` and `mcpPrompts` maps);
 * 4. Protected Resource Metadata, when present and enabled, names at least one authorization server
 *    (MCP proxies);
 * 5. an MCP middleware map on a plain OAS API is refused (it belongs on `/tyk/mcps`);
 * 6. settings the schema admits but that cannot work are refused: a JWT scheme whose key or JWKS
 *    settings cannot be used (`compileAuth`, the same compilation the request path makes);
 * 7. the API id is a safe path component; the listen path collides with no other API and with no
 *    admin path.
 *
 * The middleware Tyk accepts but ignores on MCP primitives (`transformRequestMethod`,
 * `transformResponseBody`, `urlRewrite`, `cache`, `mockResponse`) and globally
 * (`server.batchProcessing`, `middleware.global.cache`) passes validation and has no effect.
 */
import { compileAuth } from "../auth/config.ts";
import { DefinitionError, type McpDefinition, validateDefinition } from "../definitions/schema.ts";
import { normaliseListenPath } from "../routing/route-table.ts";
import { isSafeId } from "../definitions/repository.ts";
import type { ApiKind } from "../stores/layout.ts";

export type Invalid = { ok: false; message: string };
export type Checked<T> = { ok: true; value: T } | Invalid;

export function checkApiId(id: string): Checked<string> {
  if (!isSafeId(id)) {
    return {
      ok: false,
      message: `Invalid API ID "${truncate(id)}": use 1-128 letters, digits, ".", "_" or "-" (no path separators or traversal)`,
    };
  }
  return { ok: true, value: id };
}

function truncate(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Rule 6: the parts the request path compiles, compiled once here; the problem, naming its field. */
export function compileProblem(definition: McpDefinition): string | undefined {
  try {
    compileAuth(definition);
    return undefined;
  } catch (error) {
    if (error instanceof DefinitionError) return error.message;
    throw error;
  }
}

/** Rules 1 to 6: what can be checked on the document alone. */
export function checkDefinition(body: unknown, kind: ApiKind): Checked<McpDefinition> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return { ok: false, message: "The request body must be one Tyk OAS API definition (a JSON object)" };
  }
  const doc = body as Record<string, unknown>;
  if (!("x-tyk-api-gateway" in doc) || doc["x-tyk-api-gateway"] === null) {
    return { ok: false, message: "The x-tyk-api-gateway extension is missing at the root of the definition" };
  }
  const result = validateDefinition(doc);
  if (!result.ok) {
    const kindName = kind === "mcp" ? "MCP proxy" : "OAS API";
    return { ok: false, message: `The ${kindName} definition is invalid: ${result.issues.join("; ")}` };
  }
  const tyk = result.definition["x-tyk-api-gateway"];
  const prm = tyk.server.authentication?.protectedResourceMetadata;
  if (kind === "mcp" && prm?.enabled && (prm.authorizationServers ?? []).filter((s) => s.trim() !== "").length === 0) {
    return {
      ok: false,
      message:
        "x-tyk-api-gateway.server.authentication.protectedResourceMetadata: at least one entry in authorizationServers is required for an MCP proxy",
    };
  }
  if (kind === "oas") {
    const middleware = tyk.middleware ?? {};
    const mcpMaps = (["mcpTools", "mcpResources", "mcpPrompts"] as const).filter((m) => middleware[m] !== undefined);
    if (mcpMaps.length > 0) {
      return {
        ok: false,
        message: `x-tyk-api-gateway.middleware.${mcpMaps[0]} is only valid on an MCP proxy: create it through the MCP endpoints`,
      };
    }
  }
  const problem = compileProblem(result.definition);
  if (problem) return { ok: false, message: `The ${kind === "mcp" ? "MCP proxy" : "OAS API"} definition is invalid: ${problem}` };
  return { ok: true, value: result.definition };
}

/** Something that already holds a listen path. */
export interface ListenPathOwner {
  id: string;
  listenPath: string;
}

/**
 * Rule 7 for listen paths: no two APIs on the same listen path, none on an admin path.
 *
 * @param reserved admin path prefixes served on the same host (e.g. `/tyk`, `/api`); when the admin
 *   API shares the host, the root listen path `/` is refused too, since it would cover them
 */
export function checkListenPath(
  listenPath: string,
  selfId: string,
  others: readonly ListenPathOwner[],
  reserved: readonly string[],
): Checked<string> {
  const path = normaliseListenPath(listenPath);
  if (reserved.length > 0 && path === "") {
    return { ok: false, message: `Listen path "/" would cover the admin API (${reserved.join(", ")}); choose a sub-path` };
  }
  for (const prefix of reserved) {
    if (path === prefix || path.startsWith(`${prefix}/`)) {
      return { ok: false, message: `Listen path "${listenPath}" collides with the admin API path ${prefix}/` };
    }
  }
  const clash = others.find((o) => o.id !== selfId && normaliseListenPath(o.listenPath) === path);
  if (clash) {
    return { ok: false, message: `Listen path "${listenPath}" is already used by API "${clash.id}"` };
  }
  return { ok: true, value: path };
}
