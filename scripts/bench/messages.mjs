// What the benchmark sends and what its upstream answers: the JSON-RPC bodies, the key-secured
// API's key, policy and allow lists, and the tools of the big `tools/list` answer. No imports, so
// the upstream (upstream.mjs) and the in-process script can share it without starting anything.

/** The JSON-RPC POST every load run sends: a `tools/call` of `echo`. */
export const CALL_BODY = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "tools/call",
  params: { name: "echo", arguments: { text: "hello from the bench" } },
});

/** A `tools/call` the upstream answers with an SSE stream of progress notifications. */
export const SSE_BODY = JSON.stringify({
  jsonrpc: "2.0",
  id: 2,
  method: "tools/call",
  params: { name: "progress", arguments: {}, _meta: { progressToken: "bench" } },
});

/** A `tools/list`: the upstream answers with LIST_TOOLS tools (default {@link LIST_TOOLS}). */
export const LIST_BODY = JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/list", params: {} });

/** Tools in the upstream's `tools/list` answer. */
export const LIST_TOOLS = 1000;

/** The first names of the `tools/list` answer; the secured API's policy allows these four tools. */
export const NAMED_TOOLS = ["echo", "progress", "search", "fetch"];

/** `count` tools, each with a title, a description and an input schema of the usual size. */
export function toolList(count) {
  return Array.from({ length: count }, (_, i) => {
    const name = NAMED_TOOLS[i] ?? `tool_${String(i).padStart(4, "0")}`;
    return {
      name,
      title: `Tool ${i}`,
      description: `${name}: takes a text and an optional limit, and answers with what it found (tool ${i} of ${count}).`,
      inputSchema: {
        type: "object",
        properties: {
          text: { type: "string", description: "What to work on" },
          limit: { type: "integer", minimum: 1, maximum: 100 },
        },
        required: ["text"],
      },
    };
  });
}

// ---------------------------------------------------------------------------------------------
// The key-secured API: an auth token in a header, a key created for a policy with allow lists.

/** The header the secured API reads its key from (the `apiKey` scheme's `name`). */
export const KEY_HEADER = "X-Api-Key";

/** The secured API's key (a custom key: 8-256 visible characters, not 64 hex digits). */
export const BENCH_KEY = "bench-key-0123456789-abcdefghij-ABCDEFGHIJ";

export const POLICY_ID = "bench-policy";

/**
 * The policy the key is created for (`id`): its rights on the API `apiId` allow these JSON-RPC methods
 * and these tools (plain names, as definitions/policies/analyst.json lists them), so the bench's
 * `tools/call` of `echo` is allowed and a `tools/list` answer is filtered down to four tools.
 */
export function benchPolicy(apiId, id = POLICY_ID) {
  return {
    id,
    name: "bench: a few methods and tools",
    state: "active",
    active: true,
    access_rights: {
      [apiId]: {
        api_id: apiId,
        api_name: apiId,
        versions: ["Default"],
        json_rpc_methods_access_rights: {
          allowed: ["initialize", "notifications/initialized", "ping", "tools/list", "tools/call"],
        },
        mcp_access_rights: { tools: { allowed: [...NAMED_TOOLS] } },
      },
    },
  };
}

/** The key's session, as `POST /tyk/keys/{key}` takes it. */
export const BENCH_KEY_SESSION = { alias: "bench", apply_policies: [POLICY_ID] };

// ---------------------------------------------------------------------------------------------
// Limits at every level (costs.mjs): where each is written, and how it refuses once used up.

/** A limit no run reaches: every level set to it lets every request of a benchmark through. */
export const NEVER_REACHED = 1_000_000_000;

const accessOf = (policy) => Object.values(policy.access_rights)[0];
const middlewareOf = (definition) => {
  const tyk = definition["x-tyk-api-gateway"];
  tyk.middleware ??= {};
  return tyk.middleware;
};
/** A definition's rate limit (Tyk's `{ enabled, rate, per }`, `per` a Tyk duration). */
const definitionRate = (rate) => ({ enabled: true, rate, per: "1h" });

/**
 * Every level a limit can be set at (README, Traffic management), each with where it is written
 * (`policy`: the consumer's policy and its access right on the API; `definition`: the API's
 * definition) and what a request over it gets. `apply(object, limit)` writes `limit` requests per
 * hour (a quota: `limit` requests per hour's period) into the policy or definition, in place. The
 * load's `tools/call` of `echo` is counted at every level.
 */
export const LIMIT_LEVELS = [
  {
    name: "consumer rate limit (policy rate/per)",
    on: "policy",
    refusal: { status: 429, code: -32003 },
    apply: (policy, limit) => Object.assign(policy, { rate: limit, per: 3600 }),
  },
  {
    name: "consumer quota (policy quota_max/quota_renewal_rate)",
    on: "policy",
    refusal: { status: 403, code: -32005 },
    apply: (policy, limit) => Object.assign(policy, { quota_max: limit, quota_renewal_rate: 3600 }),
  },
  {
    name: "JSON-RPC method tools/call (access right's json_rpc_methods)",
    on: "policy",
    refusal: { status: 429, code: -32003 },
    apply: (policy, limit) => {
      accessOf(policy).json_rpc_methods = [{ name: "tools/call", limit: { rate: limit, per: 3600 } }];
    },
  },
  {
    name: "tool echo, per consumer (access right's mcp_primitives)",
    on: "policy",
    refusal: { status: 429, code: -32003 },
    apply: (policy, limit) => {
      accessOf(policy).mcp_primitives = [{ type: "tool", name: "echo", limit: { rate: limit, per: 3600 } }];
    },
  },
  {
    name: "tool echo, every consumer (middleware.mcpTools.echo.rateLimit)",
    on: "definition",
    refusal: { status: 429, code: -32003 },
    apply: (definition, limit) => {
      middlewareOf(definition).mcpTools = { echo: { rateLimit: definitionRate(limit) } };
    },
  },
  {
    name: "MCP endpoint (middleware.operations.mcpTransportPost.rateLimit)",
    on: "definition",
    refusal: { status: 429, code: -32003 },
    apply: (definition, limit) => {
      middlewareOf(definition).operations = { mcpTransportPost: { rateLimit: definitionRate(limit) } };
    },
  },
  {
    name: "upstream (upstream.rateLimit)",
    on: "definition",
    refusal: { status: 429, code: -32003 },
    apply: (definition, limit) => {
      definition["x-tyk-api-gateway"].upstream.rateLimit = definitionRate(limit);
    },
  },
];

/**
 * `definition` and `policy` (copies) with `levels` (default: every level) set to `limit`: the
 * definition's levels in the definition, the consumer's in the policy.
 */
export function withLimits({ definition, policy }, limit, levels = LIMIT_LEVELS) {
  const out = { definition: structuredClone(definition), policy: structuredClone(policy) };
  for (const level of levels) level.apply(out[level.on], limit);
  return out;
}
