/**
 * A programmable upstream for tests: a Node HTTP server on 127.0.0.1 that records every request
 * (method, path, headers, body) and answers with the handler the test sets.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void | Promise<void>;

export interface TestUpstream {
  url: string;
  seen: Seen[];
  /** Requests whose connection closed before the response ended (client went away). */
  aborted: number;
  handle(handler: Handler): void;
  stop(): Promise<void>;
}

export const jsonRpcResult = (res: ServerResponse, body: string, result: unknown = {}) => {
  const id = (() => {
    try {
      return JSON.parse(body).id ?? null;
    } catch {
      return null;
    }
  })();
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ jsonrpc: "2.0", id, result }));
};

export async function startUpstream(): Promise<TestUpstream> {
  let handler: Handler = (_req, res, body) => jsonRpcResult(res, body);
  const seen: Seen[] = [];
  const state = { aborted: 0 };
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
    res.on("close", () => {
      if (!res.writableFinished) state.aborted++;
    });
    try {
      await handler(req, res, body);
    } catch {
      res.destroy();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    get aborted() {
      return state.aborted;
    },
    handle(h) {
      handler = h;
    },
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
