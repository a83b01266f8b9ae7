/**
 * Policies and keys as Tyk writes them, their valibot schemas, and the reference's "Policy
 * validation for MCP" rules:
 * - MCP fields (`mcp_primitives`, `mcp_access_rights`, `json_rpc_methods`,
 *   `json_rpc_methods_access_rights`) against an API that is not an MCP proxy: refused;
 * - REST fields (`allowed_urls`, `endpoints`, `field_access_rights`) against an MCP proxy: refused;
 * - an `mcp_primitives` entry's `type` must be `tool`, `resource` or `prompt`;
 * - and every allow/block pattern must compile (RE2 syntax, bounded length).
 * The same rules apply to a key's own `access_rights`.
 */
import * as v from "valibot";
import type { ApiKind } from "../stores/layout.ts";
import { checkAccessPatterns } from "./evaluate.ts";
import type { AccessRights } from "./types.ts";

const StringList = v.array(v.string());
const AccessListSchema = v.looseObject({ allowed: v.optional(StringList), blocked: v.optional(StringList) });
const Limit = v.looseObject({
  rate: v.pipe(v.number(), v.minValue(0)),
  per: v.pipe(v.number(), v.minValue(0)),
});

export const ApiAccessSchema = v.looseObject({
  api_id: v.optional(v.string()),
  api_name: v.optional(v.string()),
  versions: v.optional(v.nullable(StringList)),
  limit: v.optional(v.nullable(v.looseObject({}))),
  json_rpc_methods_access_rights: v.optional(AccessListSchema),
  mcp_access_rights: v.optional(
    v.looseObject({
      tools: v.optional(AccessListSchema),
      resources: v.optional(AccessListSchema),
      prompts: v.optional(AccessListSchema),
    }),
  ),
  json_rpc_methods: v.optional(v.array(v.looseObject({ name: v.pipe(v.string(), v.minLength(1)), limit: Limit }))),
  mcp_primitives: v.optional(
    v.array(
      v.looseObject({
        type: v.picklist(["tool", "resource", "prompt"], 'must be "tool", "resource" or "prompt"'),
        name: v.pipe(v.string(), v.minLength(1)),
        limit: Limit,
      }),
    ),
  ),
  allowed_urls: v.optional(v.nullable(v.array(v.unknown()))),
  endpoints: v.optional(v.nullable(v.array(v.unknown()))),
  field_access_rights: v.optional(v.nullable(v.array(v.unknown()))),
});

const AccessRightsSchema = v.record(v.string(), ApiAccessSchema);

export const PolicySchema = v.looseObject({
  id: v.optional(v.string()),
  _id: v.optional(v.string()),
  name: v.optional(v.string()),
  state: v.optional(v.picklist(["active", "draft", "deny"], 'must be "active", "draft" or "deny"')),
  active: v.optional(v.boolean()),
  is_inactive: v.optional(v.boolean()),
  rate: v.optional(v.number()),
  per: v.optional(v.number()),
  quota_max: v.optional(v.number()),
  quota_renewal_rate: v.optional(v.number()),
  throttle_interval: v.optional(v.number()),
  throttle_retry_limit: v.optional(v.number()),
  max_query_depth: v.optional(v.number()),
  key_expires_in: v.optional(v.number()),
  tags: v.optional(v.nullable(StringList)),
  meta_data: v.optional(v.nullable(v.record(v.string(), v.unknown()))),
  access_rights: v.optional(v.nullable(AccessRightsSchema)),
});
export type Policy = v.InferOutput<typeof PolicySchema>;

/** A key's session, as stored (the key itself is never stored: only its hash). */
export const KeySessionSchema = v.looseObject({
  alias: v.optional(v.string()),
  expires: v.optional(v.number()),
  is_inactive: v.optional(v.boolean()),
  apply_policies: v.optional(v.nullable(StringList)),
  apply_policy_id: v.optional(v.string()),
  access_rights: v.optional(v.nullable(AccessRightsSchema)),
  rate: v.optional(v.number()),
  per: v.optional(v.number()),
  allowance: v.optional(v.number()),
  quota_max: v.optional(v.number()),
  quota_renewal_rate: v.optional(v.number()),
  org_id: v.optional(v.string()),
  meta_data: v.optional(v.nullable(v.record(v.string(), v.unknown()))),
  tags: v.optional(v.nullable(StringList)),
  /** SHA-256 fingerprint (hex) of the client certificate this key is bound to (mTLS). */
  certificate: v.optional(v.string()),
});
export type KeySession = v.InferOutput<typeof KeySessionSchema>;

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

function issues(result: v.SafeParseResult<v.GenericSchema>): string {
  return (result.issues ?? [])
    .map((issue) => {
      const path = v.getDotPath(issue);
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join("; ");
}

const MCP_FIELDS = ["mcp_primitives", "mcp_access_rights", "json_rpc_methods", "json_rpc_methods_access_rights"] as const;
const REST_FIELDS = ["allowed_urls", "endpoints", "field_access_rights"] as const;

const present = (value: unknown) => value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0);

/**
 * The MCP rules on `access_rights`.
 *
 * @param kindOf the kind of an API id (`undefined` when no such API exists)
 */
export function checkAccessRights(
  accessRights: AccessRights | null | undefined,
  kindOf: (id: string) => ApiKind | undefined,
): string | undefined {
  for (const [apiId, access] of Object.entries(accessRights ?? {})) {
    const kind = kindOf(apiId);
    const where = `access_rights["${apiId}"]`;
    if (access.api_id !== undefined && access.api_id !== apiId) {
      return `${where}.api_id "${access.api_id}" must match its key "${apiId}"`;
    }
    if (kind !== "mcp") {
      const field = MCP_FIELDS.find((f) => present(access[f]));
      if (field) return `${where}.${field} is only valid for an MCP proxy, and "${apiId}" is not one`;
    } else {
      const field = REST_FIELDS.find((f) => present(access[f]));
      if (field) return `${where}.${field} is a REST field and cannot be set on the MCP proxy "${apiId}"`;
    }
    const bad = checkAccessPatterns(access);
    if (bad) return `${where}: ${bad.message}`;
  }
  return undefined;
}

/** Parses a policy body and applies the MCP rules. */
export function checkPolicy(body: unknown, kindOf: (id: string) => ApiKind | undefined): Checked<Policy> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return { ok: false, message: "The request body must be one policy object" };
  }
  const result = v.safeParse(PolicySchema, body);
  if (!result.success) return { ok: false, message: `Invalid policy: ${issues(result)}` };
  const bad = checkAccessRights(result.output.access_rights as AccessRights | null | undefined, kindOf);
  if (bad) return { ok: false, message: `Invalid policy: ${bad}` };
  return { ok: true, value: result.output };
}

/** Parses a key session body and applies the same rules to its own access rights. */
export function checkKeySession(body: unknown, kindOf: (id: string) => ApiKind | undefined): Checked<KeySession> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return { ok: false, message: "The request body must be one key session object" };
  }
  const result = v.safeParse(KeySessionSchema, body);
  if (!result.success) return { ok: false, message: `Invalid key: ${issues(result)}` };
  const bad = checkAccessRights(result.output.access_rights as AccessRights | null | undefined, kindOf);
  if (bad) return { ok: false, message: `Invalid key: ${bad}` };
  return { ok: true, value: result.output };
}

/** The policies a key applies (`apply_policies`, or the legacy single `apply_policy_id`). */
export function appliedPolicies(session: KeySession): string[] {
  const list = session.apply_policies ?? [];
  if (list.length > 0) return list;
  return session.apply_policy_id ? [session.apply_policy_id] : [];
}

/** Whether a key has expired: `expires` is Unix seconds; 0 or negative means never. */
export function isExpired(session: KeySession, nowSeconds: number): boolean {
  return session.expires !== undefined && session.expires > 0 && session.expires <= nowSeconds;
}
