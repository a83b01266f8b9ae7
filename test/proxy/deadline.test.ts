import { describe, expect, test } from "vitest";
import { UpstreamDeadline } from "../../src/proxy/deadline.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A client request whose signal counts how often it was read and listened to. */
function client() {
  const controller = new AbortController();
  let reads = 0;
  let listeners = 0;
  const signal = controller.signal;
  const add = signal.addEventListener.bind(signal);
  signal.addEventListener = ((...args: Parameters<typeof add>) => {
    listeners++;
    add(...args);
  }) as typeof add;
  return {
    request: {
      get signal() {
        reads++;
        return signal;
      },
    },
    leave: () => controller.abort(new Error("client gone")),
    get reads() {
      return reads;
    },
    get listeners() {
      return listeners;
    },
  };
}

describe("UpstreamDeadline", () => {
  test("a request answered at once never touches the client's signal", async () => {
    const c = client();
    const d = new UpstreamDeadline(c.request, 1000, { linkAfterMs: 20 });
    d.settle();
    await sleep(40);
    expect(c.reads).toBe(0);
    expect(d.signal.aborted).toBe(false);
  });

  test("past the timeout the signal aborts and says it timed out", async () => {
    const c = client();
    const d = new UpstreamDeadline(c.request, 60, { linkAfterMs: 20 });
    await sleep(100);
    expect(d.signal.aborted).toBe(true);
    expect(d.timedOut).toBe(true);
    expect(d.clientGone).toBe(false);
  });

  test("a timeout shorter than the link delay still fires on time", async () => {
    const d = new UpstreamDeadline(client().request, 10, { linkAfterMs: 50 });
    await sleep(30);
    expect(d.timedOut).toBe(true);
  });

  test("a client that left before the link delay aborts the request when it is reached", async () => {
    const c = client();
    const d = new UpstreamDeadline(c.request, 1000, { linkAfterMs: 20 });
    c.leave();
    expect(d.signal.aborted).toBe(false);
    await sleep(40);
    expect(d.signal.aborted).toBe(true);
    expect(d.timedOut).toBe(false);
    expect(d.clientGone).toBe(true);
  });

  test("once linked, a client that leaves aborts the request at once", async () => {
    const c = client();
    const d = new UpstreamDeadline(c.request, 1000, { linkAfterMs: 10 });
    await sleep(30);
    expect(c.listeners).toBe(1);
    c.leave();
    expect(d.signal.aborted).toBe(true);
    expect(d.timedOut).toBe(false);
  });

  test("settled without following, neither the timeout nor the client aborts it", async () => {
    const c = client();
    const d = new UpstreamDeadline(c.request, 40, { linkAfterMs: 10 });
    await sleep(20);
    d.settle();
    c.leave();
    await sleep(40);
    expect(d.signal.aborted).toBe(false);
  });

  test("settled following the client, the timeout is off but the client's leaving aborts it", async () => {
    const c = client();
    const d = new UpstreamDeadline(c.request, 30, { linkAfterMs: 10 });
    d.settle({ followClient: true });
    await sleep(50);
    expect(d.signal.aborted).toBe(false);
    c.leave();
    expect(d.signal.aborted).toBe(true);
    expect(d.timedOut).toBe(false);
  });

  test("following a client that has already left aborts at once", () => {
    const c = client();
    const d = new UpstreamDeadline(c.request, 1000, { linkAfterMs: 10 });
    c.leave();
    d.settle({ followClient: true });
    expect(d.signal.aborted).toBe(true);
  });

  test("where timers end with the request, a settled deadline's timers may still fire and do nothing", async () => {
    const c = client();
    const cleared: unknown[] = [];
    const clear = globalThis.clearTimeout;
    globalThis.clearTimeout = ((t: unknown) => {
      cleared.push(t);
      clear(t as never);
    }) as typeof clearTimeout;
    try {
      const d = new UpstreamDeadline(c.request, 30, { linkAfterMs: 10, timersEndWithRequest: true });
      d.settle();
      await sleep(60);
      expect(cleared).toHaveLength(0);
      expect(d.signal.aborted).toBe(false);
      expect(d.timedOut).toBe(false);
      expect(c.listeners).toBe(0);
    } finally {
      globalThis.clearTimeout = clear;
    }
  });

  test("where timers end with the request, an unsettled deadline still times out", async () => {
    const d = new UpstreamDeadline(client().request, 30, { linkAfterMs: 10, timersEndWithRequest: true });
    await sleep(60);
    expect(d.timedOut).toBe(true);
  });
});
