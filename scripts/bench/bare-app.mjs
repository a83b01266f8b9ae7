// The baseline: a bare Hono passthrough. It does only what any HTTP proxy must do: fetch() the
// upstream with the client's method, headers and body, and hand the upstream's response back as a
// stream (`new Response(upstream.body, upstream)`: status, headers and body untouched, unbuffered).
// No routing table, no body inspection, no header filtering. Runtime-neutral: the Bun and Workers
// entries (bare-bun.mjs, bare-worker.mjs) wrap it.
import { Hono } from "hono";

/** @param upstreamOrigin e.g. http://127.0.0.1:4000 (the request path and query are appended) */
export function createBareApp(upstreamOrigin) {
  const app = new Hono();
  app.all("*", async (c) => {
    const request = c.req.raw;
    const url = new URL(request.url);
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    const upstream = await fetch(`${upstreamOrigin}${url.pathname}${url.search}`, {
      method: request.method,
      headers: request.headers,
      body: hasBody ? request.body : null,
      redirect: "manual",
      signal: request.signal,
      ...(hasBody ? { duplex: "half" } : {}),
    });
    return new Response(upstream.body, upstream);
  });
  return app;
}
