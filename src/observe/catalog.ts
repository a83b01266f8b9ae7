/**
 * The catalog: what each MCP proxy's upstream exposes (tools, resources, resource templates,
 * prompts), read from the upstream as the admin sees it (unfiltered, with the upstream's own
 * credential). It feeds the dashboard's registry and the names metrics and analytics may use as
 * labels (`labels.ts`). Pure: the fetch is handed in.
 *
 * One reading is an MCP session of its own: `initialize`, `notifications/initialized`, each list the
 * server's capabilities announce (page by page, at most {@link MAX_PAGES} pages), then `DELETE` of
 * the session. Answers may be JSON or SSE. A reading is kept for {@link CATALOG_MAX_AGE_MS}; one that
 * fails is kept (with its error) for a tenth of that.
 */
import { declaredOperations } from "../definitions/operations.ts";
import type { McpDefinition } from "../definitions/schema.ts";
import { listMethod } from "../mcp/jsonrpc.ts";
import { applyHeaderTransform, applyUpstreamAuth, compileUpstreamAuth, type SecretSource } from "../proxy/upstream-auth.ts";

export const CATALOG_MAX_AGE_MS = 5 * 60_000;
const MAX_PAGES = 10;
const TIMEOUT_MS = 5000;

export interface CatalogItem {
  name: string;
  title?: string;
  description?: string;
}

/** What one upstream exposes. */
export interface Catalog {
  tools: CatalogItem[];
  /** Resources by URI (`name` is the URI, `title` the resource's name). */
  resources: CatalogItem[];
  /** Resource templates (`name` is the URI template). */
  resourceTemplates: CatalogItem[];
  prompts: CatalogItem[];
  /** When it was read (Unix ms). */
  readAt: number;
  /** Why the reading failed, if it did. */
  error?: string;
}

/** The MCP endpoint of a definition at its upstream: the first declared POST path (default `/mcp`). */
export function mcpEndpointUrl(definition: McpDefinition): string {
  const tyk = definition["x-tyk-api-gateway"];
  const post = declaredOperations(definition).find((op) => op.method === "POST");
  const relative = post?.path ?? "/mcp";
  let listen = tyk.server.listenPath.value;
  while (listen.endsWith("/")) listen = listen.slice(0, -1);
  const forwardPath = tyk.server.listenPath.strip ? relative : `${listen}${relative}`;
  const upstream = new URL(tyk.upstream.url);
  const base = upstream.pathname.replace(/\/+$/, "");
  return `${upstream.origin}${base}${forwardPath}`;
}

/** The JSON-RPC message answering `id` in a JSON or SSE body. */
function answerOf(
  contentType: string,
  text: string,
  id: number | string,
): { result?: Record<string, unknown>; error?: { message?: string } } {
  const messages: unknown[] = [];
  if (contentType.includes("text/event-stream")) {
    for (const event of text.split(/\r?\n\r?\n/)) {
      const data = event
        .split(/\r?\n/)
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).replace(/^ /, ""))
        .join("\n");
      if (data === "") continue;
      try {
        messages.push(JSON.parse(data));
      } catch {
        // not a message
      }
    }
  } else {
    messages.push(JSON.parse(text));
  }
  const answer = messages.find((m) => typeof m === "object" && m !== null && (m as { id?: unknown }).id === id);
  if (answer === undefined) throw new Error(`no answer to request ${id}`);
  return answer as { result?: Record<string, unknown>; error?: { message?: string } };
}

const items = (list: unknown, key: "name" | "uri" | "uriTemplate"): CatalogItem[] =>
  Array.isArray(list)
    ? list.flatMap((item) => {
        if (item === null || typeof item !== "object") return [];
        const entry = item as Record<string, unknown>;
        const name = entry[key];
        if (typeof name !== "string") return [];
        const out: CatalogItem = { name };
        const title = key === "name" ? entry.title : entry.name;
        if (typeof title === "string") out.title = title;
        if (typeof entry.description === "string") out.description = entry.description.slice(0, 500);
        return [out];
      })
    : [];

/**
 * Reads what the upstream of `definition` exposes.
 * @param fetchFn the fetch used to reach upstreams
 */
export async function readCatalog(
  definition: McpDefinition,
  fetchFn: typeof fetch,
  secrets: SecretSource,
  now = Date.now(),
): Promise<Catalog> {
  const catalog: Catalog = { tools: [], resources: [], resourceTemplates: [], prompts: [], readAt: now };
  const url = mcpEndpointUrl(definition);
  const auth = compileUpstreamAuth(definition);
  const transform = definition["x-tyk-api-gateway"].middleware?.global?.transformRequestHeaders;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error("the upstream did not answer in time")), TIMEOUT_MS);
  let session: string | null = null;
  let protocol = "2025-11-25";
  let nextId = 1;
  const headersFor = async (): Promise<Headers> => {
    const headers = new Headers({ "content-type": "application/json", accept: "application/json, text/event-stream" });
    if (transform?.enabled) applyHeaderTransform(headers, transform, secrets);
    if (auth !== undefined) await applyUpstreamAuth(headers, auth, secrets, fetchFn);
    if (session !== null) headers.set("mcp-session-id", session);
    if (nextId > 1) headers.set("mcp-protocol-version", protocol);
    return headers;
  };
  const send = async (method: string, params: Record<string, unknown> | undefined, notification = false) => {
    const id = nextId++;
    const body = JSON.stringify(notification ? { jsonrpc: "2.0", method } : { jsonrpc: "2.0", id, method, ...(params ? { params } : {}) });
    const response = await fetchFn(url, { method: "POST", headers: await headersFor(), body, signal: abort.signal });
    if (method === "initialize") session = response.headers.get("mcp-session-id");
    const text = await response.text();
    if (notification) return undefined;
    if (!response.ok) throw new Error(`${method}: HTTP ${response.status}`);
    const answer = answerOf(response.headers.get("content-type") ?? "", text, id);
    if (answer.error) throw new Error(`${method}: ${answer.error.message ?? "error"}`);
    return answer.result ?? {};
  };
  const list = async (method: string, member: string, key: "name" | "uri" | "uriTemplate"): Promise<CatalogItem[]> => {
    const out: CatalogItem[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = (await send(method, cursor === undefined ? undefined : { cursor })) ?? {};
      out.push(...items(result[member], key));
      cursor = typeof result.nextCursor === "string" ? result.nextCursor : undefined;
      if (cursor === undefined) break;
    }
    return out;
  };
  try {
    const init = await send("initialize", {
      protocolVersion: protocol,
      capabilities: {},
      clientInfo: { name: "mcp-gateway-catalog", version: "1.0.0" },
    });
    if (typeof init?.protocolVersion === "string") protocol = init.protocolVersion;
    const capabilities = (init?.capabilities ?? {}) as Record<string, unknown>;
    await send("notifications/initialized", undefined, true);
    if (capabilities.tools) catalog.tools = await list("tools/list", "tools", "name");
    if (capabilities.resources) {
      catalog.resources = await list("resources/list", "resources", "uri");
      catalog.resourceTemplates = await list("resources/templates/list", "resourceTemplates", "uriTemplate").catch(() => []);
    }
    if (capabilities.prompts) catalog.prompts = await list("prompts/list", "prompts", "name");
  } catch (error) {
    catalog.error = error instanceof Error ? error.message : String(error);
  } finally {
    if (session !== null) {
      const headers = await headersFor().catch(() => new Headers());
      await fetchFn(url, { method: "DELETE", headers, signal: abort.signal })
        .then((r) => r.body?.cancel())
        .catch(() => {});
    }
    clearTimeout(timer);
  }
  return catalog;
}

/**
 * The names a list answer (JSON or SSE, as the client got it) gives, `[]` when it gives none (an
 * error, a body that is no answer to `id`).
 */
export function namesInListAnswer(method: string, sse: boolean, text: string, id: number | string): string[] {
  const list = listMethod(method);
  if (list === undefined) return [];
  try {
    const answer = answerOf(sse ? "text/event-stream" : "application/json", text, id);
    return items(answer.result?.[list.member], list.key).map((item) => item.name);
  } catch {
    return [];
  }
}
