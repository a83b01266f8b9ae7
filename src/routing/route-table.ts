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
import type { StoredApi } from "../definitions/repository.ts";
import { DefinitionError, type McpDefinition } from "../definitions/schema.ts";
import { GatewayError } from "../errors.ts";
import { type ApiKind, DEFINITION_PREFIX } from "../stores/layout.ts";

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

/** What routing knows of one API: where it listens and where its requests go. */
export interface RouteBase {
  kind: ApiKind;
  id: string;
  name: string;
  /** Listen path without its trailing slash (`""` for the root). */
  prefix: string;
  strip: boolean;
  active: boolean;
  upstream: URL;
  /** The upstream URL's path without a trailing slash. */
  upstreamBasePath: string;
  versioning: VersionRouting | undefined;
  /** For a version listed in a base's version map: the base's id (a grant on it also gives access). */
  baseId: string | undefined;
  /** `server.customDomain.name` (lower case) when enabled: a host name the gateway answers to. */
  customDomain: string | undefined;
}

/**
 * One API, compiled for the request path: routing's part, and each step's own part, compiled by
 * the step (`steps/step.ts`) and kept in the request path's order.
 */
export interface ApiRoute extends RouteBase {
  readonly parts: readonly unknown[];
}

/** Compiles one stored definition into a route: its routing, then the steps' parts. */
export type CompileRoute = (api: StoredApi) => ApiRoute;

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

/** Routing's part of one stored definition. */
export function routeBase(api: StoredApi): RouteBase {
  const tyk = api.definition["x-tyk-api-gateway"];
  const upstream = new URL(tyk.upstream.url);
  return {
    kind: api.kind,
    id: api.id,
    name: tyk.info.name,
    prefix: normaliseListenPath(tyk.server.listenPath.value),
    strip: tyk.server.listenPath.strip ?? false,
    active: tyk.info.state.active,
    upstream,
    upstreamBasePath: upstream.pathname.replace(/\/+$/, ""),
    versioning: versionRouting(api.definition),
    baseId: undefined,
    customDomain: tyk.server.customDomain?.enabled && tyk.server.customDomain.name ? tyk.server.customDomain.name.toLowerCase() : undefined,
  };
}

/** A route with routing's part only (no step parts): for tables used to match paths alone. */
export const routeOnly: CompileRoute = (api) => ({ ...routeBase(api), parts: [] });

function isUnder(path: string, prefix: string): boolean {
  return prefix === "" || path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 0x2f);
}

const NO_REQUEST: RequestView = { header: () => undefined, query: () => undefined };

export class RouteTable {
  /** Active routes, longest listen path first. */
  readonly routes: readonly ApiRoute[];
  readonly #inactive: readonly ApiRoute[];
  readonly #byId: ReadonlyMap<string, ApiRoute>;
  /** The custom domains of the active APIs: host names the gateway answers to. */
  readonly customDomains: ReadonlySet<string>;

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
    this.customDomains = new Set(this.routes.flatMap((r) => (r.customDomain === undefined ? [] : [r.customDomain])));
  }

  /**
   * The table of `apis`, each compiled by `compile`. A definition that cannot be compiled (a
   * `DefinitionError`: settings that pass the schema but cannot work) is left out and reported to
   * `onInvalid`, so one bad definition cannot take every proxy down.
   */
  static fromApis(
    apis: readonly StoredApi[],
    compile: CompileRoute = routeOnly,
    onInvalid: (id: string, issues: string[]) => void = () => {},
  ): RouteTable {
    const routes: ApiRoute[] = [];
    for (const api of apis) {
      try {
        routes.push(compile(api));
      } catch (error) {
        if (!(error instanceof DefinitionError)) throw error;
        onInvalid(`${DEFINITION_PREFIX[api.kind]}${api.id}`, [error.message]);
      }
    }
    return new RouteTable(routes);
  }

  /** A route by API id (active or not). */
  byId(id: string): ApiRoute | undefined {
    return this.#byId.get(id);
  }

  /**
   * The active route for a request path, or `undefined`.
   *
   * @throws GatewayError `version_not_found` or `version_unavailable` when a versioned API is asked
   *   for a version it does not have, or one that is inactive
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
        throw new GatewayError("version_not_found", `This API version does not seem to exist: "${name}"`);
      }
      name = v.defaultName;
    }
    const target = name === v.selfName ? base : this.#byId.get(v.versions.get(name)!);
    if (!target?.active) {
      throw new GatewayError("version_unavailable", `This API version is not available: "${name}"`);
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
