// Starting what the benchmark measures: the upstream, and on each runtime the bare Hono passthrough
// and the gateway. Everything listens on 127.0.0.1 on a port the OS picks.
//
// workerd runs through Miniflare's API (as test/helpers/gateways.ts does), not through `wrangler
// dev`, whose extra proxy hop costs more than the gateway itself. The load goes to a direct socket
// of the worker (`unsafeDirectSockets`), not to Miniflare's entry URL: the entry worker (routing,
// `cf` blob, error pages, request logging through a loopback fetch to Node) costs ~0.5 ms per
// request on this kind of machine, several times a hello-world worker, and production has no such
// hop. KV (GATEWAY_KV) is still Miniflare's, served inside the same workerd process. Requests to a
// workerd target carry the `CF-Connecting-IP` header the edge would add (EDGE_HEADERS).
//
// Each target may carry `headers`, sent with every request to it (the load, the probes, the
// checks): the edge's header on workerd, the key on the secured gateway.
import { execFileSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { policySeedEntries, seededKinds, seedEntries } from "../../src/admin/seed.ts";
import { bin, childPidsNamed, freePort, pinProcess, root, startServer } from "./lib.mjs";
import { BENCH_KEY, BENCH_KEY_SESSION, benchPolicy, KEY_HEADER, POLICY_ID } from "./messages.mjs";

export const LISTEN_PATH = "/bench";
/** The MCP endpoint path on the upstream and on the bare passthrough; the gateway adds LISTEN_PATH. */
export const MCP_PATH = "/mcp";

/**
 * The Worker's settings from wrangler.toml (compatibility date and flags, KV namespaces, Durable
 * Objects, vars), so the bench follows the project's configuration as it changes. Falls back to
 * the settings test/helpers/gateways.ts uses when wrangler cannot read it.
 */
const workerConfigs = new Map();
const sqliteClasses = (c) => new Set((c.migrations ?? []).flatMap((m) => m.new_sqlite_classes ?? []));
/** `tree`: the source tree whose wrangler.toml is read (default: this checkout; see {@link exportTree}). */
export async function readWorkerConfig(tree = root) {
  if (workerConfigs.has(tree)) return workerConfigs.get(tree);
  let workerConfig;
  try {
    const { unstable_readConfig } = await import("wrangler");
    const c = unstable_readConfig({ config: join(tree, "wrangler.toml") }, { hideWarnings: true });
    workerConfig = {
      compatibilityDate: c.compatibility_date,
      compatibilityFlags: c.compatibility_flags ?? [],
      kvNamespaces: (c.kv_namespaces ?? []).map((k) => k.binding),
      // A class its migrations create with SQLite storage gets it here too (the analytics store uses SQL).
      durableObjects: Object.fromEntries(
        (c.durable_objects?.bindings ?? []).map((d) => [
          d.name,
          sqliteClasses(c).has(d.class_name) ? { className: d.class_name, useSQLite: true } : d.class_name,
        ]),
      ),
      vars: Object.fromEntries(Object.entries(c.vars ?? {}).filter(([, v]) => typeof v === "string")),
      main: c.main ?? join(tree, "src/worker.ts"),
    };
  } catch (error) {
    console.error(`bench: cannot read wrangler.toml (${error.message}); using built-in Worker settings`);
    workerConfig = {
      compatibilityDate: "2026-11-01",
      compatibilityFlags: ["enable_request_signal"],
      kvNamespaces: ["GATEWAY_KV"],
      durableObjects: { ADMIN: "AdminObject", LIMITER: "LimiterObject", ANALYTICS: { className: "AnalyticsObject", useSQLite: true } },
      vars: { UPSTREAM_TIMEOUT_SECONDS: "30" },
      main: join(tree, "src/worker.ts"),
    };
  }
  workerConfigs.set(tree, workerConfig);
  return workerConfig;
}

/**
 * A clean copy of commit `rev`'s source (src/, wrangler.toml, tsconfig.json, package.json, by
 * `git archive`; nothing in the checkout is touched) in a temporary folder, with this checkout's
 * node_modules linked in: a tree to start the gateway from when others have uncommitted changes in
 * the checkout. Returns `{ dir, commit }` (the full hash). Definitions are still seeded with this
 * checkout's src/admin/seed.ts (the store's key layout).
 */
export async function exportTree(rev) {
  const commit = execFileSync("git", ["rev-parse", "--verify", `${rev}^{commit}`], { cwd: root })
    .toString()
    .trim();
  const dir = await mkdtemp(join(tmpdir(), `mcp-bench-tree-${commit.slice(0, 7)}-`));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const archive = execFileSync("git", ["archive", "--format=tar", commit, "src", "wrangler.toml", "tsconfig.json", "package.json"], {
    cwd: root,
    maxBuffer: 256 * 2 ** 20,
  });
  execFileSync("tar", ["-x", "-C", dir], { input: archive });
  await symlink(join(root, "node_modules"), join(dir, "node_modules"));
  return { dir, commit };
}

/** The API's id; the open and the key-secured gateway serve it on the same listen path. */
export const API_ID = "bench";

/**
 * An MCP proxy definition (Tyk OAS) for the upstream, as test/helpers/definitions.ts builds them.
 * `secured`: the API takes an auth token in the {@link KEY_HEADER} header (`withTokenAuth` in
 * test/helpers/definitions.ts), so every request is authenticated and authorized by its key's
 * policy; otherwise the API is open. `id` and `listenPath`: for a gateway serving several APIs.
 */
export function benchDefinition(upstreamOrigin, { secured = false, id = API_ID, listenPath = LISTEN_PATH } = {}) {
  const definition = {
    openapi: "3.0.3",
    info: { title: "bench", version: "2025-11-25" },
    paths: {
      "/mcp": {
        post: { operationId: "mcpTransportPost", responses: { 200: { description: "JSON-RPC response" } } },
        get: { operationId: "mcpSSEGet", responses: { 200: { description: "SSE stream" } } },
      },
    },
    "x-tyk-api-gateway": {
      info: { id, name: id, state: { active: true } },
      server: { listenPath: { value: listenPath, strip: true } },
      upstream: { url: upstreamOrigin },
    },
  };
  if (secured) {
    definition.components = { securitySchemes: { authToken: { type: "apiKey", in: "header", name: KEY_HEADER } } };
    definition.security = [{ authToken: [] }];
    definition["x-tyk-api-gateway"].server.authentication = { enabled: true, securitySchemes: { authToken: { enabled: true } } };
  }
  return definition;
}

/**
 * What Cloudflare's edge adds to every request a Worker gets, and the Worker's only source of the
 * client's address (src/worker.ts `clientAddress`; Miniflare's entry worker adds it too, but the
 * bench goes round that to the worker's direct socket). Every request to a workerd target carries
 * it, so the gateway and the bare passthrough both add the address to `X-Forwarded-For`, as they
 * would in production.
 */
export const EDGE_HEADERS = { "cf-connecting-ip": "127.0.0.1" };

/** The headers a request to the secured API carries: its key. */
export const SECURED_HEADERS = { [KEY_HEADER]: BENCH_KEY };

/**
 * The store entries for the bench's API (and, `secured`, its policy), as `scripts/seed.mjs` and
 * the Bun entry's seed folder make them; `definitions` replaces the bench's API with these.
 */
export function benchSeedEntries(upstreamOrigin, { secured = false, definitions } = {}) {
  const apis = seedEntries(
    definitions ? definitions.map((d, i) => [`api-${i}.json`, d]) : [["bench.json", benchDefinition(upstreamOrigin, { secured })]],
  );
  if (!secured) return apis;
  return [...apis, ...policySeedEntries([[`${POLICY_ID}.json`, benchPolicy(API_ID)]], seededKinds(apis))];
}

/**
 * Creates the secured API's key through the Gateway API (`POST /tyk/keys/{key}`), as an operator
 * would: stored hashed, for the bench policy.
 */
async function createBenchKey(origin, secret) {
  const res = await fetch(`${origin}/tyk/keys/${encodeURIComponent(BENCH_KEY)}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-tyk-authorization": secret },
    body: JSON.stringify(BENCH_KEY_SESSION),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`creating the bench key answered ${res.status}: ${text.slice(0, 300)}`);
}

/**
 * Creates each policy through the Gateway API (`POST /tyk/policies`) and a key for it (`POST
 * /tyk/keys`, a random key, stored hashed), as an operator would; returns the keys in order.
 */
export async function createConsumers(origin, secret, policies) {
  const admin = async (path, body) => {
    const res = await fetch(`${origin}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-tyk-authorization": secret },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`POST ${path} answered ${res.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text);
  };
  const keys = [];
  for (const policy of policies) {
    await admin("/tyk/policies", policy);
    keys.push((await admin("/tyk/keys", { alias: policy.id, apply_policies: [policy.id] })).key);
  }
  return keys;
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

/** `bunArgs`: flags for bun before the script (`--cpu-prof`, …). */
export async function startBunBare(upstreamOrigin, { cpu, body = "stream", bunArgs = [] }) {
  const server = await startServer(`bun bare (${body})`, bin("bun"), [...bunArgs, join(root, "scripts/bench/bare-bun.mjs")], {
    env: { HOST: "127.0.0.1", PORT: "0", UPSTREAM: upstreamOrigin, BARE_BODY: body },
    ready: /listening on http:\/\/127\.0\.0\.1:(\d+)/,
    cpu,
  });
  return { ...server, url: `http://127.0.0.1:${server.port}${MCP_PATH}` };
}

/**
 * The gateway on Bun as `npm run start:bun` runs it (`bun src/bun.ts`), definitions seeded from a
 * folder. `store: "memory"` (no GATEWAY_STORE_DIR, as the tests run it) or `"file"` (the file
 * store `npm run start:bun` uses). `secured`: the API takes a key, its policy is seeded from the
 * folder's `policies/` and the key is created through the Gateway API; the result's `headers` carry
 * the key. `bunArgs`: flags for bun before the entry (`--cpu-prof`, …).
 *
 * `definitions`: seed these instead of the bench's API; `consumers`: policies created through the
 * Gateway API after the start, each with a key (the result's `keys`, in order; see
 * {@link createConsumers}). `secret`: set GATEWAY_SECRET even without either (the result's
 * `secret`, for the admin APIs and `/metrics`). `sinkStdout`: stdout (access-log lines) to the
 * sink of lib.mjs's startServer, not read by this process.
 */
export async function startBunGateway(
  upstreamOrigin,
  {
    cpu,
    store = "memory",
    entry = join(root, "src/bun.ts"),
    env: extraEnv = {},
    secured = false,
    bunArgs = [],
    definitions,
    consumers = [],
    secret: wantSecret = false,
    sinkStdout = false,
    name,
  },
) {
  const dir = await mkdtemp(join(tmpdir(), "mcp-bench-bun-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const seedDir = join(dir, "definitions");
  await mkdir(seedDir);
  const seeded = definitions ?? [benchDefinition(upstreamOrigin, { secured })];
  for (const [i, definition] of seeded.entries()) {
    await writeFile(join(seedDir, definitions ? `api-${i}.json` : "bench.json"), JSON.stringify(definition));
  }
  const useSecret = secured || wantSecret || consumers.length > 0;
  const secret = crypto.randomUUID();
  if (secured) {
    await mkdir(join(seedDir, "policies"));
    await writeFile(join(seedDir, "policies", `${POLICY_ID}.json`), JSON.stringify(benchPolicy(API_ID)));
  }
  const port = sinkStdout ? await freePort() : 0;
  const env = {
    HOST: "127.0.0.1",
    PORT: String(port),
    GATEWAY_SEED_DIR: seedDir,
    ...(useSecret ? { GATEWAY_SECRET: secret } : {}),
    ...extraEnv,
  };
  if (store === "file") env.GATEWAY_STORE_DIR = join(dir, "store");
  const server = await startServer(name ?? `bun gateway (${store}${secured ? ", secured" : ""})`, bin("bun"), [...bunArgs, entry], {
    env,
    ready: /listening on http:\/\/127\.0\.0\.1:(\d+)/,
    cpu,
    ...(sinkStdout ? { sinkStdout, port, readyUrl: `http://127.0.0.1:${port}/hello` } : {}),
  });
  const origin = `http://127.0.0.1:${server.port}`;
  if (secured) await createBenchKey(origin, secret);
  const keys = await createConsumers(origin, secret, consumers);
  return {
    ...server,
    origin,
    keys,
    ...(useSecret ? { secret } : {}),
    url: `${origin}${LISTEN_PATH}${MCP_PATH}`,
    ...(secured ? { headers: SECURED_HEADERS } : {}),
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
    // The runtime's own modules (the Durable Objects' base class), as wrangler leaves them.
    external: ["cloudflare:*"],
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    write: false,
    logLevel: "error",
    plugins,
  });
  return result.outputFiles[0].text;
}

/** The last log lines of the workerd targets (their logs are not printed). */
export const recentLogs = [];

/** `inspector`: open V8's inspector on a free port (`mf.getInspectorURL()`), for profile.mjs. */
async function startMiniflare(name, script, { cpu, gateway = false, bindings = {}, inspector = false, tree = root, miniflare = {} }) {
  const config = await readWorkerConfig(tree);
  const known = new Set(childPidsNamed(process.pid, "workerd"));
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      ...(inspector ? { inspectorPort: 0 } : {}),
      modules: true,
      script,
      compatibilityDate: config.compatibilityDate,
      compatibilityFlags: config.compatibilityFlags,
      ...(gateway ? { kvNamespaces: config.kvNamespaces, durableObjects: config.durableObjects } : {}),
      bindings: { ...(gateway ? config.vars : {}), ...bindings },
      logRequests: false,
      // The worker's logs (access logs: a line per request) are dropped, not printed by this process
      // on the load generator's CPU; the last few are kept for a look after a failure.
      handleStructuredLogs: (log) => {
        recentLogs.push(log.message);
        if (recentLogs.length > 20) recentLogs.shift();
      },
      // A socket straight to the worker: no Miniflare entry worker in front of it.
      unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
      ...miniflare,
    }),
  );
  await mf.ready;
  const url = await mf.unsafeGetDirectURL();
  const pids = childPidsNamed(process.pid, "workerd").filter((pid) => !known.has(pid));
  const pid = pids.length === 1 ? pids[0] : undefined;
  if (pid !== undefined && cpu !== undefined) pinProcess(pid, cpu);
  return { name, mf, origin: url.origin, pid, stop: () => mf.dispose() };
}

export async function startWorkerdBare(upstreamOrigin, { cpu, body = "stream", inspector = false }) {
  const script = await bundleWorker(join(root, "scripts/bench/bare-worker.mjs"));
  const started = await startMiniflare(`workerd bare (${body})`, script, {
    cpu,
    inspector,
    bindings: { UPSTREAM: upstreamOrigin, BARE_BODY: body },
  });
  return { ...started, url: `${started.origin}${MCP_PATH}`, headers: EDGE_HEADERS };
}

/**
 * The gateway on workerd: the Worker's main module (src/worker.ts) bundled, with the bindings of
 * wrangler.toml; the KV namespace GATEWAY_KV is seeded with the definition (and, `secured`, the
 * policy) as `scripts/seed.mjs` seeds it, and the secured API's key is created through the Gateway
 * API (the admin Durable Object writes it to KV, hashed). `definitions`, `consumers` and `secret`
 * as for {@link startBunGateway}; `tree`: the source tree to bundle and whose wrangler.toml to
 * follow (default this checkout; see {@link exportTree}).
 */
export async function startWorkerdGateway(
  upstreamOrigin,
  {
    cpu,
    entry,
    plugins = [],
    bindings = {},
    secured = false,
    inspector = false,
    definitions,
    consumers = [],
    secret: wantSecret = false,
    tree = root,
    name,
    miniflare = {},
  },
) {
  const script = await bundleWorker(entry ?? (await readWorkerConfig(tree)).main, plugins);
  const useSecret = secured || wantSecret || consumers.length > 0;
  const secret = crypto.randomUUID();
  const started = await startMiniflare(name ?? (secured ? "workerd gateway (secured)" : "workerd gateway"), script, {
    cpu,
    gateway: true,
    inspector,
    tree,
    miniflare,
    bindings: { ...(useSecret ? { GATEWAY_SECRET: secret } : {}), ...bindings },
  });
  const kv = await started.mf.getKVNamespace("GATEWAY_KV");
  for (const { key, value } of benchSeedEntries(upstreamOrigin, { secured, definitions })) await kv.put(key, value);
  if (secured) await createBenchKey(started.origin, secret);
  const keys = await createConsumers(started.origin, secret, consumers);
  return {
    ...started,
    keys,
    ...(useSecret ? { secret } : {}),
    url: `${started.origin}${LISTEN_PATH}${MCP_PATH}`,
    headers: { ...EDGE_HEADERS, ...(secured ? SECURED_HEADERS : {}) },
  };
}

// ---------------------------------------------------------------------------------------------
// Upstash: a local Redis server and the Upstash REST bridge in front of it (as test/helpers/redis.ts
// starts them for the tests)

/** Where Debian puts it; the PATH is searched too. */
const REDIS_SERVER = existsSync("/usr/bin/redis-server") ? "/usr/bin/redis-server" : "redis-server";

/**
 * An Upstash REST endpoint on 127.0.0.1: `redis-server` (in memory only) and
 * test/fixtures/upstash-bridge.ts (Node) in front of it, both on `cpu`. Returns `{ url, token,
 * pids, stop }`: the gateway's UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN, and the two
 * processes (their CPU time is the benchmark's, not other work).
 */
export async function startUpstash({ cpu }) {
  const redisPort = await freePort();
  const redis = await startServer(
    "redis-server",
    REDIS_SERVER,
    ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { ready: /Ready to accept connections()/, cpu },
  );
  const token = crypto.randomUUID();
  const bridge = await startServer("upstash bridge", process.execPath, [join(root, "test/fixtures/upstash-bridge.ts")], {
    env: { PORT: "0", REDIS_PORT: String(redisPort), UPSTASH_TOKEN: token },
    ready: /LISTENING (\d+)/,
    cpu,
  });
  return {
    url: `http://127.0.0.1:${bridge.port}`,
    token,
    pids: [redis.pid, bridge.pid],
    stop: async () => {
      await bridge.stop();
      await redis.stop();
    },
  };
}
