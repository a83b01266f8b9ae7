// Helpers for the benchmark: child processes (started in their own process group, stopped by pid
// on exit), CPU pinning, CPU-time accounting from /proc, and statistics.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus as osCpus, release, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const bin = (name) => join(root, "node_modules", ".bin", name);

export function childEnv(extra = {}) {
  return { ...process.env, PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH}`, WRANGLER_SEND_METRICS: "false", ...extra };
}

export function hasCommand(name) {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Processes

const children = new Set();

/** A TCP port on 127.0.0.1 that was free a moment ago (for a server that must be told its port). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a server process (own process group) and resolves once `ready` matches its output; the
 * first capture group of `ready` is the port. With `cpu`, the process (all its threads) runs on
 * that CPU only (taskset).
 *
 * `sinkStdout`: the process's stdout goes to /dev/null, a sink that takes every write at once and
 * costs no other process anything (a gateway's access-log lines are not read by this script, on
 * the load generator's CPU). Readiness is then `readyUrl` answering (any HTTP status), polled, and
 * the port is `port` (the caller chose it: see {@link freePort}); stderr is still kept.
 */
export function startServer(name, command, args, { env = {}, ready, cpu, timeoutMs = 60_000, sinkStdout = false, readyUrl, port } = {}) {
  if (sinkStdout && (readyUrl === undefined || port === undefined)) throw new Error(`${name}: sinkStdout needs readyUrl and port`);
  const [cmd, argv] = cpu !== undefined ? ["taskset", ["-c", String(cpu), command, ...args]] : [command, args];
  const stdio = ["ignore", sinkStdout ? "ignore" : "pipe", "pipe"];
  const child = spawn(cmd, argv, { cwd: root, env: childEnv(env), stdio, detached: true });
  children.add(child);
  if (sinkStdout) return readyByUrl(name, child, readyUrl, port, timeoutMs);
  let output = "";
  const onData = (chunk) => {
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stopChild(child);
      reject(new Error(`${name} did not become ready in ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const check = () => {
      const match = ready.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout.off("data", check);
      child.stderr.off("data", check);
      // From here on the output is drained and only its last chunk kept: a gateway that logs every
      // request (access logs) must not cost this process (on the load generator's CPU) string work.
      child.stdout.off("data", onData);
      child.stderr.off("data", onData);
      let last = "";
      const keepLast = (chunk) => {
        last = chunk;
      };
      child.stdout.on("data", keepLast);
      child.stderr.on("data", keepLast);
      resolve({
        name,
        child,
        pid: child.pid,
        port: Number(match[1]),
        output: () => `${output}${last ? `\n…\n${last.toString()}` : ""}`,
        stop: () => stopChild(child),
      });
    };
    child.stdout.on("data", check);
    child.stderr.on("data", check);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("exit", (code, signal) => {
      children.delete(child);
      clearTimeout(timer);
      reject(new Error(`${name} exited (${signal ?? code}) before it was ready:\n${output}`));
    });
  });
}

/** {@link startServer}'s readiness for a process whose stdout goes to the sink: its URL answers. */
function readyByUrl(name, child, readyUrl, port, timeoutMs) {
  let output = "";
  child.stderr.on("data", (chunk) => {
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  });
  const server = { name, child, pid: child.pid, port, output: () => output, stop: () => stopChild(child) };
  return new Promise((resolve, reject) => {
    let done = false;
    const fail = (error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(error);
    };
    const timer = setTimeout(() => {
      stopChild(child);
      fail(new Error(`${name} did not answer ${readyUrl} in ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on("error", fail);
    child.on("exit", (code, signal) => {
      children.delete(child);
      fail(new Error(`${name} exited (${signal ?? code}) before it was ready:\n${output}`));
    });
    const poll = async () => {
      while (!done) {
        try {
          const res = await fetch(readyUrl, { signal: AbortSignal.timeout(1000) });
          await res.arrayBuffer();
          done = true;
          clearTimeout(timer);
          return resolve(server);
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    void poll();
  });
}

/** Runs a command to completion with a hard time limit; resolves with its stdout. */
export function runCommand(command, args, { cpu, timeoutMs, env = {} }) {
  const [cmd, argv] = cpu !== undefined ? ["taskset", ["-c", String(cpu), command, ...args]] : [command, args];
  const child = spawn(cmd, argv, { cwd: root, env: childEnv(env), stdio: ["ignore", "pipe", "pipe"], detached: true });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c) => (stdout += c));
  child.stderr.on("data", (c) => (stderr += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stopChild(child);
      reject(new Error(`${command} ran over its ${timeoutMs} ms limit`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("exit", (code) => {
      children.delete(child);
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(" ")} exited with ${code}: ${stderr}`));
    });
  });
}

export function stopChild(child) {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once("exit", () => done());
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      return done();
    }
    setTimeout(() => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    }, 2000).unref();
  });
}

export async function stopAllChildren() {
  await Promise.all([...children].map((child) => stopChild(child)));
}

// Ctrl-C or a kill stops every child this process started (by their process group ids).
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    for (const child of children) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    }
    process.exit(130);
  });
}
process.on("exit", () => {
  for (const child of children) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  }
});

// ---------------------------------------------------------------------------------------------
// CPU pinning and accounting

/** Pins a running process and all its threads to one CPU. */
export function pinProcess(pid, cpu) {
  execFileSync("taskset", ["-a", "-p", "-c", String(cpu), String(pid)], { stdio: "ignore" });
}

const TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

function statFields(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may contain spaces: split after its closing parenthesis.
  const close = text.lastIndexOf(")");
  return { comm: text.slice(text.indexOf("(") + 1, close), rest: text.slice(close + 2).split(" ") };
}

/** CPU time (user + system, all threads) a process has used so far, in ms. */
export function cpuMs(pid) {
  try {
    const { rest } = statFields(pid);
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / TICKS;
  } catch {
    return NaN;
  }
}

/** CPU time (ms) of this process, and of its children that have exited and been reaped (wrk). */
export function selfAndChildrenCpuMs() {
  try {
    const { rest } = statFields("self");
    // utime, stime, cutime, cstime: fields 14 to 17.
    return ((Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14])) * 1000) / TICKS;
  } catch {
    return NaN;
  }
}

/** CPU time (ms) all CPUs spent running processes (user, nice, system; not interrupts or idle). */
export function totalProcessCpuMs() {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
  const v = line.split(/\s+/).slice(1).map(Number);
  return ((v[0] + v[1] + v[2]) * 1000) / TICKS;
}

/** Direct children of `ppid` whose command name is `comm`. */
export function childPidsNamed(ppid, comm) {
  const out = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const { comm: c, rest } = statFields(entry);
      if (c === comm && Number(rest[1]) === ppid) out.push(Number(entry));
    } catch {}
  }
  return out;
}

/** Busy and total jiffies per CPU, from /proc/stat. */
export function cpuTimes() {
  const out = {};
  for (const line of readFileSync("/proc/stat", "utf8").split("\n")) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2].split(/\s+/).map(Number);
    const idle = v[3] + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    out[m[1]] = { busy: total - idle, total };
  }
  return out;
}

/** Utilisation (0..1) of each CPU between two `cpuTimes()` samples. */
export function cpuUtilisation(before, after) {
  const out = {};
  for (const cpu of Object.keys(after)) {
    const dt = after[cpu].total - (before[cpu]?.total ?? 0);
    out[cpu] = dt > 0 ? (after[cpu].busy - before[cpu].busy) / dt : NaN;
  }
  return out;
}

export function loadAverage() {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
  } catch {
    return [NaN, NaN, NaN];
  }
}

export const canPin = () => existsSync("/proc/self/stat") && hasCommand("taskset");

// ---------------------------------------------------------------------------------------------
// Statistics

/** `list` rotated left by `by` places (the order of a round's runs changes from round to round). */
export const rotate = (list, by) => list.map((_, i) => list[(i + by) % list.length]);

export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Percentile (0..100) of an already sorted array, nearest rank. */
export function percentileSorted(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** (max − min) / median, as a fraction: how much repeated rounds disagree. */
export function spread(values) {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length < 2) return 0;
  return (Math.max(...v) - Math.min(...v)) / median(v);
}

/**
 * Waits (at most `maxMs`) until the whole machine is quiet: every CPU less than `threshold` busy
 * over a `windowMs` window. Our own servers are idle at that point, so what is busy is someone
 * else (other test runs on a shared machine). Resolves with how long it waited and the last load.
 */
export async function waitForQuiet({ maxMs = 20_000, threshold = 0.15, windowMs = 400 } = {}) {
  const start = Date.now();
  let busiest = NaN;
  for (;;) {
    const before = cpuTimes();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    busiest = Math.max(...Object.values(cpuUtilisation(before, cpuTimes())));
    const waited = Date.now() - start;
    if (busiest < threshold) return { waitedMs: waited, busiest, quiet: true };
    if (waited >= maxMs) return { waitedMs: waited, busiest, quiet: false };
  }
}

/** A number with `digits` decimals, or "–" when it is not one. */
export const fmt = (v, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : "–");

/** Median, lowest and highest of per-round values (those that are numbers), and how many. */
export function roundStats(values) {
  const v = values.filter((x) => Number.isFinite(x));
  return { median: median(v), min: v.length ? Math.min(...v) : NaN, max: v.length ? Math.max(...v) : NaN, n: v.length };
}

/** A {@link roundStats}'s per-round range, `min–max`. */
export const range = (st, digits = 2) => `${fmt(st.min, digits)}–${fmt(st.max, digits)}`;

/**
 * A target held to per-round values `st` ({@link roundStats}): it passes when the median does
 * (`atLeast` or `atMost` the threshold); when the threshold lies within the per-round range, the
 * note says so, whichever side the median falls. Returns `{ value, pass, note }` for a checks table.
 */
export function judge(st, { atLeast, atMost, digits = 3, unit = "" }) {
  const pass = atLeast !== undefined ? st.median >= atLeast : st.median <= atMost;
  const threshold = atLeast ?? atMost;
  const within = st.n > 1 && st.min <= threshold && threshold <= st.max;
  return { value: `${fmt(st.median, digits)}${unit} (rounds ${range(st, digits)}${unit})`, pass, note: within ? "within the spread" : "" };
}

/** A checks table's row: `result` overrides PASS/**FAIL** (a measure reported without a target). */
export function checkLine({ runtime, target, value, pass, note, result }) {
  const shown = result ?? (pass ? "PASS" : "**FAIL**");
  return `| ${runtime} | ${target} | ${value} | ${shown}${note ? ` (${note})` : ""} |`;
}

// ---------------------------------------------------------------------------------------------
// What was measured, on what

/**
 * The code the servers are started from, read before they start (others may commit meanwhile):
 * HEAD's short hash, and how many files under src/ (and wrangler.toml) differ from it.
 */
export function codeState() {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root }).toString().trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src", "wrangler.toml"], { cwd: root }).toString().trim();
    return dirty ? `${head} + uncommitted changes in src/ (${dirty.split("\n").length} files)` : head;
  } catch {
    return "?";
  }
}

/** The first line a command prints for its version (`wrk -v` prints it and exits with 1). */
function version(command, args) {
  const firstLine = (out) =>
    String(out ?? "")
      .trim()
      .split("\n")[0] || "?";
  try {
    return firstLine(execFileSync(command, args, { env: childEnv(), stdio: ["ignore", "pipe", "pipe"] }));
  } catch (error) {
    return firstLine(error.stdout?.length ? error.stdout : error.stderr);
  }
}

const pkgVersion = (name) => {
  try {
    return JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")).version;
  } catch {
    return "?";
  }
};

/** The machine and the versions of what runs, for a results file's header. */
export function machineInfo(loadgen) {
  return {
    nproc: osCpus().length,
    cpu: osCpus()[0]?.model ?? "?",
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    kernel: release(),
    node: process.version,
    bun: version(bin("bun"), ["--version"]),
    workerd: version(bin("workerd"), ["--version"]),
    miniflare: pkgVersion("miniflare"),
    hono: pkgVersion("hono"),
    loadgen: loadgen === "wrk" ? version("wrk", ["-v"]).replace(/\s*Copyright.*$/, "") : "node:http client",
  };
}

/** {@link machineInfo} as the two header lines of a results file. */
export function machineLines(m) {
  return [
    `- Machine: ${m.nproc} CPUs (nproc), ${m.cpu}, ${m.memory}, Linux ${m.kernel}`,
    `- Versions: node ${m.node}, bun ${m.bun}, workerd ${m.workerd.replace(/^workerd\s*/, "")} (miniflare ${m.miniflare}), hono ${m.hono}, load generator ${m.loadgen}`,
  ];
}

/**
 * Writes a results file: `head` (the title and settings lines), `body`, the per-round numbers
 * (`raw`, folded away) and the hand-written notes found after `marker` in the file as it was
 * (kept across runs).
 */
export function writeResults(file, marker, head, body, raw) {
  const kept = existsSync(file) ? readFileSync(file, "utf8") : "";
  const keptNotes = kept.includes(marker) ? kept.slice(kept.indexOf(marker)) : `${marker}\n`;
  const md = [
    ...head,
    "",
    body,
    "",
    "<details><summary>Per-round numbers</summary>",
    "",
    "```json",
    JSON.stringify(raw, null, 1),
    "```",
    "",
    "</details>",
    "",
    keptNotes.trimEnd(),
    "",
  ].join("\n");
  writeFileSync(file, md);
}
