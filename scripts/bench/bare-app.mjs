// The baseline: a bare Hono passthrough. It does only what any HTTP proxy must do: fetch() the
// upstream with the client's method, headers and body, with the client's address added to
// `X-Forwarded-For`, and hand the upstream's response back as a stream (`new Response(upstream.body,
// upstream)`: status, headers and body untouched, unbuffered). No routing table, no body
// inspection, no header filtering. Runtime-neutral: the Bun and Workers entries (bare-bun.mjs,
// bare-worker.mjs) wrap it and say how the runtime knows the client's address.
//
// `X-Forwarded-For` is mandated work for any proxy that keeps the client's address for the
// upstream, so the baseline does it as the gateway does on the same runtime (src/bun.ts and
// src/worker.ts, `clientAddress`): on Bun `server.requestIP(request)` (a `getpeername` per request),
// on workerd the `CF-Connecting-IP` header. The address is appended to a client's own list
// (`a, b`), as `upstreamRequestHeaders` in src/http/headers.ts does; without an address the
// client's header passes as it came.
//
// The request body is forwarded as the client's stream (`bodyMode` "stream", the default) or read
// whole first (`"buffer"`, as the gateway must to inspect the JSON-RPC message).
import { Hono } from "hono";

/**
 * @param upstreamOrigin e.g. http://127.0.0.1:4000 (the request path and query are appended)
 * @param bodyMode "stream" or "buffer"
 * @param clientAddress `(c) => string | undefined`: the client's address as the runtime knows it
 */
export function createBareApp(upstreamOrigin, bodyMode = "stream", clientAddress = () => undefined) {
  const app = new Hono();
  app.all("*", async (c) => {
    const request = c.req.raw;
    const url = new URL(request.url);
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    const body = !hasBody ? null : bodyMode === "buffer" ? await request.arrayBuffer() : request.body;
    // The client's headers as they came, copied only to add the address (the least a proxy can do).
    let headers = request.headers;
    const address = clientAddress(c);
    if (address) {
      headers = new Headers(headers);
      const prior = headers.get("x-forwarded-for");
      headers.set("x-forwarded-for", prior ? `${prior}, ${address}` : address);
    }
    const upstream = await fetch(`${upstreamOrigin}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      body,
      redirect: "manual",
      signal: request.signal,
      ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
    });
    return new Response(upstream.body, upstream);
  });
  return app;
}
