/**
 * The typed request context shared by the steps of the request path (Hono `c.set` / `c.get`).
 * Each step sets what it owns; later steps read it. Read with `c.get(name)`, not `c.var.name`:
 * Hono builds a fresh object for every `c.var` access, which shows on the request path.
 */
import type { Context } from "hono";
import type { McpMessage } from "./mcp/jsonrpc.ts";
import type { Visibility } from "./policy/types.ts";
import type { RouteMatch } from "./routing/route-table.ts";

export interface GatewayVariables {
  /** Set by `route`: the API serving this request and the path to forward. */
  route: RouteMatch;
  /** Set by `readMessage` on POST: the classified JSON-RPC message. */
  mcp: McpMessage | undefined;
  /** Set by `readMessage` on POST: the exact bytes to forward. */
  body: Uint8Array<ArrayBuffer> | undefined;
  /** Set by `authenticate`: who is calling, `undefined` on an open API. */
  session: Session | undefined;
  /** Set by `authenticate`: what the caller may call and see on this API. */
  visibility: Visibility;
  /** Set by `authenticate`: the origin this gateway is known by for this API (OAuth audience, PRM). */
  publicOrigin: string;
  /** Set by `authenticate`: header names (lower case) that carry credentials, never forwarded. */
  credentialHeaders: ReadonlySet<string>;
}

/** An authenticated caller. */
export interface Session {
  /** How the caller authenticated. */
  kind: "token" | "jwt" | "oauth";
  /** The key's hash, or the token's identity claim. */
  id: string;
  /** A readable name: the key's alias, or the identity. */
  alias: string;
  policies: readonly string[];
  /** OAuth/JWT scopes (empty for keys). */
  scopes: readonly string[];
}

/** The client certificate the runtime verified for this request (mTLS), if any. */
export interface ClientCertificate {
  /** Whether the runtime verified the chain. */
  verified: boolean;
  /** SHA-256 fingerprint, lower-case hex without separators. */
  fingerprintSha256: string | undefined;
}

export interface GatewayEnv {
  Variables: GatewayVariables;
  // Bindings are the entry's business (Workers env, Bun server, …); the core never reads them.
  Bindings: object | undefined;
}

export type GatewayContext = Context<GatewayEnv>;

/** Returns the client's address, as the runtime knows it (the entry supplies this). */
export type ClientAddress = (c: GatewayContext) => string | undefined;

/** Returns the client certificate the runtime verified (the entry supplies this where it can). */
export type ClientCertificateSource = (c: GatewayContext) => ClientCertificate | undefined;
