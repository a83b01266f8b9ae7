/**
 * Deno entry: `deno run --allow-net --allow-env --allow-read --allow-write src/deno.ts`
 * (deno.json enables Deno KV and reads npm packages from node_modules). Options come from the
 * environment (`options.ts`): `HOST`, `PORT`, `GATEWAY_KV_PATH` (the Deno KV database file;
 * without it, Deno's default location), `GATEWAY_SEED_DIR`, and the rest. The admin API's writes
 * are serialised within this process: run one process per Deno KV database for the admin API. On
 * SIGINT or SIGTERM, work handed off the response path is drained first.
 */
import { type DenoKvLike, DenoKvStore } from "./adapters/deno/kv-store.ts";
import { seedFromDir } from "./adapters/node/seed-dir.ts";
import { adminFor } from "./admin/admin.ts";
import { BackgroundTasks } from "./background.ts";
import { createGateway } from "./gateway.ts";
import { MemoryAnalytics } from "./observe/analytics.ts";
import { Observer } from "./observe/observer.ts";
import { isLoopback } from "./http/origins.ts";
import { gatewayOptions, limiterFor, observeConfigFromText, OptionsError, readOptions, type RuntimeOptions } from "./options.ts";

interface ServeInfo {
  remoteAddr: { hostname: string };
}
declare const Deno: {
  env: { get(name: string): string | undefined };
  openKv(path?: string): Promise<DenoKvLike>;
  exit(code: number): never;
  readTextFile(path: string): Promise<string>;
  stdout: { write(bytes: Uint8Array): Promise<number> };
  addSignalListener(signal: "SIGINT" | "SIGTERM", handler: () => void): void;
  serve(
    options: { hostname: string; port: number; onListen?: (addr: { port: number }) => void },
    handler: (request: Request, info: ServeInfo) => Response | Promise<Response>,
  ): unknown;
};

const get = (name: string) => Deno.env.get(name);
let options: RuntimeOptions;
let limiter: ReturnType<typeof limiterFor>;
try {
  options = readOptions(get);
  if (options.configFile !== undefined) {
    const file = options.configFile;
    const text = await Deno.readTextFile(file).catch((error: unknown) => {
      throw new OptionsError("GATEWAY_CONFIG_FILE", `cannot read ${file}: ${String(error)}`);
    });
    options.observe = observeConfigFromText(text, "GATEWAY_CONFIG_FILE");
  }
  limiter = limiterFor(options, "memory");
} catch (error) {
  if (!(error instanceof OptionsError)) throw error;
  console.error(`MCP gateway (deno) cannot start: ${error.message}`);
  Deno.exit(1);
}
const store = new DenoKvStore(await (options.kvPath ? Deno.openKv(options.kvPath) : Deno.openKv()));
if (options.seedDir) {
  const count = await seedFromDir(store, options.seedDir);
  console.log(`seeded ${count} definition(s) from ${options.seedDir}`);
}

if (!isLoopback(options.host) && options.publicOrigins.length === 0) {
  console.warn(
    `MCP gateway (deno): HOST ${options.host} is not a loopback address and GATEWAY_PUBLIC_ORIGINS is not set: only requests with a loopback Host (localhost, 127.0.0.1, [::1]) are served`,
  );
}
const background = new BackgroundTasks();
const encoder = new TextEncoder();
/** Writes all of `bytes` to stdout (a write may take part of them), in order with earlier writes. */
let written: Promise<void> = Promise.resolve();
function writeAll(bytes: Uint8Array): Promise<void> {
  written = written.then(async () => {
    for (let at = 0; at < bytes.length; ) at += await Deno.stdout.write(bytes.subarray(at));
  });
  return written.catch(() => {});
}
const observer = new Observer({
  config: options.observe,
  analytics: new MemoryAnalytics(),
  secrets: get,
  // One write per batch: access-log lines go to stdout together.
  writeLog: (lines) => void writeAll(encoder.encode(`${lines.join("\n")}\n`)),
});
const app = createGateway({
  store,
  observer,
  ...gatewayOptions(options),
  secrets: get,
  waitUntil: (_c, task) => background.add(task),
  limiter,
  admin: { settings: options.admin, handler: adminFor(store, options.admin, limiter) },
  clientAddress: (c) => (c.env as { info: ServeInfo }).info.remoteAddr.hostname,
});

const hostname = options.host;
Deno.serve(
  {
    hostname,
    port: options.port,
    onListen: ({ port }) => console.log(`MCP gateway (deno) listening on http://${hostname}:${port}`),
  },
  (request, info) => app.fetch(request, { info }),
);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    void observer
      .flush()
      .then(() => background.drain())
      .finally(() => Deno.exit(0));
  });
}
