/**
 * Exact limits under concurrency, end to end: with limit L and N > L requests at once, exactly L
 * pass, and a quota lets exactly its maximum through. On workerd with Durable Objects; on Bun with
 * Upstash (a real Redis behind the Upstash REST bridge); and with two Bun gateway processes that
 * share one Upstash backend.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { mcpDefinition, withTokenAuth } from "../helpers/definitions.ts";
import { type RunningGateway, startGateway, tykAdmin } from "../helpers/gateways.ts";
import { MCP_POST_HEADERS, ping } from "../helpers/mcp.ts";
import type { Running } from "../helpers/processes.ts";
import { startRedis, startUpstashBridge, type UpstashBridge } from "../helpers/redis.ts";
import { jsonRpcResult, startUpstream, type TestUpstream } from "../helpers/upstream.ts";

const LIMIT = 10;
const QUOTA = 7;
const CONCURRENT = 40;

function definitions(upstream: string) {
  // An hour's window: a burst of a fraction of a second is all but sure to fall in one window.
  const rated = (id: string) => {
    const d = mcpDefinition({ id, listenPath: `/${id}/`, upstream });
    (d as Record<string, any>)["x-tyk-api-gateway"].upstream.rateLimit = { enabled: true, rate: LIMIT, per: "1h" };
    return d;
  };
  return [rated("rated"), rated("rated-two"), withTokenAuth(mcpDefinition({ id: "quota", listenPath: "/quota/", upstream }))];
}

/** `count` POSTs at once, spread over the gateways; the statuses, sorted. */
async function burst(gateways: RunningGateway[], path: string, count: number, headers: Record<string, string> = {}) {
  const statuses = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      fetch(`${gateways[i % gateways.length]!.url}${path}`, {
        method: "POST",
        headers: { ...MCP_POST_HEADERS, ...headers },
        body: ping(i),
      }).then(async (res) => {
        await res.body?.cancel();
        return res.status;
      }),
    ),
  );
  return statuses.sort();
}

async function quotaKey(gateway: RunningGateway): Promise<string> {
  const policyId = `exact-${Math.random().toString(36).slice(2, 8)}`;
  expect(
    (
      await tykAdmin(gateway, "POST", "/tyk/policies", {
        id: policyId,
        quota_max: QUOTA,
        quota_renewal_rate: 3600,
        access_rights: { quota: { api_id: "quota" } },
      })
    ).status,
  ).toBe(200);
  const created = await tykAdmin(gateway, "POST", "/tyk/keys", { apply_policies: [policyId] });
  expect(created.status).toBe(200);
  return created.json.key;
}

const expected = (passed: number, refusedWith: number) => [
  ...Array.from({ length: passed }, () => 200),
  ...Array.from({ length: CONCURRENT - passed }, () => refusedWith),
];

describe("exact limits on workerd with Durable Objects", () => {
  let up: TestUpstream;
  let gw: RunningGateway;

  beforeAll(async () => {
    up = await startUpstream();
    up.handle((_req, res, body) => jsonRpcResult(res, body, {}));
    gw = await startGateway("workers", definitions(up.url));
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await up?.stop();
  });

  test(`${CONCURRENT} requests at once on a limit of ${LIMIT}: exactly ${LIMIT} pass`, async () => {
    expect(await burst([gw], "/rated/mcp", CONCURRENT)).toEqual(expected(LIMIT, 429));
  });

  test(`${CONCURRENT} requests at once on a quota of ${QUOTA}: exactly ${QUOTA} pass`, async () => {
    const key = await quotaKey(gw);
    expect(await burst([gw], "/quota/mcp", CONCURRENT, { authorization: `Bearer ${key}` })).toEqual(expected(QUOTA, 403));
  });
});

describe("exact limits with Upstash, from one Bun gateway and from two sharing the backend", () => {
  let up: TestUpstream;
  let redis: Running;
  let bridge: UpstashBridge;
  const gateways: RunningGateway[] = [];

  beforeAll(async () => {
    up = await startUpstream();
    up.handle((_req, res, body) => jsonRpcResult(res, body, {}));
    redis = await startRedis();
    bridge = await startUpstashBridge(redis.port);
    // Each gateway keeps its definitions in its own store; the counters live in the one Redis.
    for (let i = 0; i < 3; i++) {
      gateways.push(
        await startGateway("bun", definitions(up.url), {
          env: { GATEWAY_LIMITER: "upstash", UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: bridge.token },
        }),
      );
    }
  }, 90_000);

  afterAll(async () => {
    for (const gateway of gateways) await gateway.stop();
    await bridge?.stop();
    await redis?.stop();
    await up?.stop();
  });

  test(`one gateway: exactly ${LIMIT} of ${CONCURRENT} pass the limit, and ${QUOTA} the quota`, async () => {
    expect(await burst([gateways[0]!], "/rated/mcp", CONCURRENT)).toEqual(expected(LIMIT, 429));
    const key = await quotaKey(gateways[0]!);
    expect(await burst([gateways[0]!], "/quota/mcp", CONCURRENT, { authorization: `Bearer ${key}` })).toEqual(expected(QUOTA, 403));
  });

  test(`two gateways sharing Upstash: exactly ${LIMIT} of ${CONCURRENT} pass between them, and ${QUOTA} of one key's quota`, async () => {
    const pair = [gateways[1]!, gateways[2]!];
    expect(await burst(pair, "/rated-two/mcp", CONCURRENT)).toEqual(expected(LIMIT, 429));
    // One key on both gateways (each keeps its own store), counted in the one backend.
    const key = "shared-quota-key-0123456789";
    for (const gateway of pair) {
      const policyId = "shared-quota";
      await tykAdmin(gateway, "POST", "/tyk/policies", {
        id: policyId,
        quota_max: QUOTA,
        quota_renewal_rate: 3600,
        access_rights: { quota: { api_id: "quota" } },
      });
      expect((await tykAdmin(gateway, "POST", `/tyk/keys/${key}`, { apply_policies: [policyId] })).status).toBe(200);
    }
    expect(await burst(pair, "/quota/mcp", CONCURRENT, { authorization: `Bearer ${key}` })).toEqual(expected(QUOTA, 403));
  });
});
