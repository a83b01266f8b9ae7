/** What MCP requests in the tests are made of. Pure: usable in Node and inside workerd. */

/** The headers an MCP POST carries (2025-11-25 Streamable HTTP): a JSON body, JSON or SSE back. */
export const MCP_POST_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
});

/** A JSON-RPC `ping` request body. */
export const ping = (id: number | string = 1): string => JSON.stringify({ jsonrpc: "2.0", id, method: "ping" });
