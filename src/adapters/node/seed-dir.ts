/**
 * Seeds a store from a folder of definition files (JSON or YAML), through `node:fs`. Used by the
 * Bun and Deno entries at start (`GATEWAY_SEED_DIR`); the Workers path seeds with
 * `scripts/seed.mjs` instead.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { seedEntries } from "../../definitions/seed.ts";
import type { KeyValueStore } from "../../stores/types.ts";

export async function seedFromDir(store: KeyValueStore, dir: string): Promise<number> {
  const files = (await readdir(dir)).filter((f) => /\.(json|ya?ml)$/i.test(f)).sort();
  const documents: [string, unknown][] = [];
  for (const file of files) {
    const text = await readFile(join(dir, file), "utf8");
    documents.push([file, /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text)]);
  }
  const entries = seedEntries(documents);
  // Definitions first, the version stamp (the last entry) after them.
  for (const { key, value } of entries) await store.put(key, value);
  return entries.length - 1;
}
