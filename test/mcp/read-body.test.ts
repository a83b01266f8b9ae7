import { describe, expect, test, vi } from "vitest";
import { GatewayError } from "../../src/errors.ts";
import { decodeUtf8, DISCARD_MAX_BYTES, DISCARD_MAX_MS, readBody } from "../../src/mcp/read-body.ts";

function streamOf(chunks: Uint8Array[], onPull?: () => void, onCancel?: () => void) {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      onPull?.();
      if (i < chunks.length) controller.enqueue(chunks[i++]!);
      else controller.close();
    },
    cancel: () => onCancel?.(),
  });
}

const streamed = (body: ReadableStream<Uint8Array>, headers: Record<string, string> = {}) =>
  new Request("http://x/", { method: "POST", body, headers, duplex: "half" } as RequestInit);

describe("reading a body within the size limit", () => {
  test("a body under the limit is read whole, across chunks", async () => {
    const body = streamOf([new Uint8Array([1, 2]), new Uint8Array([3])]);
    const request = new Request("http://x/", { method: "POST", body, duplex: "half" } as RequestInit);
    expect([...(await readBody(request, 10))]).toEqual([1, 2, 3]);
  });

  test("a declared Content-Length over the limit is refused at once (413, -32600)", async () => {
    const request = new Request("http://x/", { method: "POST", body: "x".repeat(20), headers: { "content-length": "20" } });
    const error = await readBody(request, 10).catch((e) => e);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error.status).toBe(413);
    expect(error.code).toBe(-32600);
  });

  test("a streamed body is refused once it passes the limit; the rest is read and dropped so the client sees the 413", async () => {
    let pulls = 0;
    let cancelled = false;
    const chunks = Array.from({ length: 100 }, () => new Uint8Array(4));
    const error = await readBody(
      streamed(
        streamOf(
          chunks,
          () => pulls++,
          () => (cancelled = true),
        ),
      ),
      10,
    ).catch((e) => e);
    expect(error.status).toBe(413);
    expect(error.code).toBe(-32600);
    // Every chunk was taken from the client (none is left unread for the server to reset on).
    expect(pulls).toBe(101);
    expect(cancelled).toBe(false);
  });

  test("a refused body with a declared length is read and dropped too", async () => {
    let pulls = 0;
    const chunks = Array.from({ length: 10 }, () => new Uint8Array(4));
    const error = await readBody(
      streamed(
        streamOf(chunks, () => pulls++),
        { "content-length": "40" },
      ),
      10,
    ).catch((e) => e);
    expect(error.status).toBe(413);
    expect(pulls).toBe(11);
  });

  test(`past ${DISCARD_MAX_BYTES / 1024 / 1024} MiB a refused body is cancelled, not read on`, async () => {
    let pulls = 0;
    let cancelled = false;
    const chunk = new Uint8Array(1024 * 1024);
    const chunks = Array.from({ length: 64 }, () => chunk);
    const error = await readBody(
      streamed(
        streamOf(
          chunks,
          () => pulls++,
          () => (cancelled = true),
        ),
      ),
      10,
    ).catch((e) => e);
    expect(error.status).toBe(413);
    expect(cancelled).toBe(true);
    expect(pulls).toBeLessThanOrEqual(DISCARD_MAX_BYTES / chunk.byteLength + 2);
  });

  test(`a refused body that stalls is cancelled after ${DISCARD_MAX_MS} ms`, async () => {
    vi.useFakeTimers();
    try {
      let cancelled = false;
      let sent = false;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (!sent) controller.enqueue(new Uint8Array(20));
          sent = true;
          // Then nothing more, ever.
        },
        cancel: () => {
          cancelled = true;
        },
      });
      let settled: unknown;
      const refused = readBody(streamed(body), 10).catch((e) => (settled = e));
      await vi.advanceTimersByTimeAsync(DISCARD_MAX_MS - 10);
      expect(settled).toBeUndefined();
      await vi.advanceTimersByTimeAsync(20);
      await refused;
      expect((settled as GatewayError).status).toBe(413);
      expect(cancelled).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  test("a body of exactly the limit passes", async () => {
    const request = new Request("http://x/", { method: "POST", body: "x".repeat(10) });
    expect((await readBody(request, 10)).byteLength).toBe(10);
  });

  test("no body reads as empty", async () => {
    expect((await readBody(new Request("http://x/", { method: "POST" }))).byteLength).toBe(0);
  });

  test("invalid UTF-8 is a parse error (-32700)", () => {
    const error = (() => {
      try {
        decodeUtf8(new Uint8Array([0x7b, 0xff, 0x7d]));
      } catch (e) {
        return e as GatewayError;
      }
    })();
    expect(error?.code).toBe(-32700);
  });

  test("valid UTF-8 that spells U+FFFD itself decodes unchanged", () => {
    const text = '{"text":"\uFFFD and \u00e9"}';
    expect(decodeUtf8(new TextEncoder().encode(text))).toBe(text);
  });

  test("invalid UTF-8 next to a real U+FFFD is still a parse error", () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('{"a":"\uFFFD"'), 0xc3, 0x28, 0x7d]);
    expect(() => decodeUtf8(bytes)).toThrow(expect.objectContaining({ code: -32700 }));
  });
});
