/**
 * The dashboard page (#16) in headless Chromium (playwright-core, Debian's chromium), served by the
 * gateway on workerd (analytics in the ANALYTICS Durable Object): it asks for the Dashboard API key,
 * refuses a wrong one, shows the registry of MCP proxies with what each upstream exposes, and its
 * Chart.js charts show the numbers of a scripted burst of SDK client traffic as it flows. A
 * screenshot is saved under test-artifacts/ (gitignored).
 *
 * Needs Chromium at /usr/bin/chromium (CHROMIUM_PATH to override); skipped without it unless
 * REQUIRE_CHROMIUM is set (as `.ci/run` sets it).
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startConformanceServer } from "../helpers/conformance-server.ts";
import { mcpDefinition, withTokenAuth } from "../helpers/definitions.ts";
import { type RunningGateway, startGateway, TEST_DASHBOARD_KEY } from "../helpers/gateways.ts";
import { root, type Running } from "../helpers/processes.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.REQUIRE_CHROMIUM) throw new Error(`dashboard suite: no Chromium at ${CHROMIUM} (REQUIRE_CHROMIUM is set)`);
if (!haveChromium) console.warn(`dashboard suite skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);

const ARTIFACTS = join(root, "test-artifacts");

/** What a chart on the page shows: its labels and each dataset's label and numbers. */
type Shown = { labels: string[]; datasets: { label: string; data: number[] }[] };

describe.skipIf(!haveChromium)("the dashboard page in headless Chromium", () => {
  let fixture: Running;
  let gw: RunningGateway;
  let browser: Browser;
  let page: Page;
  const clients: Client[] = [];

  const shown = (id: string): Promise<Shown | undefined> =>
    page.evaluate((canvas) => {
      const chart = (globalThis as any).Chart?.getChart(canvas);
      if (!chart) return undefined;
      return {
        labels: chart.data.labels.map(String),
        datasets: chart.data.datasets.map((d: any) => ({ label: String(d.label), data: d.data.map(Number) })),
      };
    }, id);

  async function until<T>(check: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const value = await check();
      if (value) return value;
      if (Date.now() > end) throw new Error("the page did not show it in time");
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  beforeAll(async () => {
    fixture = await startConformanceServer();
    [gw, browser] = await Promise.all([
      startGateway("workers", [
        mcpDefinition({ id: "catalogue", listenPath: "/catalogue/", upstream: fixture.url }),
        withTokenAuth(mcpDefinition({ id: "vault", listenPath: "/vault/", upstream: fixture.url })),
      ]),
      chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"] }),
    ]);
    page = await browser.newPage({ viewport: { width: 1400, height: 1500 } });
  }, 90_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close().catch(() => {})));
    await browser?.close();
    await gw?.stop();
    await fixture?.stop();
  });

  test("asks for the key, refuses a wrong one, then shows the registry", async () => {
    await page.goto(`${gw.url}/api/dashboard`);
    await page.waitForSelector("#key-form", { state: "visible" });
    await page.fill("#key", "wrong-key");
    await page.click("#key-form button");
    await until(async () => (await page.textContent("#key-error"))?.includes("refused"));
    await page.fill("#key", TEST_DASHBOARD_KEY);
    await page.click("#key-form button");
    const row = page.locator('#registry tr[data-api="catalogue"]');
    await row.waitFor({ timeout: 15_000 });
    const cells = await row.locator("td").allTextContents();
    expect(cells.slice(0, 6)).toEqual(["catalogue (catalogue)", "/catalogue/", fixture.url, "open", "active", ""]);
    expect(await row.locator("td.tools").textContent()).toContain("test_simple_text");
    expect(await row.locator("td.prompts").textContent()).toContain("test_simple_prompt");
    expect(await row.locator("td.resources").textContent()).toContain("test://");
    expect(await page.locator('#registry tr[data-api="vault"] td').nth(3).textContent()).toBe("authToken");
  });

  test("the charts show a scripted burst's numbers as it flows", async () => {
    const client = new Client({ name: "burst", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/catalogue/mcp`)));
    clients.push(client);
    for (let i = 0; i < 7; i++) await client.callTool({ name: "test_simple_text", arguments: {} });
    for (let i = 0; i < 3; i++) await client.getPrompt({ name: "test_simple_prompt" });
    // A refused call: 401 without a key.
    const refused = await fetch(`${gw.url}/vault/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "test_simple_text" } }),
    });
    expect(refused.status).toBe(401);

    const mostCalled = await until(async () => {
      const chart = await shown("most-called");
      const at = chart?.labels.indexOf("tool test_simple_text (catalogue)") ?? -1;
      return chart && at >= 0 && chart.datasets[0]!.data[at] === 7 ? chart : undefined;
    });
    expect(mostCalled.datasets[0]!.data[mostCalled.labels.indexOf("prompt test_simple_prompt (catalogue)")]).toBe(3);

    const volume = (await shown("proxy-volume"))!;
    const catalogue = volume.datasets.find((d) => d.label === "catalogue")!;
    // initialize, initialized, 7 calls, 3 prompts (and whatever else the client sent): at least 12.
    expect(catalogue.data.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(12);
    const codes = await until(async () => {
      const chart = await shown("proxy-codes");
      return chart?.labels.includes("-32001") ? chart : undefined;
    });
    expect(codes.datasets.find((d) => d.label === "vault")!.data[codes.labels.indexOf("-32001")]).toBe(1);
    const status = (await shown("proxy-status"))!;
    expect(status.datasets.find((d) => d.label === "vault")!.data[status.labels.indexOf("401")]).toBe(1);
    const slowest = (await shown("slowest"))!;
    expect(slowest.datasets.map((d) => d.label)).toEqual(["average (ms)", "p95 (ms)"]);
    expect(slowest.labels).toContain("tool test_simple_text (catalogue)");

    // More traffic: the page moves with it, without a reload.
    for (let i = 0; i < 4; i++) await client.callTool({ name: "test_simple_text", arguments: {} });
    await until(async () => {
      const chart = await shown("most-called");
      return chart !== undefined && chart.datasets[0]?.data[chart.labels.indexOf("tool test_simple_text (catalogue)")] === 11;
    });

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "dashboard.png"), fullPage: true });
    expect(existsSync(join(ARTIFACTS, "dashboard.png"))).toBe(true);
  });
});
