/**
 * One behaviour suite for every limiter backend: memory; Durable Objects inside workerd
 * (Miniflare); Upstash against a real Redis server through the Upstash REST bridge. Windows, all or
 * nothing, refunds, exactness under concurrency, quotas and breakers.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { BreakerSpec, Limiter, RateCounter } from "../../src/traffic/limiter.ts";
import { MemoryLimiter } from "../../src/traffic/memory.ts";
import { WRITE_BEHIND_MS } from "../../src/traffic/shard.ts";
import { UpstashLimiter } from "../../src/traffic/upstash.ts";
import { root, type Running } from "../helpers/processes.ts";
import { startRedis, startUpstashBridge } from "../helpers/redis.ts";

type Backend = "memory" | "durable-objects" | "upstash";

let workers = 0;

/** The Durable Objects limiter inside workerd, called through a test Worker. */
async function durableObjects(persist?: string): Promise<{ limiter: Limiter; stop(): Promise<void> }> {
  const outfile = join(root, "dist", "test", `limiter-worker-${process.pid}-${++workers}.js`);
  await build({
    entryPoints: [join(root, "test/fixtures/limiter-worker.ts")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    external: ["cloudflare:*"],
    outfile,
    logLevel: "error",
  });
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      scriptPath: outfile,
      compatibilityDate: "2026-11-01",
      durableObjects: { LIMITER: "LimiterObject" },
      ...(persist ? { resourcePersistencePath: persist } : {}),
    }),
  );
  await mf.ready;
  const call = async (method: string, ...args: unknown[]) => {
    const response = await mf.dispatchFetch("http://limiter/", { method: "POST", body: JSON.stringify({ method, args }) });
    const body = (await response.json()) as any;
    if (response.status !== 200) throw new Error(body.error);
    return body;
  };
  const limiter: Limiter = {
    name: "durable-objects",
    take: (...args) => call("take", ...args),
    refund: (...args) => call("refund", ...args),
    record: (...args) => call("record", ...args),
    quota: (...args) => call("quota", ...args),
    resetQuota: (...args) => call("resetQuota", ...args),
  };
  return {
    limiter,
    stop: async () => {
      await mf.dispose();
      rmSync(outfile, { force: true });
    },
  };
}

/** A shard name of this run's own (Upstash and Durable Objects keep state across tests). */
let n = 0;
const shard = (name: string) => `${name}-${Date.now().toString(36)}-${++n}`;
const counter = (id: string, limit: number, windowMs = 60_000): RateCounter => ({ id, limit, windowMs });
const breaker = (halfOpen = true): BreakerSpec => ({ id: "b", threshold: 0.5, sampleSize: 4, coolDownMs: 10_000, halfOpen });

describe.each<Backend>(["memory", "durable-objects", "upstash"])("the %s limiter", (backend) => {
  let limiter: Limiter;
  const started: { stop(): Promise<void> }[] = [];

  beforeAll(async () => {
    if (backend === "memory") limiter = new MemoryLimiter();
    else if (backend === "durable-objects") {
      const object = await durableObjects();
      started.push(object);
      limiter = object.limiter;
    } else {
      const redis: Running = await startRedis();
      started.push(redis);
      const bridge = await startUpstashBridge(redis.port);
      started.unshift(bridge);
      limiter = new UpstashLimiter({ url: bridge.url, token: bridge.token, prefix: `test-${process.pid}` });
    }
  }, 60_000);

  afterAll(async () => {
    for (const thing of started) await thing.stop();
  });

  test("a window lets its limit through, then refuses until it ends; remaining and reset say so", async () => {
    const s = shard("window");
    const c = counter("key", 3);
    const now = Date.now();
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await limiter.take(s, { counters: [c] }, now));
    expect(answers.map((a) => a.ok)).toEqual([true, true, true, false]);
    const first = answers[0]!;
    if (!first.ok) throw new Error("refused");
    expect(first.counters[0]).toMatchObject({ id: "key", limit: 3, remaining: 2 });
    const windowEnd = Math.floor(now / 60_000) * 60_000 + 60_000;
    expect(Math.abs(first.counters[0]!.reset - windowEnd)).toBeLessThanOrEqual(1000);
    expect(answers[3]).toMatchObject({ ok: false, refused: "rate", counter: { id: "key", limit: 3, remaining: 0 } });
  });

  test("a window follows its length exactly: a new window starts at the next multiple of it", async () => {
    const s = shard("short");
    const c = counter("key", 1, 700);
    // Start early in a window, so the two takes below fall in the same one.
    await new Promise((r) => setTimeout(r, 700 - (Date.now() % 700) + 20));
    expect((await limiter.take(s, { counters: [c] }, Date.now())).ok).toBe(true);
    expect((await limiter.take(s, { counters: [c] }, Date.now())).ok).toBe(false);
    await new Promise((r) => setTimeout(r, 700 - (Date.now() % 700) + 20));
    expect((await limiter.take(s, { counters: [c] }, Date.now())).ok).toBe(true);
  });

  test("with limit L, exactly L of N > L concurrent requests pass", async () => {
    const s = shard("exact");
    const c = counter("key", 10);
    const now = Date.now();
    const answers = await Promise.all(Array.from({ length: 40 }, () => limiter.take(s, { counters: [c] }, now)));
    expect(answers.filter((a) => a.ok)).toHaveLength(10);
  });

  test("a shard's counters are charged all or none: a refusal by one leaves the others as they were", async () => {
    const s = shard("all-or-none");
    const tight = counter("tool", 1);
    const wide = counter("key", 5);
    const now = Date.now();
    expect((await limiter.take(s, { counters: [tight, wide] }, now)).ok).toBe(true);
    for (let i = 0; i < 3; i++)
      expect(await limiter.take(s, { counters: [tight, wide] }, now)).toMatchObject({ ok: false, counter: { id: "tool" } });
    // The wide counter was charged once: four more pass on it alone, the fifth does not.
    const alone = [];
    for (let i = 0; i < 5; i++) alone.push((await limiter.take(s, { counters: [wide] }, now)).ok);
    expect(alone).toEqual([true, true, true, true, false]);
  });

  test("a refund gives a request back", async () => {
    const s = shard("refund");
    const c = counter("key", 1);
    const now = Date.now();
    expect((await limiter.take(s, { counters: [c] }, now)).ok).toBe(true);
    await limiter.refund(s, { counters: [c] }, now);
    expect((await limiter.take(s, { counters: [c] }, now)).ok).toBe(true);
    expect((await limiter.take(s, { counters: [c] }, now)).ok).toBe(false);
  });

  test("a quota counts down to zero, never below, refuses after, renews after its period, and can be reset", async () => {
    const s = shard("quota");
    const quota = { id: "quota", max: 3, renewalMs: 10_000 };
    const now = Date.now();
    const answers = await Promise.all(Array.from({ length: 6 }, () => limiter.take(s, { counters: [], quota }, now)));
    expect(answers.filter((a) => a.ok)).toHaveLength(3);
    expect(answers.find((a) => !a.ok)).toMatchObject({ ok: false, refused: "quota", quota: { max: 3, remaining: 0 } });
    const state = await limiter.quota(s, quota, now);
    expect(state).toMatchObject({ max: 3, remaining: 0 });
    expect(state.renews).toBe(now + 10_000);
    // After its period it renews.
    expect((await limiter.take(s, { counters: [], quota }, now + 10_001)).ok).toBe(true);
    expect(await limiter.quota(s, quota, now + 10_001)).toMatchObject({ remaining: 2 });
    await limiter.resetQuota(s, quota.id);
    expect(await limiter.quota(s, quota, now + 10_002)).toMatchObject({ remaining: 3, renews: 0 });
  });

  test("a request its quota refuses charges no counter", async () => {
    const s = shard("quota-counters");
    const quota = { id: "quota", max: 1, renewalMs: 60_000 };
    const c = counter("key", 2);
    const now = Date.now();
    expect((await limiter.take(s, { counters: [c], quota }, now)).ok).toBe(true);
    expect(await limiter.take(s, { counters: [c], quota }, now)).toMatchObject({ ok: false, refused: "quota" });
    expect((await limiter.take(s, { counters: [c] }, now)).ok).toBe(true);
  });

  test("a breaker opens at its threshold, refuses during the cool-down, then lets one trial decide", async () => {
    const s = shard("breaker");
    const spec = breaker();
    const now = Date.now();
    expect(await limiter.take(s, { counters: [], breaker: spec }, now)).toMatchObject({ ok: true, breaker: "closed" });
    for (const failed of [true, false, true]) await limiter.record(s, spec, failed, false, now);
    expect((await limiter.take(s, { counters: [], breaker: spec }, now)).ok).toBe(true);
    await limiter.record(s, spec, false, false, now); // 2 of 4 failed: 0.5, the threshold
    expect(await limiter.take(s, { counters: [], breaker: spec }, now + 1)).toEqual({
      ok: false,
      refused: "breaker",
      retryAt: now + 10_000,
    });
    // After the cool-down: one trial at a time.
    const later = now + 10_001;
    expect(await limiter.take(s, { counters: [], breaker: spec }, later)).toMatchObject({ ok: true, breaker: "trial" });
    expect(await limiter.take(s, { counters: [], breaker: spec }, later)).toMatchObject({ ok: false, refused: "breaker" });
    // A failed trial opens it again; a good one closes it.
    await limiter.record(s, spec, true, true, later);
    expect(await limiter.take(s, { counters: [], breaker: spec }, later + 1)).toMatchObject({ ok: false, refused: "breaker" });
    const again = later + 10_001;
    expect(await limiter.take(s, { counters: [], breaker: spec }, again)).toMatchObject({ ok: true, breaker: "trial" });
    await limiter.record(s, spec, false, true, again);
    expect(await limiter.take(s, { counters: [], breaker: spec }, again)).toMatchObject({ ok: true, breaker: "closed" });
  });

  test("without the half-open state a breaker closes when its cool-down ends", async () => {
    const s = shard("breaker-plain");
    const spec = breaker(false);
    const now = Date.now();
    for (let i = 0; i < 4; i++) await limiter.record(s, spec, true, false, now);
    expect((await limiter.take(s, { counters: [], breaker: spec }, now)).ok).toBe(false);
    expect(await limiter.take(s, { counters: [], breaker: spec }, now + 10_000)).toMatchObject({ ok: true, breaker: "closed" });
  });

  test("a refused request's trial is no trial: the next call may try", async () => {
    const s = shard("breaker-trial");
    const spec = breaker();
    const tight = counter("tool", 1);
    const now = Date.now();
    for (let i = 0; i < 4; i++) await limiter.record(s, spec, true, false, now);
    const later = now + 10_001;
    await limiter.take(s, { counters: [tight] }, later); // the counter's one request
    expect(await limiter.take(s, { counters: [tight], breaker: spec }, later)).toMatchObject({ ok: false, refused: "rate" });
    expect(await limiter.take(s, { counters: [], breaker: spec }, later)).toMatchObject({ ok: true, breaker: "trial" });
  });
});

describe("the durable-objects limiter, restarted", () => {
  test("an object's counts are written behind and come back after a restart; quotas too", async () => {
    const dir = mkdtempSync(join(tmpdir(), "limiter-persist-"));
    try {
      const first = await durableObjects(dir);
      const now = Date.now();
      const limit = counter("rate", 3, 3_600_000);
      const quota = { id: "quota", max: 2, renewalMs: 3_600_000 };
      try {
        expect(await first.limiter.take("c:persisted", { counters: [limit], quota }, now)).toMatchObject({ ok: true });
        expect(await first.limiter.take("c:persisted", { counters: [limit] }, now)).toMatchObject({ ok: true });
        // Past the write-behind delay: the changes are in the object's storage.
        await new Promise((resolve) => setTimeout(resolve, WRITE_BEHIND_MS + 250));
      } finally {
        await first.stop();
      }
      const second = await durableObjects(dir);
      try {
        expect(await second.limiter.take("c:persisted", { counters: [limit] }, now)).toMatchObject({ ok: true });
        expect(await second.limiter.take("c:persisted", { counters: [limit] }, now)).toMatchObject({ ok: false, refused: "rate" });
        expect(await second.limiter.quota("c:persisted", quota, now)).toMatchObject({ remaining: 1 });
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
