/**
 * What the conformance runs need around the suite's CLI: the fixture server on which every server
 * scenario passes (test/fixtures/conformance-server.ts), the gateway in front of it with an API
 * key required, and a key-injecting proxy, since the CLI cannot send a header of its own.
 */
import { createServer, request } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream";
import { mcpDefinition, withTokenAuth } from "./definitions.ts";
import { startGateway, tykAdmin, type RunningGateway, type Runtime } from "./gateways.ts";
import { kill, root, spawnWithPort, type Running } from "./processes.ts";

/** The fixture server on 127.0.0.1 (its MCP endpoint is `${url}/mcp`), run by this process's Node (24). */
export async function startConformanceServer(): Promise<Running> {
  const { child, port } = await spawnWithPort(process.execPath, [join(root, "test/fixtures/conformance-server.ts")], /LISTENING (\d+)/, {
    PORT: "0",
  });
  return { url: `http://127.0.0.1:${port}`, port, stop: () => kill(child) };
}

/**
 * The 2026-07-28 fixture server (test/fixtures/modern-server.ts: SDK v2, modern only) on 127.0.0.1,
 * its MCP endpoint at `${url}/mcp`. `keepAliveMs`: its SSE comment keep-alive interval.
 */
export async function startModernServer(keepAliveMs = 15_000): Promise<Running> {
  const { child, port } = await spawnWithPort(process.execPath, [join(root, "test/fixtures/modern-server.ts")], /LISTENING (\d+)/, {
    PORT: "0",
    KEEPALIVE_MS: String(keepAliveMs),
  });
  return { url: `http://127.0.0.1:${port}`, port, stop: () => kill(child) };
}

/**
 * An HTTP proxy on 127.0.0.1 to `target` (an origin) that sets `header: value` on every request
 * and passes everything else through unchanged: method, path, every other header as sent (Host
 * and Origin included, so a forged Host reaches the target as is), and both bodies as they come,
 * unbuffered (each SSE event is forwarded when it arrives). A client that goes away ends the
 * request to the target.
 */
export function startHeaderInjector(target: string, header: string, value: string): Promise<Running> {
  const { hostname, port } = new URL(target);
  const server = createServer((req, res) => {
    const headers: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const [name, content] = [req.rawHeaders[i]!, req.rawHeaders[i + 1]!];
      if (name.toLowerCase() !== header.toLowerCase()) headers.push(name, content);
    }
    headers.push(header, value);
    // Headers as an array go out exactly as given: Node adds no Host of its own.
    const upstream = request({ hostname, port, method: req.method, path: req.url, headers });
    upstream.on("response", (answer) => {
      res.writeHead(answer.statusCode!, answer.statusMessage, answer.rawHeaders);
      res.flushHeaders();
      // An answer cut short cuts the client's short too (pipe would leave it open).
      pipeline(answer, res, () => {});
    });
    upstream.on("error", () => {
      if (res.headersSent) res.destroy();
      else res.writeHead(502).end();
    });
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port: own } = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${own}`,
        port: own,
        stop: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/** The API id and listen path of the secured proxy in front of the fixture server. */
export const CONFORMANCE_API = "conformance";

export interface SecuredGateway extends Running {
  /** The gateway itself (its `url` answers without the key). */
  gateway: RunningGateway;
  /** The secured proxy's MCP endpoint on the gateway, without the key injected. */
  directMcpUrl: string;
  /** The key the injector adds. */
  key: string;
}

/**
 * A fresh fixture server (`startUpstream`, default the 2025-11-25 one) behind the gateway on `runtime`, as an MCP proxy that requires an API key
 * (auth token in `Authorization`), a policy granting that API, a key for it, and the header
 * injector in front adding `Authorization: Bearer <key>`. `url` is the injector's MCP endpoint.
 */
export async function startSecuredGateway(
  runtime: Runtime,
  startUpstream: () => Promise<Running> = startConformanceServer,
): Promise<SecuredGateway> {
  const started: Running[] = [];
  const stop = async () => {
    for (const thing of started.reverse()) await thing.stop().catch(() => {});
  };
  try {
    const upstream = await startUpstream();
    started.push(upstream);
    const definition = mcpDefinition({ id: CONFORMANCE_API, listenPath: `/${CONFORMANCE_API}/`, upstream: upstream.url });
    const gateway = await startGateway(runtime, [withTokenAuth(definition)]);
    started.push(gateway);
    const policy = await tykAdmin(gateway, "POST", "/tyk/policies", {
      id: CONFORMANCE_API,
      name: "Conformance suite",
      access_rights: { [CONFORMANCE_API]: { api_id: CONFORMANCE_API, api_name: CONFORMANCE_API, versions: ["Default"] } },
    });
    if (policy.status !== 200) throw new Error(`creating the policy: ${policy.status} ${JSON.stringify(policy.json)}`);
    const created = await tykAdmin(gateway, "POST", "/tyk/keys", { alias: "conformance-suite", apply_policies: [CONFORMANCE_API] });
    if (created.status !== 200) throw new Error(`creating the key: ${created.status} ${JSON.stringify(created.json)}`);
    const key = created.json.key as string;
    const injector = await startHeaderInjector(gateway.url, "Authorization", `Bearer ${key}`);
    started.push(injector);
    const path = `/${CONFORMANCE_API}/mcp`;
    return { url: `${injector.url}${path}`, port: injector.port, gateway, directMcpUrl: `${gateway.url}${path}`, key, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
