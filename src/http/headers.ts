/**
 * Headers: the one home of the gateway's header helpers. Pure.
 *
 * - Reading: the client's headers are read once per request into a {@link HeaderRecord};
 *   {@link mediaType}, {@link accepts}, {@link HTTP_TOKEN} and {@link appendVary} read and write values.
 * - Crossing the gateway, in each direction. Dropped both ways: hop-by-hop headers (RFC 9110
 *   §7.6.1) and any header the `Connection` header names. Dropped towards the upstream: the client's
 *   `Authorization` and `Cookie` (MCP forbids token passthrough: an MCP upstream never sees the
 *   client's credentials; a plain OAS API keeps them unless the gateway itself consumed them),
 *   `Host` (set from the upstream URL, so an upstream's own Host validation keeps working),
 *   `Content-Length` (recomputed), and `Accept-Encoding` (the gateway asks for identity, so every
 *   runtime can stream the body through unchanged). `Mcp-Session-Id`, `MCP-Protocol-Version`,
 *   `Last-Event-ID`, `Accept`, `Content-Type` and `Origin` pass. `X-Forwarded-For`, `-Host` and
 *   `-Proto` are set.
 */

/** An HTTP token (RFC 9110 §5.6.2): what a method or a header name may be. */
export const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The media type of a `Content-Type` value, lower case, without parameters (`""` for none). */
export function mediaType(value: string | null | undefined): string {
  if (!value) return "";
  const semicolon = value.indexOf(";");
  return (semicolon === -1 ? value : value.slice(0, semicolon)).trim().toLowerCase();
}

/** Whether an `Accept` value allows a media type (`type/subtype`), honouring wildcards and q=0. */
export function accepts(accept: string, type: string): boolean {
  const [major] = type.split("/");
  for (const part of accept.split(",")) {
    const [range = "", ...params] = part.trim().toLowerCase().split(";");
    const refused = params.some((p) => /^\s*q\s*=\s*0(\.0*)?\s*$/.test(p));
    if (refused) continue;
    if (range === type || range === "*/*" || range === `${major}/*`) return true;
  }
  return false;
}

/** Adds `name` to the `Vary` header unless it is listed already (or `Vary: *`). */
export function appendVary(headers: Headers, name: string): void {
  const vary = headers.get("vary");
  if (vary === null || vary.trim() === "") {
    headers.set("vary", name);
    return;
  }
  const listed = vary.split(",").map((v) => v.trim().toLowerCase());
  if (listed.includes("*") || listed.includes(name.toLowerCase())) return;
  headers.set("vary", `${vary}, ${name}`);
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Never sent upstream, whatever the definition says. */
const CLIENT_ONLY = new Set(["host", "content-length", "accept-encoding"]);
/** The client's credentials: never sent to an MCP upstream (MCP forbids token passthrough). */
const CLIENT_CREDENTIALS = new Set(["authorization", "cookie"]);

const NONE: ReadonlySet<string> = new Set();

/** The names a `Connection` value lists, by value: peers send the same few values over and over. */
const listedByValue = new Map<string, ReadonlySet<string>>();

function connectionListed(value: string | null | undefined): ReadonlySet<string> {
  if (!value) return NONE;
  let listed = listedByValue.get(value);
  if (listed === undefined) {
    const names = new Set<string>();
    for (const token of value.split(",")) names.add(token.trim().toLowerCase());
    listed = names;
    if (listedByValue.size >= 256) listedByValue.clear();
    listedByValue.set(value, listed);
  }
  return listed;
}

/**
 * A request's headers as a record: lower-case name → value, a repeated header's values combined
 * as `Headers.get` combines them. No prototype, so any name (`__proto__`, `constructor`) reads as
 * the header it is, or as `undefined`.
 */
export type HeaderRecord = Readonly<Record<string, string>>;

/**
 * The client's headers, read once per request ({@link HeaderRecord}): every later step looks a
 * header up here instead of asking the `Headers` object again. On workerd each `Headers` call
 * crosses into C++ and builds a string (`get` ~3.5k instructions; one `forEach` over all of them
 * costs about two `get`s per header), so the request path's half-dozen lookups plus the walk that
 * builds the upstream's headers cost one walk this way (counted with callgrind,
 * `scripts/bench/RESULTS.md`).
 */
export function readHeaders(headers: Headers): HeaderRecord {
  const out: Record<string, string> = Object.create(null);
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

export interface ForwardedInfo {
  clientAddress: string | undefined;
  /** The Host the client asked for. */
  host: string | null;
  /** `http` or `https`, as the client reached the gateway. */
  proto: string;
}

/** The upstream request's headers: lower-case names, one (combined) value each. */
export type UpstreamHeaders = Record<string, string>;

/**
 * Headers for the upstream request, from the client's ({@link readHeaders}).
 *
 * Built as a plain record, which the runtime's `fetch` turns into its own headers: on workerd a
 * record's properties are read in one pass in C++, where building a `Headers` object call by
 * call, or copying the client's and deleting from it, crosses into C++ once per change. A plain
 * object with fast properties is read faster than one without a prototype (~6k instructions for
 * five headers, callgrind on workerd); the one name a plain object would take for its prototype,
 * `__proto__`, is defined as an own property instead.
 *
 * @param extraDrop further header names (lower case) never to forward, such as the auth header a
 *   definition reads credentials from
 * @param keepClientCredentials pass `Authorization` and `Cookie` (plain OAS APIs only; never MCP)
 */
export function upstreamRequestHeaders(
  incoming: HeaderRecord,
  forwarded: ForwardedInfo,
  extraDrop: ReadonlySet<string> = NONE,
  keepClientCredentials = false,
): UpstreamHeaders {
  const listed = connectionListed(incoming.connection);
  const out: UpstreamHeaders = {};
  let priorFor: string | undefined;
  for (const name in incoming) {
    if (
      HOP_BY_HOP.has(name) ||
      CLIENT_ONLY.has(name) ||
      listed.has(name) ||
      extraDrop.has(name) ||
      (!keepClientCredentials && CLIENT_CREDENTIALS.has(name)) ||
      name.startsWith("cf-")
    ) {
      continue;
    }
    const value = incoming[name]!;
    if (name.startsWith("x-forwarded-")) {
      if (name === "x-forwarded-for") priorFor = value;
      continue;
    }
    if (name === "__proto__") Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
    else out[name] = value;
  }
  if (forwarded.clientAddress) {
    out["x-forwarded-for"] = priorFor ? `${priorFor}, ${forwarded.clientAddress}` : forwarded.clientAddress;
  } else if (priorFor) {
    out["x-forwarded-for"] = priorFor;
  }
  if (forwarded.host) out["x-forwarded-host"] = forwarded.host;
  out["x-forwarded-proto"] = forwarded.proto;
  out["accept-encoding"] = "identity";
  return out;
}

/**
 * Whether any header must go before the upstream's headers reach the client.
 *
 * @param serverDrops hop-by-hop headers the runtime's HTTP server removes from every response by
 *   itself (workerd: `Connection`, `Keep-Alive`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`),
 *   so they need no copy here; the names a `Connection` header lists still do
 */
function needsResponseCleanup(upstream: Headers, connection: string | null, serverDrops: ReadonlySet<string>): boolean {
  if (upstream.has("content-encoding")) return true;
  for (const name of HOP_BY_HOP) if (!serverDrops.has(name) && upstream.has(name)) return true;
  if (connection === null) return false;
  if (!serverDrops.has("connection")) return true;
  // Only what the server drops anyway, or option tokens ("close") that name no header sent.
  for (const name of connectionListed(connection)) if (!serverDrops.has(name) && upstream.has(name)) return true;
  return false;
}

/** Removes from `out` what must not pass; `connection` is the upstream's `Connection` value. */
function removeFromResponse(out: Headers, connection: string | null): void {
  // Deleting a name that is absent changes nothing: no walk over the upstream's headers needed.
  for (const name of HOP_BY_HOP) out.delete(name);
  for (const name of connectionListed(connection)) out.delete(name);
  // A body the runtime already decoded must not be labelled as encoded.
  if (out.has("content-encoding")) {
    out.delete("content-encoding");
    out.delete("content-length");
  }
}

/** A copy of the upstream's headers, less what must not pass. */
function cleanedCopy(upstream: Headers, connection: string | null): Headers {
  // Copy whole (a native copy keeps every Set-Cookie apart), then drop what must not pass.
  const out = new Headers(upstream);
  removeFromResponse(out, connection);
  return out;
}

/**
 * Whether the runtime lets a `fetch` response's headers be changed (the Fetch standard makes them
 * immutable; Bun does not), learnt from the first response that needs a change.
 */
let responseHeadersMutable: boolean | undefined;

/**
 * The upstream's response with its hop-by-hop headers gone: the response itself, its headers
 * edited in place, where the runtime allows that; otherwise, and when `body` replaces its body, a
 * new response with a cleaned copy. A response that needs no change is returned as it is.
 *
 * `upstream` and `upstreamBody` are the response's `headers` and `body` where the caller has read
 * them already (each read is a call into the runtime).
 */
export function forClient(
  response: Response,
  body: ReadableStream | null,
  serverDrops: ReadonlySet<string> = NONE,
  upstream: Headers = response.headers,
  upstreamBody: ReadableStream | null = response.body,
): Response {
  const sameBody = body === upstreamBody;
  const connection = upstream.get("connection");
  if (!needsResponseCleanup(upstream, connection, serverDrops)) {
    return sameBody ? response : new Response(body, { status: response.status, statusText: response.statusText, headers: upstream });
  }
  if (sameBody && responseHeadersMutable !== false) {
    try {
      removeFromResponse(upstream, connection);
      responseHeadersMutable = true;
      return response;
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      responseHeadersMutable = false;
    }
  }
  return new Response(body, { status: response.status, statusText: response.statusText, headers: cleanedCopy(upstream, connection) });
}
