#!/usr/bin/env node
// npm run seed: writes the definitions of definitions/ (and its policies/) into the local Workers KV store that
// `npm start` (wrangler dev) reads. Idempotent: the same files give the same entries.
//
//   npm run seed                       # local KV under .wrangler/state
//   npm run seed -- --remote           # the KV namespace bound in wrangler.toml (used by deploy)
//   npm run seed -- --dir other/defs   # another folder
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readDefinitionEntries } from "./lib/definitions.mjs";
import { bin, root, run } from "./lib/proc.mjs";

export const PERSIST_DIR = join(root, ".wrangler", "state");

export async function seedWorkersKv({ dir = join(root, "definitions"), remote = false } = {}) {
  const entries = await readDefinitionEntries(dir);
  const tmp = await mkdtemp(join(tmpdir(), "gateway-seed-"));
  const file = join(tmp, "entries.json");
  try {
    await writeFile(file, JSON.stringify(entries));
    const target = remote ? ["--remote"] : ["--local", "--persist-to", PERSIST_DIR];
    await run(bin("wrangler"), ["kv", "bulk", "put", file, "--binding", "GATEWAY_KV", ...target]);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return entries;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { dir: { type: "string" }, remote: { type: "boolean" } } });
  const entries = await seedWorkersKv({ dir: values.dir, remote: values.remote });
  const apis = entries.filter((e) => /^(mcp|oas):/.test(e.key)).length;
  const policies = entries.filter((e) => e.key.startsWith("policy:")).length;
  console.log(
    `seeded ${apis} definition(s) and ${policies} polic${policies === 1 ? "y" : "ies"} into ${values.remote ? "remote" : "local"} KV`,
  );
}
