/**
 * Consumers' entitlements, in Tyk's shapes: the `access_rights` entry of a key or a policy, with the
 * MCP fields of the reference (`json_rpc_methods_access_rights`, `mcp_access_rights`,
 * `json_rpc_methods`, `mcp_primitives`), and what the request path needs from them.
 */
import type { PrimitiveType } from "../mcp/jsonrpc.ts";

/** An allow/block list of Go-syntax (RE2) patterns, each matching a whole name. */
export interface AccessList {
  allowed?: string[];
  blocked?: string[];
}

export interface RateLimitSpec {
  rate: number;
  /** Window in seconds. */
  per: number;
}

/** One entry of `access_rights`, keyed by API id. */
export interface ApiAccess {
  api_id: string;
  api_name?: string;
  versions?: string[];
  limit?: {
    rate?: number;
    per?: number;
    quota_max?: number;
    quota_renewal_rate?: number;
    [field: string]: unknown;
  } | null;
  json_rpc_methods_access_rights?: AccessList;
  mcp_access_rights?: { tools?: AccessList; resources?: AccessList; prompts?: AccessList };
  json_rpc_methods?: { name: string; limit: RateLimitSpec }[];
  mcp_primitives?: { type: PrimitiveType; name: string; limit: RateLimitSpec }[];
  /** REST-only fields: refused on MCP proxies. */
  allowed_urls?: unknown[];
  endpoints?: unknown[];
  field_access_rights?: unknown[];
  [field: string]: unknown;
}

export type AccessRights = Record<string, ApiAccess>;

/**
 * What a consumer may see and call on one API, answering the two questions the request path asks.
 * Built by `src/policy/evaluate.ts` from merged access rights and the definition's own
 * per-primitive allow/block middleware.
 */
export interface Visibility {
  /** Set when nothing is restricted, so results need no filtering. */
  readonly unrestricted?: boolean;
  /** May the consumer send this JSON-RPC method? */
  canCall(method: string): boolean;
  /** May the consumer see (in a list) and use this primitive? Resources by URI, templates by URI template. */
  canSee(type: PrimitiveType, name: string): boolean;
  /**
   * The compiled rules this visibility is a pure function of, each kept (same object) for as long
   * as it holds: a route's rules, a policy's grant. Two visibilities with the same basis decide
   * alike, so what one filtered may be reused for the other. Absent: nothing is reused.
   */
  readonly basis?: readonly object[] | undefined;
}

/** Everyone may do everything: the visibility of an open API with no primitive restrictions. */
export const OPEN_VISIBILITY: Visibility = { unrestricted: true, canCall: () => true, canSee: () => true };
