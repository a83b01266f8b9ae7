#!/usr/bin/env node
// MCP conformance through the gateway: runs every server scenario of @modelcontextprotocol/conformance
// against the project's fixture server (test/fixtures/conformance-server.ts, on which all of them
// pass) directly, then through the gateway in front of a fresh fixture server, with an API key
// required on the proxy and injected by a small proxy in front (the CLI cannot send a header), and
// prints the results side by side. Exits 1 if any scenario's checks differ in any run (a gateway
// bug: a check that passes, fails or warns only through it).
//
//   node scripts/conformance.mjs                       # gateway on workerd (Miniflare), one run
//   node scripts/conformance.mjs --runtime bun         # or deno, or all
//   node scripts/conformance.mjs --runs 3              # the suite 3 times through the gateway
//   node scripts/conformance.mjs --output-dir results  # keep the CLI's checks.json files
//   node scripts/conformance.mjs --verbose             # every scenario's checks, not only differences
//   node scripts/conformance.mjs --suite 2026-07-28    # the 0.2.0-alpha suite at the 2026-07-28 wire,
//                                                      # against the 2026-07-28 fixture (modern-server.ts)
//
// Needs Node 22.18+ (it imports the TypeScript test helpers): put node_modules/.bin first on PATH.
import { mkdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(
    `Node ${process.versions.node} cannot run this script (it needs 22.18+ for TypeScript imports); ` +
      `run it as: PATH=node_modules/.bin:$PATH node scripts/conformance.mjs`,
  );
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    runtime: { type: "string", default: "workers" },
    runs: { type: "string", default: "1" },
    "output-dir": { type: "string" },
    verbose: { type: "boolean", default: false },
    suite: { type: "string", default: "2025-11-25" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(
    "usage: node scripts/conformance.mjs [--suite 2025-11-25|2026-07-28] [--runtime workers|bun|deno|all] [--runs N] [--output-dir DIR] [--verbose]",
  );
  process.exit(0);
}
const runtimes = values.runtime === "all" ? ["workers", "bun", "deno"] : [values.runtime];
if (!runtimes.every((r) => ["workers", "bun", "deno"].includes(r))) {
  console.error(`unknown runtime "${values.runtime}": use workers, bun, deno or all`);
  process.exit(2);
}
const suite = values.suite;
if (suite !== "2025-11-25" && suite !== "2026-07-28") {
  console.error(`unknown suite "${suite}": use 2025-11-25 or 2026-07-28`);
  process.exit(2);
}
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`--runs must be a whole number of at least 1, not "${values.runs}"`);
  process.exit(2);
}

const { root } = await import("../test/helpers/processes.ts");
// workerd only loads modules below its starting directory, and the worker bundle is under dist/.
process.chdir(root);
const { startConformanceServer, startModernServer, startSecuredGateway } = await import("../test/helpers/conformance-server.ts");
const startFixture = suite === "2026-07-28" ? () => startModernServer() : startConformanceServer;
const { compare, describeChecks, formatTable, listServerScenarios, outcome, runConformance } = await import("./lib/conformance.ts");

/** Everything started, stopped in reverse order on exit or Ctrl-C. */
const running = [];
async function stopAll() {
  while (running.length) {
    try {
      await running.pop().stop();
    } catch {}
  }
  // The worker bundle the test helper writes for this process.
  await rm(join(root, "dist", "test", `worker-${process.pid}.js`), { force: true });
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => stopAll().finally(() => process.exit(130)));
}

async function started(promise) {
  const thing = await promise;
  running.push(thing);
  return thing;
}

async function stop(thing) {
  running.splice(running.indexOf(thing), 1);
  await thing.stop();
}

const outputDir = values["output-dir"] ? resolve(values["output-dir"]) : undefined;
async function outputFor(name) {
  if (!outputDir) return undefined;
  const dir = join(outputDir, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Runs the suite `runs` times through the gateway on `runtime`, prints the comparison; true if all identical. */
async function throughGateway(runtime, scenarios, direct) {
  console.error(`running them through the gateway on ${runtime} (API key required), ${runs} time(s) ...`);
  const secured = await started(startSecuredGateway(runtime, startFixture));
  const results = [];
  for (let run = 1; run <= runs; run++) {
    const begin = Date.now();
    results.push(await runConformance(secured.url, scenarios, { suite, outputDir: await outputFor(`gateway-${runtime}-${run}`) }));
    console.error(`  run ${run}: ${((Date.now() - begin) / 1000).toFixed(1)} s`);
  }
  const gatewayOutput = secured.gateway.output?.() ?? "";
  await stop(secured);

  const comparisons = results.map((viaGateway) => compare(scenarios, direct, viaGateway));
  const rows = comparisons[0].map((row, i) => ({ ...row, runs: comparisons.map((c) => c[i]) }));
  console.log(`\n${runtime}:`);
  console.log(
    formatTable(
      ["scenario", "direct", ...results.map((_, i) => `run ${i + 1}`), "same?"],
      rows.map((r) => [r.scenario, r.direct, ...r.runs.map((c) => c.gateway), r.runs.every((c) => c.same) ? "yes" : "NO"]),
    ),
  );
  const differing = rows.filter((r) => !r.runs.every((c) => c.same));
  for (const row of values.verbose ? rows : differing) {
    console.log(`\n${differing.includes(row) ? "DIFFERS: " : ""}${row.scenario} (${runtime})`);
    console.log(`direct:\n${describeChecks(direct.get(row.scenario))}`);
    row.runs.forEach((c, i) => {
      if (c.same && !values.verbose) return;
      console.log(`run ${i + 1}:\n${describeChecks(results[i].get(row.scenario))}`);
      if (c.onlyDirect.length) console.log(`  only direct:  ${c.onlyDirect.join(", ")}`);
      if (c.onlyGateway.length) console.log(`  only gateway: ${c.onlyGateway.join(", ")}`);
    });
  }
  if (differing.length && gatewayOutput) console.log(`\ngateway output (tail):\n${gatewayOutput.slice(-4000)}`);
  console.log(
    `\n${runtime}: ` +
      (differing.length
        ? `${differing.length} scenario(s) differ through the gateway: ${differing.map((r) => r.scenario).join(", ")}`
        : `all ${rows.length} scenarios identical through the gateway in ${runs} run(s)`),
  );
  return differing.length === 0;
}

let exitCode = 1;
try {
  const scenarios = await listServerScenarios(suite);
  if (scenarios.length === 0) throw new Error("conformance lists no server scenarios");
  console.error(`${scenarios.length} server scenarios; running them against the fixture server directly ...`);
  const fixture = await started(startFixture());
  const direct = await runConformance(`${fixture.url}/mcp`, scenarios, { suite, outputDir: await outputFor("direct") });
  await stop(fixture);
  // "pass n/n" with no warning or skipped check.
  const notPassing = scenarios.filter((s) => !/^pass \d+\/\d+$/.test(outcome(direct.get(s))));
  console.log(
    notPassing.length
      ? `directly, ${notPassing.length} scenario(s) do not pass cleanly (the fixture is wrong): ${notPassing.join(", ")}`
      : `directly, all ${scenarios.length} scenarios pass`,
  );

  let identical = true;
  for (const runtime of runtimes) identical = (await throughGateway(runtime, scenarios, direct)) && identical;
  if (outputDir) console.log(`checks.json files kept under ${outputDir}`);
  exitCode = identical && notPassing.length === 0 ? 0 : 1;
} catch (error) {
  console.error(error);
  exitCode = 2;
} finally {
  await stopAll();
}
process.exit(exitCode);
