// Child-process helpers shared by the scripts: run a command to completion, start a long-running
// one, and stop every started child on exit (one Ctrl-C stops everything).
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const bin = (name) => join(root, "node_modules", ".bin", name);

/** Environment for child processes: the project's node_modules/.bin first (Node 24 and the tools). */
export function childEnv(extra = {}) {
  return {
    ...process.env,
    PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH}`,
    WRANGLER_SEND_METRICS: "false",
    ...extra,
  };
}

export function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: "inherit", cwd: root, env: childEnv(options.env), ...options });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited with ${code}`))));
  });
}

const children = new Set();

/**
 * Starts a long-running process in its own process group; resolves once `ready` (a RegExp) matches
 * its output, or at once without `ready`. Output is prefixed with `name`.
 */
export function start(name, command, args, { env = {}, ready, timeoutMs = 60_000 } = {}) {
  const child = spawn(command, args, {
    cwd: root,
    env: childEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  children.add(child);
  child.on("exit", (code, signal) => {
    children.delete(child);
    if (!stopping) {
      console.error(`[${name}] exited (${signal ?? code}); stopping everything`);
      stopAll(1);
    }
  });
  return new Promise((resolve, reject) => {
    let matched = !ready;
    if (matched) resolve(child);
    const timer = ready
      ? setTimeout(() => !matched && reject(new Error(`${name} did not become ready in ${timeoutMs} ms`)), timeoutMs)
      : undefined;
    const onData = (stream) => (chunk) => {
      const text = chunk.toString();
      for (const line of text.split("\n")) if (line.trim()) stream.write(`[${name}] ${line}\n`);
      if (!matched && ready.test(text)) {
        matched = true;
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout.on("data", onData(process.stdout));
    child.stderr.on("data", onData(process.stderr));
    child.on("error", reject);
  });
}

let stopping = false;

export function stopAll(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const child of children) {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
  }
  setTimeout(() => {
    for (const child of children) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    }
    process.exit(code);
  }, 1500).unref();
  if (children.size === 0) process.exit(code);
  else Promise.all([...children].map((c) => new Promise((r) => c.once("exit", r)))).then(() => process.exit(code));
}

process.on("SIGINT", () => stopAll(0));
process.on("SIGTERM", () => stopAll(0));
