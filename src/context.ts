/**
 * The typed request context shared by the steps of the request path: one {@link RequestState}
 * per request, made before the first step and stored once as `c.get("state")`; each step sets what
 * it owns on it and later steps read it. (One object rather than a Hono variable per field: every
 * `c.set` is a Map write, and the request path is measured in microseconds. Read it with
 * `c.get("state")`, not `c.var.state`: Hono builds a fresh object for every `c.var` access.)
 */
import type { Context } from "hono";
import type { AuthConfig } from "./auth/config.ts";
import type { GatewayError } from "./errors.ts";
import type { HeaderRecord } from "./http/headers.ts";
import type { McpMessage } from "./mcp/jsonrpc.ts";
import type { Revision } from "./mcp/revision.ts";
import type { TraceContext } from "./observe/trace-context.ts";
import { type ConsumerLimits, NO_LIMITS } from "./policy/limits.ts";
import type { Visibility } from "./policy/types.ts";
import type { RouteMatch } from "./routing/route-table.ts";

/** What the steps of the request path learn about one request: one object, set once per request. */
export class RequestState {
  /** The request's method, read once (on workerd each read builds a new string). */
  readonly method: string;
  /** The client's headers, read once (`readHeaders`); the steps look them up here. */
  readonly headers: HeaderRecord;

  /** Set by `path`: the request path in its canonical form (`http/path.ts`). */
  path = "";
  /**
   * Set by `route`: the API serving this request and the path to forward. Steps before `route`
   * must not read it.
   */
  match!: RouteMatch;
  /**
   * Set once the Origin check has passed, where the API enables CORS: the request's `Origin`, which
   * every answer (errors included) is labelled for. `undefined`: no CORS labels.
   */
  corsOrigin: string | undefined = undefined;
  /** The client's address as the runtime knows it, once asked (`steps/ip.ts`); `null`: not asked yet. */
  clientAddress: string | undefined | null = null;
  /** Set by `authenticate`: the API's authentication, `undefined` on an open API. */
  auth: AuthConfig | undefined = undefined;
  /** Set by `authenticate`: who is calling, `undefined` on an open API. */
  session: Session | undefined = undefined;
  /** Set by `authenticate`: what the caller's own rights let it call and see, `undefined` on an open API. */
  access: Visibility | undefined = undefined;
  /** Set by `authenticate`: the caller's own limits on this API (policies merged), none on an open API. */
  limits: ConsumerLimits = NO_LIMITS;
  /** Set by `authenticate` with PRM: the origin this gateway is known by for this API (OAuth audience). */
  publicOrigin = "";
  /** Set by `authenticate`: header names (lower case) that carry credentials, never forwarded. */
  credentialHeaders: ReadonlySet<string> = NO_HEADERS;
  /** Set by `read` on an MCP POST: the classified JSON-RPC message. */
  mcp: McpMessage | undefined = undefined;
  /** Set by `read` on an MCP POST: the exact bytes to forward. */
  body: Uint8Array<ArrayBuffer> | undefined = undefined;
  /**
   * Set by `read` on an MCP POST: the MCP revision the message is read in (`mcp/revision.ts`), which
   * decides the codes of the gateway's own errors. `undefined` before (or without) a body: the
   * `MCP-Protocol-Version` header alone decides then.
   */
  revision: Revision | undefined = undefined;
  /** Set by `read` on a 2026-07-28 `tools/list`: where the API learns its tools' `x-mcp-header` arguments, page by page. */
  toolHeaders: { learn(result: Record<string, unknown>): void } | undefined = undefined;
  /** Set by `authorize`: what this caller may call and see (the API's rules and the caller's rights). */
  visibility: Visibility | undefined = undefined;
  /** Set by `forward` once it sends the request upstream. */
  forwarded = false;
  /** The answer, set by the step that makes it (`forward`, or one that answers early). */
  response: Response | undefined = undefined;
  /** The index of the step running, or of the last that ran (the request path's runner keeps it). */
  step = 0;
  /** Set by the runner: the gateway's own error this request was answered with, if any (for `record`). */
  error: GatewayError | undefined = undefined;
  /** Set by `record`: when the request arrived (`performance.now()`). */
  startedAt = 0;
  /** Set by `forward`: when the upstream request went out, and when its head came back (`performance.now()`; 0: not yet). */
  upstreamStart = 0;
  upstreamHead = 0;
  /** Set by `forward`: the upstream answered with an SSE stream (read from its head once, there). */
  upstreamSse = false;
  /** Set by `forward` when tracing is on: the trace this request continues or starts. */
  trace: TraceContext | undefined = undefined;
  /** Set by `record` when a request's steps are traced one by one: each step's name and start (`performance.now()`), filled in by the runner. */
  marks: { name: string; at: number }[] | undefined = undefined;

  constructor(method: string, headers: HeaderRecord) {
    this.method = method;
    this.headers = headers;
  }
}

const NO_HEADERS: ReadonlySet<string> = new Set();

export interface GatewayVariables {
  /** Made before the first step, filled in by the steps (`c.get("state")`). */
  state: RequestState;
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

/**
 * Returns the client's address, as the runtime knows it (the entry supplies this): from the
 * runtime's connection, or from a header the platform sets (`headers`, the request's own).
 */
export type ClientAddress = (c: GatewayContext, headers: HeaderRecord) => string | undefined;

/** Returns the client certificate the runtime verified (the entry supplies this where it can). */
export type ClientCertificateSource = (c: GatewayContext) => ClientCertificate | undefined;

/**
 * Hands work off the response path (the entry supplies this): `waitUntil` on Workers; tracked
 * promises on Bun and Deno, drained on shutdown (`background.ts`). The task must not reject: it is
 * the caller's to catch what it cares about.
 */
export type WaitUntil = (c: GatewayContext, task: Promise<unknown>) => void;
