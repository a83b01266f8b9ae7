/**
 * A local OTLP/HTTP receiver for tests: records every export (`/v1/metrics`, `/v1/traces`) sent as
 * JSON (the OTLP JSON encoding), decoded, and answers 200 (or what the test sets).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface OtlpExport {
  path: string;
  contentType: string;
  body: any;
}

export interface OtlpReceiver {
  url: string;
  exports: OtlpExport[];
  /** Answers every export with this status from now on (a failing collector). */
  failWith(status: number | undefined): void;
  stop(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const exports: OtlpExport[] = [];
  let failure: number | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const contentType = String(req.headers["content-type"] ?? "");
      let body: unknown = text;
      if (contentType.includes("json")) body = JSON.parse(text);
      if (failure !== undefined) {
        res.writeHead(failure).end();
        return;
      }
      exports.push({ path: req.url ?? "", contentType, body });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exports,
    failWith(status) {
      failure = status;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Every span in the trace exports received so far. */
export function spansOf(exports: readonly OtlpExport[]): any[] {
  return exports
    .filter((e) => e.path === "/v1/traces")
    .flatMap((e) => e.body.resourceSpans ?? [])
    .flatMap((rs: any) => rs.scopeSpans ?? [])
    .flatMap((ss: any) => ss.spans ?? []);
}

/** An OTLP attribute list as a plain object. */
export function attributesOf(list: readonly any[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) out[key] = value.stringValue ?? value.intValue ?? value.doubleValue ?? value.boolValue;
  return out;
}

/** The data points of metric `name` in the last metrics export received. */
export function lastMetric(exports: readonly OtlpExport[], name: string): any | undefined {
  const metrics = exports.filter((e) => e.path === "/v1/metrics");
  const last = metrics[metrics.length - 1];
  return last?.body.resourceMetrics
    ?.flatMap((rm: any) => rm.scopeMetrics ?? [])
    .flatMap((sm: any) => sm.metrics ?? [])
    .find((m: any) => m.name === name);
}
