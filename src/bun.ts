/**
 * Bun entry: `bun src/bun.ts`. Options come from the environment (`options.ts`): `HOST`, `PORT`,
 * `GATEWAY_STORE_DIR` (a folder for the file store; without it, definitions are kept in memory),
 * `GATEWAY_SEED_DIR`, and the rest. The admin API's writes are serialised within this process: run
 * one process per store. On SIGINT or SIGTERM, work handed off the response path is drained first.
 */
import { readFile } from "node:fs/promises";
import { FileStore } from "./adapters/node/file-store.ts";
import { seedFromDir } from "./adapters/node/seed-dir.ts";
import { adminFor } from "./admin/admin.ts";
import { BackgroundTasks } from "./background.ts";
import { createGateway } from "./gateway.ts";
import { MemoryAnalytics } from "./observe/analytics.ts";
import { Observer } from "./observe/observer.ts";
import { isLoopback } from "./http/origins.ts";
import { gatewayOptions, limiterFor, observeConfigFromText, OptionsError, readOptions, type RuntimeOptions } from "./options.ts";
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

let options: RuntimeOptions;
let limiter: ReturnType<typeof limiterFor>;
try {
  options = readOptions((name) => Bun.env[name]);
  if (options.configFile !== undefined) {
    const file = options.configFile;
    const text = await readFile(file, "utf8").catch((error: unknown) => {
      throw new OptionsError("GATEWAY_CONFIG_FILE", `cannot read ${file}: ${String(error)}`);
    });
    options.observe = observeConfigFromText(text, "GATEWAY_CONFIG_FILE");
  }
  limiter = limiterFor(options, "memory");
} catch (error) {
  if (!(error instanceof OptionsError)) throw error;
  console.error(`MCP gateway (bun) cannot start: ${error.message}`);
  process.exit(1);
}
const store = options.storeDir ? new FileStore(options.storeDir) : new MemoryStore();
if (options.seedDir) {
  const count = await seedFromDir(store, options.seedDir);
  console.log(`seeded ${count} definition(s) from ${options.seedDir}`);
}

if (!isLoopback(options.host) && options.publicOrigins.length === 0) {
  console.warn(
    `MCP gateway (bun): HOST ${options.host} is not a loopback address and GATEWAY_PUBLIC_ORIGINS is not set: only requests with a loopback Host (localhost, 127.0.0.1, [::1]) are served`,
  );
}
const background = new BackgroundTasks();
const observer = new Observer({
  config: options.observe,
  analytics: new MemoryAnalytics(),
  secrets: (name) => Bun.env[name],
  // One write per batch: access-log lines go to stdout together.
  writeLog: (lines) => process.stdout.write(`${lines.join("\n")}\n`),
});
const app = createGateway({
  store,
  observer,
  ...gatewayOptions(options),
  // Bun.serve holds a response's head back until the first body chunk (oven-sh/bun#33660): open
  // every SSE answer with a comment so an idle stream still shows the client its status at once.
  openSseWithComment: true,
  secrets: (name) => Bun.env[name],
  waitUntil: (_c, task) => background.add(task),
  limiter,
  admin: { settings: options.admin, handler: adminFor(store, options.admin, limiter) },
  clientAddress: (c) => (c.env as { server: BunServer }).server.requestIP(c.req.raw)?.address,
});

const server = Bun.serve({
  hostname: options.host,
  port: options.port,
  // SSE streams may stay quiet for long: never close a connection for being idle.
  idleTimeout: 0,
  fetch: (request, server) => app.fetch(request, { server }),
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    void observer
      .flush()
      .then(() => background.drain())
      .finally(() => process.exit(0));
  });
}
console.log(`MCP gateway (bun) listening on http://${options.host}:${server.port}`);
