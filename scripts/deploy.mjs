#!/usr/bin/env node
// npm run deploy: deploys the Worker with wrangler, then writes definitions/ into the KV namespace
// bound as GATEWAY_KV in wrangler.toml. Both steps are idempotent. Needs a Cloudflare login
// (`npx wrangler login`) or CLOUDFLARE_API_TOKEN, and the namespace id in wrangler.toml.
//
//   npm run deploy               # deploy + seed remote KV
//   npm run deploy -- --dry-run  # build only (no login needed)
import { parseArgs } from "node:util";
import { bin, run } from "./lib/proc.mjs";
import { seedWorkersKv } from "./seed.mjs";

const { values } = parseArgs({ options: { "dry-run": { type: "boolean" } } });
if (values["dry-run"]) {
  await run(bin("wrangler"), ["deploy", "--dry-run", "--outdir", "dist/worker"]);
} else {
  await run(bin("wrangler"), ["deploy"]);
  const entries = await seedWorkersKv({ remote: true });
  console.log(`deployed; seeded ${entries.length} entries into remote KV`);
}
