// Reads the definition files of a folder (JSON or YAML) and turns them into store entries, with the
// gateway's own schema (src/definitions/seed.ts, loaded through Node's TypeScript type stripping).
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { seedEntries } from "../../src/definitions/seed.ts";

export async function readDefinitionEntries(dir) {
  const files = (await readdir(dir)).filter((f) => /\.(json|ya?ml)$/i.test(f)).sort();
  const documents = [];
  for (const file of files) {
    const text = await readFile(join(dir, file), "utf8");
    try {
      documents.push([file, /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text)]);
    } catch (error) {
      throw new Error(`${file}: cannot be parsed: ${error.message}`);
    }
  }
  return seedEntries(documents);
}
