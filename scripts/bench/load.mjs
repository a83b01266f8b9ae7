// Load generation and probes for the benchmark.
//
// - `postLoad`: closed-loop load (N connections, each sending the next request as soon as the last
//   answer arrived) of one JSON-RPC POST, for a bounded time and a bounded number of requests.
//   With wrk (C, one thread, ~20x cheaper per request than a Node client, so it steals little CPU
//   from the servers); otherwise a Node http client.
// - `sseProbe`: one POST answered with SSE; time to the first complete event and to the end.
// - `checkPost`: one POST whose answer is checked, before any load is run.
import { rmSync, writeFileSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { CALL_BODY, LIST_BODY, SSE_BODY } from "./messages.mjs";
import {
  cpuMs,
  cpuTimes,
  cpuUtilisation,
  percentileSorted,
  runCommand,
  selfAndChildrenCpuMs,
  totalProcessCpuMs,
  waitForQuiet,
} from "./lib.mjs";

export const POST_HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};

export { CALL_BODY, LIST_BODY, SSE_BODY } from "./messages.mjs";

// ---------------------------------------------------------------------------------------------
// wrk

/** One Lua script per request shape (body and extra headers), written once. */
const luaPaths = new Map();
function wrkScript(body, headers) {
  const id = JSON.stringify([body, headers]);
  let path = luaPaths.get(id);
  if (path) return path;
  path = join(tmpdir(), `mcp-bench-${process.pid}-${luaPaths.size}.lua`);
  const extra = Object.entries(headers)
    .map(([name, value]) => `wrk.headers[${JSON.stringify(name)}] = ${JSON.stringify(value)}\n`)
    .join("");
  const lua = `
wrk.method = "POST"
wrk.body = ${JSON.stringify(body)}
wrk.headers["Content-Type"] = "${POST_HEADERS["content-type"]}"
wrk.headers["Accept"] = "${POST_HEADERS.accept}"
${extra}function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%.1f,"p90":%.1f,"p99":%.1f,"max":%.1f}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`;
  writeFileSync(path, lua);
  luaPaths.set(id, path);
  process.once("exit", () => rmSync(path, { force: true }));
  return path;
}

async function wrkLoad(url, { connections, seconds, cpu, body = CALL_BODY, headers = {} }) {
  const args = ["-t1", `-c${connections}`, `-d${seconds}s`, "--timeout", "5s", "-s", wrkScript(body, headers), url];
  const out = await runCommand("wrk", args, { cpu, timeoutMs: (seconds + 15) * 1000 });
  const line = out.split("\n").find((l) => l.startsWith("WRKJSON "));
  if (!line) throw new Error(`wrk printed no summary:\n${out}`);
  const r = JSON.parse(line.slice(8));
  const errors = r.connect + r.read + r.write + r.status + r.timeout;
  return {
    requests: r.requests,
    errors,
    rps: r.requests / (r.duration_us / 1e6),
    p50: r.p50 / 1000,
    p90: r.p90 / 1000,
    p99: r.p99 / 1000,
    max: r.max / 1000,
  };
}

// ---------------------------------------------------------------------------------------------
// Node client (fallback when wrk is not installed)

/** One POST of `body` over `agent`; resolves with the status and the size of the answer's body. */
export function postOnce(agent, url, body, headers, { timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: "POST", agent, headers: { ...headers, "content-length": Buffer.byteLength(body) } }, (res) => {
      let size = 0;
      res.on("data", (c) => (size += c.length));
      res.on("end", () => resolve({ status: res.statusCode, size }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error("timeout")));
    req.end(body);
  });
}

async function nodeLoad(url, { connections, seconds, maxRequests = 2_000_000, body = CALL_BODY, headers = {} }) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latencies = [];
  let errors = 0;
  let sent = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const worker = async () => {
    while (sent < maxRequests && performance.now() < deadline) {
      sent++;
      const t0 = performance.now();
      try {
        const { status } = await postOnce(agent, url, body, { ...POST_HEADERS, ...headers });
        if (status !== 200) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    rps: latencies.length / elapsed,
    p50: percentileSorted(latencies, 50),
    p90: percentileSorted(latencies, 90),
    p99: percentileSorted(latencies, 99),
    max: latencies[latencies.length - 1],
  };
}

/**
 * Closed-loop POST load. Latencies in ms. Options: `connections`, `seconds`, `loadgen`, `cpu` (for
 * wrk), `body` (default {@link CALL_BODY}), `headers` (added to {@link POST_HEADERS}).
 */
export function postLoad(url, options) {
  return options.loadgen === "wrk" ? wrkLoad(url, options) : nodeLoad(url, options);
}

// ---------------------------------------------------------------------------------------------
// Probes

const probeAgent = new Agent({ keepAlive: true, maxSockets: 1 });

/** One POST answered with an SSE stream: times in ms from sending the request. */
export function sseProbe(url, { timeoutMs = 10_000, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    let text = "";
    let firstEvent = NaN;
    let headersAt = NaN;
    let chunks = 0;
    const t0 = performance.now();
    const req = httpRequest(
      url,
      { method: "POST", agent: probeAgent, headers: { ...POST_HEADERS, ...headers, "content-length": Buffer.byteLength(SSE_BODY) } },
      (res) => {
        headersAt = performance.now() - t0;
        if (res.statusCode !== 200 || !String(res.headers["content-type"]).startsWith("text/event-stream")) {
          res.resume();
          return reject(new Error(`SSE probe got ${res.statusCode} ${res.headers["content-type"]}`));
        }
        res.setEncoding("utf8");
        // The first event is the first complete one that carries data (an SSE comment such as
        // ": open", sent by a server to flush its headers, is not an event).
        let scanned = 0;
        res.on("data", (chunk) => {
          chunks++;
          text += chunk;
          while (Number.isNaN(firstEvent)) {
            const end = text.indexOf("\n\n", scanned);
            if (end < 0) break;
            if (/(^|\n)data:/.test(text.slice(scanned, end))) firstEvent = performance.now() - t0;
            scanned = end + 2;
          }
        });
        res.on("end", () => {
          const total = performance.now() - t0;
          const events = text.split("\n\n").filter((e) => e.includes("data: "));
          const last = events.at(-1) ?? "";
          if (!last.includes('"result"')) return reject(new Error(`SSE stream did not end with the result: …${text.slice(-200)}`));
          resolve({ headers: headersAt, firstEvent, total, events: events.length, chunks });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error("SSE probe timed out")));
    req.end(SSE_BODY);
  });
}

/** Sends one JSON-RPC POST (`headers` added) and checks the answer is the upstream's JSON result. */
export async function checkPost(url, headers = {}) {
  const res = await fetch(url, { method: "POST", headers: { ...POST_HEADERS, ...headers }, body: CALL_BODY });
  const text = await res.text();
  if (res.status !== 200 || !(res.headers.get("content-type") ?? "").startsWith("application/json")) {
    throw new Error(`POST ${url} answered ${res.status} ${res.headers.get("content-type")}: ${text.slice(0, 300)}`);
  }
  const body = JSON.parse(text);
  if (body.id !== 1 || body.result?.content?.[0]?.text !== "hello from the bench") {
    throw new Error(`POST ${url} answered an unexpected body: ${text.slice(0, 300)}`);
  }
}

/**
 * Sends one `tools/list` (`headers` added) and checks the answer is a JSON-RPC result listing
 * `tools` tools; returns the body's size in bytes.
 */
export async function checkList(url, headers, tools) {
  const res = await fetch(url, { method: "POST", headers: { ...POST_HEADERS, ...headers }, body: LIST_BODY });
  const text = await res.text();
  const body = res.status === 200 ? JSON.parse(text) : undefined;
  if (body?.id !== 3 || body.result?.tools?.length !== tools) {
    throw new Error(
      `tools/list ${url} answered ${res.status} with ${body?.result?.tools?.length} tools, not ${tools}: ${text.slice(0, 300)}`,
    );
  }
  return Buffer.byteLength(text);
}

export function closeProbes() {
  probeAgent.destroy();
}

/**
 * One measured load run against `target` ({ url, pid, headers?, helperPids? }), with CPU
 * accounting: the proxy's CPU time per request (all its threads, from /proc), the upstream's, this
 * process's, and how busy each CPU was. `body`: the JSON-RPC POST sent (default
 * {@link CALL_BODY}); the target's `headers` (its credential) go with every request. The target's
 * `helperPids` (the processes a backend of its own needs: Redis and its REST bridge) are the
 * benchmark's too: their CPU time is reported per request and not counted as other work.
 */
export async function measureLoad(target, { connections, seconds, loadgen, cpu, upstreamPid, body }) {
  const helpers = target.helperPids ?? [];
  const helperCpu = () => helpers.reduce((sum, pid) => sum + cpuMs(pid), 0);
  const cpu0 = cpuMs(target.pid);
  const up0 = cpuMs(upstreamPid);
  const helper0 = helperCpu();
  const cores0 = cpuTimes();
  const own0 = selfAndChildrenCpuMs();
  const all0 = totalProcessCpuMs();
  const t0 = performance.now();
  const r = await postLoad(target.url, { loadgen, connections, seconds, cpu, headers: target.headers ?? {}, ...(body ? { body } : {}) });
  const wallMs = performance.now() - t0;
  const cores = cpuUtilisation(cores0, cpuTimes());
  const proxyMs = cpuMs(target.pid) - cpu0;
  const upstreamMs = target.pid === upstreamPid ? 0 : cpuMs(upstreamPid) - up0;
  const helperMs = helperCpu() - helper0;
  // What else ran meanwhile: all process CPU time less ours (proxy, upstream, helpers, this script, wrk).
  const foreignMs = totalProcessCpuMs() - all0 - proxyMs - upstreamMs - helperMs - (selfAndChildrenCpuMs() - own0);
  return {
    ...r,
    cpuUsPerReq: (proxyMs * 1000) / r.requests,
    upstreamCpuUsPerReq: (upstreamMs * 1000) / r.requests,
    helperCpuUsPerReq: (helperMs * 1000) / r.requests,
    /** Share of one CPU that other work (not this benchmark) used during the run. */
    foreign: Math.max(0, foreignMs / wallMs),
    cores,
  };
}

/**
 * {@link measureLoad}, repeated (after waiting for a quiet machine) while other work took more
 * than `maxForeign` of a CPU during the run, at most `attempts` times and only while `budget`
 * (`{ remainingMs }`, shared by the whole benchmark) lasts; keeps the cleanest attempt.
 */
export async function measureLoadSteady(target, options, { attempts = 3, maxForeign = 0.1, budget = { remainingMs: Infinity } } = {}) {
  let best;
  for (let i = 0; i < attempts; i++) {
    const t0 = Date.now();
    if (i > 0) await waitForQuiet({ maxMs: Math.min(10_000, budget.remainingMs) });
    const m = await measureLoad(target, options);
    if (i > 0) budget.remainingMs -= Date.now() - t0;
    if (!best || m.foreign < best.foreign) best = { ...m, attempts: i + 1 };
    if (m.foreign <= maxForeign || budget.remainingMs <= 0) break;
  }
  return best;
}

/**
 * Before a target's runs in a round: waits (at most 10 s, and only while `budget` lasts) for a
 * quiet machine, then warms the target up with `seconds` of load at c=32 that is not measured.
 * Resolves with the busiest CPU's share when the machine did not become quiet, else `undefined`.
 */
export async function prepareTarget(target, { budget, seconds, loadgen, cpu }) {
  const t0 = Date.now();
  const quiet = await waitForQuiet({ maxMs: Math.max(0, Math.min(10_000, budget.remainingMs)) });
  budget.remainingMs -= Date.now() - t0;
  await postLoad(target.url, { loadgen, connections: 32, seconds, cpu, headers: target.headers ?? {} });
  return quiet.quiet ? undefined : quiet.busiest;
}

/**
 * One round's runs of a group of targets, phase by phase: `prepare` then each target's run at the
 * first concurrency, each target's run at the next, and so on, then (with `list`) each target's
 * `list` run, then (with `sse`) each target's SSE streams, in the order given. So runs that are compared with
 * each other lie seconds apart, not the length of a whole round (a shared machine's speed drifts
 * within a minute).
 *
 * @returns by target key: `{ load: { [concurrency]: result of load() }, list: result of list(), sse: result of sse() }`
 */
export async function measureInPhases(order, concurrencies, { prepare, load, list, sse }) {
  const out = Object.fromEntries(order.map((t) => [t.key, { load: {}, list: undefined, sse: undefined }]));
  for (const [i, c] of concurrencies.entries()) {
    for (const target of order) {
      if (i === 0) await prepare(target);
      out[target.key].load[c] = await load(target, c);
    }
  }
  if (list) for (const target of order) out[target.key].list = await list(target);
  if (sse) for (const target of order) out[target.key].sse = await sse(target);
  return out;
}
