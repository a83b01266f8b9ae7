// Bun entry of the bare Hono passthrough (bare-app.mjs): `UPSTREAM=http://127.0.0.1:N bun scripts/bench/bare-bun.mjs`.
// Listens on HOST:PORT (default 127.0.0.1, 0) and prints `listening on http://HOST:PORT`.
// BARE_BODY: stream (default) or buffer (see bare-app.mjs).
import { createBareApp } from "./bare-app.mjs";

const app = createBareApp(Bun.env.UPSTREAM, Bun.env.BARE_BODY ?? "stream");
const hostname = Bun.env.HOST ?? "127.0.0.1";
const server = Bun.serve({ hostname, port: Number(Bun.env.PORT ?? 0), idleTimeout: 0, fetch: (request) => app.fetch(request) });
console.log(`bare passthrough (bun) listening on http://${hostname}:${server.port}`);
