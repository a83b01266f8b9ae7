#!/usr/bin/env node
// What two features cost the gateway, each measured against the same gateway without it, in one
// run, against the same local upstream (run.mjs's: a JSON-RPC POST `tools/call` of `echo`):
//
// - limits (issue 15): the key-secured gateway (run.mjs's secured API: a key for a policy with allow
//   lists) with a limit at every level, each high enough never to refuse during the run: on the
//   policy the consumer's rate limit and quota, a limit on the JSON-RPC method `tools/call` and one
//   on the tool `echo` (`mcp_primitives`); on the definition `echo`'s own `rateLimit`
//   (`middleware.mcpTools.echo`), the endpoint's (`middleware.operations.mcpTransportPost`) and the
//   upstream's (`upstream.rateLimit`); against the same gateway, key and policy without limits.
//   Backends: workerd with Durable Objects (the LIMITER binding, the Workers default), Bun with
//   memory (GATEWAY_LIMITER=memory), Bun with Upstash (GATEWAY_LIMITER=upstash, through the Upstash
//   REST bridge of test/fixtures/upstash-bridge.ts in front of a local `redis-server`); and, as a
//   diagnostic, workerd with the Durable Objects' storage in memory (Miniflare keeps it in SQLite
//   files on disk by default, as `wrangler dev` does): the calls to the objects without the disk.
//   Targets: ≤ 0.5 ms added p50 (c=1) on workerd with Durable Objects; ≤ 5% throughput lost (c=32)
//   on Bun with memory; Upstash reported, no target. Before the measurement each backend is shown to
//   enforce every level (a gateway with that level alone set to 2 refuses the third request), so a
//   limit the gateway would ignore cannot pass for a cheap one; after it, the key's quota shows how
//   many requests the limiter counted.
// - observability (issue 16): the gateway serving the open API (`--observability-api secured`: the
//   key-secured one) with access logs, metrics and analytics on (the defaults) against the same
//   gateway with them off (GATEWAY_CONFIG {"access_logs":{"enabled":false},"enable_analytics":false,
//   "opentelemetry":{"metrics":{"enabled":false}}}), on Bun and on workerd (the ANALYTICS Durable
//   Object with SQLite, as wrangler.toml declares it). Targets: ≤ 5% throughput lost (c=32), ≤ 0.2
//   ms added p50 (c=1); and the p50 at c=1 of a 1000-tool `tools/list` on against off, reported.
//   `/metrics` is checked first: the "on" gateway counts requests, the "off" one has no metrics.
//
//   node scripts/bench/costs.mjs                        # both comparisons, 7 rounds (~8 min), writes RESULTS-costs.md
//   node scripts/bench/costs.mjs --quick                # smoke run (1 round of 1 s runs), writes nothing unless --write
//   node scripts/bench/costs.mjs --compare limits --rounds 3 --no-write
//
// Options:
//   --compare LIST      limits,observability (default both)
//   --runtimes LIST     bun,workerd (default both)
//   --limiters LIST     the limited gateways: durable-objects, durable-objects-memory (workerd), memory,
//                       upstash (Bun); default all
//   --observability-api open|secured   the API the observability comparison serves (default open)
//   --commit REV        measure commit REV, from a clean copy of its src/ (git archive; nothing in the
//                       checkout changes), not the working tree: others may have uncommitted changes in it
//   --rounds N          rounds (default 7; 1 with --quick)
//   --seconds S         length of each load run (default 2; whole seconds)
//   --warmup S          warm-up load before each target's runs in a round, not measured (default 1)
//   --list-seconds S    length of each c=1 `tools/list` run (default 2)
//   --loadgen KIND      wrk (default when installed) or node
//   --no-pin            do not pin processes to CPUs
//   --quiet-budget S    time the run may spend waiting for a quiet machine and repeating disturbed
//                       runs (default 60 s; 5 s with --quick)
//   --write/--no-write  write scripts/bench/RESULTS-costs.md (default: on full runs only)
//
// Method, as run.mjs's (see the comment at its top): the server under test alone on CPU 0; the
// upstream, wrk, this script, and Redis with its REST bridge on CPU 1 (Upstash is a remote service:
// its work is not the gateway's, and its CPU time is reported apart). Every server is started once;
// each round measures one group at a time (a comparison on one runtime: its baseline and the
// gateways held to it), phase by phase (every target's c=1 run, then every target's c=32 run, then
// the lists), in an order rotated from round to round, so the runs compared lie seconds apart. Each
// cost is paired by round (the same round's baseline run), and the tables show the median over
// rounds of those per-round figures with their lowest and highest; a target whose threshold lies
// within that range is marked "within the spread". A run during which other work took more than 10%
// of a CPU is repeated (at most twice, within the quiet budget).
//
// Access logs: Bun's stdout goes to /dev/null (lib.mjs startServer's `sinkStdout`), so the lines
// cost the gateway its formatting and its write, and cost nothing on the load generator's CPU.
// workerd's lines (a console.log each) reach Miniflare in this process, which parses them (on CPU 1).
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  canPin,
  checkLine,
  codeState,
  fmt,
  hasCommand,
  judge,
  loadAverage,
  machineInfo,
  machineLines,
  median,
  pinProcess,
  range,
  root,
  rotate,
  roundStats,
  stopAllChildren,
  writeResults,
} from "./lib.mjs";
import {
  CALL_BODY,
  checkList,
  checkPost,
  closeProbes,
  LIST_BODY,
  measureInPhases,
  measureLoadSteady,
  POST_HEADERS,
  prepareTarget,
} from "./load.mjs";
import { benchPolicy, KEY_HEADER, LIMIT_LEVELS, LIST_TOOLS, NAMED_TOOLS, NEVER_REACHED, withLimits } from "./messages.mjs";
import {
  benchDefinition,
  EDGE_HEADERS,
  exportTree,
  startBunGateway,
  startUpstash,
  startUpstream,
  startWorkerdGateway,
} from "./targets.mjs";

const argv = process.argv.slice(2);
const { values: flags } = parseArgs({
  args: argv,
  options: {
    quick: { type: "boolean", default: false },
    compare: { type: "string", default: "limits,observability" },
    runtimes: { type: "string", default: "bun,workerd" },
    limiters: { type: "string", default: "durable-objects,durable-objects-memory,memory,upstash" },
    "observability-api": { type: "string", default: "open" },
    commit: { type: "string" },
    rounds: { type: "string" },
    seconds: { type: "string" },
    warmup: { type: "string" },
    "list-seconds": { type: "string" },
    loadgen: { type: "string" },
    pin: { type: "boolean", default: true },
    "no-pin": { type: "boolean", default: false },
    "quiet-budget": { type: "string" },
    write: { type: "boolean" },
    "no-write": { type: "boolean", default: false },
  },
});
const list = (text) =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
const quick = flags.quick;
const config = {
  compare: list(flags.compare),
  runtimes: list(flags.runtimes),
  limiters: list(flags.limiters),
  observabilityApi: flags["observability-api"],
  rounds: Number(flags.rounds ?? (quick ? 1 : 7)),
  seconds: Math.max(1, Math.round(Number(flags.seconds ?? (quick ? 1 : 2)))),
  warmup: Math.max(1, Math.round(Number(flags.warmup ?? 1))),
  listSeconds: Math.max(1, Math.round(Number(flags["list-seconds"] ?? (quick ? 1 : 2)))),
  concurrency: [1, 32],
  loadgen: flags.loadgen ?? (hasCommand("wrk") ? "wrk" : "node"),
  pin: flags.pin && !flags["no-pin"] && canPin() && cpus().length >= 2,
  write: flags["no-write"] ? false : (flags.write ?? !quick),
};
for (const c of config.compare) if (!["limits", "observability"].includes(c)) throw new Error(`unknown comparison ${c}`);
for (const r of config.runtimes) if (!["bun", "workerd"].includes(r)) throw new Error(`unknown runtime ${r}`);
const LIMITERS = ["durable-objects", "durable-objects-memory", "memory", "upstash"];
for (const l of config.limiters) if (!LIMITERS.includes(l)) throw new Error(`unknown limiter ${l}: ${LIMITERS.join(", ")}`);
if (!["open", "secured"].includes(config.observabilityApi)) throw new Error("--observability-api: open or secured");
if (config.loadgen === "wrk" && !hasCommand("wrk")) throw new Error("wrk is not installed (apt-get install -y wrk), or use --loadgen node");

const PROXY_CPU = config.pin ? 0 : undefined;
const SIDE_CPU = config.pin ? 1 : undefined;
if (config.pin) pinProcess(process.pid, SIDE_CPU);
const log = (...args) => console.error(...args);

/** GATEWAY_CONFIG with access logs, analytics and metrics off (the defaults have all three on). */
const OBSERVABILITY_OFF = JSON.stringify({
  access_logs: { enabled: false },
  enable_analytics: false,
  opentelemetry: { metrics: { enabled: false } },
});

// ---------------------------------------------------------------------------------------------
// What is measured: the code, and the gateways

// Read before anything starts (others may commit meanwhile).
const tree = flags.commit ? await exportTree(flags.commit) : undefined;
const codeMeasured = tree ? `${tree.commit.slice(0, 7)} (a clean copy of the commit's src/, --commit ${flags.commit})` : codeState();
const treeDir = tree?.dir ?? root;

const started = Date.now();
const loadBefore = loadAverage();
log(
  `costs: ${config.compare.join(" and ")}, ${config.rounds} round(s), ${config.seconds}s per load run, code ${codeMeasured}, ` +
    `load generator ${config.loadgen}, ${config.pin ? "proxy pinned to CPU 0, the rest on CPU 1" : "no CPU pinning"}; load average ${loadBefore.join(" ")}`,
);

const upstream = await startUpstream({ cpu: SIDE_CPU, sseEvents: 1, sseDelayMs: 1 });
const wantUpstash = config.compare.includes("limits") && config.runtimes.includes("bun") && config.limiters.includes("upstash");
const upstash = wantUpstash ? await startUpstash({ cpu: SIDE_CPU }) : undefined;

/**
 * The limiter backends: the runtime each runs on, the environment (Bun) or bindings (workerd) that
 * pick it, and Miniflare options. `durable-objects` is the Workers default (the LIMITER binding of
 * wrangler.toml), with Miniflare's Durable Object storage: SQLite files in a temporary folder, as
 * `wrangler dev` keeps them; `durable-objects-memory` keeps that storage in memory
 * (`unsafeEphemeralDurableObjects`), a diagnostic: the calls to the objects without the disk.
 */
const BACKENDS = {
  "durable-objects": { runtime: "workerd", settings: () => ({}) },
  "durable-objects-memory": {
    runtime: "workerd",
    settings: () => ({}),
    miniflare: { unsafeEphemeralDurableObjects: true },
    diagnostic: true,
  },
  memory: { runtime: "bun", settings: () => ({ GATEWAY_LIMITER: "memory" }) },
  upstash: {
    runtime: "bun",
    settings: () => ({ GATEWAY_LIMITER: "upstash", UPSTASH_REDIS_REST_URL: upstash.url, UPSTASH_REDIS_REST_TOKEN: upstash.token }),
  },
};

/**
 * Starts a gateway on `runtime` serving `definitions`, with `consumers` (policies, each given a
 * key through the Gateway API) and `settings` (Bun's environment, workerd's bindings). Bun's stdout
 * goes to the sink.
 */
function startGateway(runtime, name, { definitions, consumers = [], settings = {}, miniflare = {} }) {
  const common = { cpu: PROXY_CPU, definitions, consumers, secret: true, name };
  return runtime === "bun"
    ? startBunGateway(upstream.origin, { ...common, entry: join(treeDir, "src/bun.ts"), env: settings, sinkStdout: true })
    : startWorkerdGateway(upstream.origin, { ...common, tree: treeDir, bindings: settings, miniflare });
}

/** The headers every request to a target carries: the edge's on workerd, the key when it has one. */
const headersFor = (runtime, key) => ({ ...(runtime === "workerd" ? EDGE_HEADERS : {}), ...(key ? { [KEY_HEADER]: key } : {}) });

/** The key-secured bench API and its policy, with (`limit`) or without limits at every level. */
function securedApi(limit) {
  const plain = { definition: benchDefinition(upstream.origin, { secured: true }), policy: benchPolicy("bench", "bench-costs") };
  return limit === undefined ? plain : withLimits(plain, limit);
}

// ---------------------------------------------------------------------------------------------
// Limits in force: each backend refuses at each level once that level alone is used up

/**
 * On a gateway of its own, one API per level with that level alone set to 2 requests an hour: two
 * calls pass and the third gets the level's refusal. Returns one line per level that failed.
 */
async function verifyLevels(backend) {
  const { runtime, settings, miniflare } = BACKENDS[backend];
  const apis = LIMIT_LEVELS.map((level, i) => {
    const id = `verify-${i}`;
    const plain = {
      definition: benchDefinition(upstream.origin, { secured: true, id, listenPath: `/${id}` }),
      policy: benchPolicy(id, `${id}-policy`),
    };
    return { id, level, ...withLimits(plain, 2, [level]) };
  });
  const gateway = await startGateway(runtime, `${runtime} gateway (${backend}, each level at 2)`, {
    definitions: apis.map((a) => a.definition),
    consumers: apis.map((a) => a.policy),
    settings: settings(),
    miniflare,
  });
  const failures = [];
  try {
    for (const [i, api] of apis.entries()) {
      const url = `${gateway.origin}/${api.id}/mcp`;
      const statuses = [];
      let last;
      for (let n = 0; n < 3; n++) {
        const res = await fetch(url, {
          method: "POST",
          headers: { ...POST_HEADERS, ...headersFor(runtime, gateway.keys[i]) },
          body: CALL_BODY,
        });
        statuses.push(res.status);
        last = { res, body: await res.json().catch(() => undefined) };
      }
      const want = api.level.refusal;
      const limitHeader = last.res.headers.get("x-ratelimit-limit");
      const ok =
        statuses[0] === 200 &&
        statuses[1] === 200 &&
        statuses[2] === want.status &&
        last.body?.error?.code === want.code &&
        limitHeader === "2";
      if (!ok) {
        failures.push(
          `${api.level.name}: answered ${statuses.join(", ")}, last code ${last.body?.error?.code}, X-RateLimit-Limit ${limitHeader} (want 200, 200, ${want.status} ${want.code}, 2)`,
        );
      }
    }
  } finally {
    await gateway.stop();
  }
  return failures;
}

const verified = {};
if (config.compare.includes("limits")) {
  for (const backend of config.limiters) {
    if (!config.runtimes.includes(BACKENDS[backend].runtime)) continue;
    verified[backend] = await verifyLevels(backend);
    log(
      verified[backend].length
        ? `limits on ${backend}: NOT enforced at every level:\n  ${verified[backend].join("\n  ")}`
        : `limits on ${backend}: each of the ${LIMIT_LEVELS.length} levels refuses once used up`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The targets

/**
 * Targets: { key, comparison, runtime, role: "base" | "test", label, base?: the key of the target it
 * is held to, backend?, list?: the 1000-tool tools/list is measured through it, url, pid, headers,
 * helperPids?, keys, secret, origin, stop }
 */
const targets = [];
async function addTarget(spec, startOptions) {
  const gateway = await startGateway(spec.runtime, `${spec.runtime} gateway, ${spec.label}`, startOptions);
  targets.push({ ...gateway, ...spec, headers: headersFor(spec.runtime, gateway.keys[0]) });
}
if (config.compare.includes("limits")) {
  for (const runtime of config.runtimes) {
    const backends = config.limiters.filter((b) => BACKENDS[b].runtime === runtime);
    if (backends.length === 0) continue;
    const base = `limits/${runtime}/none`;
    const plain = securedApi();
    await addTarget(
      { key: base, comparison: "limits", runtime, role: "base", label: "key + policy, no limits" },
      { definitions: [plain.definition], consumers: [plain.policy] },
    );
    for (const backend of backends) {
      const limited = securedApi(NEVER_REACHED);
      await addTarget(
        {
          key: `limits/${runtime}/${backend}`,
          comparison: "limits",
          runtime,
          role: "test",
          base,
          backend,
          label: `key + policy, limits at every level (${backend})`,
          ...(backend === "upstash" ? { helperPids: upstash.pids } : {}),
        },
        {
          definitions: [limited.definition],
          consumers: [limited.policy],
          settings: BACKENDS[backend].settings(),
          miniflare: BACKENDS[backend].miniflare,
        },
      );
    }
  }
}
if (config.compare.includes("observability")) {
  const secured = config.observabilityApi === "secured";
  const api = secured ? securedApi() : { definition: benchDefinition(upstream.origin) };
  for (const runtime of config.runtimes) {
    const base = `observability/${runtime}/off`;
    const startOptions = { definitions: [api.definition], consumers: secured ? [api.policy] : [] };
    const what = secured ? "key-secured API" : "open API";
    await addTarget(
      { key: base, comparison: "observability", runtime, role: "base", list: true, label: `${what}, observability off` },
      { ...startOptions, settings: { GATEWAY_CONFIG: OBSERVABILITY_OFF } },
    );
    await addTarget(
      {
        key: `observability/${runtime}/on`,
        comparison: "observability",
        runtime,
        role: "test",
        base,
        list: true,
        label: `${what}, observability on (defaults)`,
      },
      startOptions,
    );
  }
}
const listTools = config.observabilityApi === "secured" ? NAMED_TOOLS.length : LIST_TOOLS;
for (const t of targets) {
  await checkPost(t.url, t.headers);
  if (t.list) t.listBytes = await checkList(t.url, t.headers, listTools);
}

/** `GET /metrics` with the gateway's secret: the "on" gateway counts requests, the "off" one has none. */
async function metricsShown(target) {
  const res = await fetch(`${target.origin}/metrics`, { headers: { "x-tyk-authorization": target.secret, ...headersFor(target.runtime) } });
  const text = await res.text();
  return res.status === 200 && /^tyk_mcp_requests_total\{[^}]*\} [1-9]/m.test(text);
}
const metricsProblems = [];
for (const t of targets.filter((x) => x.comparison === "observability")) {
  const shown = await metricsShown(t);
  if (shown !== (t.role === "test")) metricsProblems.push(`${t.key}: /metrics ${shown ? "counts requests" : "counts none"}`);
}
if (metricsProblems.length) throw new Error(`observability is not as configured: ${metricsProblems.join("; ")}`);

// ---------------------------------------------------------------------------------------------
// Rounds

/** Time the run may spend waiting for a quiet machine and repeating disturbed runs, in total. */
const budget = { remainingMs: Number(flags["quiet-budget"] ?? (quick ? 5 : 60)) * 1000 };
const busyWarnings = [];
const measureLoad = (target, connections, seconds, body) =>
  measureLoadSteady(
    target,
    { connections, seconds, loadgen: config.loadgen, cpu: SIDE_CPU, upstreamPid: upstream.pid, ...(body ? { body } : {}) },
    { attempts: quick ? 1 : 3, maxForeign: 0.1, budget },
  );
async function prepare(target) {
  const busiest = await prepareTarget(target, { budget, seconds: config.warmup, loadgen: config.loadgen, cpu: SIDE_CPU });
  if (busiest !== undefined) {
    busyWarnings.push(`${target.key}: a CPU was ${fmt(busiest * 100, 0)}% busy with other work when its runs started`);
    log(`warning: the machine is busy (${fmt(busiest * 100, 0)}% on one CPU); measuring ${target.key} anyway`);
  }
}

// Groups: a comparison on one runtime (its baseline and the gateways held to it).
const groups = [...new Set(targets.map((t) => `${t.comparison}/${t.runtime}`))].map((g) =>
  targets.filter((t) => `${t.comparison}/${t.runtime}` === g),
);
const rounds = [];
for (let round = 0; round < config.rounds; round++) {
  const results = {};
  for (const group of rotate(groups, round)) {
    const t0 = Date.now();
    const order = rotate(group, round);
    Object.assign(
      results,
      await measureInPhases(order, config.concurrency, {
        prepare,
        load: (target, c) => measureLoad(target, c, config.seconds),
        list: (target) => (target.list ? measureLoad(target, 1, config.listSeconds, LIST_BODY) : undefined),
      }),
    );
    for (const t of order) {
      const { load, list: l } = results[t.key];
      log(
        `round ${round + 1}/${config.rounds} ${t.key.padEnd(30)} c1 ${fmt(load[1].rps, 0)} rps p50 ${fmt(load[1].p50, 3)} ms | ` +
          `c32 ${fmt(load[32].rps, 0)} rps ${fmt(load[32].cpuUsPerReq, 0)} µs CPU/req, CPU1 ${fmt(load[32].cores["1"] * 100, 0)}% | ` +
          `other ${fmt(Math.max(load[1].foreign, load[32].foreign) * 100, 0)}%${l ? ` | list p50 ${fmt(l.p50, 3)} ms` : ""}`,
      );
    }
    log(`round ${round + 1}/${config.rounds}: ${order[0].comparison} on ${order[0].runtime} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  rounds.push(results);
}
const loadAfter = loadAverage();

// After the load: how many requests each limited gateway's quota counted (GET /tyk/keys/{key}).
const quotaCounted = {};
for (const t of targets.filter((x) => x.comparison === "limits" && x.role === "test")) {
  const res = await fetch(`${t.origin}/tyk/keys/${encodeURIComponent(t.keys[0])}`, {
    headers: { "x-tyk-authorization": t.secret, ...headersFor(t.runtime) },
  });
  const key = res.ok ? await res.json() : undefined;
  quotaCounted[t.key] = key ? key.quota_max - key.quota_remaining : NaN;
}

closeProbes();
for (const t of targets) await t.stop();
await upstash?.stop();
await upstream.stop();
await stopAllChildren();

// ---------------------------------------------------------------------------------------------
// Summary

const LOAD_FIELDS = ["rps", "p50", "p99", "cpuUsPerReq", "helperCpuUsPerReq"];
function summarise(key) {
  const per = rounds.map((r) => r[key]);
  const load = {};
  for (const c of config.concurrency) {
    const runs = per.map((p) => p.load[c]);
    load[c] = Object.fromEntries(LOAD_FIELDS.map((f) => [f, median(runs.map((x) => x[f]))]));
    Object.assign(load[c], {
      errors: runs.reduce((a, x) => a + x.errors, 0),
      requests: runs.reduce((a, x) => a + x.requests, 0),
      cpu1: median(runs.map((x) => x.cores["1"])),
      foreign: Math.max(...runs.map((x) => x.foreign)),
      retries: runs.reduce((a, x) => a + x.attempts - 1, 0),
    });
  }
  const lists = per.map((p) => p.list).filter(Boolean);
  const listSummary = lists.length
    ? {
        p50: median(lists.map((x) => x.p50)),
        cpuUsPerReq: median(lists.map((x) => x.cpuUsPerReq)),
        errors: lists.reduce((a, x) => a + x.errors, 0),
        requests: lists.reduce((a, x) => a + x.requests, 0),
      }
    : undefined;
  return { load, list: listSummary };
}
const summary = Object.fromEntries(targets.map((t) => [t.key, summarise(t.key)]));

const resultLines = [
  "| comparison | runtime | gateway | req/s c=1 | req/s c=32 | p50 c=1 (ms) | p99 c=1 (ms) | p50 c=32 (ms) | proxy CPU/req c=1 (µs) | proxy CPU/req c=32 (µs) | Redis + bridge CPU/req c=32 (µs) | tools/list (1000 tools) p50 c=1 (ms) |",
  "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
];
for (const t of targets) {
  const s = summary[t.key];
  const [l1, l32] = [s.load[1], s.load[32]];
  const errors = l1.errors + l32.errors + (s.list?.errors ?? 0);
  resultLines.push(
    `| ${t.comparison} | ${t.runtime} | ${t.label}${errors ? ` (**${errors} errors**)` : ""} | ${fmt(l1.rps, 0)} | ${fmt(l32.rps, 0)} | ` +
      `${fmt(l1.p50, 3)} | ${fmt(l1.p99, 3)} | ${fmt(l32.p50, 3)} | ${fmt(l1.cpuUsPerReq, 0)} | ${fmt(l32.cpuUsPerReq, 0)} | ` +
      `${t.helperPids ? fmt(l32.helperCpuUsPerReq, 0) : "–"} | ${s.list ? fmt(s.list.p50, 3) : "–"} |`,
  );
}

/** Per-round values of `measure(testRun, baseRun)`, paired by round. */
const paired = (t, measure) => roundStats(rounds.map((r) => measure(r[t.key], r[t.base])));
const MEASURES = {
  rps32: { label: "req/s c=32, gateway / baseline", of: (x, b) => x.load[32].rps / b.load[32].rps, digits: 3 },
  rps1: { label: "req/s c=1, gateway / baseline", of: (x, b) => x.load[1].rps / b.load[1].rps, digits: 3 },
  p50: { label: "added p50 c=1 (ms)", of: (x, b) => x.load[1].p50 - b.load[1].p50, digits: 3, unit: " ms" },
  cpu32: { label: "added proxy CPU per request c=32 (µs)", of: (x, b) => x.load[32].cpuUsPerReq - b.load[32].cpuUsPerReq, digits: 0 },
  cpu1: { label: "added proxy CPU per request c=1 (µs)", of: (x, b) => x.load[1].cpuUsPerReq - b.load[1].cpuUsPerReq, digits: 0 },
  list: { label: "added tools/list p50 c=1 (ms)", of: (x, b) => x.list.p50 - b.list.p50, digits: 3, unit: " ms" },
  listCpu: { label: "added proxy CPU per tools/list c=1 (µs)", of: (x, b) => x.list.cpuUsPerReq - b.list.cpuUsPerReq, digits: 0 },
};
const ofMedians = {
  rps32: (x, b) => x.load[32].rps / b.load[32].rps,
  rps1: (x, b) => x.load[1].rps / b.load[1].rps,
  p50: (x, b) => x.load[1].p50 - b.load[1].p50,
  cpu32: (x, b) => x.load[32].cpuUsPerReq - b.load[32].cpuUsPerReq,
  cpu1: (x, b) => x.load[1].cpuUsPerReq - b.load[1].cpuUsPerReq,
  list: (x, b) => x.list.p50 - b.list.p50,
  listCpu: (x, b) => x.list.cpuUsPerReq - b.list.cpuUsPerReq,
};
const pairedLines = [
  "| comparison | runtime | gateway | measure | paired by round: median | per-round min–max | of the medians |",
  "|---|---|---|---|--:|--:|--:|",
];
const stat = {};
for (const t of targets.filter((x) => x.role === "test")) {
  stat[t.key] = {};
  const names = ["rps32", "rps1", "p50", "cpu32", "cpu1", ...(t.list ? ["list", "listCpu"] : [])];
  for (const name of names) {
    const m = MEASURES[name];
    const st = paired(t, m.of);
    stat[t.key][name] = st;
    const whole = ofMedians[name](summary[t.key], summary[t.base]);
    pairedLines.push(
      `| ${t.comparison} | ${t.runtime} | ${t.backend ?? "on"} | ${m.label} | ${fmt(st.median, m.digits)} | ${range(st, m.digits)} | ${fmt(whole, m.digits)} |`,
    );
  }
}

const checks = [];
const check = (t, target, name, limits) => checks.push({ runtime: t.runtime, target, ...judge(stat[t.key][name], limits) });
const report = (t, target, name) => {
  const m = MEASURES[name];
  checks.push({
    runtime: t.runtime,
    target,
    ...judge(stat[t.key][name], { atMost: Infinity, digits: m.digits, unit: m.unit ?? "" }),
    result: "reported",
  });
};
for (const t of targets.filter((x) => x.comparison === "limits" && x.role === "test")) {
  const failures = verified[t.backend] ?? [];
  checks.push({
    runtime: t.runtime,
    target: `limits (${t.backend}): every level enforced (each alone at 2 refuses the 3rd request)`,
    value: failures.length ? failures.join("; ") : `${LIMIT_LEVELS.length} of ${LIMIT_LEVELS.length} levels`,
    pass: failures.length === 0,
  });
  if (t.backend === "durable-objects") {
    check(t, "limits at every level (Durable Objects): added p50 ≤ 0.5 ms (c=1, paired by round)", "p50", { atMost: 0.5, unit: " ms" });
    report(t, "limits at every level (Durable Objects): req/s c=32 against none (no target)", "rps32");
  } else if (t.backend === "memory") {
    check(t, "limits at every level (memory): throughput ≥ 0.95× none (c=32, paired by round)", "rps32", { atLeast: 0.95 });
    report(t, "limits at every level (memory): added p50 c=1 (no target)", "p50");
  } else {
    // Upstash (no target), and the diagnostic backends.
    report(t, `limits at every level (${t.backend}): req/s c=32 against none (no target)`, "rps32");
    report(t, `limits at every level (${t.backend}): added p50 c=1 (no target)`, "p50");
  }
}
for (const t of targets.filter((x) => x.comparison === "observability" && x.role === "test")) {
  check(t, "observability on: throughput ≥ 0.95× off (c=32, paired by round)", "rps32", { atLeast: 0.95 });
  check(t, "observability on: added p50 ≤ 0.2 ms over off (c=1, paired by round)", "p50", { atMost: 0.2, unit: " ms" });
  report(t, `observability on: added p50 of a ${listTools}-tool tools/list over off (c=1; no target)`, "list");
}
for (const t of targets) {
  const s = summary[t.key];
  const errors = s.load[1].errors + s.load[32].errors + (s.list?.errors ?? 0);
  const requests = s.load[1].requests + s.load[32].requests + (s.list?.requests ?? 0);
  checks.push({
    runtime: t.runtime,
    target: `${t.label}: every request answered 200`,
    value: `${errors} of ${requests} failed`,
    pass: errors === 0,
  });
}
const checkLines = ["| runtime | target | measured: median (per-round range) | result |", "|---|---|--:|---|", ...checks.map(checkLine)];

const notes = [];
notes.push(
  `Load average ${loadBefore.join(" ")} before, ${loadAfter.join(" ")} after. CPU 1 (upstream, wrk, this script; Redis and its bridge) busy at c=32: ` +
    targets.map((t) => `${t.key} ${fmt(summary[t.key].load[32].cpu1 * 100, 0)}%`).join(", ") +
    ". Above ~85% the side, not the gateway, bounds req/s at c=32: compare CPU per request.",
);
for (const t of targets.filter((x) => x.comparison === "limits" && x.role === "test")) {
  const sent = rounds.reduce((a, r) => a + r[t.key].load[1].requests + r[t.key].load[32].requests, 0);
  notes.push(
    `${t.key}: the key's quota counted ${Number.isFinite(quotaCounted[t.key]) ? quotaCounted[t.key] : "?"} requests after the run ` +
      `(${sent} measured, plus the checks and the warm-up load)` +
      (BACKENDS[t.backend].miniflare?.unsafeEphemeralDurableObjects
        ? "; storage kept in memory is lost when an idle object is evicted (after some seconds without requests), so this count starts again then."
        : "."),
  );
}
const quietest = (key) => Math.min(...rounds.map((r) => r[key].load[32].cpuUsPerReq));
for (const t of targets.filter((x) => x.role === "test")) {
  notes.push(
    `${t.key}, quietest rounds (least proxy CPU per request at c=32): ${fmt(quietest(t.key), 0)} µs against ${fmt(quietest(t.base), 0)} µs ` +
      `for ${t.base} (+${fmt(quietest(t.key) - quietest(t.base), 0)} µs).`,
  );
}
if (targets.some((t) => t.list)) {
  notes.push(
    `tools/list answers: ${targets
      .filter((t) => t.list)
      .map((t) => `${t.key} ${listTools} tools, ${fmt(t.listBytes / 1000, 0)} kB`)
      .join("; ")}.`,
  );
}
const foreignRuns = targets
  .map((t) => [
    t.key,
    Math.max(summary[t.key].load[1].foreign, summary[t.key].load[32].foreign),
    summary[t.key].load[1].retries + summary[t.key].load[32].retries,
  ])
  .filter(([, f, r]) => f > 0.1 || r > 0);
if (foreignRuns.length) {
  notes.push(
    `Other work on the machine during load runs (share of one CPU, worst kept run; runs above 10% were repeated up to twice): ` +
      foreignRuns.map(([k, f, r]) => `${k} ${fmt(f * 100, 0)}%${r ? ` (${r} repeated)` : ""}`).join(", ") +
      ".",
  );
}
if (budget.remainingMs <= 0) notes.push("The quiet budget ran out: later runs were kept as measured.");
if (busyWarnings.length) notes.push(`Other work was running: ${busyWarnings.join("; ")}.`);
const elapsed = (Date.now() - started) / 1000;

// ---------------------------------------------------------------------------------------------
// Output

const command = `node scripts/bench/costs.mjs${argv.length ? ` ${argv.join(" ")}` : ""}`;
const body = [
  "### Results",
  "",
  ...resultLines,
  "",
  "### Costs, paired by round",
  "",
  ...pairedLines,
  "",
  ...checkLines,
  "",
  ...notes.map((n) => `- ${n}`),
].join("\n");
console.log(`\n${body}\n\n(${elapsed.toFixed(0)} s)`);

if (config.write) {
  const file = join(root, "scripts/bench/RESULTS-costs.md");
  const pick = (l) => ({ rps: Math.round(l.rps), p50: fmt(l.p50, 3), p99: fmt(l.p99, 3), cpuUs: fmt(l.cpuUsPerReq, 0), errors: l.errors });
  const raw = Object.fromEntries(
    targets.map((t) => [
      t.key,
      rounds.map((r) => ({
        c1: pick(r[t.key].load[1]),
        c32: pick(r[t.key].load[32]),
        ...(r[t.key].list ? { list: pick(r[t.key].list) } : {}),
      })),
    ]),
  );
  const head = [
    "# What limits and observability cost the gateway",
    "",
    "Written by `node scripts/bench/costs.mjs` (see the comment at its top for what it does and how).",
    "",
    `- Date: ${new Date().toISOString()}`,
    `- Command: \`${command}\` (${elapsed.toFixed(0)} s)`,
    `- Code measured: ${codeMeasured}`,
    ...machineLines(machineInfo(config.loadgen)),
    `- Settings: ${config.rounds} round(s) of ${config.seconds} s per load run (+${config.warmup} s warm-up at c=32 before each target's runs in a round); ` +
      `${config.listSeconds} s per c=1 tools/list run; ${config.pin ? "the gateway under test pinned to CPU 0; upstream, wrk, this script, Redis and its REST bridge on CPU 1" : "no CPU pinning"}. ` +
      `Limits: every level set to ${NEVER_REACHED} requests an hour (quota: per hour), so none refuses. Observability API: ${config.observabilityApi}. ` +
      "Bun's stdout (access logs) goes to /dev/null. Numbers are medians over rounds; costs are paired by round.",
  ];
  writeResults(file, "<!-- costs:notes (kept across runs) -->", head, body, raw);
  log(`wrote ${file}`);
}
process.exit(0);
