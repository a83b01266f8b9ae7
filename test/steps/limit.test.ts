/**
 * The limit step's plan: which shards a request asks, and what each is asked. A primitive's own
 * limits live in its own shard, or in the API's when every message asks that one anyway.
 */
import { describe, expect, test } from "vitest";
import type { RequestState } from "../../src/context.ts";
import type { McpDefinition } from "../../src/definitions/schema.ts";
import { compileLimits, plan } from "../../src/steps/limit.ts";
import { mcpDefinition } from "../helpers/definitions.ts";

const breaker = { enabled: true, threshold: 0.5, sampleSize: 2, coolDownPeriod: 2, halfOpenStateEnabled: true };

function part(tyk: { upstream?: object; operations?: object }) {
  const d = mcpDefinition({
    id: "api",
    listenPath: "/api/",
    upstream: "http://127.0.0.1:1/",
    middleware: {
      mcpTools: { echo: { rateLimit: { enabled: true, rate: 5, per: "1m" }, circuitBreaker: breaker } },
      ...(tyk.operations ? { operations: tyk.operations } : {}),
    },
  }) as unknown as McpDefinition;
  if (tyk.upstream) Object.assign(d["x-tyk-api-gateway"].upstream, { rateLimit: tyk.upstream });
  return compileLimits("api", d);
}

/** A request calling the tool `name` without a consumer (an open API). */
function call(name: string, method = "POST"): RequestState {
  return { method, mcp: { kind: "request", method: "tools/call", primitiveType: "tool", primitiveName: name } } as unknown as RequestState;
}

describe("limit: the shards a request asks", () => {
  test("a tool's own limit and breaker in the tool's shard when nothing API-wide is limited", () => {
    expect(plan(call("echo"), part({}))).toEqual([
      {
        shard: "p:api:tool:echo",
        request: { counters: [{ id: "tool:echo", limit: 5, windowMs: 60_000 }], breaker: expect.objectContaining({ id: "tool:echo" }) },
      },
    ]);
    expect(plan(call("other"), part({}))).toEqual([]);
  });

  test("with an upstream limit, one call to the API's shard carries the tool's limit, its breaker and the upstream's", () => {
    const limited = part({ upstream: { enabled: true, rate: 100, per: "1s" } });
    expect(plan(call("echo"), limited)).toEqual([
      {
        shard: "a:api",
        request: {
          counters: [
            { id: "tool:echo", limit: 5, windowMs: 60_000 },
            { id: "upstream", limit: 100, windowMs: 1000 },
          ],
          breaker: expect.objectContaining({ id: "tool:echo" }),
        },
      },
    ]);
    expect(plan(call("other"), limited)).toEqual([
      { shard: "a:api", request: { counters: [{ id: "upstream", limit: 100, windowMs: 1000 }] } },
    ]);
  });

  test("with a limit on the POST endpoint too; a limit on DELETE alone leaves the tool in its own shard", () => {
    const post = part({ operations: { mcpTransportPost: { rateLimit: { enabled: true, rate: 9, per: "1m" } } } });
    expect(plan(call("echo"), post).map((t) => t.shard)).toEqual(["a:api"]);
    const deleteOnly = part({ operations: { mcpSessionDelete: { rateLimit: { enabled: true, rate: 9, per: "1m" } } } });
    expect(plan(call("echo"), deleteOnly).map((t) => t.shard)).toEqual(["p:api:tool:echo"]);
  });
});
