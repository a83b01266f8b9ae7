// Workers entry of the bare Hono passthrough (bare-app.mjs); bindings UPSTREAM: the upstream origin,
// BARE_BODY: stream (default) or buffer (see bare-app.mjs). The client's address for
// `X-Forwarded-For` is read as src/worker.ts reads it: the `CF-Connecting-IP` header.
import { createBareApp } from "./bare-app.mjs";

let app;
export default {
  fetch(request, env, ctx) {
    app ??= createBareApp(env.UPSTREAM, env.BARE_BODY ?? "stream", (c) => c.req.raw.headers.get("cf-connecting-ip") ?? undefined);
    return app.fetch(request, env, ctx);
  },
};
