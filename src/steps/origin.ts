/**
 * origin: a request whose `Origin` is present and may not call the API gets 403 before anything
 * else is read (MCP Streamable HTTP: servers must validate Origin, against DNS rebinding). A request
 * without `Origin` (not from a browser) passes. The rule is `http/origins.ts`'s.
 */
import type { McpDefinition } from "../definitions/schema.ts";
import { GatewayError } from "../errors.ts";
import { type OriginRule, originAllowed, originRule } from "../http/origins.ts";
import type { Step } from "./step.ts";

/** The definition's configured origins (`middleware.global.cors.allowedOrigins`), or `undefined` for the default rule. */
export function compileOrigins(definition: McpDefinition): OriginRule | undefined {
  const cors = definition["x-tyk-api-gateway"].middleware?.global?.cors;
  if (!cors?.enabled || !cors.allowedOrigins?.length) return undefined;
  return originRule(cors.allowedOrigins);
}

export const origin: Step<OriginRule | undefined> = {
  name: "origin",
  compile: (api) => compileOrigins(api.definition),
  run(c, state, rule) {
    const value = state.headers.origin;
    if (value === undefined) return;
    const host = state.headers.host ?? new URL(c.req.url).host;
    if (!originAllowed(value, host, rule)) throw new GatewayError("origin_forbidden");
  },
};
