/**
 * Runtime options on each runtime (src/options.ts through the entries): a value that cannot be
 * used stops the start with a message naming the variable (Bun, Deno), or makes every request fail
 * closed with a 500 while the Worker's log names it (workerd); good values start the gateway.
 */
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
});
