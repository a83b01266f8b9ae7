/**
 * Client certificates on Workers: Cloudflare verifies the certificate at the edge and tells the
 * Worker in `request.cf.tlsClientAuth`; the gateway requires a verified certificate on the
 * definition's allowlist, and a key bound to a certificate works only with it. Bun and Deno do not
 * expose the peer certificate to a fetch handler (see README), so this runs on workerd only.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { mcpDefinition } from "../helpers/definitions.ts";
import { startGateway, TEST_GATEWAY_SECRET, type RunningGateway } from "../helpers/gateways.ts";
import { jsonRpcResult, startUpstream, type TestUpstream } from "../helpers/upstream.ts";
import { MCP_POST_HEADERS, ping } from "../helpers/mcp.ts";

const GOOD = "a1".repeat(32);
const OTHER = "b2".repeat(32);

const cert = (fingerprint: string, verified = "SUCCESS") => ({
  tlsClientAuth: { certPresented: "1", certVerified: verified, certFingerprintSHA256: fingerprint.toUpperCase() },
});

describe("client certificates (mTLS) on workers", () => {
  let gw: RunningGateway;
  let up: TestUpstream;

  beforeAll(async () => {
    up = await startUpstream();
    up.handle((_req, res, body) => jsonRpcResult(res, body, {}));
    const certOnly = mcpDefinition({ id: "cert-only", listenPath: "/cert-only/", upstream: up.url }) as any;
    certOnly["x-tyk-api-gateway"].server.clientCertificates = { enabled: true, allowlist: [GOOD.replace(/(..)/g, "$1:").slice(0, -1)] };
    const keyed = mcpDefinition({ id: "keyed", listenPath: "/keyed/", upstream: up.url }) as any;
    keyed["x-tyk-api-gateway"].server.authentication = { enabled: true };
    gw = await startGateway("workers", [certOnly, keyed]);
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await up?.stop();
  });

  const call = (path: string, cf?: Record<string, unknown>, headers: Record<string, string> = {}) =>
    gw.dispatch!(`http://gateway.test${path}`, {
      method: "POST",
      headers: { ...MCP_POST_HEADERS, ...headers },
      body: ping(),
      ...(cf ? { cf } : {}),
    });

  test("a definition that asks for client certificates accepts a verified one on its allowlist", async () => {
    expect((await call("/cert-only/mcp", cert(GOOD))).status).toBe(200);
  });

  test.each([
    ["no certificate", undefined],
    ["a certificate that failed verification", cert(GOOD, "FAILED:self signed certificate")],
    ["a verified certificate not on the allowlist", cert(OTHER)],
  ])("%s gets 401 -32001", async (_label, cf) => {
    const res = await call("/cert-only/mcp", cf);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: -32001 } });
  });

  test("a key bound to a certificate works only with that certificate", async () => {
    const policy = await fetch(`${gw.url}/tyk/policies`, {
      method: "POST",
      headers: { "x-tyk-authorization": TEST_GATEWAY_SECRET, "content-type": "application/json" },
      body: JSON.stringify({ id: "keyed-all", access_rights: { keyed: { api_id: "keyed" } } }),
    });
    expect(policy.status).toBe(200);
    const created = await fetch(`${gw.url}/tyk/keys`, {
      method: "POST",
      headers: { "x-tyk-authorization": TEST_GATEWAY_SECRET, "content-type": "application/json" },
      body: JSON.stringify({ apply_policies: ["keyed-all"], certificate: GOOD }),
    });
    const { key } = (await created.json()) as { key: string };
    const auth = { authorization: `Bearer ${key}` };
    expect((await call("/keyed/mcp", cert(GOOD), auth)).status).toBe(200);
    expect((await call("/keyed/mcp", cert(OTHER), auth)).status).toBe(401);
    expect((await call("/keyed/mcp", undefined, auth)).status).toBe(401);
  });
});
