// Workers entry of the bare Hono passthrough (bare-app.mjs); bindings UPSTREAM: the upstream origin,
// BARE_BODY: stream (default) or buffer (see bare-app.mjs).
import { createBareApp } from "./bare-app.mjs";

let app;
export default {
  fetch(request, env, ctx) {
    app ??= createBareApp(env.UPSTREAM, env.BARE_BODY ?? "stream");
    return app.fetch(request, env, ctx);
  },
};
