// Bun entry of the bare Hono passthrough (bare-app.mjs): `UPSTREAM=http://127.0.0.1:N bun scripts/bench/bare-bun.mjs`.
// Listens on HOST:PORT (default 127.0.0.1, 0) and prints `listening on http://HOST:PORT`.
// BARE_BODY: stream (default) or buffer (see bare-app.mjs). The client's address for
// `X-Forwarded-For` is looked up as src/bun.ts does it: `server.requestIP(request)`.
import { createBareApp } from "./bare-app.mjs";

const app = createBareApp(Bun.env.UPSTREAM, Bun.env.BARE_BODY ?? "stream", (c) => c.env.server.requestIP(c.req.raw)?.address);
const hostname = Bun.env.HOST ?? "127.0.0.1";
const server = Bun.serve({
  hostname,
  port: Number(Bun.env.PORT ?? 0),
  idleTimeout: 0,
  fetch: (request, server) => app.fetch(request, { server }),
});
console.log(`bare passthrough (bun) listening on http://${hostname}:${server.port}`);
