/**
 * A real Redis server for the Upstash backend's tests (Debian's `redis-server`, which `.ci/run`
 * installs), and the Upstash REST bridge in front of it (test/fixtures/upstash-bridge.ts).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { freePort, kill, root, spawnWithPort, type Running } from "./processes.ts";

/** Where Debian puts it; the PATH is searched too. */
export const REDIS_SERVER = existsSync("/usr/bin/redis-server") ? "/usr/bin/redis-server" : "redis-server";

/** A Redis server on 127.0.0.1, in memory only. */
export async function startRedis(): Promise<Running> {
  const port = await freePort();
  const { child } = await spawnWithPort(
    REDIS_SERVER,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    /Ready to accept connections()/,
  );
  return { url: `redis://127.0.0.1:${port}`, port, stop: () => kill(child) };
}

export interface UpstashBridge extends Running {
  token: string;
}

/** The Upstash REST protocol on 127.0.0.1, in front of the Redis server on `redisPort`. */
export async function startUpstashBridge(redisPort: number, token = "test-upstash-token"): Promise<UpstashBridge> {
  const { child, port } = await spawnWithPort(process.execPath, [join(root, "test/fixtures/upstash-bridge.ts")], /LISTENING (\d+)/, {
    PORT: "0",
    REDIS_PORT: String(redisPort),
    UPSTASH_TOKEN: token,
  });
  return { url: `http://127.0.0.1:${port}`, port, token, stop: () => kill(child) };
}
