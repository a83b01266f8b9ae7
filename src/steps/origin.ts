/**
 * origin: a request whose `Origin` is present and may not call the API gets 403 before anything
 * else is read (MCP Streamable HTTP: servers must validate Origin, against DNS rebinding). A request
 * without `Origin` (not from a browser) passes. The rule is `http/origins.ts`'s: the API's own list
 * of origins, or else the origins this gateway is known by, never the client-chosen Host.
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

/** What the origin step holds of one API. */
export interface OriginPart {
  /** The API's own list, `undefined` for the default rule. */
  rule: OriginRule | undefined;
  /** The origins this gateway is known by for this API: `GATEWAY_PUBLIC_ORIGINS` and its custom domain. */
  trusted: ReadonlySet<string>;
}

/** @param publicOrigins `GATEWAY_PUBLIC_ORIGINS` */
export function origin(publicOrigins: readonly string[] = []): Step<OriginPart> {
  return {
    name: "origin",
    compile(api, route) {
      const trusted = new Set(publicOrigins);
      if (route.customDomain !== undefined) {
        trusted.add(`https://${route.customDomain}`);
        trusted.add(`http://${route.customDomain}`);
      }
      return { rule: compileOrigins(api.definition), trusted };
    },
    run(c, state, part) {
      const value = state.headers.origin;
      if (value === undefined) return;
      const host = state.headers.host ?? new URL(c.req.url).host;
      if (!originAllowed(value, host, part.rule, part.trusted)) throw new GatewayError("origin_forbidden");
    },
  };
}
