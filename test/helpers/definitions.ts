/** Building MCP proxy definitions for tests. */

export interface DefinitionOptions {
  id: string;
  listenPath: string;
  upstream: string;
  strip?: boolean;
  active?: boolean;
  middleware?: Record<string, unknown>;
  /** The transport methods `paths./mcp` declares (default: post, get and delete). */
  transport?: readonly ("post" | "get" | "delete")[];
}

const TRANSPORT_OPERATIONS = {
  post: { operationId: "mcpTransportPost", responses: { "200": { description: "JSON-RPC response" } } },
  get: { operationId: "mcpSSEGet", responses: { "200": { description: "SSE stream" } } },
  delete: { operationId: "mcpSessionDelete", responses: { "200": { description: "Session ended" } } },
};

export function mcpDefinition(options: DefinitionOptions) {
  return {
    openapi: "3.0.3",
    info: { title: options.id, version: "2025-11-25" },
    paths: {
      "/mcp": Object.fromEntries((options.transport ?? ["post", "get", "delete"]).map((m) => [m, TRANSPORT_OPERATIONS[m]])),
    },
    "x-tyk-api-gateway": {
      info: { id: options.id, name: options.id, state: { active: options.active ?? true } },
      server: { listenPath: { value: options.listenPath, strip: options.strip ?? true } },
      upstream: { url: options.upstream },
      ...(options.middleware ? { middleware: options.middleware } : {}),
    },
  };
}

/**
 * `definition` (from {@link mcpDefinition}) secured with an auth token: an `apiKey` scheme read
 * from `header` (default `Authorization`, where `Bearer <key>` is accepted too). Changes and
 * returns it.
 */
export function withTokenAuth(definition: object, header = "Authorization"): Record<string, any> {
  const d = definition as Record<string, any>;
  d.components = { securitySchemes: { authToken: { type: "apiKey", in: "header", name: header } } };
  d.security = [{ authToken: [] }];
  d["x-tyk-api-gateway"].server.authentication = { enabled: true, securitySchemes: { authToken: { enabled: true } } };
  return d;
}
