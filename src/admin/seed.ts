/**
 * Seeding: turning the files of `definitions/` into store entries. Pure: the callers (the seed
 * script for Workers KV, the Bun and Deno entries for their stores) do the file and store I/O.
 */
import { isSafeId } from "../definitions/repository.ts";
import { type McpDefinition, validateDefinition } from "../definitions/schema.ts";
import { checkPolicy } from "../policy/model.ts";
import { compileProblem } from "./validate.ts";
import {
  type ApiKind,
  APIS_VERSION_KEY,
  definitionKey,
  newStamp,
  POLICIES_VERSION_KEY,
  POLICY_PREFIX,
  parseDefinitionKey,
} from "../stores/layout.ts";

export interface SeedEntry {
  key: string;
  value: string;
}

/**
 * Validates parsed definition documents and returns the store entries that hold them, the version
 * stamp last (so a reader that sees the new stamp finds every definition it covers).
 *
 * @param documents `[source name, parsed document, kind]` triples (kind defaults to `mcp`); the
 *   source name is used in errors and, without `x-tyk-api-gateway.info.id`, as the API id
 * @throws Error naming every invalid document and what is wrong with it
 */
export function seedEntries(documents: ReadonlyArray<readonly [string, unknown, ApiKind?]>): SeedEntry[] {
  const problems: string[] = [];
  const entries: SeedEntry[] = [];
  const seen = new Map<string, string>();
  for (const [source, document, kind = "mcp"] of documents) {
    const result = validateDefinition(document);
    if (!result.ok) {
      problems.push(`${source}: ${result.issues.join("; ")}`);
      continue;
    }
    const problem = compileProblem(result.definition);
    if (problem) {
      problems.push(`${source}: ${problem}`);
      continue;
    }
    const definition: McpDefinition = result.definition;
    const info = definition["x-tyk-api-gateway"].info;
    const id = info.id ?? source.replace(/\.(json|ya?ml)$/i, "");
    if (!isSafeId(id)) {
      problems.push(`${source}: API id "${id}" may contain only letters, digits, ".", "_" and "-"`);
      continue;
    }
    const prior = seen.get(id);
    if (prior) {
      problems.push(`${source}: API id "${id}" is also used by ${prior}`);
      continue;
    }
    seen.set(id, source);
    info.id = id;
    entries.push({ key: definitionKey(kind, id), value: JSON.stringify(definition) });
  }
  if (problems.length > 0) throw new Error(`invalid definitions:\n  ${problems.join("\n  ")}`);
  entries.push({ key: APIS_VERSION_KEY, value: newStamp() });
  return entries;
}

/**
 * Validates parsed policy documents (`definitions/policies/`) against the seeded APIs and returns
 * their store entries, the policies' version stamp last.
 *
 * @param documents `[source name, parsed document]` pairs; without `id`, the file name is the id
 * @param apiKinds the kinds of the APIs being seeded (for the MCP policy rules)
 * @throws Error naming every invalid policy and what is wrong with it
 */
export function policySeedEntries(
  documents: ReadonlyArray<readonly [string, unknown]>,
  apiKinds: ReadonlyMap<string, ApiKind>,
): SeedEntry[] {
  const problems: string[] = [];
  const entries: SeedEntry[] = [];
  for (const [source, document] of documents) {
    const checked = checkPolicy(document, (id) => apiKinds.get(id));
    if (!checked.ok) {
      problems.push(`${source}: ${checked.message}`);
      continue;
    }
    const id = checked.value.id ?? source.replace(/\.(json|ya?ml)$/i, "");
    if (!isSafeId(id)) {
      problems.push(`${source}: policy id "${id}" may contain only letters, digits, ".", "_" and "-"`);
      continue;
    }
    entries.push({ key: POLICY_PREFIX + id, value: JSON.stringify({ state: "active", ...checked.value, id }) });
  }
  if (problems.length > 0) throw new Error(`invalid policies:\n  ${problems.join("\n  ")}`);
  if (entries.length > 0) entries.push({ key: POLICIES_VERSION_KEY, value: newStamp() });
  return entries;
}

/** The API kinds that a list of seed entries defines. */
export function seededKinds(entries: readonly SeedEntry[]): Map<string, ApiKind> {
  const kinds = new Map<string, ApiKind>();
  for (const { key } of entries) {
    const definition = parseDefinitionKey(key);
    if (definition) kinds.set(definition.id, definition.kind);
  }
  return kinds;
}
