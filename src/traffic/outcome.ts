/**
 * Whether an upstream call failed, as a circuit breaker counts failures: an error status (5xx), a
 * timeout or an unreachable upstream (the gateway's own 502/504), or a JSON-RPC error answering the
 * call, in a JSON body or in the SSE event that answers it. Pure (Web Streams, eventsource-parser).
 */
import { createParser } from "eventsource-parser";
import type { JsonRpcId } from "../errors.ts";
import { mediaType } from "../http/headers.ts";

/** How much of a JSON answer is kept to look for its error member (an error answer is small). */
const MAX_JSON_BYTES = 256 * 1024;

function isErrorFor(text: string, id: JsonRpcId): boolean {
  try {
    const message = JSON.parse(text) as { id?: unknown; error?: unknown };
    return message !== null && typeof message === "object" && message.id === id && message.error !== undefined;
  } catch {
    return false;
  }
}

/**
 * `response`, passed on unchanged, with `done(failed)` called once its body has all passed (not
 * when the client leaves first: the outcome is then unknown).
 */
export function watchOutcome(response: Response, id: JsonRpcId, done: (failed: boolean) => void): Response {
  if (response.status >= 500) {
    done(true);
    return response;
  }
  const body = response.body;
  const type = mediaType(response.headers.get("content-type"));
  if (body === null || (type !== "application/json" && type !== "text/event-stream")) {
    done(false);
    return response;
  }
  const decoder = new TextDecoder();
  let failed = false;
  let json = "";
  const parser =
    type === "text/event-stream"
      ? createParser({
          onEvent(event) {
            if (!failed && isErrorFor(event.data, id)) failed = true;
          },
        })
      : undefined;
  const watched = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        controller.enqueue(chunk);
        const text = decoder.decode(chunk, { stream: true });
        if (parser) parser.feed(text);
        else if (json.length < MAX_JSON_BYTES) json += text;
      },
      flush() {
        const rest = decoder.decode();
        if (parser) parser.feed(rest);
        else failed = isErrorFor(json + rest, id);
        done(failed);
      },
    }),
  );
  return new Response(watched, { status: response.status, statusText: response.statusText, headers: response.headers });
}
