/**
 * Bun entry: `bun src/bun.ts`.
 *
 * Environment: `HOST` (default 127.0.0.1), `PORT` (default 8787), `GATEWAY_STORE_DIR` (a folder for
 * the file store; without it, definitions are kept in memory), `GATEWAY_SEED_DIR` (definition
 * files written into the store at start), `UPSTREAM_TIMEOUT_SECONDS`, and the admin settings
 * `GATEWAY_SECRET`, `DASHBOARD_API_KEYS`, `ADMIN_API`, `ADMIN_HOST`. The admin API's writes are
 * serialised within this process: run one process per store.
 */
import { FileStore } from "./adapters/node/file-store.ts";
import { seedFromDir } from "./adapters/node/seed-dir.ts";
import { adminFor, adminSettings } from "./admin/admin.ts";
import { parsePublicOrigins } from "./auth/resource.ts";
import { createGateway } from "./gateway.ts";
import { MemoryStore } from "./stores/memory.ts";

interface BunServer {
  port: number;
  requestIP(request: Request): { address: string } | null;
}
declare const Bun: {
  env: Record<string, string | undefined>;
  serve(options: {
    hostname: string;
    port: number;
    idleTimeout: number;
    fetch(request: Request, server: BunServer): Response | Promise<Response>;
  }): BunServer;
};

const env = Bun.env;
const store = env.GATEWAY_STORE_DIR ? new FileStore(env.GATEWAY_STORE_DIR) : new MemoryStore();
if (env.GATEWAY_SEED_DIR) {
  const count = await seedFromDir(store, env.GATEWAY_SEED_DIR);
  console.log(`seeded ${count} definition(s) from ${env.GATEWAY_SEED_DIR}`);
}

const settings = adminSettings((name) => env[name]);
const app = createGateway({
  store,
  // Bun.serve holds a response's head back until the first body chunk (oven-sh/bun#33660): open
  // every SSE answer with a comment so an idle stream still shows the client its status at once.
  openSseWithComment: true,
  secrets: (name) => env[name],
  ...(env.GATEWAY_CONFIG_MAX_AGE_MS ? { configMaxAgeMs: Number(env.GATEWAY_CONFIG_MAX_AGE_MS) } : {}),
  publicOrigins: parsePublicOrigins(env.GATEWAY_PUBLIC_ORIGINS),
  admin: { settings, handler: adminFor(store, settings) },
  clientAddress: (c) => (c.env as { server: BunServer }).server.requestIP(c.req.raw)?.address,
  ...(env.UPSTREAM_TIMEOUT_SECONDS ? { defaultTimeoutSeconds: Number(env.UPSTREAM_TIMEOUT_SECONDS) } : {}),
});

const server = Bun.serve({
  hostname: env.HOST ?? "127.0.0.1",
  port: Number(env.PORT ?? 8787),
  // SSE streams may stay quiet for long: never close a connection for being idle.
  idleTimeout: 0,
  fetch: (request, server) => app.fetch(request, { server }),
});
console.log(`MCP gateway (bun) listening on http://${env.HOST ?? "127.0.0.1"}:${server.port}`);
