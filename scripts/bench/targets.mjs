// Starting what the benchmark measures: the upstream, and on each runtime the bare Hono passthrough
// and the gateway. Everything listens on 127.0.0.1 on a port the OS picks.
//
// workerd runs through Miniflare's API (as test/helpers/gateways.ts does), not through `wrangler
// dev`, whose extra proxy hop costs more than the gateway itself. The load goes to a direct socket
// of the worker (`unsafeDirectSockets`), not to Miniflare's entry URL: the entry worker (routing,
// `cf` blob, error pages, request logging through a loopback fetch to Node) costs ~0.5 ms per
// request on this kind of machine, several times a hello-world worker, and production has no such
// hop. KV (GATEWAY_KV) is still Miniflare's, served inside the same workerd process.
import { rmSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { seedEntries } from "../../src/admin/seed.ts";
import { bin, childPidsNamed, pinProcess, root, startServer } from "./lib.mjs";

export const LISTEN_PATH = "/bench";
/** The MCP endpoint path on the upstream and on the bare passthrough; the gateway adds LISTEN_PATH. */
export const MCP_PATH = "/mcp";

/**
 * The Worker's settings from wrangler.toml (compatibility date and flags, KV namespaces, Durable
 * Objects, vars), so the bench follows the project's configuration as it changes. Falls back to
 * the settings test/helpers/gateways.ts uses when wrangler cannot read it.
 */
let workerConfig;
export async function readWorkerConfig() {
  if (workerConfig) return workerConfig;
  try {
    const { unstable_readConfig } = await import("wrangler");
    const c = unstable_readConfig({ config: join(root, "wrangler.toml") }, { hideWarnings: true });
    workerConfig = {
      compatibilityDate: c.compatibility_date,
      compatibilityFlags: c.compatibility_flags ?? [],
      kvNamespaces: (c.kv_namespaces ?? []).map((k) => k.binding),
      durableObjects: Object.fromEntries((c.durable_objects?.bindings ?? []).map((d) => [d.name, d.class_name])),
      vars: Object.fromEntries(Object.entries(c.vars ?? {}).filter(([, v]) => typeof v === "string")),
      main: c.main ?? join(root, "src/worker.ts"),
    };
  } catch (error) {
    console.error(`bench: cannot read wrangler.toml (${error.message}); using built-in Worker settings`);
    workerConfig = {
      compatibilityDate: "2026-11-01",
      compatibilityFlags: ["enable_request_signal"],
      kvNamespaces: ["GATEWAY_KV"],
      durableObjects: { ADMIN: "AdminObject" },
      vars: { UPSTREAM_TIMEOUT_SECONDS: "30" },
      main: join(root, "src/worker.ts"),
    };
  }
  return workerConfig;
}

/** An MCP proxy definition (Tyk OAS) for the upstream, as test/helpers/definitions.ts builds them. */
export function benchDefinition(upstreamOrigin) {
  return {
    openapi: "3.0.3",
    info: { title: "bench", version: "2025-11-25" },
    paths: {
      "/mcp": {
        post: { operationId: "mcpTransportPost", responses: { 200: { description: "JSON-RPC response" } } },
        get: { operationId: "mcpSSEGet", responses: { 200: { description: "SSE stream" } } },
      },
    },
    "x-tyk-api-gateway": {
      info: { id: "bench", name: "bench", state: { active: true } },
      server: { listenPath: { value: LISTEN_PATH, strip: true } },
      upstream: { url: upstreamOrigin },
    },
  };
}

export async function startUpstream({ cpu, sseEvents, sseDelayMs }) {
  const server = await startServer("upstream", process.execPath, [join(root, "scripts/bench/upstream.mjs")], {
    env: { PORT: "0", SSE_EVENTS: String(sseEvents), SSE_DELAY_MS: String(sseDelayMs) },
    ready: /LISTENING (\d+)/,
    cpu,
  });
  return { ...server, origin: `http://127.0.0.1:${server.port}` };
}

// ---------------------------------------------------------------------------------------------
// Bun

export async function startBunBare(upstreamOrigin, { cpu, body = "stream" }) {
  const server = await startServer(`bun bare (${body})`, bin("bun"), [join(root, "scripts/bench/bare-bun.mjs")], {
    env: { HOST: "127.0.0.1", PORT: "0", UPSTREAM: upstreamOrigin, BARE_BODY: body },
    ready: /listening on http:\/\/127\.0\.0\.1:(\d+)/,
    cpu,
  });
  return { ...server, url: `http://127.0.0.1:${server.port}${MCP_PATH}` };
}

/**
 * The gateway on Bun as `npm run start:bun` runs it (`bun src/bun.ts`), definitions seeded from a
 * folder. `store: "memory"` (no GATEWAY_STORE_DIR, as the tests run it) or `"file"` (the file
 * store `npm run start:bun` uses).
 */
export async function startBunGateway(upstreamOrigin, { cpu, store = "memory", entry = join(root, "src/bun.ts"), env: extraEnv = {} }) {
  const dir = await mkdtemp(join(tmpdir(), "mcp-bench-bun-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const seedDir = join(dir, "definitions");
  await mkdir(seedDir);
  await writeFile(join(seedDir, "bench.json"), JSON.stringify(benchDefinition(upstreamOrigin)));
  const env = { HOST: "127.0.0.1", PORT: "0", GATEWAY_SEED_DIR: seedDir, ...extraEnv };
  if (store === "file") env.GATEWAY_STORE_DIR = join(dir, "store");
  const server = await startServer(`bun gateway (${store})`, bin("bun"), [entry], {
    env,
    ready: /listening on http:\/\/127\.0\.0\.1:(\d+)/,
    cpu,
  });
  return {
    ...server,
    url: `http://127.0.0.1:${server.port}${LISTEN_PATH}${MCP_PATH}`,
    stop: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// workerd (Miniflare API)

/** Bundles a worker entry as wrangler would (esbuild, ESM, workerd conditions); returns the code. */
export async function bundleWorker(entryPoint, plugins = []) {
  const result = await build({
    entryPoints: [entryPoint],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    write: false,
    logLevel: "error",
    plugins,
  });
  return result.outputFiles[0].text;
}

async function startMiniflare(name, script, { cpu, gateway = false, bindings = {} }) {
  const config = await readWorkerConfig();
  const known = new Set(childPidsNamed(process.pid, "workerd"));
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      modules: true,
      script,
      compatibilityDate: config.compatibilityDate,
      compatibilityFlags: config.compatibilityFlags,
      ...(gateway ? { kvNamespaces: config.kvNamespaces, durableObjects: config.durableObjects } : {}),
      bindings: { ...(gateway ? config.vars : {}), ...bindings },
      logRequests: false,
      // A socket straight to the worker: no Miniflare entry worker in front of it.
      unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
    }),
  );
  await mf.ready;
  const url = await mf.unsafeGetDirectURL();
  const pids = childPidsNamed(process.pid, "workerd").filter((pid) => !known.has(pid));
  const pid = pids.length === 1 ? pids[0] : undefined;
  if (pid !== undefined && cpu !== undefined) pinProcess(pid, cpu);
  return { name, mf, origin: url.origin, pid, stop: () => mf.dispose() };
}

export async function startWorkerdBare(upstreamOrigin, { cpu, body = "stream" }) {
  const script = await bundleWorker(join(root, "scripts/bench/bare-worker.mjs"));
  const started = await startMiniflare(`workerd bare (${body})`, script, { cpu, bindings: { UPSTREAM: upstreamOrigin, BARE_BODY: body } });
  return { ...started, url: `${started.origin}${MCP_PATH}` };
}

/**
 * The gateway on workerd: the Worker's main module (src/worker.ts) bundled, with the bindings of
 * wrangler.toml; the KV namespace GATEWAY_KV is seeded with the definition (seedEntries() layout).
 */
export async function startWorkerdGateway(upstreamOrigin, { cpu, entry, plugins = [], bindings = {} }) {
  const script = await bundleWorker(entry ?? (await readWorkerConfig()).main, plugins);
  const started = await startMiniflare("workerd gateway", script, { cpu, gateway: true, bindings });
  const kv = await started.mf.getKVNamespace("GATEWAY_KV");
  for (const { key, value } of seedEntries([["bench.json", benchDefinition(upstreamOrigin)]])) {
    await kv.put(key, value);
  }
  return { ...started, url: `${started.origin}${LISTEN_PATH}${MCP_PATH}` };
}
