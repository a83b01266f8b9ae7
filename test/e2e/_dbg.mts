import { startEverything } from "/work/main/test/helpers/processes.ts";
import { startGateway } from "/work/main/test/helpers/gateways.ts";
import { mcpDefinition } from "/work/main/test/helpers/definitions.ts";
const rt = process.argv[2] as any;
const ev = await startEverything();
const gw = await startGateway(rt, [mcpDefinition({ id: "e", listenPath: "/everything/", upstream: ev.url })]);
for (const base of [`${ev.url}/mcp`, `${gw.url}/everything/mcp`]) {
  const H = { "content-type": "application/json", accept: "application/json, text/event-stream" };
  const init = await fetch(base, { method: "POST", headers: H, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } } }) });
  const sid = init.headers.get("mcp-session-id")!;
  console.log(base, init.status, JSON.stringify(await init.text()));
  const n = await fetch(base, { method: "POST", headers: { ...H, "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" }, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });
  console.log("initialized", n.status);
  const t0 = Date.now();
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 4000);
  try {
    const g = await fetch(base, { headers: { accept: "text/event-stream", "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" }, signal: ac.signal });
    console.log("GET", g.status, g.headers.get("content-type"), Date.now() - t0, "ms");
    ac.abort();
  } catch (e) { console.log("GET failed after", Date.now() - t0, String(e)); }
  clearTimeout(timer);
}
await gw.stop(); await ev.stop();
