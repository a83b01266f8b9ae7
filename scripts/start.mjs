#!/usr/bin/env node
// npm start: the gateway on 127.0.0.1:8787 with definitions/ seeded, in front of
// @modelcontextprotocol/server-everything (Streamable HTTP) on 127.0.0.1:3001, so that
// http://127.0.0.1:8787/everything/mcp works in the MCP Inspector at once. One Ctrl-C stops all.
//
//   npm start                 # Workers runtime (wrangler dev → workerd), local KV
//   npm run start:bun         # Bun, file store under .data/bun-store
//   npm run start:deno        # Deno, Deno KV under .data/deno-kv.sqlite
//
// Environment: PORT (gateway, default 8787), EVERYTHING_PORT (upstream, default 3001: the examples
// point at 3001, and are seeded pointing at this port instead when it is another), GATEWAY_SECRET and
// DASHBOARD_API_KEYS (the admin credentials; without them the development values below are used and
// printed).
import { cp, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { bin, root, start } from "./lib/proc.mjs";
import { PERSIST_DIR, seedWorkersKv } from "./seed.mjs";

const { values } = parseArgs({ options: { runtime: { type: "string", default: "workers" } } });
const runtime = values.runtime;
const port = process.env.PORT ?? "8787";
const everythingPort = process.env.EVERYTHING_PORT ?? "3001";
/**
 * The example definitions, pointing at server-everything's port: `definitions/` itself for the
 * default port, else a copy whose `127.0.0.1:3001` upstreams point at EVERYTHING_PORT.
 */
async function exampleDefinitions() {
  const dir = join(root, "definitions");
  if (everythingPort === "3001") return dir;
  const copy = await mkdtemp(join(tmpdir(), "gateway-definitions-"));
  await cp(dir, copy, { recursive: true });
  for (const name of await readdir(copy)) {
    if (!/\.(json|ya?ml)$/.test(name)) continue;
    const file = join(copy, name);
    await writeFile(file, (await readFile(file, "utf8")).replaceAll("http://127.0.0.1:3001", `http://127.0.0.1:${everythingPort}`));
  }
  return copy;
}
const definitions = await exampleDefinitions();
/** Development credentials for the admin APIs when the environment gives none (README: Management). */
export const DEV_GATEWAY_SECRET = "local-gateway-secret";
export const DEV_DASHBOARD_KEY = "local-dashboard-key";
const gatewaySecret = process.env.GATEWAY_SECRET || DEV_GATEWAY_SECRET;
const dashboardKeys = process.env.DASHBOARD_API_KEYS || DEV_DASHBOARD_KEY;

await start(
  "everything",
  process.execPath,
  [
    "--import",
    join(root, "scripts/lib/loopback.mjs"),
    join(root, "node_modules/@modelcontextprotocol/server-everything/dist/index.js"),
    "streamableHttp",
  ],
  { env: { PORT: everythingPort }, ready: /LISTENING \d+/ },
);

const common = {
  HOST: "127.0.0.1",
  PORT: port,
  GATEWAY_SEED_DIR: definitions,
  GATEWAY_SECRET: gatewaySecret,
  DASHBOARD_API_KEYS: dashboardKeys,
};
if (runtime === "workers") {
  await seedWorkersKv({ dir: definitions });
  await start(
    "gateway",
    bin("wrangler"),
    [
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      port,
      "--persist-to",
      PERSIST_DIR,
      "--show-interactive-dev-session=false",
      "--var",
      `GATEWAY_SECRET:${gatewaySecret}`,
      "--var",
      `DASHBOARD_API_KEYS:${dashboardKeys}`,
    ],
    { ready: /Ready on/ },
  );
} else if (runtime === "bun") {
  await start("gateway", bin("bun"), [join(root, "src/bun.ts")], {
    env: { ...common, GATEWAY_STORE_DIR: join(root, ".data/bun-store") },
    ready: /listening/,
  });
} else if (runtime === "deno") {
  await start("gateway", bin("deno"), ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", join(root, "src/deno.ts")], {
    env: { ...common, GATEWAY_KV_PATH: join(root, ".data/deno-kv.sqlite") },
    ready: /listening/,
  });
} else {
  console.error(`unknown runtime "${runtime}": use workers, bun or deno`);
  process.exit(2);
}

console.log(`
  MCP gateway (${runtime}) is up.
  MCP endpoint:  http://127.0.0.1:${port}/everything/mcp   (Streamable HTTP; try: npx @modelcontextprotocol/inspector)
  Upstream:      http://127.0.0.1:${everythingPort}/mcp    (server-everything)
  Gateway API:   http://127.0.0.1:${port}/tyk/mcps   X-Tyk-Authorization: ${gatewaySecret === DEV_GATEWAY_SECRET ? `${DEV_GATEWAY_SECRET} (development value)` : "(from GATEWAY_SECRET)"}
  Dashboard API: http://127.0.0.1:${port}/api/mcps   Authorization: ${dashboardKeys === DEV_DASHBOARD_KEY ? `${DEV_DASHBOARD_KEY} (development value)` : "(from DASHBOARD_API_KEYS)"}
  Ctrl-C stops everything.
`);
