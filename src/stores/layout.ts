/**
 * The store's key names: the one place that spells them (`docs/storage.md` describes each key, its
 * format, who writes it and the consistency it relies on). Pure.
 *
 * - `mcp:<id>` / `oas:<id>`: one API definition of that kind;
 * - `meta:apis-version`: the definitions' version stamp, rewritten after every definition write;
 * - `policy:<id>`: one policy;
 * - `meta:policies-version`: the policies' version stamp;
 * - `key:<sha256 hex>`: one API key's session (the key itself is never stored);
 * - `mcp-tool-headers:<id>`: the `x-mcp-header` arguments of an MCP proxy's tools, as learnt from its answers.
 */

/** What an API definition is: an MCP proxy, or a plain OAS API proxied as plain HTTP. */
export type ApiKind = "mcp" | "oas";

export const DEFINITION_PREFIX: Readonly<Record<ApiKind, string>> = { mcp: "mcp:", oas: "oas:" };
export const APIS_VERSION_KEY = "meta:apis-version";
export const POLICY_PREFIX = "policy:";
export const POLICIES_VERSION_KEY = "meta:policies-version";
export const API_KEY_PREFIX = "key:";
export const TOOL_HEADERS_PREFIX = "mcp-tool-headers:";

/** The store key of what an MCP proxy's tools mirror into `Mcp-Param-*` headers. */
export function toolHeadersKey(apiId: string): string {
  return TOOL_HEADERS_PREFIX + apiId;
}

/** The store key of an API definition. */
export function definitionKey(kind: ApiKind, id: string): string {
  return DEFINITION_PREFIX[kind] + id;
}

/** The kind and id of a definition's store key, or `undefined` for any other key. */
export function parseDefinitionKey(key: string): { kind: ApiKind; id: string } | undefined {
  for (const kind of ["mcp", "oas"] as const) {
    if (key.startsWith(DEFINITION_PREFIX[kind])) return { kind, id: key.slice(DEFINITION_PREFIX[kind].length) };
  }
  return undefined;
}

/** A fresh version stamp: time-ordered and unique across concurrent writers. */
export function newStamp(): string {
  return `${Date.now().toString(36)}-${crypto.randomUUID()}`;
}
