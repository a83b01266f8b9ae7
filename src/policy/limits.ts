/**
 * A consumer's limits on one API, from its policies (or a key's own fields), merged as Tyk merges
 * them. Pure.
 *
 * - The rate limit (`rate` requests per `per` seconds) and the quota (`quota_max` per
 *   `quota_renewal_rate` seconds) come from the grant's own `limit` (an access right's per-API
 *   limit) when it sets one; they are then counted for this API alone. Else from the policy's (or
 *   key's) top-level fields, counted for the consumer across every API they grant.
 * - Throttling (`throttle_interval` seconds, `throttle_retry_limit` retries) the same way.
 * - `json_rpc_methods` and `mcp_primitives` give a limit per method and per named primitive.
 * - Several policies granting the API: the least restrictive wins, field by field (no limit beats
 *   any limit; else the higher rate per second, the larger quota, the more retries). A method or
 *   primitive named by several policies takes its least restrictive limit; one named by a single
 *   policy keeps that policy's limit.
 * - A rate or `per` of zero or less means no rate limit; a `quota_max` of zero or less means no
 *   quota (Tyk writes unlimited as -1).
 */
import { canonicalIdentifier } from "../mcp/identifiers.ts";
import type { PrimitiveType } from "../mcp/jsonrpc.ts";
import type { CompiledPolicy } from "./store.ts";
import type { ApiAccess } from "./types.ts";

/** `rate` requests per `perMs`, counted under `id` in the consumer's shard. */
export interface RateLimit {
  id: string;
  rate: number;
  perMs: number;
}

export interface QuotaLimit {
  id: string;
  max: number;
  renewalMs: number;
}

export interface ThrottleLimit {
  intervalMs: number;
  retries: number;
}

export interface ConsumerLimits {
  rate: RateLimit | undefined;
  quota: QuotaLimit | undefined;
  throttle: ThrottleLimit | undefined;
  /** By JSON-RPC method. */
  methods: ReadonlyMap<string, RateLimit>;
  /** By primitive type, then canonical name. */
  primitives: Readonly<Record<PrimitiveType, ReadonlyMap<string, RateLimit>>>;
}

/** The limit fields of a policy or of a key's session (Tyk's names). */
export interface LimitFields {
  rate?: number | undefined;
  per?: number | undefined;
  quota_max?: number | undefined;
  quota_renewal_rate?: number | undefined;
  throttle_interval?: number | undefined;
  throttle_retry_limit?: number | undefined;
}

/** No limit at all: what an open API's caller, or a consumer without limits, has. */
export const NO_LIMITS: ConsumerLimits = {
  rate: undefined,
  quota: undefined,
  throttle: undefined,
  methods: new Map(),
  primitives: { tool: new Map(), resource: new Map(), prompt: new Map() },
};

const positive = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value) && value > 0;

function rateOf(id: string, fields: LimitFields): RateLimit | undefined {
  return positive(fields.rate) && positive(fields.per) ? { id, rate: fields.rate, perMs: fields.per * 1000 } : undefined;
}

function quotaOf(id: string, fields: LimitFields): QuotaLimit | undefined {
  if (!positive(fields.quota_max)) return undefined;
  // A quota without a renewal period never renews (Tyk: a lifetime quota).
  const renewal = positive(fields.quota_renewal_rate) ? fields.quota_renewal_rate * 1000 : Number.MAX_SAFE_INTEGER / 2;
  return { id, max: fields.quota_max, renewalMs: renewal };
}

function throttleOf(fields: LimitFields): ThrottleLimit | undefined {
  return positive(fields.throttle_interval) && positive(fields.throttle_retry_limit)
    ? { intervalMs: fields.throttle_interval * 1000, retries: Math.floor(fields.throttle_retry_limit) }
    : undefined;
}

/** Whether a grant's own `limit` sets anything: it then replaces the top-level fields for this API. */
function hasOwnLimit(limit: ApiAccess["limit"]): boolean {
  if (!limit) return false;
  const fields = limit as LimitFields;
  return positive(fields.rate) || positive(fields.quota_max) || positive(fields.throttle_interval);
}

/**
 * One grant's limits on `apiId`: from its `limit` when it sets one, else from `fields` (the
 * policy's or the key's top level).
 */
export function grantLimits(apiId: string, access: ApiAccess | undefined, fields: LimitFields): ConsumerLimits {
  const perApi = hasOwnLimit(access?.limit);
  const source: LimitFields = perApi ? (access!.limit as LimitFields) : fields;
  const scope = perApi ? `:${apiId}` : "";
  const methods = new Map<string, RateLimit>();
  for (const entry of access?.json_rpc_methods ?? []) {
    const limit = rateOf(`method:${apiId}:${entry.name}`, entry.limit);
    if (limit) methods.set(entry.name, least(methods.get(entry.name), limit)!);
  }
  const primitives = { tool: new Map<string, RateLimit>(), resource: new Map<string, RateLimit>(), prompt: new Map<string, RateLimit>() };
  for (const entry of access?.mcp_primitives ?? []) {
    const canonical = canonicalIdentifier(entry.type, entry.name);
    const name = canonical.ok ? canonical.value : entry.name;
    const limit = rateOf(`${entry.type}:${apiId}:${name}`, entry.limit);
    if (limit) primitives[entry.type].set(name, least(primitives[entry.type].get(name), limit)!);
  }
  return {
    rate: rateOf(`rate${scope}`, source),
    quota: quotaOf(`quota${scope}`, source),
    throttle: throttleOf(source),
    methods,
    primitives,
  };
}

/** The less restrictive of two rate limits (`undefined`: no limit, which is least restrictive of all). */
function least(a: RateLimit | undefined, b: RateLimit | undefined): RateLimit | undefined {
  if (a === undefined || b === undefined) return a === undefined ? b : a;
  return b.rate / b.perMs > a.rate / a.perMs ? b : a;
}

function mergeMaps(maps: readonly ReadonlyMap<string, RateLimit>[]): Map<string, RateLimit> {
  const out = new Map<string, RateLimit>();
  for (const map of maps) for (const [name, limit] of map) out.set(name, least(out.get(name), limit)!);
  return out;
}

/**
 * Several grants' limits merged, the least restrictive winning: a field one grant leaves without a
 * limit has none.
 */
export function mergeLimits(all: readonly ConsumerLimits[]): ConsumerLimits {
  if (all.length === 1) return all[0]!;
  if (all.length === 0) return NO_LIMITS;
  const every = <T>(pick: (limits: ConsumerLimits) => T | undefined) => {
    const values = all.map(pick);
    return values.includes(undefined) ? undefined : (values as T[]);
  };
  const rates = every((l) => l.rate);
  const quotas = every((l) => l.quota);
  const throttles = all.map((l) => l.throttle).filter((t): t is ThrottleLimit => t !== undefined);
  return {
    rate: rates ? rates.reduce((a, b) => least(a, b)!) : undefined,
    quota: quotas ? quotas.reduce((a, b) => (b.max > a.max ? b : a)) : undefined,
    throttle: throttles.length ? throttles.reduce((a, b) => (b.retries > a.retries ? b : a)) : undefined,
    methods: mergeMaps(all.map((l) => l.methods)),
    primitives: {
      tool: mergeMaps(all.map((l) => l.primitives.tool)),
      resource: mergeMaps(all.map((l) => l.primitives.resource)),
      prompt: mergeMaps(all.map((l) => l.primitives.prompt)),
    },
  };
}

/** One policy's limits on one API, compiled once per compiled policy. */
const policyLimits = new WeakMap<CompiledPolicy, Map<string, ConsumerLimits>>();
/** Several policies' merged limits, by the policy list and API, per set of compiled policies. */
const mergedLimits = new WeakMap<ReadonlyMap<string, CompiledPolicy>, Map<string, ConsumerLimits>>();
/** A key's own limits, by the (frozen, reused) access entry they come from. */
const ownLimits = new WeakMap<object, ConsumerLimits>();

function limitsOfPolicy(entry: CompiledPolicy, apiId: string): ConsumerLimits {
  let byApi = policyLimits.get(entry);
  if (!byApi) {
    byApi = new Map();
    policyLimits.set(entry, byApi);
  }
  let limits = byApi.get(apiId);
  if (!limits) {
    limits = grantLimits(apiId, entry.policy.access_rights?.[apiId] as ApiAccess | undefined, entry.policy);
    byApi.set(apiId, limits);
  }
  return limits;
}

/**
 * A consumer's limits on an API, as `resolveAccess` found its access: from the active policies
 * that grant the API (or a version's base), merged; or, without policies, from a key's own fields
 * and access right. Compiled once per policy set and API.
 *
 * @param own a key's own limit fields and access rights (ignored when it has policies)
 */
export function consumerLimits(
  policyIds: readonly string[],
  own: { fields: LimitFields | undefined; access: Readonly<Record<string, ApiAccess>> | null | undefined },
  apiIds: readonly string[],
  compiled: ReadonlyMap<string, CompiledPolicy>,
): ConsumerLimits {
  if (policyIds.length === 0) {
    const apiId = apiIds.find((id) => own.access?.[id] !== undefined);
    if (apiId === undefined) return NO_LIMITS;
    const access = own.access![apiId]!;
    const known = ownLimits.get(access);
    if (known) return known;
    const limits = grantLimits(apiId, access, own.fields ?? {});
    if (Object.isFrozen(access)) ownLimits.set(access, limits);
    return limits;
  }
  const cacheKey = `${policyIds.join("\n")}\n${apiIds.join("\n")}`;
  let cache = mergedLimits.get(compiled);
  if (!cache) {
    cache = new Map();
    mergedLimits.set(compiled, cache);
  }
  const known = cache.get(cacheKey);
  if (known) return known;
  const all: ConsumerLimits[] = [];
  for (const id of policyIds) {
    const entry = compiled.get(id);
    if (!entry) continue;
    const { policy } = entry;
    if (policy.state === "deny" || policy.state === "draft" || policy.active === false || policy.is_inactive === true) continue;
    const apiId = apiIds.find((candidate) => entry.grants.has(candidate));
    if (apiId !== undefined) all.push(limitsOfPolicy(entry, apiId));
  }
  const limits = mergeLimits(all);
  if (cache.size >= 1024) cache.clear();
  cache.set(cacheKey, limits);
  return limits;
}
