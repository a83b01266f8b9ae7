/**
 * MCP conformance through the gateway: every server scenario of @modelcontextprotocol/conformance
 * is run against @modelcontextprotocol/server-everything directly (once, the baseline) and through
 * the gateway on workerd (Miniflare), Bun and Deno, each run with a fresh server-everything. Each
 * scenario must give the same checks through the gateway as directly: the same check ids passing,
 * failing, warning or skipped (INFO checks, which only log the traffic, aside).
 *
 * server-everything is not the conformance suite's own test server, so many scenarios fail directly
 * (their tools, prompts and resources do not exist there); what matters here is that the gateway
 * changes none of the outcomes. `node scripts/conformance.mjs --runtime <r>` prints the same
 * comparison as a table.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  describeChecks,
  listServerScenarios,
  outcome,
  runConformance,
  signature,
  type ConformanceResults,
} from "../../scripts/lib/conformance.ts";
import { mcpDefinition } from "../helpers/definitions.ts";
import { RUNTIMES, startGateway } from "../helpers/gateways.ts";
import { root, startEverything } from "../helpers/processes.ts";

/** Starting things and one conformance run (about 2–5 s here) can be slow on a loaded machine. */
const RUN_TIMEOUT = 240_000;
const TEST_TIMEOUT = 30_000;

const scenarios = await listServerScenarios();

let direct: ConformanceResults;

beforeAll(async () => {
  const upstream = await startEverything();
  try {
    direct = await runConformance(`${upstream.url}/mcp`, scenarios);
  } finally {
    await upstream.stop();
  }
}, RUN_TIMEOUT);

afterAll(async () => {
  // The worker bundle test/helpers/gateways.ts writes for this process.
  await rm(join(root, "dist", "test", `worker-${process.pid}.js`), { force: true });
});

describe("conformance server scenarios, directly against server-everything", () => {
  test(
    "are listed and each gives a result",
    () => {
      expect(scenarios.length).toBeGreaterThan(0);
      expect(scenarios).toContain("server-initialize");
      for (const scenario of scenarios) {
        const result = direct.get(scenario);
        expect(result, `no result for ${scenario}`).toBeDefined();
        expect(result!.error, `${scenario} did not run: ${result!.error}`).toBeUndefined();
        expect(result!.checks.length, `${scenario} gave no checks`).toBeGreaterThan(0);
      }
    },
    TEST_TIMEOUT,
  );

  test(
    "reach the server (the baseline is not all failures)",
    () => {
      expect(outcome(direct.get("server-initialize"))).toBe("pass 1/1");
      expect(outcome(direct.get("ping"))).toBe("pass 1/1");
      expect(outcome(direct.get("tools-list"))).toBe("pass 1/1");
    },
    TEST_TIMEOUT,
  );
});

describe.each(RUNTIMES)("conformance server scenarios through the gateway on %s", (runtime) => {
  let viaGateway: ConformanceResults;
  /** What the gateway process printed (Bun, Deno), shown when a scenario differs. */
  let gatewayOutput = "";

  beforeAll(async () => {
    const upstream = await startEverything();
    try {
      const gateway = await startGateway(runtime, [
        mcpDefinition({ id: "everything", listenPath: "/everything/", upstream: upstream.url }),
      ]);
      try {
        viaGateway = await runConformance(`${gateway.url}/everything/mcp`, scenarios);
      } finally {
        gatewayOutput = gateway.output?.().slice(-4000) ?? "";
        await gateway.stop();
      }
    } finally {
      await upstream.stop();
    }
  }, RUN_TIMEOUT);

  test(
    "give a result for every scenario",
    () => {
      expect(scenarios.length).toBeGreaterThan(0);
      expect([...viaGateway.keys()].sort()).toEqual([...direct.keys()].sort());
    },
    TEST_TIMEOUT,
  );

  test.each(scenarios)(
    "%s: the same checks pass and fail as directly",
    (scenario) => {
      const expected = direct.get(scenario);
      const actual = viaGateway.get(scenario);
      expect(
        signature(actual),
        `${scenario} through the gateway on ${runtime}:\n${describeChecks(actual)}\n` +
          `directly:\n${describeChecks(expected)}` +
          (gatewayOutput ? `\ngateway output (tail):\n${gatewayOutput}` : ""),
      ).toEqual(signature(expected));
    },
    TEST_TIMEOUT,
  );
});
