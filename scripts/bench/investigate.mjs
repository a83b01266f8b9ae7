#!/usr/bin/env node
// Where the gateway's time goes: the gateway built with one step of its request path removed or
// changed (scripts/bench/variants.mjs), each measured like run.mjs measures the gateway (JSON-RPC
// POST, concurrency 1 and 32, proxy CPU time per request), next to the bare passthrough.
//
//   node scripts/bench/investigate.mjs [--runtimes bun,workerd] [--rounds 2] [--seconds 3]
//       [--only "as is,no deadline"] [--bun-store memory|file] [--gateways open,secured] [--list]
//
// --gateways: the gateway serving the open API (default), the key-secured one (run.mjs's secured
// target: a key for a policy with allow lists), or both; each variant is built for each.
// --list: also the p50 at c=1 of the 1000-tool tools/list through each gateway (run.mjs's list
// phase: passed as it is by the open gateway, filtered to four tools by the secured one).
//
// Same CPU placement as run.mjs: the proxy under test alone on CPU 0, the upstream, wrk and this
// script on CPU 1. Each round measures one runtime's targets together, phase by phase, in a
// rotated order, and the ratios are paired by round, so drift hits them all alike.
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { canPin, hasCommand, median, pinProcess, rotate, stopAllChildren, waitForQuiet } from "./lib.mjs";
import { checkPost, closeProbes, LIST_BODY, measureInPhases, measureLoadSteady, postLoad, sseProbe } from "./load.mjs";
import { startBunBare, startBunGateway, startUpstream, startWorkerdBare, startWorkerdGateway } from "./targets.mjs";
import { bundleBunEntry, patchPlugin, VARIANTS } from "./variants.mjs";

const { values: flags } = parseArgs({
  options: {
    runtimes: { type: "string", default: "bun,workerd" },
    rounds: { type: "string", default: "2" },
    seconds: { type: "string", default: "3" },
    only: { type: "string" },
    loadgen: { type: "string" },
    "bun-store": { type: "string", default: "memory" },
    gateways: { type: "string", default: "open" },
    list: { type: "boolean", default: false },
  },
});
const runtimes = flags.runtimes.split(",").map((s) => s.trim());
const rounds = Number(flags.rounds);
const seconds = Math.max(1, Math.round(Number(flags.seconds)));
const loadgen = flags.loadgen ?? (hasCommand("wrk") ? "wrk" : "node");
const pin = canPin() && cpus().length >= 2;
const PROXY_CPU = pin ? 0 : undefined;
const SIDE_CPU = pin ? 1 : undefined;
if (pin) pinProcess(process.pid, SIDE_CPU);
const variants = flags.only ? VARIANTS.filter((v) => flags.only.split(",").includes(v.name)) : VARIANTS;
const gateways = flags.gateways.split(",").map((s) => s.trim());
for (const g of gateways) if (!["open", "secured"].includes(g)) throw new Error(`unknown gateway ${g}: open or secured`);
const fmt = (v, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : "–");
const log = (...a) => console.error(...a);

const upstream = await startUpstream({ cpu: SIDE_CPU, sseEvents: 100, sseDelayMs: 1 });
const dir = await mkdtemp(join(tmpdir(), "mcp-bench-variants-"));
process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
const targets = [{ key: "direct", url: `${upstream.origin}/mcp`, pid: upstream.pid, stop: async () => {} }];
for (const runtime of runtimes) {
  for (const body of ["stream", "buffer"]) {
    const bare =
      runtime === "bun"
        ? await startBunBare(upstream.origin, { cpu: PROXY_CPU, body })
        : await startWorkerdBare(upstream.origin, { cpu: PROXY_CPU, body });
    targets.push({ key: `${runtime}/bare passthrough (body ${body === "stream" ? "streamed" : "buffered"})`, runtime, ...bare });
  }
  for (const [i, variant] of variants.entries()) {
    for (const gateway of gateways) {
      const secured = gateway === "secured";
      const started =
        runtime === "bun"
          ? await startBunGateway(upstream.origin, {
              cpu: PROXY_CPU,
              entry: await bundleBunEntry(join(dir, `bun-${i}.mjs`), variant.patches),
              store: flags["bun-store"],
              env: variant.env ?? {},
              secured,
            })
          : await startWorkerdGateway(upstream.origin, {
              cpu: PROXY_CPU,
              plugins: [patchPlugin(variant.patches)],
              bindings: variant.env ?? {},
              secured,
            });
      targets.push({ key: `${runtime}/gateway${secured ? " (secured)" : ""}: ${variant.name}`, runtime, variant, gateway, ...started });
    }
  }
}
for (const t of targets) await checkPost(t.url, t.headers ?? {});
log(`investigate: ${targets.length} targets, ${rounds} round(s) of ${seconds} s per load run, load generator ${loadgen}`);

// Time allowed for repeating runs that other work on the machine disturbed.
const budget = { remainingMs: 120_000 };
const results = Object.fromEntries(targets.map((t) => [t.key, []]));
// As in run.mjs: one group per runtime (its bare passthroughs and every variant) plus the direct
// path, measured phase by phase (every target's c=1 run, then every target's c=32 run, then the SSE
// streams), so the runs compared with each other lie seconds apart. Groups and the order within
// each rotate from round to round.
const groups = [targets.filter((t) => !t.runtime), ...runtimes.map((r) => targets.filter((t) => t.runtime === r))];
const steady = { attempts: 3, maxForeign: 0.1, budget };
for (let round = 0; round < rounds; round++) {
  for (const group of rotate(groups, round)) {
    const order = rotate(group, round);
    const busy = new Set();
    const measured = await measureInPhases(order, [1, 32], {
      prepare: async (t) => {
        const quiet = await waitForQuiet({ maxMs: 15_000 });
        if (!quiet.quiet) {
          log(`warning: machine busy (${fmt(quiet.busiest * 100, 0)}%) before ${t.key}`);
          busy.add(t.key);
        }
        await postLoad(t.url, { loadgen, connections: 32, seconds: 1, cpu: SIDE_CPU, headers: t.headers ?? {} });
      },
      load: (t, connections) => measureLoadSteady(t, { connections, seconds, loadgen, cpu: SIDE_CPU, upstreamPid: upstream.pid }, steady),
      list:
        flags.list &&
        ((t) =>
          t.variant
            ? measureLoadSteady(t, { connections: 1, seconds, loadgen, cpu: SIDE_CPU, upstreamPid: upstream.pid, body: LIST_BODY }, steady)
            : undefined),
      sse: async (t) => {
        const sse = [];
        for (let i = 0; i < 12; i++) sse.push((await sseProbe(t.url, { headers: t.headers ?? {} })).firstEvent);
        return median(sse.slice(2));
      },
    });
    for (const t of order) {
      const { load, list, sse } = measured[t.key];
      const [c1, c32] = [load[1], load[32]];
      results[t.key].push({ c1, c32, list, ttfe: sse, busy: busy.has(t.key) });
      log(
        `round ${round + 1} ${t.key.padEnd(44)} c1 p50 ${fmt(c1.p50, 3)} ms ${fmt(c1.rps, 0)} rps, ${fmt(c1.cpuUsPerReq, 0)} µs CPU/req | ` +
          `c32 ${fmt(c32.rps, 0)} rps, ${fmt(c32.cpuUsPerReq, 0)} µs CPU/req | other work ${fmt(Math.max(c1.foreign, c32.foreign) * 100, 0)}%`,
      );
    }
  }
}
closeProbes();
for (const t of targets) await t.stop();
await upstream.stop();
await stopAllChildren();
await rm(dir, { recursive: true, force: true });

const direct = results.direct;
const directP50 = median(direct.map((r) => r.c1.p50));
const directTtfe = median(direct.map((r) => r.ttfe));
const lines = [
  "| runtime | target | p50 c=1 (ms) | added p50 vs direct (ms) | req/s c=1 | req/s c=32 | proxy CPU/req c=1 (µs) | proxy CPU/req c=32 (µs) | req/s c=32 vs as is (paired by round) | x/bare req/s c=32 (paired by round; min–max) | bare/x CPU/req c=32 (paired by round) | SSE TTFE − direct (ms) | tools/list p50 c=1 (ms); CPU/req (µs) |",
  "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
];
for (const runtime of runtimes) {
  // The bare passthrough that is cheaper by its median CPU per request at c=32, as run.mjs picks it.
  const bares = targets.filter((x) => x.runtime === runtime && !x.variant).map((x) => results[x.key]);
  const bare = bares.reduce((a, b) => (median(b.map((x) => x.c32.cpuUsPerReq)) < median(a.map((x) => x.c32.cpuUsPerReq)) ? b : a));
  // The bare passthrough that is faster by its median req/s at c=32, for the throughput ratio.
  const fastest = bares.reduce((a, b) => (median(b.map((x) => x.c32.rps)) > median(a.map((x) => x.c32.rps)) ? b : a));
  const paired = (r, other, ratio) => (other.length === r.length ? median(r.map((x, i) => ratio(x, other[i]))) : NaN);
  const pairedRange = (r, other, ratio) => {
    if (other.length !== r.length) return "–";
    const v = r.map((x, i) => ratio(x, other[i]));
    return `${fmt(median(v))} (${fmt(Math.min(...v))}–${fmt(Math.max(...v))})`;
  };
  for (const t of targets.filter((x) => x.runtime === runtime)) {
    const r = results[t.key];
    // Variants are compared with the same gateway (open or secured) as is.
    const asIs = results[`${runtime}/gateway${t.gateway === "secured" ? " (secured)" : ""}: as is`] ?? [];
    const p50 = median(r.map((x) => x.c1.p50));
    lines.push(
      `| ${runtime} | ${t.key.slice(runtime.length + 1)} | ${fmt(p50, 3)} | ${fmt(p50 - directP50, 3)} | ${fmt(median(r.map((x) => x.c1.rps)), 0)} | ` +
        `${fmt(median(r.map((x) => x.c32.rps)), 0)} | ${fmt(median(r.map((x) => x.c1.cpuUsPerReq)), 0)} | ${fmt(median(r.map((x) => x.c32.cpuUsPerReq)), 0)} | ` +
        `${fmt(paired(r, asIs, (x, a) => x.c32.rps / a.c32.rps))} | ${pairedRange(r, fastest, (x, b) => x.c32.rps / b.c32.rps)} | ` +
        `${fmt(paired(r, bare, (x, b) => b.c32.cpuUsPerReq / x.c32.cpuUsPerReq))} | ` +
        `${fmt(median(r.map((x) => x.ttfe)) - directTtfe)} | ` +
        `${r[0]?.list ? `${fmt(median(r.map((x) => x.list.p50)), 3)}; ${fmt(median(r.map((x) => x.list.cpuUsPerReq)), 0)}` : "–"} |`,
    );
  }
}
console.log(`\ndirect p50 c=1: ${fmt(directP50, 3)} ms\n\n${lines.join("\n")}\n`);
for (const v of variants) console.log(`- ${v.name}: ${v.note}`);
process.exit(0);
