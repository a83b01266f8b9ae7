/**
 * Deno entry: `deno run --allow-net --allow-env --allow-read --allow-write src/deno.ts`
 * (deno.json enables Deno KV and reads npm packages from node_modules).
 *
 * Environment: `HOST` (default 127.0.0.1), `PORT` (default 8787), `GATEWAY_KV_PATH` (the Deno KV
 * database file; without it, Deno's default location), `GATEWAY_SEED_DIR` (definition files written
 * into the store at start), `UPSTREAM_TIMEOUT_SECONDS`, and the admin settings `GATEWAY_SECRET`,
 * `DASHBOARD_API_KEYS`, `ADMIN_API`, `ADMIN_HOST`. The admin API's writes are serialised within
 * this process: run one process per Deno KV database for the admin API.
 */
import { DenoKvStore, type DenoKvLike } from "./adapters/deno/kv-store.ts";
import { seedFromDir } from "./adapters/node/seed-dir.ts";
import { adminFor, adminSettings } from "./admin/admin.ts";
import { parsePublicOrigins } from "./auth/resource.ts";
import { createGateway } from "./gateway.ts";

interface ServeInfo {
  remoteAddr: { hostname: string };
}
declare const Deno: {
  env: { get(name: string): string | undefined };
  openKv(path?: string): Promise<DenoKvLike>;
  serve(
    options: { hostname: string; port: number; onListen?: (addr: { port: number }) => void },
    handler: (request: Request, info: ServeInfo) => Response | Promise<Response>,
  ): unknown;
};

const get = (name: string) => Deno.env.get(name);
const kvPath = get("GATEWAY_KV_PATH");
const store = new DenoKvStore(await (kvPath ? Deno.openKv(kvPath) : Deno.openKv()));
const seedDir = get("GATEWAY_SEED_DIR");
if (seedDir) {
  const count = await seedFromDir(store, seedDir);
  console.log(`seeded ${count} definition(s) from ${seedDir}`);
}

const timeout = get("UPSTREAM_TIMEOUT_SECONDS");
const settings = adminSettings(get);
const app = createGateway({
  store,
  secrets: get,
  ...(get("GATEWAY_CONFIG_MAX_AGE_MS") ? { configMaxAgeMs: Number(get("GATEWAY_CONFIG_MAX_AGE_MS")) } : {}),
  publicOrigins: parsePublicOrigins(get("GATEWAY_PUBLIC_ORIGINS")),
  admin: { settings, handler: adminFor(store, settings) },
  clientAddress: (c) => (c.env as { info: ServeInfo }).info.remoteAddr.hostname,
  ...(timeout ? { defaultTimeoutSeconds: Number(timeout) } : {}),
});

const hostname = get("HOST") ?? "127.0.0.1";
Deno.serve(
  {
    hostname,
    port: Number(get("PORT") ?? 8787),
    onListen: ({ port }) => console.log(`MCP gateway (deno) listening on http://${hostname}:${port}`),
  },
  (request, info) => app.fetch(request, { info }),
);
