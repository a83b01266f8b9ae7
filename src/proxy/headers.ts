/**
 * Which headers cross the gateway, in each direction. Pure.
 *
 * Dropped both ways: hop-by-hop headers (RFC 9110 §7.6.1) and any header the `Connection` header
 * names. Dropped towards the upstream: the client's `Authorization` and `Cookie` (MCP forbids token
 * passthrough: an MCP upstream never sees the client's credentials; a plain OAS API keeps them unless
 * the gateway itself consumed them), `Host` (set from the upstream
 * URL, so an upstream's own Host validation keeps working), `Content-Length` (recomputed), and
 * `Accept-Encoding` (the gateway asks for identity, so every runtime can stream the body through
 * unchanged). `Mcp-Session-Id`, `MCP-Protocol-Version`, `Last-Event-ID`, `Accept`, `Content-Type`
 * and `Origin` pass. `X-Forwarded-For`, `-Host` and `-Proto` are set.
 */

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

function connectionListed(headers: Headers): ReadonlySet<string> {
  const value = headers.get("connection");
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
 * Headers for the upstream request.
 *
 * Built as a plain record in one `forEach` pass over the client's headers: on workerd every call
 * into a `Headers` object crosses into C++, and copying the client's `Headers` then walking its
 * names to delete some cost about twice as much as this (measured in workerd, 5 request headers:
 * ~27 µs against ~19 µs including the upstream `Request` built from it; on Bun both ~3 µs).
 * `forEach` gives each name once with its values combined, as `Headers.get` does.
 *
 * @param extraDrop further header names (lower case) never to forward, such as the auth header a
 *   definition reads credentials from
 * @param keepClientCredentials pass `Authorization` and `Cookie` (plain OAS APIs only; never MCP)
 */
export function upstreamRequestHeaders(
  incoming: Headers,
  forwarded: ForwardedInfo,
  extraDrop: ReadonlySet<string> = NONE,
  keepClientCredentials = false,
): UpstreamHeaders {
  const listed = connectionListed(incoming);
  // No prototype: a client's header named `__proto__` is a header like any other.
  const out: UpstreamHeaders = Object.create(null);
  let priorFor: string | undefined;
  incoming.forEach((value, name) => {
    if (
      HOP_BY_HOP.has(name) ||
      CLIENT_ONLY.has(name) ||
      listed.has(name) ||
      extraDrop.has(name) ||
      (!keepClientCredentials && CLIENT_CREDENTIALS.has(name)) ||
      name.startsWith("cf-")
    ) {
      return;
    }
    if (name.startsWith("x-forwarded-")) {
      if (name === "x-forwarded-for") priorFor = value;
      return;
    }
    out[name] = value;
  });
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
function needsResponseCleanup(upstream: Headers, serverDrops: ReadonlySet<string>): boolean {
  if (upstream.has("content-encoding")) return true;
  for (const name of HOP_BY_HOP) if (!serverDrops.has(name) && upstream.has(name)) return true;
  if (!upstream.has("connection")) return false;
  if (!serverDrops.has("connection")) return true;
  // Only what the server drops anyway, or option tokens ("close") that name no header sent.
  for (const name of connectionListed(upstream)) if (!serverDrops.has(name) && upstream.has(name)) return true;
  return false;
}

function removeFromResponse(upstream: Headers, out: Headers): void {
  const listed = connectionListed(upstream);
  // Deleting a name that is absent changes nothing: no walk over the upstream's headers needed.
  for (const name of HOP_BY_HOP) out.delete(name);
  for (const name of listed) out.delete(name);
  // A body the runtime already decoded must not be labelled as encoded.
  if (out.has("content-encoding")) {
    out.delete("content-encoding");
    out.delete("content-length");
  }
}

/** A copy of the upstream's headers, less what must not pass. */
function cleanedCopy(upstream: Headers): Headers {
  // Copy whole (a native copy keeps every Set-Cookie apart), then drop what must not pass.
  const out = new Headers(upstream);
  removeFromResponse(upstream, out);
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
 */
export function forClient(response: Response, body: ReadableStream | null, serverDrops: ReadonlySet<string> = NONE): Response {
  const upstream = response.headers;
  const sameBody = body === response.body;
  if (!needsResponseCleanup(upstream, serverDrops)) {
    return sameBody ? response : new Response(body, { status: response.status, statusText: response.statusText, headers: upstream });
  }
  if (sameBody && responseHeadersMutable !== false) {
    try {
      removeFromResponse(upstream, upstream);
      responseHeadersMutable = true;
      return response;
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      responseHeadersMutable = false;
    }
  }
  return new Response(body, { status: response.status, statusText: response.statusText, headers: cleanedCopy(upstream) });
}
