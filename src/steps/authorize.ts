/**
 * authorize: after the message is read, check it against what the caller may do: its JSON-RPC
 * method, and the tool, resource or prompt it targets, by the API's own per-primitive allow/block
 * middleware (compiled here) and the caller's rights (`state.access`, from `authenticate`). Denied:
 * -32002 with 403, and nothing reaches the upstream. For an OAuth caller the 403 carries
 * `WWW-Authenticate: Bearer error="insufficient_scope"` (RFC 6750), so the client can ask for more.
 *
 * Requests and notifications are checked by method (a blocked notification method is refused like a
 * request); a client's response to a server request has no method and targets nothing. What the
 * caller may see is left on `state.visibility` for discovery filtering.
 */
import { resourceChallenge } from "../auth/challenge.ts";
import type { RequestState } from "../context.ts";
import type { Operation } from "../definitions/schema.ts";
import { GatewayError } from "../errors.ts";
import { canonicalKeys } from "../mcp/identifiers.ts";
import { bothVisible, definitionVisibility } from "../policy/evaluate.ts";
import type { Visibility } from "../policy/types.ts";
import type { Step } from "./step.ts";

const TYPE_NAME = { tool: "tool", resource: "resource", prompt: "prompt" } as const;

/** The `WWW-Authenticate` value for a 403 on a method or primitive, for OAuth callers (RFC 6750 §3.1). */
function insufficientScope(state: RequestState): Record<string, string> | undefined {
  const prm = state.auth?.prm;
  if (!prm || state.session?.kind !== "oauth") return undefined;
  return { "WWW-Authenticate": resourceChallenge(prm, state.publicOrigin, { error: "insufficient_scope" }) };
}

export const authorize: Step<Visibility> = {
  name: "authorize",
  compile(api) {
    const middleware = api.definition["x-tyk-api-gateway"].middleware;
    // An `internal` primitive is for the gateway's own use (Tyk: reachable only from inside): no
    // client may call or see it, so it is blocked like one with `block` on.
    const rules = (entries: Record<string, Operation> | undefined): Record<string, Operation> =>
      Object.fromEntries(
        Object.entries(entries ?? {}).map(([name, operation]) => [
          name,
          operation.internal?.enabled ? { ...operation, block: { enabled: true } } : operation,
        ]),
      );
    return definitionVisibility({
      tool: canonicalKeys("tool", rules(middleware?.mcpTools)),
      resource: canonicalKeys("resource", rules(middleware?.mcpResources)),
      prompt: canonicalKeys("prompt", rules(middleware?.mcpPrompts)),
    });
  },
  run(_c, state, rules) {
    const visibility = state.access === undefined ? rules : bothVisible(rules, state.access);
    state.visibility = visibility;
    const mcp = state.mcp;
    if (!mcp || mcp.kind === "response") return;
    let reason: "method_denied" | "primitive_denied" | undefined;
    let message = "";
    if (!visibility.canCall(mcp.method)) {
      reason = "method_denied";
      message = `Access denied: method "${mcp.method}" is not allowed`;
    } else if (mcp.primitiveType !== "" && !visibility.canSee(mcp.primitiveType, mcp.primitiveName)) {
      reason = "primitive_denied";
      message = `Access denied: ${TYPE_NAME[mcp.primitiveType]} "${mcp.primitiveName}" is not allowed`;
    }
    if (reason !== undefined) {
      const headers = insufficientScope(state);
      throw new GatewayError(reason, message, headers ? { headers } : {});
    }
  },
};
