#!/usr/bin/env node
// CPU profile of the gateway under load (wrk, JSON-RPC POST), on Bun (`bun --cpu-prof`) or inside
// workerd (V8 inspector of the gateway's isolate, through Miniflare). Prints the hottest functions
// and writes the .cpuprofile (open it in Chrome DevTools).
//
//   node scripts/bench/profile.mjs --runtime bun|workerd [--variant "as is"] [--seconds 5]
//       [--secured] [--body call|list] [--connections 32] [--bare]
//
// --secured profiles the gateway serving the key-secured API (run.mjs's secured target: a key for
// a policy with allow lists); --body list sends the 1000-tool `tools/list` instead of the
// `tools/call` (through the secured gateway, the discovery filtering); --bare profiles the bare
// passthrough (body buffered) instead, for comparison.
//
// Variants are those of variants.mjs. workerd profiles only the gateway's isolate: time spent in
// Miniflare's KV worker shows up there as "(idle)".
import { once } from "node:events";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { canPin, pinProcess, stopAllChildren } from "./lib.mjs";
import { CALL_BODY, checkList, checkPost, LIST_BODY, postLoad } from "./load.mjs";
import { LIST_TOOLS, NAMED_TOOLS } from "./messages.mjs";
import { startBunBare, startBunGateway, startUpstream, startWorkerdBare, startWorkerdGateway } from "./targets.mjs";
import { bundleBunEntry, patchPlugin, VARIANTS } from "./variants.mjs";

const { values: flags } = parseArgs({
  options: {
    runtime: { type: "string", default: "bun" },
    variant: { type: "string", default: "as is" },
    seconds: { type: "string", default: "5" },
    top: { type: "string", default: "30" },
    bare: { type: "boolean", default: false },
    secured: { type: "boolean", default: false },
    body: { type: "string", default: "call" },
    connections: { type: "string" },
  },
});
const variant = VARIANTS.find((v) => v.name === flags.variant);
if (!variant) throw new Error(`unknown variant "${flags.variant}": ${VARIANTS.map((v) => v.name).join(", ")}`);
if (!["call", "list"].includes(flags.body)) throw new Error(`unknown body ${flags.body}: call or list`);
const seconds = Math.max(1, Math.round(Number(flags.seconds)));
const body = flags.body === "list" ? LIST_BODY : CALL_BODY;
const connections = Number(flags.connections ?? (flags.body === "list" ? 1 : 32));
const pin = canPin() && cpus().length >= 2;
const PROXY_CPU = pin ? 0 : undefined;
const SIDE_CPU = pin ? 1 : undefined;
if (pin) pinProcess(process.pid, SIDE_CPU);
const dir = await mkdtemp(join(tmpdir(), "mcp-bench-profile-"));
const upstream = await startUpstream({ cpu: SIDE_CPU, sseEvents: 100, sseDelayMs: 1 });
const load = (target) => postLoad(target.url, { loadgen: "wrk", connections, seconds, cpu: SIDE_CPU, body, headers: target.headers ?? {} });
async function check(target) {
  await checkPost(target.url, target.headers ?? {});
  if (flags.body === "list" && !flags.bare)
    await checkList(target.url, target.headers ?? {}, flags.secured ? NAMED_TOOLS.length : LIST_TOOLS);
}

let profile;
let rps;
if (flags.runtime === "bun") {
  const preload = join(dir, "exit-on-sigint.mjs");
  await writeFile(preload, 'process.on("SIGINT", () => process.exit(0));\n');
  const bunArgs = ["--preload", preload, "--cpu-prof", `--cpu-prof-dir=${dir}`, "--cpu-prof-interval=250"];
  const target = flags.bare
    ? await startBunBare(upstream.origin, { cpu: PROXY_CPU, body: "buffer", bunArgs })
    : await startBunGateway(upstream.origin, {
        cpu: PROXY_CPU,
        entry: await bundleBunEntry(join(dir, "gateway.mjs"), variant.patches),
        env: variant.env ?? {},
        secured: flags.secured,
        bunArgs,
      });
  await check(target);
  rps = (await load(target)).rps;
  const exited = once(target.child, "exit");
  process.kill(target.pid, "SIGINT");
  await exited;
  const file = (await readdir(dir)).find((f) => f.endsWith(".cpuprofile"));
  profile = JSON.parse(await readFile(join(dir, file), "utf8"));
} else if (flags.runtime === "workerd") {
  const target = flags.bare
    ? await startWorkerdBare(upstream.origin, { cpu: PROXY_CPU, body: "buffer", inspector: true })
    : await startWorkerdGateway(upstream.origin, {
        cpu: PROXY_CPU,
        plugins: [patchPlugin(variant.patches)],
        bindings: variant.env ?? {},
        secured: flags.secured,
        inspector: true,
      });
  await check(target);
  await load(target); // warm up before profiling
  const inspector = await target.mf.getInspectorURL();
  const targets = await (await fetch(`http://${inspector.host}/json/list`)).json();
  const isolate = targets.find((t) => /core:user/.test(t.title)) ?? targets[0];
  const ws = new WebSocket(isolate.webSocketDebuggerUrl.replace("localhost", "127.0.0.1"));
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
  rps = (await load(target)).rps;
  profile = (await send("Profiler.stop")).result.profile;
  ws.close();
  await target.stop();
} else {
  throw new Error(`unknown runtime ${flags.runtime}`);
}
await upstream.stop();
await stopAllChildren();

const what = `${flags.bare ? "bare" : flags.secured ? "secured" : "open"}-${flags.body}`;
const out = join(dir, `${flags.runtime}-${what}-${variant.name.replace(/\W+/g, "-")}.cpuprofile`);
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
console.log(
  `${flags.runtime}, ${flags.bare ? "bare passthrough" : `gateway (${flags.secured ? "key-secured" : "open"}) ${variant.name}`}, ` +
    `${flags.body === "list" ? "tools/list" : "tools/call"} at c=${connections}: ${rps.toFixed(0)} req/s under the profiler; ${total} samples`,
);
show(self, "Self (share of samples)");
show(inclusive, "Inclusive (share of samples)");
console.log(`\nprofile: ${out}`);
process.exit(0);
