/**
 * Seeding: turning the files of `definitions/` into store entries. Pure: the callers (the seed
 * script for Workers KV, the Bun and Deno entries for their stores) do the file and store I/O.
 */
import { apiKey, APIS_VERSION_KEY, newStamp, type ApiKind } from "./repository.ts";
import { validateDefinition, type McpDefinition } from "./schema.ts";

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
    const definition: McpDefinition = result.definition;
    const info = definition["x-tyk-api-gateway"].info;
    const id = info.id ?? source.replace(/\.(json|ya?ml)$/i, "");
    if (!/^[A-Za-z0-9._-]+$/.test(id)) {
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
    entries.push({ key: apiKey(kind, id), value: JSON.stringify(definition) });
  }
  if (problems.length > 0) throw new Error(`invalid definitions:\n  ${problems.join("\n  ")}`);
  entries.push({ key: APIS_VERSION_KEY, value: newStamp() });
  return entries;
}
