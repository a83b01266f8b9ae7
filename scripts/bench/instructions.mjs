#!/usr/bin/env node
// Instructions per request on workerd, counted by valgrind's callgrind: the bare passthrough (body
// streamed, body buffered) and the gateway, against the same local upstream, at concurrency 1 unless told (--concurrency).
//
//   node scripts/bench/instructions.mjs                       # every target once (~6 min on 2 CPUs)
//   node scripts/bench/instructions.mjs --repeat 2            # each target twice: the spread
//   node scripts/bench/instructions.mjs --targets gateway --entry /path/to/variant/src/worker.ts
//   node scripts/bench/instructions.mjs --variants "as is,no deadline"   # variants.mjs's patches
//
// Options:
//   --targets LIST    bare-stream,bare-buffer,gateway,gateway-secured (default the first three;
//                     gateway-secured: run.mjs's key-secured API, a key for a policy with allow lists)
//   --repeat N        runs per target (default 1); all runs go at once, as separate processes
//   --warmup N        requests before counting starts (default 2500: V8 has tiered the code up)
//   --requests N      requests counted (default 1500)
//   --concurrency N   requests in flight at once, each on its own connection (default 1)
//   --entry PATH      the gateway's Worker entry (default: wrangler.toml's main), to count a variant
//   --variants LIST   also count the gateway with one step removed, by the names in variants.mjs
//                     (those investigate.mjs measures in req/s), each as a target of its own
//   --secured         the --variants are of the key-secured gateway (default: the open one)
//   --body KIND       call (default: the tools/call every run sends) or list (the 1000-tool tools/list:
//                     through gateway-secured, discovery filtering; use fewer --warmup/--requests)
//   --keep            keep the callgrind files (their folder is printed) for callgrind_annotate
//
// Why: on a shared VM the throughput runs of run.mjs drift by tens of percent between rounds, so
// a change of a few percent in what the gateway costs cannot be seen there. An instruction count
// does not depend on what else the machine is doing. It is not a time: a syscall counts as one
// instruction however long the kernel takes, and cache misses do not count at all, so the counts
// rank changes to the JavaScript and the calls into the runtime; run.mjs still decides the targets.
// Runs of the same code differ by about ±1.5% (when V8 compiles, how the GC falls), so only
// differences above ~3% mean something; --repeat shows the spread.
//
// How: Miniflare starts workerd through a wrapper (MINIFLARE_WORKERD_PATH) that runs it under
// callgrind. After the warm-up, `callgrind_control -d` dumps the counts so far, and again after the
// counted requests; the second dump holds the counted requests alone. While callgrind_control
// waits, a request every 200 ms wakes workerd so that it sees the command (±2 requests).
// The deadline's 50 ms link delay is scaled to 2 s (variants.mjs, linkAfterUnderValgrind) for the
// same reason: at c>1 under valgrind a request would otherwise wait past it, which natively it does not.
// The gateway reads its definitions' version stamp once an hour here (GATEWAY_CONFIG_MAX_AGE_MS):
// under valgrind a second of wall time is ~40 times fewer requests, and the once-a-second read
// would be counted that much more often than it costs in production.
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import workerdPackage from "workerd";
import { CALL_BODY, LIST_BODY, POST_HEADERS, postOnce } from "./load.mjs";
import { median, stopAllChildren } from "./lib.mjs";
import { startUpstream, startWorkerdBare, startWorkerdGateway } from "./targets.mjs";
import { patchPlugin, VARIANTS } from "./variants.mjs";

const { values: flags } = parseArgs({
  options: {
    targets: { type: "string" },
    repeat: { type: "string" },
    warmup: { type: "string" },
    requests: { type: "string" },
    concurrency: { type: "string" },
    entry: { type: "string" },
    variants: { type: "string" },
    body: { type: "string", default: "call" },
    secured: { type: "boolean", default: false },
    keep: { type: "boolean" },
  },
});
const variants = (flags.variants ?? "")
  .split(",")
  .filter(Boolean)
  .map((name) => {
    const variant = VARIANTS.find((v) => v.name === name);
    if (!variant) throw new Error(`unknown variant "${name}": one of ${VARIANTS.map((v) => `"${v.name}"`).join(", ")}`);
    return variant;
  });
const targets = [...(flags.targets ?? (variants.length ? "bare-stream,bare-buffer" : "bare-stream,bare-buffer,gateway")).split(",")];
const repeat = Math.max(1, Number(flags.repeat ?? 1));
const warmup = Math.max(1, Number(flags.warmup ?? 2500));
const requests = Math.max(1, Number(flags.requests ?? 1500));
const concurrency = Math.max(1, Number(flags.concurrency ?? 1));
for (const t of targets)
  if (!["bare-stream", "bare-buffer", "gateway", "gateway-secured"].includes(t)) throw new Error(`unknown target ${t}`);
for (const v of variants) targets.push(`gateway: ${v.name}`);

try {
  execFileSync("valgrind", ["--version"], { stdio: "ignore" });
  execFileSync("callgrind_control", ["-h"], { stdio: "ignore" });
} catch {
  console.error("instructions: valgrind (with callgrind_control) is needed: apt-get install valgrind");
  process.exit(2);
}

/** The workerd binary Miniflare runs (the package's default export; a CommonJS module seen from ESM). */
const workerdPath = typeof workerdPackage === "string" ? workerdPackage : workerdPackage.default;
const dir = mkdtempSync(join(tmpdir(), "mcp-bench-instructions-"));
process.env.WRANGLER_SEND_METRICS = "false";

if (!["call", "list"].includes(flags.body)) throw new Error(`unknown body ${flags.body}: call or list`);
const body = flags.body === "list" ? LIST_BODY : CALL_BODY;

/** One bench POST (with the target's headers); under valgrind the first requests, which V8 compiles for, take seconds. */
async function post(run) {
  const { status } = await postOnce(run.agent, run.url, body, { ...POST_HEADERS, ...run.headers }, { timeoutMs: 120_000 });
  if (status !== 200) throw new Error(`${run.url} answered ${status}`);
}

/** `count` requests, `concurrency` at a time (the agent keeps one connection per request in flight). */
async function postMany(run, count) {
  let left = count;
  const worker = async () => {
    while (left > 0) {
      left--;
      await post(run);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** Dumps the counts so far; pokes workerd awake until callgrind_control is done. */
function dump(run) {
  return new Promise((resolve, reject) => {
    const control = spawn("callgrind_control", ["-d", run.pid], { stdio: "ignore" });
    const poke = setInterval(() => post(run).catch(() => {}), 200);
    control.on("error", reject);
    control.on("exit", () => {
      clearInterval(poke);
      resolve();
    });
  });
}

/** The instruction total of a run's n-th dump. */
function dumpTotal(run, n) {
  const file = readdirSync(run.dir).find((f) => f.startsWith("callgrind.out.") && f.endsWith(`.${n}`));
  if (!file) throw new Error(`no dump ${n} in ${run.dir}`);
  const text = readFileSync(join(run.dir, file), "utf8");
  const m = /^(?:summary|totals): (\d+)/m.exec(text);
  if (!m) throw new Error(`no total in ${file}`);
  return Number(m[1]);
}

const upstream = await startUpstream({ sseEvents: 10, sseDelayMs: 1 });
const runs = [];
try {
  for (const target of targets) {
    for (let i = 0; i < repeat; i++) {
      const runDir = join(dir, `${target.replace(/\W+/g, "-")}-${i + 1}`);
      mkdirSync(runDir, { recursive: true });
      const wrapper = join(runDir, "workerd.sh");
      writeFileSync(
        wrapper,
        `#!/bin/sh\necho $$ > '${runDir}/pid'\nexec valgrind --tool=callgrind --smc-check=all-non-file ` +
          `--log-file='${runDir}/valgrind.log' --callgrind-out-file='${runDir}/callgrind.out.%p' '${workerdPath}' "$@"\n`,
      );
      chmodSync(wrapper, 0o755);
      // Read by Miniflare when it starts workerd.
      process.env.MINIFLARE_WORKERD_PATH = wrapper;
      const variant = variants.find((v) => target === `gateway: ${v.name}`);
      const started = target.startsWith("gateway")
        ? await startWorkerdGateway(upstream.origin, {
            ...(flags.entry ? { entry: flags.entry } : {}),
            plugins: [patchPlugin(["linkAfterUnderValgrind", ...(variant?.patches ?? [])])],
            bindings: { ...(variant?.env ?? {}), GATEWAY_CONFIG_MAX_AGE_MS: "3600000" },
            secured: target === "gateway-secured" || (variant !== undefined && flags.secured),
          })
        : await startWorkerdBare(upstream.origin, { body: target === "bare-buffer" ? "buffer" : "stream" });
      const pid = readFileSync(join(runDir, "pid"), "utf8").trim();
      runs.push({
        target,
        dir: runDir,
        pid,
        url: started.url,
        headers: started.headers ?? {},
        stop: started.stop,
        agent: new Agent({ keepAlive: true, maxSockets: concurrency }),
      });
      console.error(`instructions: ${target} run ${i + 1} started under callgrind (pid ${pid})`);
    }
  }
  const t0 = Date.now();
  await Promise.all(
    runs.map(async (run) => {
      await postMany(run, warmup);
      await dump(run);
      await postMany(run, requests);
      await dump(run);
      run.perRequest = dumpTotal(run, 2) / requests;
      console.error(`instructions: ${run.target} done after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }),
  );
} finally {
  for (const run of runs) await run.stop().catch(() => {});
  await upstream.stop();
  await stopAllChildren();
}

const byTarget = Object.fromEntries(targets.map((t) => [t, runs.filter((r) => r.target === t).map((r) => r.perRequest)]));
const k = (n) => `${(n / 1000).toFixed(1)}k`;
console.log(
  `\nInstructions per request on workerd (callgrind; ${flags.body === "list" ? "tools/list of 1000 tools" : "tools/call"}; ${warmup} requests of warm-up, ${requests} counted, c=${concurrency}; all threads)\n`,
);
console.log("| target | runs | median | min | max |");
console.log("|---|--:|--:|--:|--:|");
for (const [t, values] of Object.entries(byTarget)) {
  console.log(`| ${t} | ${values.length} | ${k(median(values))} | ${k(Math.min(...values))} | ${k(Math.max(...values))} |`);
}
const gateways = Object.keys(byTarget).filter((t) => t.startsWith("gateway"));
if (gateways.length) console.log("");
for (const gw of gateways) {
  for (const bare of ["bare-stream", "bare-buffer"]) {
    if (byTarget[bare]) console.log(`${bare}/${gw} (medians): ${(median(byTarget[bare]) / median(byTarget[gw])).toFixed(3)}`);
  }
}
if (flags.keep) console.log(`\ncallgrind files: ${dir}`);
else rmSync(dir, { recursive: true, force: true });
process.exit(0);
