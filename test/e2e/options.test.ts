/**
 * Runtime options on each runtime (src/options.ts through the entries): a value that cannot be
 * used stops the start with a message naming the variable (Bun, Deno), or makes every request fail
 * closed with a 500 while the Worker's log names it (workerd); good values start the gateway.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { mcpDefinition } from "../helpers/definitions.ts";
import { RUNTIMES, startGateway } from "../helpers/gateways.ts";
import { MCP_POST_HEADERS, ping } from "../helpers/mcp.ts";

const definition = mcpDefinition({ id: "o", listenPath: "/o/", upstream: "http://127.0.0.1:9" });

describe.each(RUNTIMES)("runtime options on %s", (runtime) => {
  test.each([
    ["GATEWAY_CONFIG_MAX_AGE_MS", "soon"],
    ["GATEWAY_PUBLIC_ORIGINS", "mcp.example.com"],
    ["ADMIN_API", "perhaps"],
    ["GATEWAY_CONFIG", '{"opentelemetry":{"metrics":{"api_metrics":[{"name":"x","type":"gauge"}]}}}'],
  ])(
    "%s=%j is refused, naming the variable",
    async (variable, value) => {
      if (runtime === "workers") {
        const gw = await startGateway(runtime, [definition], { env: { [variable]: value } });
        try {
          const res = await fetch(`${gw.url}/o/mcp`, { method: "POST", headers: MCP_POST_HEADERS, body: ping() });
          expect(res.status).toBe(500);
          expect(await res.json()).toMatchObject({ error: { code: -32000, message: expect.stringContaining("misconfigured") } });
        } finally {
          await gw.stop();
        }
        return;
      }
      const start = startGateway(runtime, [definition], { env: { [variable]: value } });
      await expect(start).rejects.toThrow(new RegExp(`exited with 1[\\s\\S]*cannot start: ${variable}: `));
    },
    60_000,
  );

  test.skipIf(runtime === "workers")(
    "GATEWAY_CONFIG_FILE: a file that cannot be used stops the start, naming the variable",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "gateway-config-"));
      try {
        const file = join(dir, "tyk.json");
        await writeFile(file, JSON.stringify({ access_logs: { enabled: "sometimes" } }));
        const start = startGateway(runtime, [definition], { env: { GATEWAY_CONFIG_FILE: file } });
        await expect(start).rejects.toThrow(/cannot start: GATEWAY_CONFIG_FILE: access_logs\.enabled/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
