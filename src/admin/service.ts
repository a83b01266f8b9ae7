/**
 * The management operations on API definitions, shared by the Gateway API (`/tyk/`) and the
 * Dashboard API (`/api/`), which differ only in how they write answers. Results, not exceptions:
 * each failure is a closed code that the two APIs map to their documented statuses.
 *
 * Every operation that reads before it writes runs under one mutex (see `mutex.ts`), so
 * concurrent creates and updates all land, and a version map never loses an entry. A write that
 * fails half-way is rolled back, leaving the previous state whole.
 */
import { DefinitionRepository, type StoredApi } from "../definitions/repository.ts";
import type { ApiKind } from "../stores/layout.ts";
import type { McpDefinition } from "../definitions/schema.ts";
import type { KeyValueStore } from "../stores/types.ts";
import { Mutex } from "./mutex.ts";
import { checkApiId, checkDefinition, checkListenPath } from "./validate.ts";

export type FailureCode =
  | "invalid_id"
  | "invalid_definition"
  | "id_mismatch"
  | "not_found"
  | "wrong_kind"
  | "already_exists"
  | "listen_path_conflict"
  | "version_params"
  | "base_invalid"
  | "not_a_base";

export type Failure = { ok: false; code: FailureCode; message: string };
export type Outcome<T> = { ok: true; value: T } | Failure;

const fail = (code: FailureCode, message: string): Failure => ({ ok: false, code, message });

export interface VersionParams {
  baseApiId?: string | undefined;
  versionName?: string | undefined;
  setDefault?: boolean | undefined;
  /** The Gateway API requires `version_name` with `base_api_id`; the Dashboard API can derive it. */
  requireVersionName?: boolean;
}

export interface ApiView {
  definition: McpDefinition;
  /** The base proxy's id when this API is a versioned child. */
  baseId: string | undefined;
}

export interface VersionEntry {
  apiId: string;
  name: string;
  versionName: string;
  isDefaultVersion: boolean;
}

export interface ApiServiceOptions {
  /** Admin path prefixes served on the same host as the proxies (listen paths may not use them). */
  reservedPaths?: readonly string[];
  /** The admin mutex, shared with the other admin services (default: a new one). */
  mutex?: Mutex;
}

const KIND_NAME: Record<ApiKind, string> = { mcp: "an MCP proxy", oas: "an OAS API" };

export class ApiService {
  readonly #repo: DefinitionRepository;
  readonly #mutex: Mutex;
  readonly #reserved: readonly string[];

  constructor(store: KeyValueStore, options: ApiServiceOptions = {}) {
    this.#repo = new DefinitionRepository(store);
    this.#mutex = options.mutex ?? new Mutex();
    this.#reserved = options.reservedPaths ?? [];
  }

  /** Every API of one kind, in id order. */
  async list(kind: ApiKind): Promise<McpDefinition[]> {
    return (await this.#repo.all()).filter((a) => a.kind === kind).map((a) => a.definition);
  }

  async get(kind: ApiKind, id: string): Promise<Outcome<ApiView>> {
    const idCheck = checkApiId(id);
    if (!idCheck.ok) return fail("invalid_id", idCheck.message);
    const all = await this.#repo.all();
    const found = all.find((a) => a.id === id);
    if (!found) return fail("not_found", `API "${id}" not found`);
    if (found.kind !== kind) return fail("wrong_kind", `API "${id}" is not ${KIND_NAME[kind]}`);
    return { ok: true, value: { definition: found.definition, baseId: baseOf(all, id) } };
  }

  create(kind: ApiKind, body: unknown, params: VersionParams = {}): Promise<Outcome<string>> {
    return this.#mutex.run(async () => {
      const checked = checkDefinition(body, kind);
      if (!checked.ok) return fail("invalid_definition", checked.message);
      const definition = checked.value;
      const info = definition["x-tyk-api-gateway"].info;
      const id = info.id && info.id !== "" ? info.id : newApiId();
      const idCheck = checkApiId(id);
      if (!idCheck.ok) return fail("invalid_id", idCheck.message);
      info.id = id;

      const all = await this.#repo.all();
      if (all.some((a) => a.id === id)) return fail("already_exists", `API with ID "${id}" already exists`);

      let base: StoredApi | undefined;
      let versionName: string | undefined;
      if (params.baseApiId !== undefined && params.baseApiId !== "") {
        base = all.find((a) => a.id === params.baseApiId);
        if (!base) return fail("base_invalid", `base_api_id "${params.baseApiId}" does not refer to an existing API`);
        if (base.kind !== kind) return fail("base_invalid", `base_api_id "${params.baseApiId}" is not ${KIND_NAME[kind]}`);
        if (baseOf(all, base.id) !== undefined) {
          return fail("base_invalid", `base_api_id "${base.id}" is itself a version of another API`);
        }
        versionName = params.versionName?.trim() || undefined;
        if (versionName === undefined) {
          if (params.requireVersionName) return fail("version_params", "version_name is required with base_api_id");
          versionName = info.versioning?.name?.trim() || id;
        }
        const versioning = base.definition["x-tyk-api-gateway"].info.versioning;
        const taken = [versioning?.name, ...(versioning?.versions ?? []).map((v) => v.name)];
        if (taken.includes(versionName)) {
          return fail("version_params", `version_name "${versionName}" is already used by API "${base.id}"`);
        }
      } else if (params.versionName || params.setDefault) {
        return fail("version_params", "version_name and set_default need base_api_id");
      }

      const listen = checkListenPath(definition["x-tyk-api-gateway"].server.listenPath.value, id, owners(all), this.#reserved);
      if (!listen.ok) return fail("listen_path_conflict", listen.message);

      await this.#repo.write(kind, definition);
      if (base && versionName !== undefined) {
        try {
          await this.#repo.write(base.kind, withVersion(base.definition, versionName, id, params.setDefault === true));
        } catch (error) {
          await this.#repo.remove(kind, id).catch(() => {});
          throw error;
        }
      }
      await this.#repo.touch();
      return { ok: true, value: id };
    });
  }

  update(kind: ApiKind, id: string, body: unknown): Promise<Outcome<string>> {
    return this.#mutex.run(async () => {
      const idCheck = checkApiId(id);
      if (!idCheck.ok) return fail("invalid_id", idCheck.message);
      const checked = checkDefinition(body, kind);
      if (!checked.ok) return fail("invalid_definition", checked.message);
      const definition = checked.value;
      const info = definition["x-tyk-api-gateway"].info;
      if (info.id !== undefined && info.id !== id) {
        return fail("id_mismatch", `x-tyk-api-gateway.info.id "${info.id}" does not match the API ID "${id}" in the URL`);
      }
      info.id = id;
      const all = await this.#repo.all();
      const existing = all.find((a) => a.id === id);
      if (!existing) return fail("not_found", `API "${id}" not found`);
      if (existing.kind !== kind) return fail("wrong_kind", `API "${id}" is not ${KIND_NAME[kind]}`);
      const listen = checkListenPath(definition["x-tyk-api-gateway"].server.listenPath.value, id, owners(all), this.#reserved);
      if (!listen.ok) return fail("listen_path_conflict", listen.message);
      // A base's version map is managed through the version endpoints: a replacement that says
      // nothing about versioning keeps it, so no child silently loses its parent.
      const stored = existing.definition["x-tyk-api-gateway"].info.versioning;
      if (info.versioning === undefined && stored?.versions?.length) info.versioning = stored;
      await this.#repo.write(kind, definition);
      await this.#repo.touch();
      return { ok: true, value: id };
    });
  }

  delete(kind: ApiKind, id: string): Promise<Outcome<string>> {
    return this.#mutex.run(async () => {
      const idCheck = checkApiId(id);
      if (!idCheck.ok) return fail("invalid_id", idCheck.message);
      const all = await this.#repo.all();
      const existing = all.find((a) => a.id === id);
      if (!existing) return fail("not_found", `API "${id}" not found`);
      if (existing.kind !== kind) return fail("wrong_kind", `API "${id}" is not ${KIND_NAME[kind]}`);
      const baseId = baseOf(all, id);
      const base = baseId === undefined ? undefined : all.find((a) => a.id === baseId);
      if (base) {
        // Unlink from the base first: if deleting then fails, the child still exists as a plain API.
        await this.#repo.write(base.kind, withoutVersion(base.definition, id));
        try {
          await this.#repo.remove(kind, id);
        } catch (error) {
          await this.#repo.write(base.kind, base.definition).catch(() => {});
          throw error;
        }
      } else {
        // A base's children stay; they lose their parent with the base's version map.
        await this.#repo.remove(kind, id);
      }
      await this.#repo.touch();
      return { ok: true, value: id };
    });
  }

  /** The versions of a base proxy (Dashboard API). */
  async versions(kind: ApiKind, id: string): Promise<Outcome<VersionEntry[]>> {
    const idCheck = checkApiId(id);
    if (!idCheck.ok) return fail("not_a_base", idCheck.message);
    const all = await this.#repo.all();
    const existing = all.find((a) => a.id === id);
    if (!existing) return fail("not_a_base", `API "${id}" does not exist`);
    if (existing.kind !== kind) return fail("wrong_kind", `API "${id}" is not ${KIND_NAME[kind]}`);
    if (baseOf(all, id) !== undefined) return fail("not_a_base", `API "${id}" is a versioned child, not a base proxy`);
    const versioning = existing.definition["x-tyk-api-gateway"].info.versioning;
    const defaultName = versioning?.default;
    return {
      ok: true,
      value: (versioning?.versions ?? []).map((v) => {
        const child = all.find((a) => a.id === v.id);
        return {
          apiId: v.id,
          name: child?.definition["x-tyk-api-gateway"].info.name ?? v.name,
          versionName: v.name,
          isDefaultVersion: defaultName === v.name,
        };
      }),
    };
  }
}

/** The base whose version map lists `id`, if any. */
export function baseOf(all: readonly StoredApi[], id: string): string | undefined {
  return all.find((a) => a.id !== id && a.definition["x-tyk-api-gateway"].info.versioning?.versions?.some((v) => v.id === id))?.id;
}

function owners(all: readonly StoredApi[]) {
  return all.map((a) => ({ id: a.id, listenPath: a.definition["x-tyk-api-gateway"].server.listenPath.value }));
}

function newApiId(): string {
  return crypto.randomUUID().replace(/-/g, "");
}

function clone(definition: McpDefinition): McpDefinition {
  return structuredClone(definition);
}

function withVersion(base: McpDefinition, name: string, id: string, setDefault: boolean): McpDefinition {
  const next = clone(base);
  const info = next["x-tyk-api-gateway"].info;
  const versioning = info.versioning ?? {
    enabled: true,
    name: "Default",
    default: "Default",
    location: "header" as const,
    key: "x-api-version",
  };
  versioning.enabled ??= true;
  versioning.name ??= "Default";
  versioning.default ??= versioning.name;
  versioning.versions = [...(versioning.versions ?? []), { name, id }];
  if (setDefault) versioning.default = name;
  info.versioning = versioning;
  return next;
}

function withoutVersion(base: McpDefinition, id: string): McpDefinition {
  const next = clone(base);
  const versioning = next["x-tyk-api-gateway"].info.versioning;
  if (versioning?.versions) {
    const removed = versioning.versions.find((v) => v.id === id);
    versioning.versions = versioning.versions.filter((v) => v.id !== id);
    if (removed && versioning.default === removed.name) versioning.default = versioning.name ?? "Default";
  }
  return next;
}
