/**
 * The metrics of one batch (`observe/metrics.ts`): records alike in every field the instruments
 * read are labelled once, and records that differ in any of those fields land in their own series.
 */
import { describe, expect, test } from "vitest";
import { readObserveConfig } from "../../src/observe/config.ts";
import { KnownNames } from "../../src/observe/labels.ts";
import { GatewayMetrics } from "../../src/observe/metrics.ts";
import { RequestRecord } from "../../src/observe/record.ts";

function record(fields: Partial<RequestRecord>): RequestRecord {
  const r = Object.assign(new RequestRecord(), {
    apiId: "a",
    apiName: "A",
    method: "POST",
    status: 200,
    mcpMethod: "tools/call",
    primitiveType: "tool",
    latencyTotal: 3,
    latencyGateway: 1,
    latencyUpstream: 2,
    upstreamOffset: 0,
  });
  return Object.assign(r, fields);
}

/** The samples of `metric` in Prometheus text, as `labels → value`. */
function samples(text: string, metric: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${metric}{`)) continue;
    const labels = line.slice(metric.length + 1, line.lastIndexOf("}"));
    const kept = labels
      .split(/,(?=[a-z_]+=")/)
      .filter((l) => !l.startsWith("otel_scope"))
      .join(",");
    out[kept] = Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return out;
}

describe("GatewayMetrics: one batch", () => {
  const config = readObserveConfig({
    opentelemetry: {
      metrics: {
        api_metrics: [
          {
            name: "calls",
            type: "counter",
            dimensions: [
              { source: "metadata", key: "mcp_primitive_name", label: "tool" },
              { source: "metadata", key: "response_code", label: "code" },
              { source: "session", key: "alias", label: "who", default: "anyone" },
            ],
          },
          {
            name: "latency",
            type: "histogram",
            histogram_source: "upstream",
            histogram_buckets: [0.001, 0.01],
            dimensions: [{ source: "metadata", key: "mcp_primitive_name", label: "tool" }],
          },
          {
            name: "errors",
            type: "counter",
            dimensions: [{ source: "metadata", key: "api_id", label: "api" }],
            filters: { status_codes: [500] },
          },
        ],
      },
    },
  }).metrics;

  test("each series counts its own records, whatever order they come in", async () => {
    const names = new KnownNames();
    names.add("a", "tool", ["add", "echo"]);
    const metrics = new GatewayMetrics({ config, serviceName: "s", names, instanceId: "i", version: "v" });
    metrics.record([
      record({ primitiveName: "add" }),
      record({ primitiveName: "echo", alias: "ann" }),
      record({ primitiveName: "add", status: 500 }),
      record({ primitiveName: "add" }),
      record({ primitiveName: "made-up" }),
      // Alike but for the alias.
      record({ primitiveName: "add", alias: "bob" }),
      record({ primitiveName: "echo", alias: "ann", latencyUpstream: 20 }),
      // Not forwarded: no upstream latency.
      record({ primitiveName: "echo", upstreamOffset: -1, status: 403 }),
    ]);
    const text = await metrics.prometheus();
    expect(samples(text, "calls_total")).toEqual({
      'tool="add",code="200",who="anyone"': 2,
      'tool="add",code="200",who="bob"': 1,
      'tool="add",code="500",who="anyone"': 1,
      'tool="echo",code="200",who="ann"': 2,
      'tool="echo",code="403",who="anyone"': 1,
      'tool="__other__",code="200",who="anyone"': 1,
    });
    expect(samples(text, "latency_count")).toEqual({ 'tool="add"': 4, 'tool="echo"': 2, 'tool="__other__"': 1 });
    expect(samples(text, "latency_bucket")).toMatchObject({ 'tool="echo",le="0.01"': 1, 'tool="echo",le="+Inf"': 2 });
    expect(samples(text, "errors_total")).toEqual({ 'api="a"': 1 });
  });
});
