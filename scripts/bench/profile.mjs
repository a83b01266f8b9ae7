#!/usr/bin/env node
// CPU profile of the gateway under load (wrk, concurrency 32, JSON-RPC POST), on Bun
// (`bun --cpu-prof`) or inside workerd (V8 inspector of the gateway's isolate, through Miniflare).
// Prints the hottest functions and writes the .cpuprofile (open it in Chrome DevTools).
//
//   node scripts/bench/profile.mjs --runtime bun|workerd [--variant "as is"] [--seconds 5] [--bare]
//
// --bare profiles the bare passthrough (body buffered) instead, for comparison.
//
// Variants are those of variants.mjs. workerd profiles only the gateway's isolate: time spent in
// Miniflare's KV worker shows up there as "(idle)".
import { once } from "node:events";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { seedEntries } from "../../src/admin/seed.ts";
import { bin, canPin, childPidsNamed, pinProcess, root, startServer, stopAllChildren } from "./lib.mjs";
import { checkPost, postLoad } from "./load.mjs";
import { benchDefinition, bundleWorker, readWorkerConfig, startUpstream } from "./targets.mjs";
import { bundleBunEntry, patchPlugin, VARIANTS } from "./variants.mjs";

const { values: flags } = parseArgs({
  options: {
    runtime: { type: "string", default: "bun" },
    variant: { type: "string", default: "as is" },
    seconds: { type: "string", default: "5" },
    top: { type: "string", default: "30" },
    bare: { type: "boolean", default: false },
  },
});
const variant = VARIANTS.find((v) => v.name === flags.variant);
if (!variant) throw new Error(`unknown variant "${flags.variant}": ${VARIANTS.map((v) => v.name).join(", ")}`);
const seconds = Math.max(1, Math.round(Number(flags.seconds)));
const pin = canPin() && cpus().length >= 2;
const PROXY_CPU = pin ? 0 : undefined;
const SIDE_CPU = pin ? 1 : undefined;
if (pin) pinProcess(process.pid, SIDE_CPU);
const dir = await mkdtemp(join(tmpdir(), "mcp-bench-profile-"));
const upstream = await startUpstream({ cpu: SIDE_CPU, sseEvents: 100, sseDelayMs: 1 });
const load = (url) => postLoad(url, { loadgen: "wrk", connections: 32, seconds, cpu: SIDE_CPU });

let profile;
let rps;
if (flags.runtime === "bun") {
  const seedDir = join(dir, "definitions");
  await import("node:fs/promises").then((fs) => fs.mkdir(seedDir));
  await writeFile(join(seedDir, "bench.json"), JSON.stringify(benchDefinition(upstream.origin)));
  const preload = join(dir, "exit-on-sigint.mjs");
  await writeFile(preload, 'process.on("SIGINT", () => process.exit(0));\n');
  const entry = flags.bare ? join(root, "scripts/bench/bare-bun.mjs") : await bundleBunEntry(join(dir, "gateway.mjs"), variant.patches);
  const server = await startServer(
    "bun gateway (profiled)",
    bin("bun"),
    ["--preload", preload, "--cpu-prof", `--cpu-prof-dir=${dir}`, "--cpu-prof-interval=250", entry],
    {
      env: {
        HOST: "127.0.0.1",
        PORT: "0",
        GATEWAY_SEED_DIR: seedDir,
        UPSTREAM: upstream.origin,
        BARE_BODY: "buffer",
        ...(variant.env ?? {}),
      },
      ready: /listening on http:\/\/127\.0\.0\.1:(\d+)/,
      cpu: PROXY_CPU,
    },
  );
  const url = `http://127.0.0.1:${server.port}${flags.bare ? "" : "/bench"}/mcp`;
  await checkPost(url);
  rps = (await load(url)).rps;
  const exited = once(server.child, "exit");
  process.kill(server.pid, "SIGINT");
  await exited;
  const file = (await readdir(dir)).find((f) => f.endsWith(".cpuprofile"));
  profile = JSON.parse(await readFile(join(dir, file), "utf8"));
} else if (flags.runtime === "workerd") {
  const config = await readWorkerConfig();
  const script = flags.bare
    ? await bundleWorker(join(root, "scripts/bench/bare-worker.mjs"))
    : await bundleWorker(config.main, [patchPlugin(variant.patches)]);
  const known = new Set(childPidsNamed(process.pid, "workerd"));
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      inspectorPort: 0,
      modules: true,
      script,
      compatibilityDate: config.compatibilityDate,
      compatibilityFlags: config.compatibilityFlags,
      kvNamespaces: config.kvNamespaces,
      durableObjects: config.durableObjects,
      bindings: { ...config.vars, ...(variant.env ?? {}), ...(flags.bare ? { UPSTREAM: upstream.origin, BARE_BODY: "buffer" } : {}) },
      logRequests: false,
      unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
    }),
  );
  await mf.ready;
  const direct = await mf.unsafeGetDirectURL();
  if (pin) for (const pid of childPidsNamed(process.pid, "workerd").filter((p) => !known.has(p))) pinProcess(pid, PROXY_CPU);
  const kv = await mf.getKVNamespace("GATEWAY_KV");
  for (const { key, value } of seedEntries([["bench.json", benchDefinition(upstream.origin)]])) await kv.put(key, value);
  const url = `${direct.origin}${flags.bare ? "" : "/bench"}/mcp`;
  await checkPost(url);
  await load(url); // warm up before profiling
  const inspector = await mf.getInspectorURL();
  const targets = await (await fetch(`http://${inspector.host}/json/list`)).json();
  const target = targets.find((t) => /core:user/.test(t.title)) ?? targets[0];
  const ws = new WebSocket(target.webSocketDebuggerUrl.replace("localhost", "127.0.0.1"));
  await once(ws, "open");
  let id = 0;
  const pending = new Map();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    pending.get(message.id)?.(message);
    pending.delete(message.id);
  });
  const send = (method, params = {}) =>
    new Promise((resolve) => {
      pending.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 250 });
  await send("Profiler.start");
  rps = (await load(url)).rps;
  profile = (await send("Profiler.stop")).result.profile;
  ws.close();
  await mf.dispose();
} else {
  throw new Error(`unknown runtime ${flags.runtime}`);
}
await upstream.stop();
await stopAllChildren();

const out = join(dir, `${flags.runtime}-${variant.name.replace(/\W+/g, "-")}.cpuprofile`);
await writeFile(out, JSON.stringify(profile));

// Self samples per function, and inclusive samples per function (each function once per stack).
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n) => {
  const f = n.callFrame;
  const file = f.url ? f.url.replace(/^.*\/(node_modules\/|src\/|scripts\/)/, "$1") : "";
  return `${f.functionName || "(anonymous)"}${file ? ` ${file}:${f.lineNumber + 1}` : ""}`;
};
const self = new Map();
const inclusive = new Map();
let total = 0;
for (const sample of profile.samples) {
  total++;
  const l = label(nodes.get(sample));
  self.set(l, (self.get(l) ?? 0) + 1);
  const seen = new Set();
  for (let id = sample; id !== undefined; id = parent.get(id)) {
    const name = label(nodes.get(id));
    if (!seen.has(name)) inclusive.set(name, (inclusive.get(name) ?? 0) + 1);
    seen.add(name);
  }
}
const top = Number(flags.top);
const show = (map, title) => {
  console.log(`\n${title}\n`);
  for (const [name, count] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * count) / total).toFixed(1).padStart(5)}%  ${name}`);
  }
};
console.log(`${flags.runtime}, gateway ${variant.name}: ${rps.toFixed(0)} req/s under the profiler; ${total} samples`);
show(self, "Self (share of samples)");
show(inclusive, "Inclusive (share of samples)");
console.log(`\nprofile: ${out}`);
process.exit(0);
