/**
 * The routing table: listen paths to compiled API routes. Pure.
 *
 * Definitions are compiled once, when the table is built (per isolate or process, and again when
 * the store's version stamp changes), so the per-request work is one prefix scan.
 *
 * Matching follows Tyk: the longest listen path that is a prefix of the request path (on a `/`
 * boundary) wins; an inactive API does not serve; with `strip`, the listen path is removed before
 * the request is forwarded. A base API with `info.versioning` hands the request to the version the
 * client asks for (by header, query parameter or first URL segment), or to the default version.
 */
import type { ApiKind, StoredApi } from "../definitions/repository.ts";
import type { McpDefinition, Operation } from "../definitions/schema.ts";
import { ErrorCode, GatewayError } from "../errors.ts";
import { compileAuth, type AuthConfig } from "../auth/config.ts";
import { compileOrigins, type OriginRule } from "../auth/origin.ts";
import { compileCors, type CorsPolicy } from "../auth/cors.ts";
import { DEFAULT_MAX_BODY_BYTES } from "../mcp/read-body.ts";
import { definitionVisibility } from "../policy/evaluate.ts";
import type { Visibility } from "../policy/types.ts";

/** How a base API picks a version (`x-tyk-api-gateway.info.versioning`), compiled. */
export interface VersionRouting {
  location: "header" | "url-param" | "url";
  /** Header or query parameter name (lower-cased for headers). */
  key: string;
  /** The base's own version name. */
  selfName: string;
  /** The version used when the client names none. */
  defaultName: string;
  /** Version name → API id. */
  versions: ReadonlyMap<string, string>;
  strip: boolean;
  fallbackToDefault: boolean;
}

/** One API, compiled for the request path. */
export interface ApiRoute {
  kind: ApiKind;
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
  versioning: VersionRouting | undefined;
  /** The definition's own per-primitive allow/block rules, for every consumer. */
  rules: Visibility;
  /** How clients authenticate; `undefined` for an open API. */
  auth: AuthConfig | undefined;
  /** Origins allowed to call this API (`undefined`: same host, or loopback from loopback). */
  origins: OriginRule | undefined;
  /** What browsers are told (`middleware.global.cors`); `undefined`: CORS not enabled. */
  cors: CorsPolicy | undefined;
  /** For a version listed in a base's version map: the base's id (a grant on it also gives access). */
  baseId: string | undefined;
  /**
   * An MCP proxy's transport endpoints as its OAS `paths` declare them (paths relative to the
   * listen path), with the HTTP methods each offers; empty for a plain HTTP API.
   */
  transportPaths: readonly TransportPath[];
}

/** One path of an MCP proxy's `paths`, compiled: the methods its operations declare. */
export interface TransportPath {
  /** The path as written (`/mcp`, or a template such as `/{tenant}/mcp`). */
  path: string;
  /** For a templated path: matches the whole relative path, each `{name}` one segment. */
  template: RegExp | undefined;
  /** Upper case, in the order HTTP_METHODS lists them; always includes POST (the MCP transport). */
  methods: readonly string[];
  /** `methods` as an `Allow` header value. */
  allow: string;
}

export interface RouteMatch {
  route: ApiRoute;
  /** The request path to forward (listen path removed when `strip` is set). */
  forwardPath: string;
  /** A version header to remove before forwarding (`stripVersioningData`). */
  dropHeader?: string;
  /** A version query parameter to remove before forwarding (`stripVersioningData`). */
  dropQuery?: string;
}

/** What matching may read of the request besides its path (for versioning). */
export interface RequestView {
  header(name: string): string | undefined;
  query(name: string): string | undefined;
}

/** Normalises a listen path: leading slash, no trailing slash, `""` for the root. */
export function normaliseListenPath(value: string): string {
  let path = value.startsWith("/") ? value : `/${value}`;
  while (path.endsWith("/")) path = path.slice(0, -1);
  return path;
}

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/** One operation a definition's `paths` declare: its path, its HTTP method (upper case), itself. */
interface DeclaredOperation {
  path: string;
  method: string;
  operation: { operationId?: unknown };
}

/** Every operation object under `paths`, path by path, methods in the order of HTTP_METHODS. */
function declaredOperations(definition: McpDefinition): DeclaredOperation[] {
  const out: DeclaredOperation[] = [];
  for (const [path, item] of Object.entries(definition.paths)) {
    if (item === null || typeof item !== "object") continue;
    for (const method of HTTP_METHODS) {
      const operation = (item as Record<string, unknown>)[method];
      if (operation !== null && typeof operation === "object") out.push({ path, method: method.toUpperCase(), operation });
    }
  }
  return out;
}

function operationTimeouts(definition: McpDefinition): Map<string, number> {
  const out = new Map<string, number>();
  const operations = definition["x-tyk-api-gateway"].middleware?.operations;
  if (!operations) return out;
  for (const { method, operation } of declaredOperations(definition)) {
    const operationId = operation.operationId;
    if (typeof operationId !== "string") continue;
    const timeout = operations[operationId]?.enforceTimeout;
    if (timeout?.enabled && timeout.value > 0 && !out.has(method)) out.set(method, timeout.value);
  }
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The transport paths an MCP proxy's OAS document declares. A `{name}` template stands for one
 * path segment; everything else matches literally (no pattern the definition's author writes is
 * run as a regular expression, so none can backtrack).
 */
function transportPaths(api: StoredApi): TransportPath[] {
  if (api.kind !== "mcp") return [];
  const byPath = new Map<string, string[]>();
  for (const { path, method } of declaredOperations(api.definition)) {
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
 * The declared path of an MCP proxy that `relativePath` (the request path below its listen path)
 * falls on, or `undefined` when its `paths` do not declare it. A literal path wins over a template.
 */
export function transportPath(route: ApiRoute, relativePath: string): TransportPath | undefined {
  const path = relativePath === "" ? "/" : relativePath;
  let templated: TransportPath | undefined;
  for (const entry of route.transportPaths) {
    if (entry.template === undefined) {
      if (entry.path === path) return entry;
    } else if (templated === undefined && entry.template.test(path)) {
      templated = entry;
    }
  }
  return templated;
}

/** The request path below the matched API's listen path (what its OAS `paths` are written against). */
export function relativePath(match: RouteMatch): string {
  const { route, forwardPath } = match;
  return route.strip ? forwardPath : forwardPath.slice(route.prefix.length);
}

function versionRouting(definition: McpDefinition): VersionRouting | undefined {
  const v = definition["x-tyk-api-gateway"].info.versioning;
  if (!v || v.enabled === false) return undefined;
  const selfName = v.name ?? "Default";
  return {
    location: v.location,
    key: v.location === "header" ? v.key.toLowerCase() : v.key,
    selfName,
    defaultName: v.default && v.default !== "self" ? v.default : selfName,
    versions: new Map((v.versions ?? []).map((e) => [e.name, e.id])),
    strip: v.stripVersioningData ?? false,
    fallbackToDefault: v.fallbackToDefault ?? false,
  };
}

/** Compiles one stored definition into a route. */
export function compileRoute(api: StoredApi): ApiRoute {
  const { definition } = api;
  const tyk = definition["x-tyk-api-gateway"];
  const upstream = new URL(tyk.upstream.url);
  const sizeLimit = tyk.middleware?.global?.requestSizeLimit;
  const primitives = {
    tool: new Map(Object.entries(tyk.middleware?.mcpTools ?? {})),
    resource: new Map(Object.entries(tyk.middleware?.mcpResources ?? {})),
    prompt: new Map(Object.entries(tyk.middleware?.mcpPrompts ?? {})),
  };
  return {
    kind: api.kind,
    id: api.id,
    name: tyk.info.name,
    definition,
    prefix: normaliseListenPath(tyk.server.listenPath.value),
    strip: tyk.server.listenPath.strip ?? false,
    active: tyk.info.state.active,
    upstream,
    upstreamBasePath: upstream.pathname.replace(/\/+$/, ""),
    maxBodyBytes: sizeLimit?.enabled && sizeLimit.value > 0 ? sizeLimit.value : DEFAULT_MAX_BODY_BYTES,
    operationTimeouts: operationTimeouts(definition),
    primitives,
    versioning: versionRouting(definition),
    rules: definitionVisibility(primitives),
    auth: compileAuth(definition),
    origins: compileOrigins(definition),
    cors: compileCors(definition, api.kind),
    baseId: undefined,
    transportPaths: transportPaths(api),
  };
}

function isUnder(path: string, prefix: string): boolean {
  return prefix === "" || path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 0x2f);
}

const NO_REQUEST: RequestView = { header: () => undefined, query: () => undefined };

export class RouteTable {
  /** Active routes, longest listen path first. */
  readonly routes: readonly ApiRoute[];
  readonly #inactive: readonly ApiRoute[];
  readonly #byId: ReadonlyMap<string, ApiRoute>;

  constructor(routes: readonly ApiRoute[]) {
    for (const route of routes) {
      for (const childId of route.versioning?.versions.values() ?? []) {
        const child = routes.find((r) => r.id === childId && r !== route);
        if (child && child.baseId === undefined) child.baseId = route.id;
      }
    }
    const byLength = (a: ApiRoute, b: ApiRoute) => b.prefix.length - a.prefix.length;
    this.routes = routes.filter((r) => r.active).sort(byLength);
    this.#inactive = routes.filter((r) => !r.active).sort(byLength);
    this.#byId = new Map(routes.map((r) => [r.id, r]));
  }

  static fromApis(apis: readonly StoredApi[]): RouteTable {
    return new RouteTable(apis.map(compileRoute));
  }

  /** A route by API id (active or not). */
  byId(id: string): ApiRoute | undefined {
    return this.#byId.get(id);
  }

  /**
   * The active route for a request path, or `undefined`.
   *
   * @throws GatewayError 403 (-32000) when a versioned API is asked for a version it does not have
   */
  match(path: string, request: RequestView = NO_REQUEST): RouteMatch | undefined {
    for (const route of this.routes) {
      if (!isUnder(path, route.prefix)) continue;
      const rest = path.slice(route.prefix.length);
      return route.versioning ? this.#matchVersion(route, route.versioning, rest, path, request) : forwardTo(route, rest, path);
    }
    return undefined;
  }

  #matchVersion(base: ApiRoute, v: VersionRouting, rest: string, path: string, request: RequestView): RouteMatch {
    let asked: string | undefined;
    let remainder = rest;
    const extra: Pick<RouteMatch, "dropHeader" | "dropQuery"> = {};
    if (v.location === "header") {
      asked = request.header(v.key);
      if (v.strip) extra.dropHeader = v.key;
    } else if (v.location === "url-param") {
      asked = request.query(v.key);
      if (v.strip) extra.dropQuery = v.key;
    } else {
      const segment = rest.split("/")[1] ?? "";
      if (segment !== "" && (segment === v.selfName || v.versions.has(segment))) {
        asked = segment;
        if (v.strip) remainder = rest.slice(segment.length + 1);
      }
    }
    let name = asked === undefined || asked === "" ? v.defaultName : asked;
    if (name !== v.selfName && !v.versions.has(name)) {
      if (!v.fallbackToDefault) {
        throw new GatewayError(ErrorCode.Rejected, 403, `This API version does not seem to exist: "${name}"`);
      }
      name = v.defaultName;
    }
    const target = name === v.selfName ? base : this.#byId.get(v.versions.get(name)!);
    if (!target?.active) {
      throw new GatewayError(ErrorCode.Rejected, 403, `This API version is not available: "${name}"`);
    }
    if (target === base) return { ...forwardTo(base, remainder, path), ...extra };
    // The child serves the rest of the base's path, under its own strip setting.
    const childPath = target.strip ? remainder : `${target.prefix}${remainder}`;
    return { route: target, forwardPath: childPath.startsWith("/") || childPath === "" ? childPath : `/${childPath}`, ...extra };
  }

  /** Whether an inactive API listens on this path (to explain a 404). */
  matchesInactive(path: string): boolean {
    return this.#inactive.some((route) => isUnder(path, route.prefix));
  }
}

function forwardTo(route: ApiRoute, rest: string, path: string): RouteMatch {
  const forward = route.strip ? rest : path;
  return { route, forwardPath: forward === "" || forward.startsWith("/") ? forward : `/${forward}` };
}

/** The upstream URL for a matched request. */
export function upstreamUrl(match: RouteMatch, search: string): string {
  const { route, forwardPath } = match;
  const path = route.upstreamBasePath + forwardPath || "/";
  let query = search;
  if (match.dropQuery !== undefined && search !== "") {
    const params = new URLSearchParams(search);
    params.delete(match.dropQuery);
    const rest = params.toString();
    query = rest === "" ? "" : `?${rest}`;
  }
  return `${route.upstream.origin}${path}${query}`;
}
