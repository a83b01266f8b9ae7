/**
 * Running the server scenarios of @modelcontextprotocol/conformance against a URL and comparing two
 * runs scenario by scenario. Shared by scripts/conformance.mjs and test/e2e/conformance.test.ts.
 *
 * The CLI (`conformance server --url <url> --suite all -o <dir>`) runs every server scenario in
 * turn and writes `<dir>/server-<scenario>-<ISO timestamp>/checks.json` for each: an array of checks
 * `{ id, name, description, status, errorMessage?, details?, timestamp }`, status one of SUCCESS,
 * FAILURE, WARNING, SKIPPED or INFO. A scenario that throws writes nothing (the CLI only logs
 * `Failed to run scenario <name>: <error>` on stderr), so a missing result is recorded here as one
 * FAILURE check carrying that message, as the CLI's own summary does.
 *
 * Two suites: the pinned 0.1.16 (`@modelcontextprotocol/conformance`, every server scenario with
 * `--suite all`, at the 2025-11-25 wire), and 0.2.0-alpha (`@modelcontextprotocol/conformance-next`,
 * an npm alias) with `--requirements 2026-07-28`: the scenarios that revision requires, run at its
 * wire, and the extension and pending ones it runs and reports beside them ({@link Suite}).
 *
 * The CLI runs with test/fixtures/sdk-request-timeout.mjs preloaded: its MCP requests time out
 * after `requestTimeoutMs` (10 s) instead of the SDK's 60 s, so a scenario whose round trip never
 * completes costs seconds, not a minute, and a broken run stays short.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..", "..");

/** Which suite runs: the 2025-11-25 one (default), or the 2026-07-28 requirements of 0.2.0-alpha. */
export type Suite = "2025-11-25" | "2026-07-28";

const CLIS: Record<Suite, string> = {
  "2025-11-25": join(root, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js"),
  "2026-07-28": join(root, "node_modules", "@modelcontextprotocol", "conformance-next", "dist", "index.js"),
};
/** How each suite's scenarios are chosen. */
const SELECTION: Record<Suite, string[]> = {
  "2025-11-25": ["--suite", "all"],
  "2026-07-28": ["--requirements", "2026-07-28"],
};
/** The CLI needs Node 22+: the project's own Node (node_modules/.bin/node) when it is there. */
const nodeBin = existsSync(join(root, "node_modules", ".bin", "node")) ? join(root, "node_modules", ".bin", "node") : process.execPath;
const requestTimeoutPreload = join(root, "test", "fixtures", "sdk-request-timeout.mjs");

export interface Check {
  id: string;
  name?: string;
  description?: string;
  status: string;
  errorMessage?: string;
  details?: unknown;
}

export interface ScenarioResult {
  scenario: string;
  checks: Check[];
  /** Set when the scenario produced no checks.json (it threw, or the run timed out). */
  error?: string;
}

export type ConformanceResults = Map<string, ScenarioResult>;

export interface RunOptions {
  /** Limit for the whole suite run (default 120 s). */
  timeoutMs?: number;
  /** Limit for each scenario re-run on its own after the suite run timed out (default 30 s). */
  scenarioTimeoutMs?: number;
  /** Timeout of each MCP request the CLI's SDK client sends (default 10 s; the SDK's own is 60 s). */
  requestTimeoutMs?: number;
  /** Keep the CLI's result directories here instead of a temporary directory. */
  outputDir?: string;
  /** The suite (default 2025-11-25). */
  suite?: Suite;
}

interface CliRun {
  code: number | null;
  timedOut: boolean;
  output: string;
}

function runCli(args: string[], timeoutMs: number, requestTimeoutMs = 10_000, suite: Suite = "2025-11-25"): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(nodeBin, ["--import", requestTimeoutPreload, CLIS[suite], ...args], {
      cwd: root,
      env: {
        ...process.env,
        PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH}`,
        NO_COLOR: "1",
        CONFORMANCE_REQUEST_TIMEOUT_MS: String(requestTimeoutMs),
      },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let output = "";
    let timedOut = false;
    const keep = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.length > 2_000_000) output = output.slice(-1_000_000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {}
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      fail(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, timedOut, output });
    });
  });
}

/**
 * The server scenario names, as `conformance list --server` prints them; for 2026-07-28, those
 * `--requirements 2026-07-28` lists as required (the first list it prints).
 */
export async function listServerScenarios(suite: Suite = "2025-11-25"): Promise<string[]> {
  const args = suite === "2025-11-25" ? ["list", "--server"] : ["list", "--server", "--requirements", suite];
  const run = await runCli(args, 60_000, undefined, suite);
  if (run.code !== 0) throw new Error(`conformance ${args.join(" ")} exited with ${run.code}:\n${run.output}`);
  let text = run.output;
  if (suite !== "2025-11-25") {
    const start = text.indexOf("Server scenarios");
    const end = text.indexOf("Client scenarios", start);
    text = start === -1 ? "" : text.slice(start, end === -1 ? undefined : end);
  }
  return [...text.matchAll(/^\s+-\s+(\S+)/gm)].map((m) => m[1]!);
}

const RESULT_DIR = /^server-(.+)-(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z)$/;

/** checks.json of every scenario under `dir`, the latest one when a scenario ran twice. */
async function readResults(dir: string): Promise<ConformanceResults> {
  const results: ConformanceResults = new Map();
  for (const entry of (await readdir(dir)).sort()) {
    const match = RESULT_DIR.exec(entry);
    if (!match) continue;
    try {
      const checks = JSON.parse(await readFile(join(dir, entry, "checks.json"), "utf8")) as Check[];
      results.set(match[1]!, { scenario: match[1]!, checks });
    } catch {}
  }
  return results;
}

function failureFrom(output: string, scenario: string): string | undefined {
  const escaped = scenario.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const match = new RegExp(`Failed to run scenario ${escaped}:\\s*(.*)`).exec(output) ?? /Server test error:\s*(.*)/.exec(output);
  return match?.[1]?.trim() || undefined;
}

function failed(scenario: string, error: string): ScenarioResult {
  return { scenario, error, checks: [{ id: scenario, name: scenario, status: "FAILURE", errorMessage: error }] };
}

/**
 * Runs the suite's server scenarios against `url` and returns each scenario's checks. If
 * the suite run times out, the scenarios it did not reach are run one by one, each with its own
 * limit, so one hanging scenario does not hide the results of the others.
 */
export async function runConformance(url: string, scenarios: readonly string[], options: RunOptions = {}): Promise<ConformanceResults> {
  const dir = options.outputDir ?? (await mkdtemp(join(tmpdir(), "conformance-")));
  try {
    const { timeoutMs = 120_000, scenarioTimeoutMs = 30_000, requestTimeoutMs, suite: which = "2025-11-25" } = options;
    const suite = await runCli(["server", "--url", url, ...SELECTION[which], "-o", dir], timeoutMs, requestTimeoutMs, which);
    const results = await readResults(dir);
    for (const scenario of scenarios) {
      if (results.has(scenario)) continue;
      if (!suite.timedOut) {
        results.set(scenario, failed(scenario, failureFrom(suite.output, scenario) ?? "no checks.json written"));
        continue;
      }
      const single = await runCli(["server", "--url", url, "--scenario", scenario, "-o", dir], scenarioTimeoutMs, requestTimeoutMs, which);
      const again = (await readResults(dir)).get(scenario);
      results.set(
        scenario,
        again ??
          failed(
            scenario,
            single.timedOut
              ? `timed out after ${scenarioTimeoutMs / 1000} s`
              : (failureFrom(single.output, scenario) ?? "no checks.json written"),
          ),
      );
    }
    return results;
  } finally {
    if (!options.outputDir) await rm(dir, { recursive: true, force: true });
  }
}

/**
 * What is compared between two runs of a scenario: every check's id and status (INFO checks, which
 * only log the traffic, left out), sorted, so the same checks must pass, fail, warn or be skipped.
 */
export function signature(result: ScenarioResult | undefined): string[] {
  if (!result) return ["<no result>"];
  return result.checks
    .filter((c) => c.status !== "INFO")
    .map((c) => `${c.id}=${c.status}`)
    .sort();
}

/** A short outcome for tables: `pass 1/1`, `FAIL 0/1`, `pass 0/0 2w` (warnings), `ERROR ...`. */
export function outcome(result: ScenarioResult | undefined): string {
  if (!result) return "missing";
  if (result.error) return `ERROR (${result.error.slice(0, 40)})`;
  const count = (status: string) => result.checks.filter((c) => c.status === status).length;
  const [passed, failures, warnings, skipped] = [count("SUCCESS"), count("FAILURE"), count("WARNING"), count("SKIPPED")];
  return `${failures ? "FAIL" : "pass"} ${passed}/${passed + failures}${warnings ? ` ${warnings}w` : ""}${skipped ? ` ${skipped}s` : ""}`;
}

/** The non-INFO checks of a result, one line each with the error message (for failure reports). */
export function describeChecks(result: ScenarioResult | undefined): string {
  if (!result) return "  (no result)";
  const lines = result.checks
    .filter((c) => c.status !== "INFO")
    .map((c) => `  ${c.id}=${c.status}${c.errorMessage ? `: ${c.errorMessage.slice(0, 300)}` : ""}`);
  return lines.length ? lines.join("\n") : "  (no checks)";
}

export interface ComparisonRow {
  scenario: string;
  direct: string;
  gateway: string;
  same: boolean;
  /** Checks (id=STATUS) that only one side has. */
  onlyDirect: string[];
  onlyGateway: string[];
}

function minus(a: readonly string[], b: readonly string[]): string[] {
  const rest = [...b];
  return a.filter((x) => {
    const i = rest.indexOf(x);
    if (i === -1) return true;
    rest.splice(i, 1);
    return false;
  });
}

/** One row per scenario (the listed ones first, then any only a run has), direct vs gateway. */
export function compare(scenarios: readonly string[], direct: ConformanceResults, gateway: ConformanceResults): ComparisonRow[] {
  const names = [...new Set([...scenarios, ...direct.keys(), ...gateway.keys()])];
  return names.map((scenario) => {
    const d = signature(direct.get(scenario));
    const g = signature(gateway.get(scenario));
    const onlyDirect = minus(d, g);
    const onlyGateway = minus(g, d);
    return {
      scenario,
      direct: outcome(direct.get(scenario)),
      gateway: outcome(gateway.get(scenario)),
      same: onlyDirect.length === 0 && onlyGateway.length === 0,
      onlyDirect,
      onlyGateway,
    };
  });
}

/** A plain-text table with padded columns. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
