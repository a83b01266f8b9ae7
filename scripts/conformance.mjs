#!/usr/bin/env node
// MCP conformance through the gateway: runs every server scenario of @modelcontextprotocol/conformance
// against @modelcontextprotocol/server-everything directly, then through the gateway in front of it
// (a fresh server-everything for each run), and prints the two results side by side. Exits 1 if
// any scenario's checks differ (a gateway bug: a check that passes or fails only through it).
//
//   node scripts/conformance.mjs                       # gateway on workerd (Miniflare)
//   node scripts/conformance.mjs --runtime bun         # or deno
//   node scripts/conformance.mjs --output-dir results  # keep the CLI's checks.json files
//   node scripts/conformance.mjs --verbose             # every scenario's checks, not only differences
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
    "output-dir": { type: "string" },
    verbose: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log("usage: node scripts/conformance.mjs [--runtime workers|bun|deno] [--output-dir DIR] [--verbose]");
  process.exit(0);
}
const runtime = values.runtime;
if (!["workers", "bun", "deno"].includes(runtime)) {
  console.error(`unknown runtime "${runtime}": use workers, bun or deno`);
  process.exit(2);
}

const { startEverything, root } = await import("../test/helpers/processes.ts");
// workerd only loads modules below its starting directory, and the worker bundle is under dist/.
process.chdir(root);
const { startGateway } = await import("../test/helpers/gateways.ts");
const { mcpDefinition } = await import("../test/helpers/definitions.ts");
const { compare, describeChecks, formatTable, listServerScenarios, runConformance } = await import("./lib/conformance.ts");

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

let exitCode = 1;
try {
  const scenarios = await listServerScenarios();
  if (scenarios.length === 0) throw new Error("conformance lists no server scenarios");
  console.error(`${scenarios.length} server scenarios`);

  console.error("running them against server-everything directly ...");
  const upstream1 = await started(startEverything());
  const direct = await runConformance(`${upstream1.url}/mcp`, scenarios, { outputDir: await outputFor("direct") });
  await stop(upstream1);

  console.error(`running them through the gateway on ${runtime} ...`);
  const upstream2 = await started(startEverything());
  const gateway = await started(
    startGateway(runtime, [mcpDefinition({ id: "everything", listenPath: "/everything/", upstream: upstream2.url })]),
  );
  const viaGateway = await runConformance(`${gateway.url}/everything/mcp`, scenarios, {
    outputDir: await outputFor(`gateway-${runtime}`),
  });
  const gatewayOutput = gateway.output?.() ?? "";
  await stopAll();

  const rows = compare(scenarios, direct, viaGateway);
  console.log(
    formatTable(
      ["scenario", "direct", `gateway (${runtime})`, "same?"],
      rows.map((r) => [r.scenario, r.direct, r.gateway, r.same ? "yes" : "NO"]),
    ),
  );
  const differing = rows.filter((r) => !r.same);
  for (const row of values.verbose ? rows : differing) {
    console.log(`\n${row.same ? "" : "DIFFERS: "}${row.scenario}`);
    console.log(`direct:\n${describeChecks(direct.get(row.scenario))}`);
    console.log(`gateway (${runtime}):\n${describeChecks(viaGateway.get(row.scenario))}`);
    if (!row.same) {
      if (row.onlyDirect.length) console.log(`only direct:  ${row.onlyDirect.join(", ")}`);
      if (row.onlyGateway.length) console.log(`only gateway: ${row.onlyGateway.join(", ")}`);
    }
  }
  if (differing.length && gatewayOutput) console.log(`\ngateway output (tail):\n${gatewayOutput.slice(-4000)}`);
  const passedDirect = rows.filter((r) => r.direct.startsWith("pass")).length;
  console.log(
    `\n${rows.length} scenarios (${passedDirect} passing directly); ` +
      (differing.length
        ? `${differing.length} differ through the gateway on ${runtime}: ${differing.map((r) => r.scenario).join(", ")}`
        : `all identical through the gateway on ${runtime}`),
  );
  if (outputDir) console.log(`checks.json files kept under ${outputDir}`);
  exitCode = differing.length ? 1 : 0;
} catch (error) {
  console.error(error);
  exitCode = 2;
} finally {
  await stopAll();
}
process.exit(exitCode);
