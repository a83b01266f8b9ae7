/**
 * The typed request context shared by the steps of the request path (Hono `c.var`).
 * Each step sets what it owns; later steps read it.
 */
import type { Context } from "hono";
import type { McpMessage } from "./mcp/jsonrpc.ts";
import type { RouteMatch } from "./routing/route-table.ts";

export interface GatewayVariables {
  /** Set by `route`: the API serving this request and the path to forward. */
  route: RouteMatch;
  /** Set by `readMessage` on POST: the classified JSON-RPC message. */
  mcp: McpMessage | undefined;
  /** Set by `readMessage` on POST: the exact bytes to forward. */
  body: Uint8Array<ArrayBuffer> | undefined;
}

export interface GatewayEnv {
  Variables: GatewayVariables;
  // Bindings are the entry's business (Workers env, Bun server, …); the core never reads them.
  Bindings: object | undefined;
}

export type GatewayContext = Context<GatewayEnv>;

/** Returns the client's address, as the runtime knows it (the entry supplies this). */
export type ClientAddress = (c: GatewayContext) => string | undefined;
