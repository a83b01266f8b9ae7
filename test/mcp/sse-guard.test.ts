import { describe, expect, test } from "vitest";
import { guardSseStream } from "../../src/mcp/sse-guard.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** An upstream body that yields `parts`, then fails if `fail` is set. */
function upstream(parts: string[], fail = false) {
  let i = 0;
  let cancelled: unknown;
  const stream = new ReadableStream<Uint8Array<ArrayBuffer>>({
    pull(controller) {
      if (i < parts.length) controller.enqueue(enc.encode(parts[i++]!));
      else if (fail) controller.error(new Error("connection reset"));
      else controller.close();
    },
    cancel(reason) {
      cancelled = reason ?? "cancelled";
    },
  });
  return { stream, cancelled: () => cancelled };
}

async function readAll(stream: ReadableStream<Uint8Array>) {
  let text = "";
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text;
    text += dec.decode(value);
  }
}

const errorEvent = '{"jsonrpc":"2.0","id":1,"error":{"code":-32004}}';

describe("SSE passthrough guard", () => {
  test("a healthy stream passes byte for byte", async () => {
    const parts = ['event: message\ndata: {"a":1}\n\n', 'data: {"b":2}\n\n'];
    expect(await readAll(guardSseStream(upstream(parts).stream, errorEvent))).toBe(parts.join(""));
  });

  test("chunks are handed on one by one, not read ahead", async () => {
    let pulls = 0;
    const source = new ReadableStream<Uint8Array<ArrayBuffer>>(
      {
        pull(controller) {
          pulls++;
          controller.enqueue(enc.encode(`data: ${pulls}\n\n`));
        },
      },
      { highWaterMark: 0 },
    );
    const reader = guardSseStream(source, errorEvent).getReader();
    await reader.read();
    await new Promise((r) => setTimeout(r, 20));
    expect(pulls).toBe(1);
    await reader.cancel();
  });

  test("an upstream dying between events ends the stream with a JSON-RPC error event", async () => {
    const text = await readAll(guardSseStream(upstream(['data: {"a":1}\n\n'], true).stream, errorEvent));
    expect(text).toBe(`data: {"a":1}\n\nevent: message\ndata: ${errorEvent}\n\n`);
  });

  test("an upstream dying mid-event has the partial event closed under an event type clients ignore", async () => {
    const text = await readAll(guardSseStream(upstream(['data: {"jsonrpc":"2.0","par'], true).stream, errorEvent));
    expect(text).toBe(`data: {"jsonrpc":"2.0","par\nevent: gateway-discard\n\nevent: message\ndata: ${errorEvent}\n\n`);
  });

  test("with no request to answer (a GET stream), a dying upstream just ends the stream", async () => {
    const text = await readAll(guardSseStream(upstream(["data: 1\n\n"], true).stream, undefined));
    expect(text).toBe("data: 1\n\n");
  });

  test("a client that goes away cancels the upstream", async () => {
    const source = upstream(["data: 1\n\n", "data: 2\n\n"]);
    const reader = guardSseStream(source.stream, errorEvent).getReader();
    await reader.read();
    await reader.cancel("client gone");
    expect(source.cancelled()).toBe("client gone");
  });
});

describe("opening comment", () => {
  test("is sent first, before any upstream byte, and the upstream's bytes follow unchanged", async () => {
    const text = await readAll(guardSseStream(upstream(["data: 1\n\n"]).stream, errorEvent, undefined, ": open\n\n"));
    expect(text).toBe(": open\n\ndata: 1\n\n");
  });

  test("leaves the stream on an event boundary, so a failure before any event needs no discard", async () => {
    const text = await readAll(guardSseStream(upstream([], true).stream, errorEvent, undefined, ": open\n\n"));
    expect(text).toBe(`: open\n\nevent: message\ndata: ${errorEvent}\n\n`);
  });
});

describe("probing an idle stream", () => {
  /** An upstream that sends `first`, then `later` when `release()` is called, then ends. */
  function held(first: string, later: string) {
    let release!: () => void;
    const go = new Promise<void>((r) => (release = r));
    let step = 0;
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array<ArrayBuffer>>(
      {
        async pull(controller) {
          if (step === 0) controller.enqueue(enc.encode(first));
          else if (step === 1) {
            await go;
            controller.enqueue(enc.encode(later));
          } else controller.close();
          step++;
        },
        cancel() {
          cancelled = true;
        },
      },
      { highWaterMark: 0 },
    );
    return { stream, release, cancelled: () => cancelled };
  }

  test("a silent upstream gets comment lines at event boundaries, and the events pass unchanged", async () => {
    const up = held('event: message\ndata: {"a":1}\n\n', 'data: {"b":2}\n\n');
    const reader = guardSseStream(up.stream, errorEvent, undefined, undefined, 10).getReader();
    let text = dec.decode((await reader.read()).value);
    text += dec.decode((await reader.read()).value); // a probe, while the upstream is silent
    up.release();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += dec.decode(value);
    }
    expect(text).toMatch(/^event: message\ndata: \{"a":1\}\n\n(:\n)+data: \{"b":2\}\n\n$/);
  });

  test("never in the middle of an event", async () => {
    const up = held('event: message\ndata: {"a":', "1}\n\n");
    const reader = guardSseStream(up.stream, errorEvent, undefined, undefined, 5).getReader();
    const first = dec.decode((await reader.read()).value);
    const next = reader.read(); // the client waits while the upstream is silent mid-event
    await new Promise((r) => setTimeout(r, 40));
    up.release();
    const second = dec.decode((await next).value);
    expect(first + second).toBe('event: message\ndata: {"a":1}\n\n');
  });

  test("a client that leaves an idle stream stops the probe and cancels the upstream", async () => {
    const up = held("data: {}\n\n", "data: {}\n\n");
    const reader = guardSseStream(up.stream, errorEvent, undefined, undefined, 5).getReader();
    await reader.read();
    await reader.cancel();
    expect(up.cancelled()).toBe(true);
    await new Promise((r) => setTimeout(r, 30)); // no enqueue on a cancelled stream (it would throw)
    up.release();
  });
});
