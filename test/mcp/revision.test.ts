/** Which MCP revision a request is read in, and the 2026-07-28 mirrored headers (src/mcp/revision.ts, param-headers.ts). */
import { describe, expect, test } from "vitest";
import { answerError, GatewayError, wireCode } from "../../src/errors.ts";
import { filterResult, notificationVisible } from "../../src/mcp/discovery.ts";
import { parseMessage } from "../../src/mcp/jsonrpc.ts";
import { mirroredArguments, ToolHeaders } from "../../src/mcp/param-headers.ts";
import { checkMirroredHeaders, decideRevision, decodeHeaderValue, headerRevision } from "../../src/mcp/revision.ts";
import { definitionVisibility } from "../../src/policy/evaluate.ts";

const META = '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}';
const modern = (method: string, params = "") =>
  parseMessage(`{"jsonrpc":"2.0","id":1,"method":"${method}","params":{${params}${params ? "," : ""}${META}}}`, true);
const legacy = (text: string) => parseMessage(text);

function refusal(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error("no refusal");
}

describe("decideRevision", () => {
  test("no declaration at all is 2025-11-25", () => {
    expect(decideRevision(undefined, legacy('{"jsonrpc":"2.0","id":1,"method":"tools/list"}'))).toBe("2025-11-25");
  });

  test("the header, the body's _meta and initialize's version each decide, and must agree", () => {
    expect(decideRevision("2026-07-28", modern("tools/list"))).toBe("2026-07-28");
    expect(decideRevision(undefined, modern("tools/list"))).toBe("2026-07-28");
    expect(decideRevision("2025-11-25", legacy('{"jsonrpc":"2.0","id":1,"method":"tools/list"}'))).toBe("2025-11-25");
    const init = legacy('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}');
    expect(decideRevision(undefined, init)).toBe("2025-11-25");
    expect(refusal(() => decideRevision("2025-11-25", modern("tools/list")))).toMatchObject({
      reason: "header_mismatch",
      code: -32020,
      status: 400,
    });
    expect(refusal(() => decideRevision("2025-11-25", init)).reason).toBe("header_mismatch");
    expect(refusal(() => decideRevision("2026-07-28, 2026-07-28", modern("tools/list"))).reason).toBe("header_mismatch");
  });

  test("a version the gateway does not serve: -32022 naming the versions of the request's era", () => {
    const error = refusal(() => decideRevision("2099-01-01", legacy('{"jsonrpc":"2.0","id":1,"method":"tools/list"}')));
    expect(error).toMatchObject({ code: -32022, status: 400, data: { supported: ["2026-07-28"], requested: "2099-01-01" } });
    const init = legacy('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-01-01"}}');
    expect(refusal(() => decideRevision(undefined, init)).data).toMatchObject({
      supported: ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"],
    });
  });

  test("the header alone decides before the body is read", () => {
    expect(headerRevision("2026-07-28")).toBe("2026-07-28");
    expect(headerRevision(undefined)).toBe("2025-11-25");
    expect(headerRevision("2025-06-18")).toBe("2025-11-25");
  });
});

describe("checkMirroredHeaders", () => {
  const base = { "mcp-protocol-version": "2026-07-28" };
  test("Mcp-Method on every request, Mcp-Name on the named methods, compared exactly", () => {
    const call = modern("tools/call", '"name":"echo"');
    expect(() => checkMirroredHeaders({ ...base, "mcp-method": "tools/call", "mcp-name": "echo" }, call)).not.toThrow();
    expect(refusal(() => checkMirroredHeaders({ ...base, "mcp-name": "echo" }, call)).message).toMatch(/Mcp-Method header is required/);
    expect(refusal(() => checkMirroredHeaders({ ...base, "mcp-method": "tools/call" }, call)).message).toMatch(
      /Mcp-Name header is required/,
    );
    expect(refusal(() => checkMirroredHeaders({ ...base, "mcp-method": "tools/call", "mcp-name": "Echo" }, call)).code).toBe(-32020);
    expect(refusal(() => checkMirroredHeaders({ "mcp-method": "tools/call", "mcp-name": "echo" }, call)).message).toMatch(
      /MCP-Protocol-Version/,
    );
    // The URI as the body writes it, not its canonical form.
    const read = modern("resources/read", '"uri":"FILE:///a"');
    expect(() => checkMirroredHeaders({ ...base, "mcp-method": "resources/read", "mcp-name": "FILE:///a" }, read)).not.toThrow();
    expect(refusal(() => checkMirroredHeaders({ ...base, "mcp-method": "resources/read", "mcp-name": "file:///a" }, read)).code).toBe(
      -32020,
    );
  });

  test("Base64 sentinel values are decoded; bad Base64 and characters a value may not carry are refused", () => {
    expect(decodeHeaderValue("Mcp-Name", "=?base64?SGVsbG8sIOS4lueVjA==?=")).toBe("Hello, 世界");
    expect(decodeHeaderValue("Mcp-Name", "plain")).toBe("plain");
    expect(refusal(() => decodeHeaderValue("Mcp-Name", "=?base64?***?=")).code).toBe(-32020);
    expect(refusal(() => decodeHeaderValue("Mcp-Name", "=?base64?/w==?=")).code).toBe(-32020); // not UTF-8
    expect(refusal(() => decodeHeaderValue("Mcp-Name", "caf\u00e9")).code).toBe(-32020);
  });
});

describe("x-mcp-header arguments", () => {
  const schema = {
    type: "object",
    properties: {
      region: { type: "string", "x-mcp-header": "Region" },
      nested: { type: "object", properties: { n: { type: "integer", "x-mcp-header": "N" } } },
    },
  };
  const mismatch = (message: string) => new GatewayError("header_mismatch", message);

  test("only annotations the specification allows are learnt", () => {
    expect(mirroredArguments(schema)?.map((m) => m.header)).toEqual(["mcp-param-region", "mcp-param-n"]);
    expect(mirroredArguments({ properties: { a: { type: "number", "x-mcp-header": "A" } } })).toBeUndefined();
    expect(mirroredArguments({ properties: { a: { type: "string", "x-mcp-header": "A b" } } })).toBeUndefined();
    expect(
      mirroredArguments({ properties: { a: { type: "string", "x-mcp-header": "X" }, b: { type: "string", "x-mcp-header": "x" } } }),
    ).toBeUndefined();
  });

  test("a learnt tool's headers must mirror its arguments; an unknown tool is not checked", () => {
    const tools = new ToolHeaders();
    tools.learn({ tools: [{ name: "t", inputSchema: schema }] });
    const check = (headers: Record<string, string>, args: unknown, tool = "t") =>
      tools.check(headers, tool, args, decodeHeaderValue, mismatch);
    expect(() => check({ "mcp-param-region": "eu", "mcp-param-n": "4" }, { region: "eu", nested: { n: 4 } })).not.toThrow();
    expect(() => check({}, { region: null })).not.toThrow();
    expect(() => check({ "mcp-param-region": "=?base64?WsO8cmljaA==?=" }, { region: "Zürich" })).not.toThrow();
    expect(() => check({ "mcp-param-region": "eu" }, {})).toThrow(/sent but/);
    expect(() => check({}, { region: "eu" })).toThrow(/required/);
    expect(() => check({ "mcp-param-n": "5" }, { nested: { n: 4 } })).toThrow(/does not match/);
    expect(() => check({}, { region: "eu" }, "other")).not.toThrow();
    tools.learn({ tools: [{ name: "t", inputSchema: { type: "object" } }] });
    expect(tools.size).toBe(0);
  });
});

describe("discovery on 2026-07-28", () => {
  const visibility = definitionVisibility({
    tool: new Map([["secret", { block: { enabled: true } }]]),
    resource: new Map(),
    prompt: new Map(),
  } as never);

  test("a filtered list goes out cacheScope private; server/discover's capabilities are trimmed like initialize's", () => {
    const list = filterResult(
      "tools/list",
      { tools: [{ name: "a" }, { name: "secret" }], ttlMs: 5, cacheScope: "public" },
      visibility,
      true,
    );
    expect(list).toEqual({ tools: [{ name: "a" }], ttlMs: 5, cacheScope: "private" });
    expect(filterResult("tools/list", { tools: [], cacheScope: "public" }, visibility, false)).toMatchObject({ cacheScope: "public" });
    const none = definitionVisibility({ tool: new Map(), resource: new Map(), prompt: new Map() } as never);
    expect(filterResult("server/discover", { supportedVersions: ["2026-07-28"], capabilities: { tools: {} } }, none)).toMatchObject({
      capabilities: { tools: {} },
    });
  });

  test("a listen stream keeps the notifications of what the consumer may see", () => {
    const hidden = definitionVisibility({
      tool: new Map(),
      resource: new Map([["test://hidden", { block: { enabled: true } }]]),
      prompt: new Map(),
    } as never);
    expect(notificationVisible({ method: "notifications/resources/updated", params: { uri: "test://hidden" } }, hidden)).toBe(false);
    expect(notificationVisible({ method: "notifications/resources/updated", params: { uri: "test://seen" } }, hidden)).toBe(true);
    expect(notificationVisible({ method: "notifications/tools/list_changed" }, hidden)).toBe(true);
    expect(notificationVisible({ method: "notifications/subscriptions/acknowledged" }, hidden)).toBe(true);
  });
});

describe("error codes per revision", () => {
  test("2026-07-28 moves the gateway's own codes to -33000..-33006; -32020, -32022 and JSON-RPC codes stay", async () => {
    const expected: [ConstructorParameters<typeof GatewayError>[0], number, number][] = [
      ["no_route", -32000, -33000],
      ["credential_missing", -32001, -33001],
      ["primitive_denied", -32002, -33002],
      ["quota_exceeded", -32005, -33003],
      ["rate_limited", -32003, -33004],
      ["ip_blocked", -32006, -33005],
      ["upstream_timeout", -32004, -33006],
      ["header_mismatch", -32020, -32020],
      ["unsupported_protocol_version", -32022, -32022],
      ["parse_error", -32700, -32700],
      ["invalid_request", -32600, -32600],
      ["invalid_params", -32602, -32602],
    ];
    for (const [reason, legacyCode, modernCode] of expected) {
      const error = new GatewayError(reason);
      expect([wireCode(error), wireCode(error, "2026-07-28")], reason).toEqual([legacyCode, modernCode]);
    }
    const answer = answerError(new GatewayError("rate_limited"), 3, () => {}, "2026-07-28");
    expect(await answer.json()).toMatchObject({ id: 3, error: { code: -33004, data: { http_code: 429 } } });
  });
});
