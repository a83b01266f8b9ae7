/**
 * Resolving a consumer's access to one API from its policies (or, without policies, its own
 * `access_rights`). Pure. Fails closed: a policy that is missing or set to `deny` denies; a consumer
 * with no grant for this API is denied (a key with no access rights and no policies reaches
 * nothing, a deliberate difference from Tyk's legacy "no rights means every API").
 */
import { compileAccess, type CompiledAccess } from "./evaluate.ts";
import type { CompiledPolicy } from "./store.ts";
import type { AccessRights, ApiAccess } from "./types.ts";

/**
 * A key's own access rights, compiled, by the (frozen) entry they were compiled from: a key's
 * session that is read unchanged is reused frozen (`KeyRepository`'s `reuseParsed`), so its
 * patterns are compiled once, not on every request. An entry that is not frozen could change
 * after compiling and is compiled every time.
 */
const compiledOwnAccess = new WeakMap<ApiAccess, CompiledAccess>();

export type AccessDecision =
  | { ok: true; grants: CompiledAccess[] }
  | { ok: false; reason: "policy_missing" | "policy_denied" | "no_access" | "invalid_rights"; message: string };

/**
 * @param apiIds the API's id, then (for a version reached through its base) the base's id: a grant
 *   on either gives access
 */
export function resolveAccess(
  consumer: { policies: readonly string[]; ownAccess?: AccessRights | null | undefined },
  apiIds: readonly string[],
  compiled: ReadonlyMap<string, CompiledPolicy>,
): AccessDecision {
  const grants: CompiledAccess[] = [];
  if (consumer.policies.length > 0) {
    for (const id of consumer.policies) {
      const entry = compiled.get(id);
      if (!entry) return { ok: false, reason: "policy_missing", message: "A policy of this credential no longer exists" };
      const { policy } = entry;
      if (policy.state === "deny") return { ok: false, reason: "policy_denied", message: "Access denied by policy" };
      if (policy.state === "draft" || policy.active === false || policy.is_inactive === true) continue;
      const grant = apiIds.map((apiId) => entry.grants.get(apiId)).find((g) => g !== undefined);
      if (grant) grants.push(grant);
    }
  } else {
    const own = apiIds.map((apiId) => consumer.ownAccess?.[apiId]).find((a) => a !== undefined);
    if (own) {
      let compiledOwn = compiledOwnAccess.get(own);
      if (compiledOwn === undefined) {
        try {
          compiledOwn = compileAccess(own);
        } catch {
          return { ok: false, reason: "invalid_rights", message: "This credential's access rights are invalid" };
        }
        if (Object.isFrozen(own)) compiledOwnAccess.set(own, compiledOwn);
      }
      grants.push(compiledOwn);
    }
  }
  if (grants.length === 0) return { ok: false, reason: "no_access", message: "Access to this API has been disallowed" };
  return { ok: true, grants };
}
