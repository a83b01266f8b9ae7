// Reads the definitions of a folder (JSON or YAML) and its policies/ sub-folder and turns them into
// store entries, with the gateway's own code (src/adapters/node/seed-dir.ts, loaded through Node's
// TypeScript type stripping).
import { seedDirEntries } from "../../src/adapters/node/seed-dir.ts";

export function readDefinitionEntries(dir) {
  return seedDirEntries(dir);
}
