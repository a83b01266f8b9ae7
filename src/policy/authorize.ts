/**
 * authorize: after the message is read, check it against what the caller may do
 * (`c.var.visibility`): its JSON-RPC method, and the tool, resource or prompt it targets. Denied:
 * -32002 with 403, and nothing reaches the upstream. For an OAuth caller the 403 carries
 * `WWW-Authenticate: Bearer error="insufficient_scope"` (RFC 6750), so the client can ask for more.
 *
 * Requests and notifications are checked by method (a blocked notification method is refused like a
 * request); a client's response to a server request has no method and targets nothing.
 */
import type { RequestState } from "../context.ts";
import { ErrorCode, GatewayError } from "../errors.ts";
import { insufficientScope } from "../auth/authenticate.ts";

const TYPE_NAME = { tool: "tool", resource: "resource", prompt: "prompt" } as const;

/** The authorization step: throws -32002 (403) when the caller may not send this message. */
export function authorize(state: RequestState): void {
  const mcp = state.mcp;
  if (!mcp || mcp.kind === "response") return;
  const visibility = state.visibility;
  let denied: string | undefined;
  if (!visibility.canCall(mcp.method)) denied = `Access denied: method "${mcp.method}" is not allowed`;
  else if (mcp.primitiveType !== "" && !visibility.canSee(mcp.primitiveType, mcp.primitiveName)) {
    denied = `Access denied: ${TYPE_NAME[mcp.primitiveType]} "${mcp.primitiveName}" is not allowed`;
  }
  if (denied) {
    const scopes = state.match.route.auth?.prm?.scopesSupported;
    const header = insufficientScope(state, scopes?.length ? scopes.join(" ") : undefined);
    throw new GatewayError(ErrorCode.AccessDenied, 403, denied, header ? { headers: { "WWW-Authenticate": header } } : {});
  }
}
