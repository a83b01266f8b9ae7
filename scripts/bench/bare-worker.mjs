// Workers entry of the bare Hono passthrough (bare-app.mjs); binding UPSTREAM: the upstream origin.
import { createBareApp } from "./bare-app.mjs";

let app;
export default {
  fetch(request, env, ctx) {
    app ??= createBareApp(env.UPSTREAM);
    return app.fetch(request, env, ctx);
  },
};
