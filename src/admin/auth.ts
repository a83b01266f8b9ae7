/**
 * Admin authentication: the Gateway API's `X-Tyk-Authorization: <gateway secret>` and the
 * Dashboard API's `Authorization: <dashboard key>`.
 *
 * Secrets are compared in constant time (Hono's `timingSafeEqual`, which compares SHA-256 digests
 * and then the values without an early exit). A missing, empty or wrong credential gets Tyk's 403,
 * the same answer whatever was wrong. With no secret configured the API is closed: every request
 * gets that 403 (fail closed).
 */
import type { MiddlewareHandler } from "hono";
import { timingSafeEqual } from "hono/utils/buffer";

/** Whether `presented` equals one of `secrets`, in time independent of where they differ. */
export async function matchesSecret(presented: string | undefined, secrets: readonly string[]): Promise<boolean> {
  if (presented === undefined || presented === "") return false;
  let found = false;
  // Compare against every secret so the time does not reveal which one (or whether any) matched.
  for (const secret of secrets) {
    if (secret !== "" && (await timingSafeEqual(presented, secret))) found = true;
  }
  return found;
}

export interface AdminAuthOptions {
  header: string;
  secrets: readonly string[];
  /** The 403 body, in the API's own error shape. */
  forbidden: () => Response;
}

export function adminAuth(options: AdminAuthOptions): MiddlewareHandler {
  const secrets = options.secrets.filter((s) => s !== "");
  return async function checkAdminSecret(c, next) {
    if (!(await matchesSecret(c.req.header(options.header), secrets))) return options.forbidden();
    return next();
  };
}
