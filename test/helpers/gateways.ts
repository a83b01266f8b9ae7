/**
 * The gateway under test, on each runtime: workerd (through Miniflare's API, with a real KV
 * namespace), Bun and Deno (their entry files, as `npm run start:bun|deno` runs them).
 */
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { WorkersKvStore, type KvNamespaceLike } from "../../src/adapters/workers/kv-store.ts";
import { seedEntries } from "../../src/admin/seed.ts";
import type { KeyValueStore } from "../../src/stores/types.ts";
import { binPath, freePort, kill, root, spawnWithPort, writeDefinitions, type Running } from "./processes.ts";

export type Runtime = "workers" | "bun" | "deno";
export const RUNTIMES: readonly Runtime[] = ["workers", "bun", "deno"];

export interface RunningGateway extends Running {
  runtime: Runtime;
  /** The gateway's store, where the test can reach it (workers only). */
  store?: KeyValueStore;
  /** What the gateway printed: the process's output (bun, deno), the Worker's log (workers). */
  output?: () => string;
  /** Sends a request with a chosen `request.cf` (workers only: Miniflare's dispatchFetch). */
  dispatch?: (url: string, init: RequestInit & { cf?: Record<string, unknown> }) => Promise<Response>;
}

export interface GatewayOptions {
  upstreamTimeoutSeconds?: number;
  /**
   * Extra environment: GATEWAY_SECRET, DASHBOARD_API_KEYS, ADMIN_API, ADMIN_HOST,
   * GATEWAY_PUBLIC_ORIGINS… `{origin}` in a value becomes the gateway's own origin (the port is
   * chosen before start for that).
   */
  env?: Record<string, string>;
}

/** The admin secrets every test gateway gets unless a test says otherwise. */
export const TEST_GATEWAY_SECRET = "test-gateway-secret";
export const TEST_DASHBOARD_KEY = "test-dashboard-key";

let bundle: Promise<string> | undefined;

/** Bundles src/worker.ts once per test file, as wrangler would. */
export function workerBundle(): Promise<string> {
  bundle ??= (async () => {
    // Inside the project: workerd resolves modules below its starting directory.
    const outfile = join(root, "dist", "test", `worker-${process.pid}.js`);
    await build({
      entryPoints: [join(root, "src/worker.ts")],
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      // The runtime's own modules (the Durable Objects' base class), as wrangler leaves them.
      external: ["cloudflare:*"],
      conditions: ["workerd", "worker", "browser"],
      mainFields: ["module", "main"],
      outfile,
      logLevel: "error",
    });
    process.once("exit", () => rmSync(outfile, { force: true }));
    return outfile;
  })();
  return bundle;
}

export async function startGateway(
  runtime: Runtime,
  definitions: readonly object[],
  options: GatewayOptions = {},
): Promise<RunningGateway> {
  const timeout = String(options.upstreamTimeoutSeconds ?? 30);
  const wantsOrigin = Object.values(options.env ?? {}).some((value) => value.includes("{origin}"));
  const port = wantsOrigin ? await freePort() : 0;
  const adminEnv: Record<string, string> = { GATEWAY_SECRET: TEST_GATEWAY_SECRET, DASHBOARD_API_KEYS: TEST_DASHBOARD_KEY };
  for (const [name, value] of Object.entries(options.env ?? {})) {
    adminEnv[name] = value.replaceAll("{origin}", `http://127.0.0.1:${port}`);
  }
  if (runtime === "workers") {
    // What the Worker logs (access-log lines included), as Bun's and Deno's stdout is read.
    const logs: string[] = [];
    const mf = new Miniflare(
      convertV4MiniflareOptions({
        host: "127.0.0.1",
        port,
        modules: true,
        scriptPath: await workerBundle(),
        compatibilityDate: "2026-11-01",
        compatibilityFlags: ["enable_request_signal"],
        kvNamespaces: ["GATEWAY_KV"],
        durableObjects: { ADMIN: "AdminObject", LIMITER: "LimiterObject", ANALYTICS: { className: "AnalyticsObject", useSQLite: true } },
        bindings: { UPSTREAM_TIMEOUT_SECONDS: timeout, ...adminEnv },
        handleStructuredLogs: (log: { level: string; message: string }) => {
          logs.push(log.message);
          if (logs.length > 20_000) logs.splice(0, 10_000);
          if (log.level === "warn" || log.level === "error") console.error(log.message);
        },
      }),
    );
    const url = await mf.ready;
    const store = new WorkersKvStore((await mf.getKVNamespace("GATEWAY_KV")) as unknown as KvNamespaceLike);
    for (const { key, value } of seedEntries(definitions.map((d, i) => [`def-${i}.json`, d] as const))) {
      await store.put(key, value);
    }
    return {
      runtime,
      url: url.origin,
      port: Number(url.port),
      store,
      output: () => logs.join("\n"),
      dispatch: async (target, init) => (await mf.dispatchFetch(target, init as never)) as unknown as Response,
      stop: () => mf.dispose(),
    };
  }
  const dir = await mkdtemp(join(tmpdir(), `gateway-${runtime}-`));
  const seedDir = join(dir, "definitions");
  const { mkdir } = await import("node:fs/promises");
  await mkdir(seedDir);
  await writeDefinitions(seedDir, definitions);
  const env = { HOST: "127.0.0.1", PORT: String(port), GATEWAY_SEED_DIR: seedDir, UPSTREAM_TIMEOUT_SECONDS: timeout, ...adminEnv };
  const started =
    runtime === "bun"
      ? await spawnWithPort(binPath("bun"), [join(root, "src/bun.ts")], /listening on http:\/\/127\.0\.0\.1:(\d+)/, env)
      : await spawnWithPort(
          binPath("deno"),
          ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", join(root, "src/deno.ts")],
          /listening on http:\/\/127\.0\.0\.1:(\d+)/,
          { GATEWAY_KV_PATH: join(dir, "kv.sqlite"), ...env },
        );
  return {
    runtime,
    url: `http://127.0.0.1:${started.port}`,
    port: started.port,
    output: started.output,
    stop: async () => {
      await kill(started.child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Calls the gateway's Gateway API (`/tyk/…`) with the test secret; answers status and JSON. */
export async function tykAdmin(gw: { url: string }, method: string, path: string, body?: unknown) {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: { "x-tyk-authorization": TEST_GATEWAY_SECRET, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as any };
}
