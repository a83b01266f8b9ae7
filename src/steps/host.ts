/**
 * host: the request's `Host` must name this gateway, before anything else is read (DNS rebinding:
 * a page on an attacker's domain that resolves to this gateway reaches it with its own domain as
 * `Host`). Any other host gets 403.
 *
 * Trusted: the loopback names `localhost`, `127.0.0.1` and `[::1]` (any port; every local start
 * serves on a loopback address, and the MCP SDKs allow exactly these for local servers), the hosts
 * of `GATEWAY_PUBLIC_ORIGINS`, `ADMIN_HOST`, and the `server.customDomain` of any definition. A
 * deployed gateway is reached by its public names, so a deploy lists them in
 * `GATEWAY_PUBLIC_ORIGINS` (or gives its APIs custom domains). Host names are compared without
 * their ports.
 */
import { GatewayError } from "../errors.ts";
import { hostName, LOOPBACK_HOSTS } from "../http/origins.ts";
import type { RouteRegistry } from "../routing/registry.ts";
import type { RouteTable } from "../routing/route-table.ts";
import type { Step } from "./step.ts";

export interface HostOptions {
  /** `GATEWAY_PUBLIC_ORIGINS`: the origins clients reach the gateway by. */
  publicOrigins: readonly string[];
  /** `ADMIN_HOST`: the admin APIs' own host name. */
  adminHost: string | undefined;
  /** The routing table, for the definitions' custom domains. */
  registry: RouteRegistry;
}

/** The host names this gateway answers to whatever its definitions say. */
export function trustedHostNames(publicOrigins: readonly string[], adminHost: string | undefined): ReadonlySet<string> {
  const names = new Set(LOOPBACK_HOSTS);
  for (const origin of publicOrigins) names.add(new URL(origin).hostname);
  if (adminHost !== undefined) names.add(adminHost);
  return names;
}

function refuse(name: string): GatewayError {
  return new GatewayError("host_forbidden", `Forbidden: this gateway does not serve the host "${name}"`);
}

export function host(options: HostOptions): Step {
  const trusted = trustedHostNames(options.publicOrigins, options.adminHost);
  const registry = options.registry;
  const byDomain = (table: RouteTable, name: string) => {
    if (!table.customDomains.has(name)) throw refuse(name);
  };
  return {
    name: "host",
    run(c, state) {
      const name = hostName(state.headers.host ?? new URL(c.req.url).host);
      if (trusted.has(name)) return;
      // Only a host that is none of the above waits for the definitions (their custom domains).
      const table = registry.current();
      if (table) return byDomain(table, name);
      return registry.table().then((fresh) => byDomain(fresh, name));
    },
  };
}
