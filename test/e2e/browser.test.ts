/**
 * A browser-based MCP client, for real: the official SDK client bundled for the browser and run in
 * headless Chromium (playwright-core, Debian's chromium), from a page on another origin than the
 * gateway's, against @modelcontextprotocol/server-everything through the gateway on workerd, Bun
 * and Deno. What CORS (`middleware.global.cors`) must make possible: a whole session
 * (initialize, tools, a call, DELETE) on an open API and on one secured with a key, whose
 * preflights carry no credentials. And what it fixes: the same secured API without CORS fails in
 * the browser, since its preflights are refused as unauthenticated.
 *
 * Needs Chromium at /usr/bin/chromium (CHROMIUM_PATH to override): `.ci/run` installs Debian's
 * chromium and sets REQUIRE_CHROMIUM=1, so CI fails where a local run without it skips.
 */
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { build } from "esbuild";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { mcpDefinition, withTokenAuth } from "../helpers/definitions.ts";
import { RUNTIMES, startGateway, tykAdmin, type RunningGateway } from "../helpers/gateways.ts";
import { root, startEverything, type Running } from "../helpers/processes.ts";
import type { BrowserSession } from "./browser/client.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.REQUIRE_CHROMIUM) throw new Error(`browser suite: no Chromium at ${CHROMIUM} (REQUIRE_CHROMIUM is set)`);
if (!haveChromium) console.warn(`browser suite skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CORS = { cors: { enabled: true, maxAge: 600 } };

function secured(id: string, listenPath: string, upstream: string, withCors: boolean) {
  return withTokenAuth(mcpDefinition({ id, listenPath, upstream, ...(withCors ? { middleware: { global: CORS } } : {}) }));
}

let everything: Running;
let browser: Browser;
let page: Page;
let pageServer: Server;

beforeAll(async () => {
  if (!haveChromium) return;
  const bundled = await build({
    entryPoints: [join(root, "test/e2e/browser/client.ts")],
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  const script = bundled.outputFiles[0]!.text;
  // The page's own origin: http://127.0.0.1:<this port>, another origin than any gateway's.
  pageServer = createServer((req, res) => {
    if (req.url === "/client.js") res.writeHead(200, { "content-type": "text/javascript" }).end(script);
    else res.writeHead(200, { "content-type": "text/html" }).end('<!doctype html><title>mcp</title><script src="/client.js"></script>');
  });
  await new Promise<void>((resolve) => pageServer.listen(0, "127.0.0.1", resolve));
  [everything, browser] = await Promise.all([
    startEverything(),
    chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    }),
  ]);
  page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${(pageServer.address() as AddressInfo).port}/`);
  await page.waitForFunction(() => typeof (globalThis as { runSession?: unknown }).runSession === "function");
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await everything?.stop();
  await new Promise((resolve) => (pageServer ? pageServer.close(resolve) : resolve(undefined)));
});

/** Runs a whole MCP session inside the page; resolves with what it saw, or rejects with the page's error. */
function sessionInBrowser(url: string, key?: string): Promise<BrowserSession> {
  return page.evaluate(
    ([u, k]) => (globalThis as unknown as { runSession: (url: string, key?: string) => Promise<BrowserSession> }).runSession(u!, k),
    [url, key] as const,
  );
}

describe.skipIf(!haveChromium).each(RUNTIMES)("a browser MCP client through the gateway on %s", (runtime) => {
  let gw: RunningGateway;
  let key: string;

  beforeAll(async () => {
    gw = await startGateway(runtime, [
      mcpDefinition({ id: "open", listenPath: "/open/", upstream: everything.url, middleware: { global: CORS } }),
      secured("locked", "/locked/", everything.url, true),
      secured("locked-no-cors", "/locked-no-cors/", everything.url, false),
    ]);
    const policy = await tykAdmin(gw, "POST", "/tyk/policies", {
      id: "browser",
      access_rights: { locked: { api_id: "locked" }, "locked-no-cors": { api_id: "locked-no-cors" } },
    });
    expect(policy.status).toBe(200);
    const created = await tykAdmin(gw, "POST", "/tyk/keys", { alias: "browser-agent", apply_policies: ["browser"] });
    expect(created.status).toBe(200);
    key = created.json.key;
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
  });

  test("an open API with CORS: initialize, tools/list, tools/call and DELETE from the page", async () => {
    const session = await sessionInBrowser(`${gw.url}/open/mcp`);
    // The session id is read from a response header: it must be exposed to the page.
    expect(session.sessionId).toMatch(UUID);
    expect(session.serverName).toContain("everything");
    expect(session.toolCount).toBeGreaterThan(5);
    expect(session.echo).toEqual([{ type: "text", text: "Echo: from the browser" }]);
    expect(session.terminated).toBe(true);
  }, 30_000);

  test("a secured API with CORS: the same session with a key, although no preflight carries it", async () => {
    const session = await sessionInBrowser(`${gw.url}/locked/mcp`, key);
    expect(session.sessionId).toMatch(UUID);
    expect(session.echo).toEqual([{ type: "text", text: "Echo: from the browser" }]);
    expect(session.terminated).toBe(true);
  }, 30_000);

  test("the same secured API without CORS fails in the browser: its preflight is refused as unauthenticated", async () => {
    await expect(sessionInBrowser(`${gw.url}/locked-no-cors/mcp`, key)).rejects.toThrow(/fetch/i);
  }, 30_000);
});
