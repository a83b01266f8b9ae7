/**
 * ip: `server.ipAccessControl` (Tyk's allow and block lists of addresses and CIDR ranges): a client
 * whose address is blocked, or not on a non-empty allow list, gets 403 (-32006) before
 * authentication. Blocked is checked first. The address is the one the runtime knows the
 * connection by (Workers: `CF-Connecting-IP`), never a header the client sets; when the runtime
 * cannot tell it, an API with IP rules refuses (fail closed).
 */
import type { ClientAddress, GatewayContext, RequestState } from "../context.ts";
import type { McpDefinition } from "../definitions/schema.ts";
import { GatewayError } from "../errors.ts";
import { inRanges, type IpRange, parseIp, parseIpRange } from "../http/ip.ts";
import type { Step } from "./step.ts";

export interface IpRules {
  allow: readonly IpRange[];
  block: readonly IpRange[];
}

/** The definition's IP rules, or `undefined` when it has none (the schema has checked every entry). */
export function compileIpRules(definition: McpDefinition): IpRules | undefined {
  const rules = definition["x-tyk-api-gateway"].server.ipAccessControl;
  if (!rules?.enabled) return undefined;
  const ranges = (list: readonly string[] | undefined): IpRange[] =>
    (list ?? []).map(parseIpRange).filter((range): range is IpRange => range !== undefined);
  const compiled = { allow: ranges(rules.allow), block: ranges(rules.block) };
  return compiled.allow.length === 0 && compiled.block.length === 0 ? undefined : compiled;
}

/**
 * The client's address, asked of the runtime once per request and kept on its state (on Bun the
 * lookup is a system call).
 */
export function clientAddressOf(c: GatewayContext, state: RequestState, source: ClientAddress | undefined): string | undefined {
  if (state.clientAddress === null) state.clientAddress = source?.(c, state.headers);
  return state.clientAddress;
}

export function ip(source: ClientAddress | undefined): Step<IpRules | undefined> {
  return {
    name: "ip",
    compile: (api) => compileIpRules(api.definition),
    run(c, state, rules) {
      if (rules === undefined) return;
      const text = clientAddressOf(c, state, source);
      const address = text === undefined ? undefined : parseIp(text);
      if (address === undefined)
        throw new GatewayError("ip_blocked", "Forbidden: this API admits known client addresses only, and this one is unknown");
      if (inRanges(address, rules.block) || (rules.allow.length > 0 && !inRanges(address, rules.allow)))
        throw new GatewayError("ip_blocked");
    },
  };
}
