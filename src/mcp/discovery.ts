/**
 * Per-consumer discovery: what a consumer may not use, it does not see. Pure (Web APIs only).
 *
 * The request path already refuses a `tools/call` (or `resources/read`, `prompts/get`, …) that the
 * consumer's access rights deny. This module makes the answers to the discovery methods agree:
 *
 * - `tools/list`, `resources/list`, `resources/templates/list` and `prompts/list`: the items the
 *   consumer may not see (`Visibility.canSee`) are removed, in place, keeping the upstream's order
 *   and every other member of the result (`nextCursor`, `_meta`, …). Filtering is done page by
 *   page, so pagination keeps working: a page may come back shorter (even empty) but its cursor
 *   still leads to the next. An item's key (`name`, `uri`, `uriTemplate`) is compared in the
 *   canonical form authorization compares a call in (`identifiers.ts`); an item whose key is missing,
 *   not a string or has no canonical form is dropped: fail closed.
 * - `initialize` (2025-11-25) and `server/discover` (2026-07-28): a capability whose methods the
 *   consumer may call none of (`Visibility.canCall`) is removed from `capabilities`, so a client
 *   does not go looking for what it cannot use.
 * - On 2026-07-28 a list result carries caching hints (`ttlMs`, `cacheScope`): a list filtered for
 *   one consumer is no longer the same for every token, so it goes out with `cacheScope: "private"`
 *   whatever the upstream said (`ttlMs` is kept).
 * - `subscriptions/listen` (2026-07-28): a long-lived SSE stream of change notifications. Those
 *   about what the consumer may not see are dropped from it: a `list_changed` of a list it may not
 *   call, a `resources/updated` of a resource it may not read. Everything else (the
 *   acknowledgement, keep-alive comments) passes as it comes.
 *
 * Streamable HTTP lets the upstream answer a POST with JSON or with an SSE stream, and both are
 * handled: a JSON body is read whole (list results are small) and re-serialised; an SSE body is
 * parsed (eventsource-parser) and re-emitted event by event as the events arrive, never buffered
 * whole. Only the JSON-RPC response answering the request (same `id`, with a `result`) is
 * rewritten, compactly on one `data:` line; every other event (progress notifications, server
 * requests, …) goes out with its `id`, `event` and data as they came. `retry` fields and comments
 * are re-emitted as blocks of their own, at once, so keep-alive comments keep the connection warm;
 * output always ends on an event boundary. Errors, non-2xx answers and other bodies pass untouched.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { Visibility } from "../policy/types.ts";
import { canonicalIdentifier } from "./identifiers.ts";
import { listMethod } from "./jsonrpc.ts";

type JsonObject = Record<string, unknown>;

/** Each server capability and the methods that use it: removed when all of them are denied. */
const CAPABILITY_METHODS: Readonly<Record<string, readonly string[]>> = {
  tools: ["tools/list", "tools/call"],
  resources: ["resources/list", "resources/read", "resources/templates/list", "resources/subscribe", "resources/unsubscribe"],
  prompts: ["prompts/list", "prompts/get"],
  completions: ["completion/complete"],
  logging: ["logging/setLevel"],
};

/** On a `subscriptions/listen` stream: each list's change notification, and the method that reads the list. */
const LIST_CHANGED: Readonly<Record<string, string>> = {
  "notifications/tools/list_changed": "tools/list",
  "notifications/prompts/list_changed": "prompts/list",
  "notifications/resources/list_changed": "resources/list",
};

/** How an answer is rewritten for one consumer: see {@link filterResponseBody}. */
export interface AnswerFilter {
  /** What the consumer may call and see; `undefined`: nothing is filtered (only `learn` looks). */
  visibility: Visibility | undefined;
  /** The request is read in MCP 2026-07-28 (lists carry caching hints). */
  modern: boolean;
  /** Shown every result of the request (before filtering): how the `x-mcp-header` arguments of tools are learnt. */
  learn?: ((result: JsonObject) => void) | undefined;
  /** Where the last filtered answers are kept, to be reused for the same answer and rules. */
  memo?: FilteredAnswers | undefined;
}

/**
 * The start of a plain JSON-RPC answer as the MCP SDKs write it: `jsonrpc`, an `id` that reads back
 * as it is written (an integer within 2^53 without sign games, or a string without escapes), then
 * `result`. Written from these parts, the answer is the same text `JSON.stringify` would give.
 */
const PLAIN_ANSWER = /^\{"jsonrpc":"2\.0","id":(0|-?[1-9]\d{0,14}|"[ !#-[\]-\ud7ff\ue000-\uffff]*"),"result":/;

/** The biggest result kept; a bigger one is filtered anew each time. */
const MEMO_MAX_CHARS = 4 * 1024 * 1024;

/**
 * The last filtered list answers: an upstream answers `tools/list` with the same text again and
 * again, and a consumer sees it through the same rules. When an answer's `result` is, character
 * for character, one filtered before for the same method, revision and rules (the visibility's
 * {@link Visibility.basis}), its filtered result is reused instead of parsing the answer again.
 * Exact: only a plain answer ({@link PLAIN_ANSWER}, no other member) is kept or reused, and the
 * text compared is the whole result. At most `size` answers, the least recently used forgotten.
 */
export class FilteredAnswers {
  readonly #size: number;
  readonly #entries = new Map<string, { result: string; filtered: string }>();
  readonly #ids = new WeakMap<object, number>();
  #nextId = 0;

  constructor(size = 16) {
    this.#size = size;
  }

  /** The key of `method`'s answers filtered for `filter`, or `undefined` when its rules have no basis. */
  key(method: string, filter: AnswerFilter): string | undefined {
    const basis = filter.visibility?.basis;
    if (basis === undefined || filter.learn !== undefined) return undefined;
    let key = `${method} ${filter.modern ? 1 : 0}`;
    for (const part of basis) {
      let id = this.#ids.get(part);
      if (id === undefined) {
        id = ++this.#nextId;
        this.#ids.set(part, id);
      }
      key += ` ${id}`;
    }
    return key;
  }

  get(key: string): { result: string; filtered: string } | undefined {
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return entry;
  }

  set(key: string, result: string, filtered: string): void {
    if (result.length > MEMO_MAX_CHARS) return;
    this.#entries.delete(key);
    this.#entries.set(key, { result, filtered });
    if (this.#entries.size > this.#size) this.#entries.delete(this.#entries.keys().next().value!);
  }
}

const encoder = new TextEncoder();

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Whether the answer to `method` is filtered per consumer. */
export function needsFiltering(method: string): boolean {
  return method === "initialize" || method === "server/discover" || method === "subscriptions/listen" || listMethod(method) !== undefined;
}

/**
 * The result of a list method with only the items the consumer may see, in the upstream's order.
 * Other members are kept as they are. A list member that is not an array becomes empty (fail
 * closed). Returns `result` itself for a method that is not a list method. Does not mutate `result`.
 */
export function filterListResult(method: string, result: JsonObject, visibility: Visibility): JsonObject {
  const list = listMethod(method);
  if (list === undefined) return result;
  const { member, key, type } = list;
  if (!Object.hasOwn(result, member)) return result;
  const items = result[member];
  const kept = Array.isArray(items)
    ? items.filter((item) => {
        const name = isObject(item) ? item[key] : undefined;
        if (typeof name !== "string") return false;
        // Compared as authorization compares a call: in canonical form. One that has none is dropped.
        const canonical = canonicalIdentifier(type, name);
        return canonical.ok && visibility.canSee(type, canonical.value);
      })
    : [];
  return { ...result, [member]: kept };
}

/**
 * An `initialize` result without the capabilities whose every method the consumer is denied
 * (`tools` stays if only `tools/call` is allowed). Other members are kept. Does not mutate `result`.
 */
export function filterInitializeResult(result: JsonObject, visibility: Visibility): JsonObject {
  const capabilities = result.capabilities;
  if (!isObject(capabilities)) return result;
  const kept: JsonObject = {};
  for (const [name, value] of Object.entries(capabilities)) {
    const methods = Object.hasOwn(CAPABILITY_METHODS, name) ? CAPABILITY_METHODS[name]! : undefined;
    if (methods && !methods.some((m) => visibility.canCall(m))) continue;
    kept[name] = value;
  }
  return { ...result, capabilities: kept };
}

/**
 * The filtered result for `method` (`initialize`, `server/discover` or a list method); others
 * unchanged. On 2026-07-28 (`modern`) a filtered list is marked `cacheScope: "private"`.
 */
export function filterResult(method: string, result: JsonObject, visibility: Visibility, modern = false): JsonObject {
  if (method === "initialize" || method === "server/discover") return filterInitializeResult(result, visibility);
  const filtered = filterListResult(method, result, visibility);
  return modern && filtered !== result ? { ...filtered, cacheScope: "private" } : filtered;
}

/** Whether a notification on a `subscriptions/listen` stream is about something the consumer may see. */
export function notificationVisible(message: JsonObject, visibility: Visibility): boolean {
  const method = message.method;
  if (typeof method !== "string") return true;
  const list = Object.hasOwn(LIST_CHANGED, method) ? LIST_CHANGED[method] : undefined;
  if (list !== undefined) return visibility.canCall(list);
  if (method === "notifications/resources/updated") {
    const uri = isObject(message.params) ? message.params.uri : undefined;
    if (typeof uri !== "string" || !visibility.canCall("resources/read")) return false;
    const canonical = canonicalIdentifier("resource", uri);
    return canonical.ok && visibility.canSee("resource", canonical.value);
  }
  return true;
}

/**
 * How one message of the answer goes out: rewritten (a string, compact on one line), dropped
 * (`null`: a notification the consumer may not see on a `subscriptions/listen` stream), or as it
 * came (`undefined`). Only the response to `requestId` carrying a `result` object is rewritten.
 */
function rewriteMessage(text: string, requestId: string | number, method: string, filter: AnswerFilter): string | null | undefined {
  const memo = method === "subscriptions/listen" ? undefined : filter.memo;
  const key = memo?.key(method, filter);
  const plain = key === undefined || text.charCodeAt(text.length - 1) !== 0x7d /* } */ ? null : PLAIN_ANSWER.exec(text);
  if (plain !== null) {
    const start = plain[0].length;
    const seen = memo!.get(key!);
    if (
      seen !== undefined &&
      text.length === start + seen.result.length + 1 &&
      text.startsWith(seen.result, start) &&
      JSON.parse(plain[1]!) === requestId
    ) {
      return `{"jsonrpc":"2.0","id":${plain[1]},"result":${seen.filtered}}`;
    }
  }
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(message)) return undefined;
  const { visibility } = filter;
  if (method === "subscriptions/listen") {
    if (visibility === undefined || !("method" in message) || "id" in message) return undefined;
    return notificationVisible(message, visibility) ? undefined : null;
  }
  if (message.id !== requestId || "error" in message || "method" in message) return undefined;
  if (!isObject(message.result)) return undefined;
  filter.learn?.(message.result);
  if (visibility === undefined) return undefined;
  const filtered = filterResult(method, message.result, visibility, filter.modern);
  if (plain !== null && Object.keys(message).length === 3 && message.jsonrpc === "2.0") {
    // The answer is `jsonrpc`, `id` and `result` alone: the result's text runs to the closing brace.
    const result = JSON.stringify(filtered);
    memo!.set(key!, text.slice(plain[0].length, -1), result);
    return `{"jsonrpc":"2.0","id":${plain[1]},"result":${result}}`;
  }
  return JSON.stringify({ ...message, result: filtered });
}

/**
 * The upstream's answer to a request for `method` with id `requestId`, with the result filtered for
 * the consumer (`how`: an {@link AnswerFilter}, or the consumer's visibility alone on 2025-11-25). Same status and headers (less `Content-Length`). A JSON body is read
 * whole; an SSE body streams through event by event. Anything else, and non-2xx answers, is
 * returned unchanged.
 */
export function filterResponseBody(
  response: Response,
  requestId: string | number,
  method: string,
  how: AnswerFilter | Visibility,
): Response {
  const body = response.body;
  const filter: AnswerFilter = "canSee" in how ? { visibility: how, modern: false } : how;
  if (!needsFiltering(method) || !body || response.status < 200 || response.status > 299) return response;
  if (response.status === 204 || response.status === 205) return response;
  const type = (response.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  const rewrite = (text: string) => rewriteMessage(text, requestId, method, filter);
  let filtered: ReadableStream<Uint8Array<ArrayBuffer>>;
  if (type === "application/json") filtered = filterJsonStream(body, rewrite);
  else if (type === "text/event-stream") filtered = filterSseStream(body, rewrite);
  else return response;
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  return new Response(filtered, { status: response.status, statusText: response.statusText, headers });
}

/** The few members of workerd's BYOB reader this module uses (`readAtLeast` is workerd's own). */
interface ReaderAtLeast {
  readAtLeast(minBytes: number, view: Uint8Array<ArrayBuffer>): Promise<ReadableStreamReadResult<Uint8Array<ArrayBuffer>>>;
  cancel(reason?: unknown): Promise<void>;
}

/** Bytes asked for by each read where reads can be asked to fill a buffer. */
const READ_AT_LEAST = 64 * 1024;

/**
 * A reader of `body` that fills big buffers, where the runtime offers one (workerd's
 * `readAtLeast`, on a byte stream: its fetch bodies come in 4 KiB chunks, each a round trip
 * through the event loop when read one by one); otherwise `undefined`.
 */
function readerAtLeast(body: ReadableStream<Uint8Array<ArrayBuffer>>): ReaderAtLeast | undefined {
  let reader: ReadableStreamBYOBReader;
  try {
    reader = body.getReader({ mode: "byob" });
  } catch {
    return undefined; // not a byte stream
  }
  if (typeof (reader as Partial<ReaderAtLeast>).readAtLeast === "function") return reader as unknown as ReaderAtLeast;
  reader.releaseLock();
  return undefined;
}

/**
 * Reads the whole body, then hands on the rewritten message, or the original bytes. Each chunk is
 * decoded as it arrives (a streaming decoder gives the same text as decoding the whole body at
 * once) and kept, to be handed on as it came when the body is not rewritten: the chunks are never
 * copied into one buffer.
 */
function filterJsonStream(
  body: ReadableStream<Uint8Array<ArrayBuffer>>,
  rewrite: (text: string) => string | null | undefined,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  const filling = readerAtLeast(body);
  const reader = filling ?? body.getReader();
  const read = filling
    ? () => filling.readAtLeast(READ_AT_LEAST, new Uint8Array(READ_AT_LEAST))
    : () => (reader as ReadableStreamDefaultReader<Uint8Array<ArrayBuffer>>).read();
  return new ReadableStream<Uint8Array<ArrayBuffer>>(
    {
      async pull(controller) {
        const chunks: Uint8Array<ArrayBuffer>[] = [];
        const decoder = new TextDecoder();
        let text = "";
        for (;;) {
          const { done, value } = await read();
          if (value !== undefined && value.byteLength > 0) {
            chunks.push(value);
            text += decoder.decode(value, { stream: true });
          }
          if (done) break;
        }
        text += decoder.decode();
        const rewritten = rewrite(text);
        // A whole body is never dropped: only an event of a stream can be.
        if (rewritten === undefined || rewritten === null) {
          for (const chunk of chunks) controller.enqueue(chunk);
        } else {
          const out = encoder.encode(rewritten);
          if (out.byteLength > 0) controller.enqueue(out);
        }
        controller.close();
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** One SSE event, written back: `id:`, `event:`, then one `data:` line per line of `data`. */
function writeEvent(event: EventSourceMessage, data: string): string {
  let text = event.id === undefined ? "" : `id: ${event.id}\n`;
  if (event.event !== undefined) text += `event: ${event.event}\n`;
  for (const line of data.split("\n")) text += `data: ${line}\n`;
  return `${text}\n`;
}

/** Parses the SSE body as it arrives and hands on each event as soon as it is complete. */
function filterSseStream(
  body: ReadableStream<Uint8Array<ArrayBuffer>>,
  rewrite: (data: string) => string | null | undefined,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let out = "";
  // The `id` of the block just ended; it is an id-only block unless `onEvent` follows at once.
  let pendingId: string | undefined;
  const flushId = () => {
    if (pendingId !== undefined) out += `id: ${pendingId}\n\n`;
    pendingId = undefined;
  };
  const parser = createParser({
    onId(id) {
      flushId();
      pendingId = id;
    },
    onEvent(event) {
      pendingId = undefined;
      const rewritten = rewrite(event.data);
      if (rewritten !== null) out += writeEvent(event, rewritten ?? event.data);
    },
    onRetry(ms) {
      flushId();
      out += `retry: ${ms}\n\n`;
    },
    onComment(comment) {
      flushId();
      out += `: ${comment}\n\n`;
    },
  });
  return new ReadableStream<Uint8Array<ArrayBuffer>>(
    {
      async pull(controller) {
        for (;;) {
          let result: ReadableStreamReadResult<Uint8Array<ArrayBuffer>>;
          try {
            result = await reader.read();
          } catch (error) {
            controller.error(error);
            return;
          }
          // An event left unfinished at the end of the stream is discarded, as any SSE client would.
          parser.feed(result.done ? decoder.decode() : decoder.decode(result.value, { stream: true }));
          flushId();
          const ready = out;
          out = "";
          if (ready !== "") controller.enqueue(encoder.encode(ready));
          if (result.done) controller.close();
          // Keep reading until something goes out: a pull that enqueues nothing is not called again.
          if (ready !== "" || result.done) return;
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
