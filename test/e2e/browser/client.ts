/**
 * The page script of the browser suite (`../browser.test.ts`), bundled by esbuild for the browser:
 * the official MCP SDK client over Streamable HTTP, run inside Chromium, from a page on another
 * origin than the gateway's, so every request is a CORS request.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

export interface BrowserSession {
  sessionId: string | undefined;
  serverName: string | undefined;
  toolCount: number;
  echo: unknown;
  /** Whether the session ended: the DELETE was answered, and the transport dropped its id. */
  terminated: boolean;
}

async function runSession(url: string, key?: string): Promise<BrowserSession> {
  const client = new Client({ name: "browser-e2e", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: key ? { headers: { Authorization: `Bearer ${key}` } } : {},
  });
  await client.connect(transport);
  const sessionId = transport.sessionId;
  const serverName = client.getServerVersion()?.name;
  const tools = await client.listTools();
  const echo = await client.callTool({ name: "echo", arguments: { message: "from the browser" } });
  // DELETE with Mcp-Session-Id: a method and a header that need the preflight's approval.
  await transport.terminateSession();
  const terminated = transport.sessionId === undefined;
  await client.close();
  return { sessionId, serverName, toolCount: tools.tools.length, echo: echo.content, terminated };
}

(globalThis as { runSession?: typeof runSession }).runSession = runSession;
