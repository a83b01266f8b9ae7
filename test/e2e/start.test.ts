/**
 * `npm start` as a newcomer runs it: `scripts/start.mjs` serves the gateway on workerd through
 * `wrangler dev`, with `definitions/` seeded and server-everything behind the example proxy. The
 * official SDK client then works at `/everything/mcp`; an admin write is live on the next request;
 * and behind `wrangler dev`'s own proxy, clients that drop their idle SSE streams leave no stream
 * open at the upstream a second later.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { mcpDefinition } from "../helpers/definitions.ts";
import { MCP_POST_HEADERS, ping } from "../helpers/mcp.ts";
import { freePort, kill, root } from "../helpers/processes.ts";
import { startUpstream, type TestUpstream } from "../helpers/upstream.ts";

const SECRET = "start-test-secret";

describe("npm start (wrangler dev)", () => {
  let gateway: string;
  let stop = async () => {};
  let output = "";
  let up: TestUpstream;

  beforeAll(async () => {
    up = await startUpstream();
    const [port, everythingPort] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, [join(root, "scripts/start.mjs")], {
      cwd: root,
      env: {
        ...process.env,
        PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH}`,
        PORT: String(port),
        EVERYTHING_PORT: String(everythingPort),
        GATEWAY_SECRET: SECRET,
        WRANGLER_SEND_METRICS: "false",
      },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    stop = () => kill(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start did not come up:\n${output}`)), 90_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("is up.")) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.on("exit", (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
    });
    gateway = `http://127.0.0.1:${port}`;
  }, 120_000);

  afterAll(async () => {
    await stop();
    await up?.stop();
  });

  test("the SDK client lists and calls tools at /everything/mcp", async () => {
    const client = new Client({ name: "start-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway}/everything/mcp`)));
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain("echo");
      const result = await client.callTool({ name: "echo", arguments: { message: "hello" } });
      expect(result.content).toEqual([{ type: "text", text: "Echo: hello" }]);
    } finally {
      await client.close();
    }
  });

  test("an admin write is live on the next request, and dropped idle streams close at the upstream within a second", async () => {
    // Local KV persists between runs (.wrangler/state): a name of this run's own, removed after.
    const id = `start-idle-${Date.now().toString(36)}`;
    const definition = mcpDefinition({ id, listenPath: `/${id}/`, upstream: up.url });
    const created = await fetch(`${gateway}/tyk/mcps`, {
      method: "POST",
      headers: { "x-tyk-authorization": SECRET, "content-type": "application/json" },
      body: JSON.stringify(definition),
    });
    expect(created.status, await created.clone().text()).toBe(200);
    up.handle((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(": open\n\n");
      // Then nothing: only the gateway can notice that the client left.
    });
    const streams = 20;
    const before = up.aborted;
    const controllers = Array.from({ length: streams }, () => new AbortController());
    await Promise.all(
      controllers.map(async (controller, i) => {
        const get = i % 2 === 0;
        const res = await fetch(`${gateway}/${id}/mcp`, {
          method: get ? "GET" : "POST",
          headers: get ? { accept: "text/event-stream" } : MCP_POST_HEADERS,
          ...(get ? {} : { body: ping(i) }),
          signal: controller.signal,
        });
        expect(res.status).toBe(200);
        await res.body!.getReader().read();
      }),
    );
    expect(up.seen.length).toBeGreaterThanOrEqual(streams);
    for (const controller of controllers) controller.abort();
    await expect.poll(() => up.aborted - before, { timeout: 1000, interval: 20 }).toBe(streams);
    const removed = await fetch(`${gateway}/tyk/mcps/${id}`, { method: "DELETE", headers: { "x-tyk-authorization": SECRET } });
    expect(removed.status).toBe(200);
  }, 30_000);
});
