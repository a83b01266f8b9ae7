/**
 * Keeps an SSE response honest when its upstream dies mid-stream. Pure (Web Streams).
 *
 * The upstream's bytes pass through as they arrive, chunk for chunk, with no read-ahead
 * (`highWaterMark: 0`). If reading from the upstream fails, the client is not left with a dead
 * request: the gateway ends the stream with one last event, a JSON-RPC error (-32004) for the
 * request the stream answers. If the upstream died in the middle of an event, that partial event is
 * first closed under the event type `gateway-discard`, which MCP clients ignore (they read only
 * `message` events), so no broken JSON is dispatched.
 *
 * A client that goes away cancels the stream, and the cancel reaches the upstream request.
 *
 * An optional `opening` (an SSE comment, which every SSE parser ignores) is sent before the
 * upstream's first byte, for runtimes that hold back a response's head until its body's first chunk.
 *
 * With `probeMs`, a stream on which the upstream has sent nothing for that long gets an SSE comment
 * line (`:`), at an event boundary only, while the client waits for data. For runtimes whose server
 * notices a client that left only when it writes to it (workerd): the write that fails cancels the
 * stream, and so the upstream request, instead of leaving an idle stream (a GET stream, a tool call
 * with nothing to report yet) open at the upstream until it next writes.
 */
const encoder = new TextEncoder();

/** Whether the bytes written so far end on an SSE event boundary (a blank line). */
function atBoundary(tail: number[]): boolean {
  const n = tail.length;
  if (n === 0) return true;
  const a = tail[n - 1];
  const b = tail[n - 2];
  // "\n\n", "\r\r", or "\r\n\r\n" (whose last two bytes are "\r\n" after "\r\n").
  if (a === 0x0a && b === 0x0a) return true;
  if (a === 0x0d && b === 0x0d) return true;
  return a === 0x0a && b === 0x0d && tail[n - 3] === 0x0a && tail[n - 4] === 0x0d;
}

/**
 * Wraps an upstream SSE body.
 *
 * @param errorEvent the `data:` payload (a JSON-RPC error body) to send if the upstream fails,
 *   or `undefined` to just close the stream (a GET stream answers no request)
 * @param onUpstreamError called with the failure, for logging
 * @param opening bytes sent at once, before the upstream's; must be whole SSE lines ending on an
 *   event boundary (a blank line), such as the comment `": open\n\n"`
 * @param probeMs how long the upstream may stay silent before a comment line is sent (0: never)
 */
export function guardSseStream(
  body: ReadableStream<Uint8Array<ArrayBuffer>>,
  errorEvent: string | undefined,
  onUpstreamError: (error: unknown) => void = () => {},
  opening?: string,
  probeMs = 0,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  const reader = body.getReader();
  const tail: number[] = [];
  let probe: ReturnType<typeof setInterval> | undefined;
  // A read of the upstream is pending (the client waits for data); nothing passed since the last probe.
  let waiting = false;
  let quiet = true;
  return new ReadableStream<Uint8Array<ArrayBuffer>>(
    {
      start(controller) {
        // Ends on a boundary, as an empty `tail` says: the error logic needs no update.
        if (opening) controller.enqueue(encoder.encode(opening));
        if (probeMs > 0) {
          probe = setInterval(() => {
            // A comment line at an event boundary changes no event, and leaves the stream at one:
            // `tail` (the upstream's bytes) needs no update.
            if (waiting && quiet && atBoundary(tail)) controller.enqueue(encoder.encode(":\n"));
            quiet = true;
          }, probeMs);
        }
      },
      async pull(controller) {
        let result: ReadableStreamReadResult<Uint8Array<ArrayBuffer>>;
        try {
          waiting = true;
          result = await reader.read();
          waiting = false;
        } catch (error) {
          if (probe !== undefined) clearInterval(probe);
          onUpstreamError(error);
          if (errorEvent !== undefined) {
            const prefix = atBoundary(tail) ? "" : "\nevent: gateway-discard\n\n";
            controller.enqueue(encoder.encode(`${prefix}event: message\ndata: ${errorEvent}\n\n`));
          }
          controller.close();
          return;
        }
        if (result.done) {
          if (probe !== undefined) clearInterval(probe);
          controller.close();
          return;
        }
        quiet = false;
        const chunk = result.value;
        const keep = Math.min(4, chunk.byteLength);
        if (keep === 4) tail.length = 0;
        for (let i = chunk.byteLength - keep; i < chunk.byteLength; i++) tail.push(chunk[i]!);
        if (tail.length > 4) tail.splice(0, tail.length - 4);
        controller.enqueue(chunk);
      },
      cancel(reason) {
        if (probe !== undefined) clearInterval(probe);
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
