/**
 * Reading a request body within a size limit, enforced while reading: a body over the limit is
 * refused as soon as it passes the limit (or at once when `Content-Length` already says so), and
 * the rest of it is never kept in memory.
 *
 * The rest is read and dropped, though, up to {@link DISCARD_MAX_BYTES} and for at most
 * {@link DISCARD_MAX_MS}, before the refusal is answered: a server that answers and closes while
 * the client is still sending makes the client's next write fail, and the client then sees a reset
 * connection instead of the 413 (Bun and workerd both close so). Past either bound the body is
 * cancelled.
 *
 * Pure: Web Streams only.
 */
import { GatewayError } from "../errors.ts";

/** Default request size limit: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** How much of a refused body is read (and dropped) so that its client sees the refusal. */
export const DISCARD_MAX_BYTES = 16 * 1024 * 1024;
/** How long a refused body is read (and dropped) at most. */
export const DISCARD_MAX_MS = 2000;

/**
 * Reads the whole body of `request` as bytes.
 *
 * @param limit maximum number of bytes (default {@link DEFAULT_MAX_BODY_BYTES})
 * @param declared the request's `Content-Length` (default: read from `request.headers`)
 * @throws GatewayError -32600 with HTTP 413 when the body is larger than `limit`
 */
export function readBody(
  request: Request,
  limit = DEFAULT_MAX_BODY_BYTES,
  declared: string | null = request.headers.get("content-length"),
): Promise<Uint8Array<ArrayBuffer>> {
  if (declared !== null) {
    if (Number(declared) > limit) return refuse(request, limit);
    // The length is declared and within the limit: the runtime's own reader is fastest, and the
    // runtime holds the body to its declared length. (`request.body` is not touched: on workerd
    // that alone builds a stream object.)
    if (isDigits(declared)) return request.arrayBuffer().then(asBytes);
  }
  return readChunks(request, limit);
}

function isDigits(value: string): boolean {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

const tooLarge = (limit: number) => new GatewayError("body_too_large", `Request body exceeds the limit of ${limit} bytes`);

const asBytes = (buffer: ArrayBuffer): Uint8Array<ArrayBuffer> => new Uint8Array(buffer);

async function refuse(request: Request, limit: number): Promise<never> {
  const body = request.body;
  if (body !== null) await discard(body.getReader(), 0);
  throw tooLarge(limit);
}

/**
 * Reads the rest of a refused body and drops it, within {@link DISCARD_MAX_BYTES} (counting the
 * `read` bytes already taken) and {@link DISCARD_MAX_MS}; then cancels whatever is left.
 */
async function discard(reader: ReadableStreamDefaultReader<Uint8Array>, read: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), DISCARD_MAX_MS);
  });
  try {
    for (let total = read; total <= DISCARD_MAX_BYTES; ) {
      const next = await Promise.race([reader.read(), late]);
      if (next === "late" || next.done) break;
      total += next.value.byteLength;
    }
  } catch {
    // The client went away: nothing left to answer.
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
  }
}

/** A body of unknown length, read chunk by chunk and refused as soon as it passes the limit. */
async function readChunks(request: Request, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  const body = request.body;
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await discard(reader, total);
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

const lenient = new TextDecoder("utf-8");
const strict = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes a body as UTF-8 text.
 *
 * The lenient decoder is several times faster than the fatal one on some runtimes (Bun); it marks
 * invalid bytes with U+FFFD, so only a text that contains U+FFFD (an invalid body, or a valid one
 * that spells U+FFFD itself) is decoded again strictly, to tell the two apart.
 *
 * @throws GatewayError -32700 when the bytes are not valid UTF-8
 */
export function decodeUtf8(bytes: Uint8Array): string {
  const text = lenient.decode(bytes);
  if (!text.includes("\uFFFD")) return text;
  try {
    return strict.decode(bytes);
  } catch {
    throw new GatewayError("parse_error", "Parse error: the body is not valid UTF-8");
  }
}
