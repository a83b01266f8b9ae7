/**
 * Seeds a store from a folder of definition files (JSON or YAML) and its `policies/` sub-folder,
 * through `node:fs`. Used by the Bun and Deno entries at start (`GATEWAY_SEED_DIR`); the Workers
 * path seeds with `scripts/seed.mjs`, from the same functions.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { policySeedEntries, seededKinds, seedEntries, type SeedEntry } from "../../admin/seed.ts";
import { parseDefinitionKey } from "../../stores/layout.ts";
import type { KeyValueStore } from "../../stores/types.ts";

async function readDocuments(dir: string): Promise<[string, unknown][]> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => /\.(json|ya?ml)$/i.test(f)).sort();
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return [];
    throw error;
  }
  const documents: [string, unknown][] = [];
  for (const file of files) {
    const text = await readFile(join(dir, file), "utf8");
    try {
      documents.push([file, /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text)]);
    } catch (error) {
      throw new Error(`${file}: cannot be parsed: ${(error as Error).message}`);
    }
  }
  return documents;
}

/** The store entries for a seed folder: definitions (stamp last), then policies (stamp last). */
export async function seedDirEntries(dir: string): Promise<SeedEntry[]> {
  const apis = seedEntries(await readDocuments(dir));
  const policies = policySeedEntries(await readDocuments(join(dir, "policies")), seededKinds(apis));
  return [...apis, ...policies];
}

export async function seedFromDir(store: KeyValueStore, dir: string): Promise<number> {
  const entries = await seedDirEntries(dir);
  for (const { key, value } of entries) await store.put(key, value);
  return entries.filter((e) => parseDefinitionKey(e.key) !== undefined).length;
}
