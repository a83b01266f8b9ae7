#!/usr/bin/env node
// The benchmark's upstream: a small, fast MCP-shaped server (Node http) on 127.0.0.1.
//
//   POST (any path), JSON-RPC `tools/call`         → 200 application/json, a small JSON-RPC result
//   POST, `tools/call` with params.name "progress" → 200 text/event-stream: SSE_EVENTS
//        `notifications/progress` events, each written separately, SSE_DELAY_MS apart, then the
//        JSON-RPC result as the last event
//   POST, `tools/list`                             → 200 application/json, LIST_TOOLS tools
//        (messages.mjs's `toolList`: `echo`, `progress`, `search`, `fetch`, then `tool_0004`…),
//        one body made once at start (~300 bytes a tool, as an MCP server describes its tools)
//   POST, `ping` (and any other method)            → 200 application/json, an empty result
//
// Environment: PORT (default 0: the OS picks), SSE_EVENTS (default 100), SSE_DELAY_MS (default 1),
// LIST_TOOLS (default 1000).
// Prints `LISTENING <port>` on stdout once it listens.
import { createServer } from "node:http";
import { LIST_TOOLS, toolList } from "./messages.mjs";

const events = Number(process.env.SSE_EVENTS ?? 100);
const delayMs = Number(process.env.SSE_DELAY_MS ?? 1);
const listTools = Number(process.env.LIST_TOOLS ?? LIST_TOOLS);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function idOf(message) {
  const id = message?.id;
  return typeof id === "string" || typeof id === "number" ? id : null;
}

/** The `tools/list` answer's body around its id: built once, the id spliced in per request. */
const listResult = JSON.stringify({ tools: toolList(listTools) });

async function stream(res, id, token) {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  res.flushHeaders();
  for (let i = 1; i <= events; i++) {
    await sleep(delayMs);
    if (res.destroyed) return;
    const note = { jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: token, progress: i, total: events } };
    res.write(`event: message\ndata: ${JSON.stringify(note)}\n\n`);
  }
  await sleep(delayMs);
  const result = { jsonrpc: "2.0", id, result: { content: [{ type: "text", text: `done after ${events} steps` }] } };
  res.end(`event: message\ndata: ${JSON.stringify(result)}\n\n`);
}

const server = createServer({ keepAliveTimeout: 120_000, noDelay: true }, (req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    let message;
    try {
      message = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      res.writeHead(400, { "content-type": "application/json" });
      res.end('{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}');
      return;
    }
    const id = idOf(message);
    if (message?.method === "tools/call" && message.params?.name === "progress") {
      stream(res, id, message.params?._meta?.progressToken ?? "bench").catch(() => res.destroy());
      return;
    }
    let body;
    if (message?.method === "tools/list") body = `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${listResult}}`;
    else if (message?.method === "tools/call") {
      const text = message?.params?.arguments?.text ?? "ok";
      body = JSON.stringify({ jsonrpc: "2.0", id, result: { content: [{ type: "text", text }] } });
    } else body = JSON.stringify({ jsonrpc: "2.0", id, result: {} });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
});
server.headersTimeout = 0;
server.requestTimeout = 0;
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(`LISTENING ${server.address().port}`);
});
process.on("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
