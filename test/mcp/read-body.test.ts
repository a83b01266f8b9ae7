import { describe, expect, test } from "vitest";
import { GatewayError } from "../../src/errors.ts";
import { decodeUtf8, readBody } from "../../src/mcp/read-body.ts";

function streamOf(chunks: Uint8Array[], onPull?: () => void) {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      onPull?.();
      if (i < chunks.length) controller.enqueue(chunks[i++]!);
      else controller.close();
    },
  });
}

describe("reading a body within the size limit", () => {
  test("a body under the limit is read whole, across chunks", async () => {
    const body = streamOf([new Uint8Array([1, 2]), new Uint8Array([3])]);
    const request = new Request("http://x/", { method: "POST", body, duplex: "half" } as RequestInit);
    expect([...(await readBody(request, 10))]).toEqual([1, 2, 3]);
  });

  test("a declared Content-Length over the limit is refused before reading (413, -32600)", async () => {
    const request = new Request("http://x/", { method: "POST", body: "x".repeat(20), headers: { "content-length": "20" } });
    const error = await readBody(request, 10).catch((e) => e);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error.status).toBe(413);
    expect(error.code).toBe(-32600);
  });

  test("a streamed body is cut off as soon as it passes the limit, without reading the rest", async () => {
    let pulls = 0;
    const chunks = Array.from({ length: 100 }, () => new Uint8Array(4));
    const body = streamOf(chunks, () => pulls++);
    const request = new Request("http://x/", { method: "POST", body, duplex: "half" } as RequestInit);
    const error = await readBody(request, 10).catch((e) => e);
    expect(error.status).toBe(413);
    expect(pulls).toBeLessThan(10);
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
