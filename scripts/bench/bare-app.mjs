// The baseline: a bare Hono passthrough. It does only what any HTTP proxy must do: fetch() the
// upstream with the client's method, headers and body, and hand the upstream's response back as a
// stream (`new Response(upstream.body, upstream)`: status, headers and body untouched, unbuffered).
// No routing table, no body inspection, no header filtering. Runtime-neutral: the Bun and Workers
// entries (bare-bun.mjs, bare-worker.mjs) wrap it.
//
// The request body is forwarded as the client's stream (`bodyMode` "stream", the default) or read
// whole first (`"buffer"`, as the gateway must to inspect the JSON-RPC message).
import { Hono } from "hono";

/**
 * @param upstreamOrigin e.g. http://127.0.0.1:4000 (the request path and query are appended)
 * @param bodyMode "stream" or "buffer"
 */
export function createBareApp(upstreamOrigin, bodyMode = "stream") {
  const app = new Hono();
  app.all("*", async (c) => {
    const request = c.req.raw;
    const url = new URL(request.url);
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    const body = !hasBody ? null : bodyMode === "buffer" ? await request.arrayBuffer() : request.body;
    const upstream = await fetch(`${upstreamOrigin}${url.pathname}${url.search}`, {
      method: request.method,
      headers: request.headers,
      body,
      redirect: "manual",
      signal: request.signal,
      ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
    });
    return new Response(upstream.body, upstream);
  });
  return app;
}
