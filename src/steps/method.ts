/**
 * method: on an MCP proxy's endpoint (a path its OAS `paths` declare), POST, GET and DELETE always
 * go on to the upstream, after the same authentication and policy as POST: the Streamable HTTP
 * transport's messages, its server stream and the end of a session (in Tyk OAS, operations attach
 * middleware; they do not decide which transport methods pass). Where the upstream offers no stream,
 * its own 405 reaches the client. Any other method (PUT, PATCH, HEAD, …) gets 405 with `Allow`;
 * OPTIONS is left to CORS and the upstream; a path the document does not declare passes.
 */
import { declaredOperations } from "../definitions/operations.ts";
import type { McpDefinition } from "../definitions/schema.ts";
import { GatewayError } from "../errors.ts";
import { relativePath } from "../routing/route-table.ts";
import type { Step } from "./step.ts";

/** The transport's methods: what an MCP endpoint serves. */
export const TRANSPORT_METHODS = ["GET", "POST", "DELETE"] as const;
const ALLOW = TRANSPORT_METHODS.join(", ");

/** One path of an MCP proxy's `paths`, compiled. */
export interface TransportPath {
  /** The path as written (`/mcp`, or a template such as `/{tenant}/mcp`). */
  path: string;
  /** For a templated path: matches the whole relative path, each `{name}` one segment. */
  template: RegExp | undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The paths an MCP proxy's OAS document declares with at least one operation. A `{name}` template
 * stands for one path segment; everything else matches literally (no pattern the definition's
 * author writes is run as a regular expression, so none can backtrack).
 */
export function compileTransportPaths(definition: McpDefinition): TransportPath[] {
  const paths = [...new Set(declaredOperations(definition).map((operation) => operation.path))];
  return paths.map((path) => ({
    path,
    template: path.includes("{")
      ? new RegExp(
          `^${path
            .split(/\{[^/{}]*\}/)
            .map(escapeRegExp)
            .join("[^/]+")}$`,
        )
      : undefined,
  }));
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

/** Refuses (405, with `Allow`) a method that is not the transport's on an MCP endpoint. */
export const method: Step<readonly TransportPath[] | undefined> = {
  name: "method",
  // A plain HTTP API has no transport: every method passes.
  compile: (api) => (api.kind === "mcp" ? compileTransportPaths(api.definition) : undefined),
  run(_c, state, paths) {
    const requested = state.method;
    if (paths === undefined || requested === "POST" || requested === "GET" || requested === "DELETE" || requested === "OPTIONS") return;
    if (transportPath(paths, relativePath(state.match)) === undefined) return;
    throw new GatewayError("method_not_allowed", `This MCP endpoint does not serve ${requested}; it serves ${ALLOW}`, {
      headers: { allow: ALLOW },
    });
  },
};
