/**
 * MCP conformance through the gateway, without blind spots: every server scenario of
 * @modelcontextprotocol/conformance runs against the project's own fixture server
 * (test/fixtures/conformance-server.ts), on which all of them pass directly, and then through the
 * gateway on workerd (Miniflare), Bun and Deno, three times on each, with an API key required on
 * the proxy. Each run must give, scenario by scenario, the same checks as directly (check ids and
 * statuses; INFO checks, which only log the traffic, aside): sampling, elicitation, progress,
 * logging, subscriptions, SSE resumption and DNS rebinding protection included.
 *
 * The CLI cannot send a header, so a small proxy in front of the gateway adds the key
 * (test/helpers/conformance-server.ts); its own behaviour is checked here first.
 * `node scripts/conformance.mjs --runtime <r>` prints the same comparison as a table.
 */
import { rm } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  type ConformanceResults,
  describeChecks,
  listServerScenarios,
  outcome,
  runConformance,
  signature,
} from "../../scripts/lib/conformance.ts";
import { type SecuredGateway, startConformanceServer, startHeaderInjector, startSecuredGateway } from "../helpers/conformance-server.ts";
import { RUNTIMES } from "../helpers/gateways.ts";
import { MCP_POST_HEADERS } from "../helpers/mcp.ts";
import { root } from "../helpers/processes.ts";

/** How many times the suite runs through the gateway on each runtime. */
const RUNS = 3;
/** Starting things and one suite run (about 2–5 s here; a broken one up to a few minutes). */
const RUN_TIMEOUT = 150_000;
const TEST_TIMEOUT = 30_000;

const scenarios = await listServerScenarios();

let direct: ConformanceResults;

beforeAll(async () => {
  const fixture = await startConformanceServer();
  try {
    direct = await runConformance(`${fixture.url}/mcp`, scenarios);
  } finally {
    await fixture.stop();
  }
}, RUN_TIMEOUT);

afterAll(async () => {
  // The worker bundle test/helpers/gateways.ts writes for this process.
  await rm(join(root, "dist", "test", `worker-${process.pid}.js`), { force: true });
});

const initialize = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "conformance-e2e", version: "1.0.0" } },
});

describe("conformance server scenarios, directly against the fixture server", () => {
  test(
    "are listed",
    () => {
      expect(scenarios).toContain("server-initialize");
      expect(scenarios).toContain("dns-rebinding-protection");
      expect([...direct.keys()].sort()).toEqual([...scenarios].sort());
    },
    TEST_TIMEOUT,
  );

  test.each(scenarios)(
    "%s passes, every check",
    (scenario) => {
      const result = direct.get(scenario);
      expect(result?.error, `${scenario} did not run`).toBeUndefined();
      expect(result!.checks.length, `${scenario} gave no checks`).toBeGreaterThan(0);
      const notPassed = signature(result).filter((check) => !check.endsWith("=SUCCESS"));
      expect(notPassed, `${scenario} directly:\n${describeChecks(result)}`).toEqual([]);
    },
    TEST_TIMEOUT,
  );
});

describe("the header injector in front of the gateway", () => {
  test(
    "sets the key, passes Host, Origin and the other headers as sent, streams unbuffered and passes a disconnect on",
    async () => {
      let seen: IncomingHttpHeaders = {};
      let release = () => {};
      const targetClosed = new Promise<void>((done) => {
        release = done;
      });
      const target = createServer((req, res) => {
        seen = req.headers;
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write("data: first\n\n");
        // Kept open: only the client's disconnect, passed on by the injector, ends it.
        res.on("close", release);
      });
      await new Promise<void>((done) => target.listen(0, "127.0.0.1", done));
      const injector = await startHeaderInjector(
        `http://127.0.0.1:${(target.address() as { port: number }).port}`,
        "Authorization",
        "Bearer k1",
      );
      try {
        const client = request(`${injector.url}/any/path?q=1`, {
          method: "POST",
          headers: { Host: "evil.example.com", Origin: "http://evil.example.com", Authorization: "Bearer forged", "X-Extra": "kept" },
        });
        client.end("{}");
        const response = await new Promise<IncomingMessage>((done) => client.on("response", done));
        const first = await new Promise<string>((done) => response.once("data", (chunk: Buffer) => done(chunk.toString())));
        expect(response.headers["content-type"]).toBe("text/event-stream");
        expect(first).toBe("data: first\n\n");
        expect(seen).toMatchObject({
          host: "evil.example.com",
          origin: "http://evil.example.com",
          authorization: "Bearer k1",
          "x-extra": "kept",
        });
        client.destroy();
        await targetClosed;
      } finally {
        await injector.stop();
        await new Promise((done) => target.close(done));
      }
    },
    TEST_TIMEOUT,
  );
});

describe.each(RUNTIMES)("conformance server scenarios through the gateway on %s, with an API key required", (runtime) => {
  let secured: SecuredGateway;
  const runs: ConformanceResults[] = [];
  /** What the gateway process printed (Bun, Deno), shown when a scenario differs. */
  let gatewayOutput = "";

  beforeAll(async () => {
    secured = await startSecuredGateway(runtime);
    for (let run = 0; run < RUNS; run++) runs.push(await runConformance(secured.url, scenarios));
    gatewayOutput = secured.gateway.output?.().slice(-4000) ?? "";
  }, RUNS * RUN_TIMEOUT);

  afterAll(async () => {
    await secured?.stop();
  });

  test(
    "the proxy refuses a request without the key (401), and takes it with the key the injector adds",
    async () => {
      const withoutKey = await fetch(secured.directMcpUrl, { method: "POST", headers: MCP_POST_HEADERS, body: initialize });
      expect(withoutKey.status).toBe(401);
      await withoutKey.body?.cancel();
      const withKey = await fetch(secured.url, { method: "POST", headers: MCP_POST_HEADERS, body: initialize });
      expect(withKey.status).toBe(200);
      expect(withKey.headers.get("mcp-session-id")).toBeTruthy();
      await withKey.body?.cancel();
    },
    TEST_TIMEOUT,
  );

  test.each(scenarios)(
    `%s: the same checks as directly, in each of ${RUNS} runs`,
    (scenario) => {
      const expected = signature(direct.get(scenario));
      const differing = runs.flatMap((run, i) =>
        JSON.stringify(signature(run.get(scenario))) === JSON.stringify(expected)
          ? []
          : [`run ${i + 1} (${outcome(run.get(scenario))}):\n${describeChecks(run.get(scenario))}`],
      );
      expect(
        runs.map((run) => signature(run.get(scenario))),
        `${scenario} through the gateway on ${runtime}:\n${differing.join("\n")}\n` +
          `directly:\n${describeChecks(direct.get(scenario))}` +
          (gatewayOutput ? `\ngateway output (tail):\n${gatewayOutput}` : ""),
      ).toEqual(runs.map(() => expected));
    },
    TEST_TIMEOUT,
  );
});
