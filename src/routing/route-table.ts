/**
 * The routing table: listen paths to compiled API routes. Pure.
 *
 * Definitions are compiled once, when the table is built (per isolate or process, and again when
 * the store's version stamp changes), so the per-request work is one prefix scan.
 *
 * Matching follows Tyk: the longest listen path that is a prefix of the request path (on a `/`
 * boundary) wins; an inactive API does not serve; with `strip`, the listen path is removed before
 * the request is forwarded.
 */
import type { McpDefinition, Operation } from "../definitions/schema.ts";
import { DEFAULT_MAX_BODY_BYTES } from "../mcp/read-body.ts";

/** One API, compiled for the request path. */
export interface ApiRoute {
  id: string;
  name: string;
  definition: McpDefinition;
  /** Listen path without its trailing slash (`""` for the root). */
  prefix: string;
  strip: boolean;
  active: boolean;
  upstream: URL;
  /** The upstream URL's path without a trailing slash. */
  upstreamBasePath: string;
  /** Request size limit in bytes (`middleware.global.requestSizeLimit`, else 1 MiB). */
  maxBodyBytes: number;
  /**
   * Upstream timeouts (seconds) set by `middleware.operations.<operationId>.enforceTimeout`, by the
   * HTTP method of the operation (`paths.*.<method>.operationId`).
   */
  operationTimeouts: ReadonlyMap<string, number>;
  /** Per-primitive middleware, by type and name. */
  primitives: {
    tool: ReadonlyMap<string, Operation>;
    resource: ReadonlyMap<string, Operation>;
    prompt: ReadonlyMap<string, Operation>;
  };
}

export interface RouteMatch {
  route: ApiRoute;
  /** The request path to forward (listen path removed when `strip` is set). */
  forwardPath: string;
}

/** Normalises a listen path: leading slash, no trailing slash, `""` for the root. */
export function normaliseListenPath(value: string): string {
  let path = value.startsWith("/") ? value : `/${value}`;
  while (path.endsWith("/")) path = path.slice(0, -1);
  return path;
}

/** Compiles one definition into a route. */
export function compileRoute(definition: McpDefinition, fallbackId: string): ApiRoute {
  const tyk = definition["x-tyk-api-gateway"];
  const upstream = new URL(tyk.upstream.url);
  const sizeLimit = tyk.middleware?.global?.requestSizeLimit;
  return {
    id: tyk.info.id ?? fallbackId,
    name: tyk.info.name,
    definition,
    prefix: normaliseListenPath(tyk.server.listenPath.value),
    strip: tyk.server.listenPath.strip ?? false,
    active: tyk.info.state.active,
    upstream,
    upstreamBasePath: upstream.pathname.replace(/\/+$/, ""),
    maxBodyBytes: sizeLimit?.enabled && sizeLimit.value > 0 ? sizeLimit.value : DEFAULT_MAX_BODY_BYTES,
    operationTimeouts: operationTimeouts(definition),
    primitives: {
      tool: new Map(Object.entries(tyk.middleware?.mcpTools ?? {})),
      resource: new Map(Object.entries(tyk.middleware?.mcpResources ?? {})),
      prompt: new Map(Object.entries(tyk.middleware?.mcpPrompts ?? {})),
    },
  };
}

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

function operationTimeouts(definition: McpDefinition): Map<string, number> {
  const out = new Map<string, number>();
  const operations = definition["x-tyk-api-gateway"].middleware?.operations;
  if (!operations) return out;
  for (const item of Object.values(definition.paths)) {
    if (item === null || typeof item !== "object") continue;
    for (const method of HTTP_METHODS) {
      const operationId = (item as Record<string, { operationId?: unknown } | undefined>)[method]?.operationId;
      if (typeof operationId !== "string") continue;
      const timeout = operations[operationId]?.enforceTimeout;
      if (timeout?.enabled && timeout.value > 0 && !out.has(method.toUpperCase())) {
        out.set(method.toUpperCase(), timeout.value);
      }
    }
  }
  return out;
}

function isUnder(path: string, prefix: string): boolean {
  return prefix === "" || path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 0x2f);
}

export class RouteTable {
  /** Active routes, longest listen path first. */
  readonly routes: readonly ApiRoute[];
  readonly #inactive: readonly ApiRoute[];

  constructor(routes: readonly ApiRoute[]) {
    const byLength = (a: ApiRoute, b: ApiRoute) => b.prefix.length - a.prefix.length;
    this.routes = routes.filter((r) => r.active).sort(byLength);
    this.#inactive = routes.filter((r) => !r.active).sort(byLength);
  }

  static fromDefinitions(definitions: readonly McpDefinition[]): RouteTable {
    return new RouteTable(definitions.map((d, i) => compileRoute(d, `api-${i}`)));
  }

  /** The active route for a request path, or `undefined`. */
  match(path: string): RouteMatch | undefined {
    for (const route of this.routes) {
      if (isUnder(path, route.prefix)) {
        const rest = route.strip ? path.slice(route.prefix.length) : path;
        return { route, forwardPath: rest === "" || rest.startsWith("/") ? rest : `/${rest}` };
      }
    }
    return undefined;
  }

  /** Whether an inactive API listens on this path (to explain a 404). */
  matchesInactive(path: string): boolean {
    return this.#inactive.some((route) => isUnder(path, route.prefix));
  }
}

/** The upstream URL for a matched request. */
export function upstreamUrl(match: RouteMatch, search: string): string {
  const { route, forwardPath } = match;
  const path = route.upstreamBasePath + forwardPath || "/";
  return `${route.upstream.origin}${path}${search}`;
}
