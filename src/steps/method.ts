/**
 * method: an MCP proxy serves the HTTP methods its OAS `paths` declare for the requested path; any
 * other (a GET where the proxy offers no SSE stream, a DELETE, a PUT) gets 405 with `Allow`, as
 * MCP's Streamable HTTP transport has a server answer. POST, the transport itself, is always
 * served; OPTIONS is left to the upstream; a path the document does not declare passes.
 */
import { declaredOperations } from "../definitions/operations.ts";
import type { McpDefinition } from "../definitions/schema.ts";
import { GatewayError } from "../errors.ts";
import { relativePath } from "../routing/route-table.ts";
import type { Step } from "./step.ts";

/** One path of an MCP proxy's `paths`, compiled: the methods its operations declare. */
export interface TransportPath {
  /** The path as written (`/mcp`, or a template such as `/{tenant}/mcp`). */
  path: string;
  /** For a templated path: matches the whole relative path, each `{name}` one segment. */
  template: RegExp | undefined;
  /** Upper case, in the order the OAS methods are read; always includes POST (the MCP transport). */
  methods: readonly string[];
  /** `methods` as an `Allow` header value. */
  allow: string;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The transport paths an MCP proxy's OAS document declares. A `{name}` template stands for one
 * path segment; everything else matches literally (no pattern the definition's author writes is
 * run as a regular expression, so none can backtrack).
 */
export function compileTransportPaths(definition: McpDefinition): TransportPath[] {
  const byPath = new Map<string, string[]>();
  for (const { path, method } of declaredOperations(definition)) {
    const methods = byPath.get(path);
    if (methods) methods.push(method);
    else byPath.set(path, [method]);
  }
  return [...byPath].map(([path, methods]) => {
    if (!methods.includes("POST")) methods.unshift("POST");
    const template = path.includes("{")
      ? new RegExp(
          `^${path
            .split(/\{[^/{}]*\}/)
            .map(escapeRegExp)
            .join("[^/]+")}$`,
        )
      : undefined;
    return { path, template, methods, allow: methods.join(", ") };
  });
}

/**
 * The declared path that `relative` (the request path below the listen path) falls on, or
 * `undefined` when the `paths` do not declare it. A literal path wins over a template.
 */
export function transportPath(paths: readonly TransportPath[], relative: string): TransportPath | undefined {
  const path = relative === "" ? "/" : relative;
  let templated: TransportPath | undefined;
  for (const entry of paths) {
    if (entry.template === undefined) {
      if (entry.path === path) return entry;
    } else if (templated === undefined && entry.template.test(path)) {
      templated = entry;
    }
  }
  return templated;
}

/** Refuses (405, with `Allow`) a method the request's MCP proxy does not offer on its path. */
export const method: Step<readonly TransportPath[] | undefined> = {
  name: "method",
  // A plain HTTP API declares no transport.
  compile: (api) => (api.kind === "mcp" ? compileTransportPaths(api.definition) : undefined),
  run(_c, state, paths) {
    const requested = state.method;
    if (paths === undefined || requested === "POST" || requested === "OPTIONS") return;
    const declared = transportPath(paths, relativePath(state.match));
    if (declared === undefined || declared.methods.includes(requested)) return;
    throw new GatewayError("method_not_allowed", `This MCP proxy does not serve ${requested} here; it serves ${declared.allow}`, {
      headers: { allow: declared.allow },
    });
  },
};
