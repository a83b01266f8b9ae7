/**
 * Starting real servers for tests: server-everything (Streamable HTTP), and the gateway on workerd
 * (Miniflare), Bun or Deno. Everything listens on 127.0.0.1 on a port the OS picks.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const root = resolve(import.meta.dirname, "..", "..");
export const binPath = (name: string) => join(root, "node_modules", ".bin", name);

export interface Running {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Spawns a process and resolves with the port it reports (`pattern` must capture the port). */
export function spawnWithPort(
  command: string,
  args: string[],
  pattern: RegExp,
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH}`, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  return new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => {
      kill(child);
      reject(new Error(`${command} did not report a port in ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        child.stderr!.off("data", onData);
        // Keep draining so the child never blocks on a full pipe.
        child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
        child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
        resolvePort({ child, port: Number(match[1]), output: () => output });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before reporting a port:\n${output}`));
    });
  });
}

export function kill(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once("exit", () => done());
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      done();
    }
    setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {}
    }, 2000).unref();
  });
}

/** @modelcontextprotocol/server-everything over Streamable HTTP, on 127.0.0.1. */
export async function startEverything(): Promise<Running> {
  const { child, port } = await spawnWithPort(
    process.execPath,
    [
      "--import",
      join(root, "scripts/lib/loopback.mjs"),
      join(root, "node_modules/@modelcontextprotocol/server-everything/dist/index.js"),
      "streamableHttp",
    ],
    /LISTENING (\d+)/,
    { PORT: "0" },
  );
  return { url: `http://127.0.0.1:${port}`, port, stop: () => kill(child) };
}

/** A port that was free a moment ago, on 127.0.0.1 (for a server whose URL must be known before it starts). */
export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "gateway-test-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function writeDefinitions(dir: string, definitions: readonly object[]): Promise<void> {
  await Promise.all(definitions.map((d, i) => writeFile(join(dir, `def-${i}.json`), JSON.stringify(d))));
}
