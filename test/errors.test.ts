/** The gateway's errors (src/errors.ts): a closed list of reasons, each with its JSON-RPC code and HTTP status. */
import { describe, expect, test } from "vitest";
import { answerError, ErrorCode, GatewayError, REASONS } from "../src/errors.ts";

describe("reasons", () => {
  test("every reason has a code of the error table, a 4xx or 5xx status and a message", () => {
    const codes = new Set<number>(Object.values(ErrorCode));
    for (const [reason, spec] of Object.entries(REASONS)) {
      expect(codes.has(spec.code), reason).toBe(true);
      expect(spec.status >= 400 && spec.status < 600, reason).toBe(true);
      expect(spec.message, reason).not.toBe("");
    }
  });

  test("the refusals that share -32000 each have a reason of their own", () => {
    const rejected = Object.entries(REASONS).filter(([, spec]) => spec.code === ErrorCode.Rejected);
    expect(rejected.length).toBeGreaterThanOrEqual(14);
  });

  test("a reason fixes the code and status; the message may be the caller's", () => {
    const error = new GatewayError("upstream_timeout", "Upstream MCP server did not answer within 3s");
    expect(error).toMatchObject({
      reason: "upstream_timeout",
      code: -32004,
      status: 504,
      message: "Upstream MCP server did not answer within 3s",
    });
    expect(new GatewayError("origin_forbidden").message).toBe(REASONS.origin_forbidden.message);
  });
});

describe("answerError", () => {
  test("a gateway error answers with its status, code, data.http_code and the request's id", async () => {
    const response = answerError(new GatewayError("method_not_allowed", "no", { headers: { allow: "POST" } }), 7, () => {});
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
    expect(await response.json()).toEqual({ jsonrpc: "2.0", id: 7, error: { code: -32000, message: "no", data: { http_code: 405 } } });
  });

  test("anything else is a 500 that shows nothing of it, and is logged", async () => {
    const logged: unknown[] = [];
    const response = answerError(new TypeError("secret detail"), null, (_message, detail) => logged.push(detail));
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toContain("secret detail");
    expect(JSON.parse(text)).toMatchObject({ error: { code: -32000, message: "Internal gateway error", data: { http_code: 500 } } });
    expect(logged).toHaveLength(1);
  });
});
