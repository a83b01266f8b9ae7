/**
 * cors: for an API that enables `middleware.global.cors`, a browser's preflight from an allowed
 * origin is answered here with 204, before authentication (a preflight carries no credentials),
 * unless `optionsPassthrough` sends it on through the path to the upstream; and every other
 * answer to that origin, the gateway's own errors included, is labelled (`finish`). The policy and
 * the labels are `http/cors.ts`'s; the Origin check before it decided who may call.
 */
import type { McpDefinition } from "../definitions/schema.ts";
import { type CorsPolicy, corsPolicy, isPreflight, preflightResponse, withCors } from "../http/cors.ts";
import type { ApiKind } from "../stores/layout.ts";
import { compileOrigins } from "./origin.ts";
import type { Step } from "./step.ts";

/** The definition's CORS policy, or `undefined` where CORS is not enabled. */
export function compileCors(definition: McpDefinition, kind: ApiKind): CorsPolicy | undefined {
  const cors = definition["x-tyk-api-gateway"].middleware?.global?.cors;
  if (!cors?.enabled) return undefined;
  // The Origin check's own reading of `allowedOrigins`.
  return corsPolicy(cors, kind === "mcp", compileOrigins(definition)?.any === true);
}

export const cors: Step<CorsPolicy | undefined> = {
  name: "cors",
  compile: (api) => compileCors(api.definition, api.kind),
  run(_c, state, policy) {
    if (policy === undefined) return;
    const origin = state.headers.origin;
    if (origin === undefined) return;
    // A preflight carries no credentials: answered before authentication.
    if (!policy.optionsPassthrough && isPreflight(state.method, state.headers)) {
      state.response = preflightResponse(policy, state.headers);
      return;
    }
    state.corsOrigin = origin;
  },
  finish(_c, state, response, policy) {
    // An allowed browser origin can read every answer (a 401's WWW-Authenticate, a JSON-RPC error).
    return state.corsOrigin === undefined || policy === undefined ? response : withCors(response, policy, state.corsOrigin);
  },
};
