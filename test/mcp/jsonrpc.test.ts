import { describe, expect, test } from "vitest";
import { GatewayError } from "../../src/errors.ts";
import { findAmbiguousMember, isUnambiguous } from "../../src/mcp/json-guard.ts";
import { parseMessage } from "../../src/mcp/jsonrpc.ts";

const req = (method: string, params?: unknown, id: string | number = 1) =>
  JSON.stringify({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) });
const note = (method: string, params?: unknown) => JSON.stringify({ jsonrpc: "2.0", method, ...(params === undefined ? {} : { params }) });

function rejection(text: string): GatewayError {
  try {
    parseMessage(text);
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    return error as GatewayError;
  }
  throw new Error(`accepted: ${text}`);
}

describe("classification of every client-to-server method of MCP 2025-11-25", () => {
  // [method, params, expected primitive type, expected primitive name]
  const requests: [string, unknown, string, string][] = [
    ["initialize", { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "c", version: "1" } }, "", ""],
    ["ping", undefined, "", ""],
    ["tools/list", { cursor: "abc" }, "", ""],
    ["tools/call", { name: "get_forecast", arguments: { city: "Oslo" } }, "tool", "get_forecast"],
    ["tools/call", { name: "echo", arguments: {}, task: { ttl: 1000 } }, "tool", "echo"],
    ["resources/list", {}, "", ""],
    ["resources/templates/list", {}, "", ""],
    ["resources/read", { uri: "weather://current" }, "resource", "weather://current"],
    ["resources/subscribe", { uri: "file:///a.txt" }, "resource", "file:///a.txt"],
    ["resources/unsubscribe", { uri: "file:///a.txt" }, "resource", "file:///a.txt"],
    ["prompts/list", undefined, "", ""],
    ["prompts/get", { name: "summarise", arguments: { style: "short" } }, "prompt", "summarise"],
    [
      "completion/complete",
      { ref: { type: "ref/prompt", name: "summarise" }, argument: { name: "style", value: "s" } },
      "prompt",
      "summarise",
    ],
    [
      "completion/complete",
      { ref: { type: "ref/resource", uri: "file:///{path}" }, argument: { name: "path", value: "a" } },
      "resource",
      "file:///{path}",
    ],
    ["logging/setLevel", { level: "info" }, "", ""],
    ["tasks/get", { taskId: "t1" }, "", ""],
    ["tasks/result", { taskId: "t1" }, "", ""],
    ["tasks/list", {}, "", ""],
    ["tasks/cancel", { taskId: "t1" }, "", ""],
  ];
  test.each(requests)("request %s", (method, params, type, name) => {
    const m = parseMessage(req(method, params));
    expect(m).toMatchObject({ kind: "request", id: 1, method, primitiveType: type, primitiveName: name });
  });

  const notifications = [
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/roots/list_changed",
    "notifications/tasks/status",
  ];
  test.each(notifications)("notification %s", (method) => {
    const m = parseMessage(note(method, method === "notifications/initialized" ? undefined : { requestId: 1 }));
    expect(m).toMatchObject({ kind: "notification", id: null, method, primitiveType: "", primitiveName: "" });
  });

  test.each([
    ["sampling/createMessage result", { role: "assistant", content: { type: "text", text: "hi" }, model: "m" }],
    ["elicitation/create result", { action: "accept", content: { name: "x" } }],
    ["roots/list result", { roots: [{ uri: "file:///w" }] }],
    ["ping result", {}],
  ])("client response: %s", (_label, result) => {
    const m = parseMessage(JSON.stringify({ jsonrpc: "2.0", id: "srv-7", result }));
    expect(m).toMatchObject({ kind: "response", id: "srv-7", method: "", primitiveType: "", primitiveName: "" });
  });

  test("client error response", () => {
    const m = parseMessage(JSON.stringify({ jsonrpc: "2.0", id: 3, error: { code: -1, message: "declined" } }));
    expect(m.kind).toBe("response");
  });

  test("string ids are kept as strings", () => {
    expect(parseMessage(req("ping", undefined, "abc")).id).toBe("abc");
  });

  test("a list request's cursor is kept when it is a string (the page it asks for)", () => {
    expect(parseMessage(req("tools/list", { cursor: "page-2" })).cursor).toBe("page-2");
    expect(parseMessage(req("tools/list")).cursor).toBeUndefined();
    expect(parseMessage(req("tools/list", { cursor: 2 })).cursor).toBeUndefined();
  });
});

describe("malformed input", () => {
  test.each([
    ["not JSON", "{not json", -32700],
    ["empty body", "", -32700],
    ["truncated", '{"jsonrpc":"2.0","id":1', -32700],
  ])("%s is a parse error (-32700, 400)", (_label, text, code) => {
    const error = rejection(text);
    expect(error.code).toBe(code);
    expect(error.status).toBe(400);
  });

  test("a batch (JSON array) is refused with a clear message", () => {
    const error = rejection(`[${req("ping")},${req("tools/list", {}, 2)}]`);
    expect(error.code).toBe(-32600);
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/batch/i);
  });

  test.each([
    ["a number", "42"],
    ["a string", '"hello"'],
    ["null", "null"],
    ["wrong jsonrpc", JSON.stringify({ jsonrpc: "1.0", id: 1, method: "ping" })],
    ["no jsonrpc", JSON.stringify({ id: 1, method: "ping" })],
    ["no method, no result", JSON.stringify({ jsonrpc: "2.0", id: 1 })],
    ["empty method", JSON.stringify({ jsonrpc: "2.0", id: 1, method: "" })],
    ["method not a string", JSON.stringify({ jsonrpc: "2.0", id: 1, method: 7 })],
    ["params an array", JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: [] })],
    ["params null", JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: null })],
    ["id null", JSON.stringify({ jsonrpc: "2.0", id: null, method: "ping" })],
    ["id fractional", JSON.stringify({ jsonrpc: "2.0", id: 1.5, method: "ping" })],
    ["id an object", JSON.stringify({ jsonrpc: "2.0", id: {}, method: "ping" })],
    ["method and result", JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", result: {} })],
    ["result and error", JSON.stringify({ jsonrpc: "2.0", id: 1, result: {}, error: { code: 1, message: "x" } })],
    ["response without id", JSON.stringify({ jsonrpc: "2.0", result: {} })],
    ["error without code", JSON.stringify({ jsonrpc: "2.0", id: 1, error: { message: "x" } })],
    ["tools/call without name", req("tools/call", { arguments: {} })],
    ["tools/call with empty name", req("tools/call", { name: "" })],
    ["tools/call with numeric name", req("tools/call", { name: 5 })],
    ["prompts/get without name", req("prompts/get", {})],
    ["resources/read without uri", req("resources/read", {})],
    ["resources/subscribe without params", req("resources/subscribe")],
    ["completion without ref", req("completion/complete", { argument: { name: "a", value: "b" } })],
    ["completion with unknown ref type", req("completion/complete", { ref: { type: "ref/tool", name: "x" } })],
    ["completion ref/prompt without name", req("completion/complete", { ref: { type: "ref/prompt" } })],
    ["completion ref/resource without uri", req("completion/complete", { ref: { type: "ref/resource" } })],
    ["a member JSON-RPC does not have", JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", extra: true })],
    ["a member of a notification JSON-RPC does not have", JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized", x: 1 })],
    ["a result that is no object", JSON.stringify({ jsonrpc: "2.0", id: 1, result: 5 })],
    ["a result that is an array", JSON.stringify({ jsonrpc: "2.0", id: 1, result: [] })],
    ["an id beyond 2^53", '{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}'],
    ["an id below -(2^53)", '{"jsonrpc":"2.0","id":-9007199254740993,"method":"ping"}'],
    ["an id of 1e300", '{"jsonrpc":"2.0","id":1e300,"method":"ping"}'],
  ])("%s is an invalid request (-32600, 400)", (_label, text) => {
    const error = rejection(text);
    expect(error.code).toBe(-32600);
    expect(error.status).toBe(400);
  });

  test("an id JSON parsing may have rounded is never echoed: the error says id null", () => {
    expect(rejection('{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}').id).toBeNull();
    expect(rejection('{"jsonrpc":"2.0","id":9007199254740993,"method":"tools/call","params":{}}').id).toBeNull();
    expect(parseMessage('{"jsonrpc":"2.0","id":9007199254740991,"method":"ping"}').id).toBe(9007199254740991);
    expect(parseMessage('{"jsonrpc":"2.0","id":"9007199254740993","method":"ping"}').id).toBe("9007199254740993");
  });

  test("the error carries the request's id when it can be read", () => {
    expect(rejection(req("tools/call", {}, 42)).id).toBe(42);
    expect(rejection(JSON.stringify({ jsonrpc: "2.0", id: "x", method: "a", Method: "b" })).id).toBe("x");
  });
});

describe("messages a policy check and an upstream could read differently", () => {
  test.each([
    ["a second method", '{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"x"}}'],
    ["a second id", '{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}'],
    ["a second params", '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"},"params":{"name":"b"}}'],
    ["a second params.name", '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","name":"b"}}'],
    ["an escaped duplicate", '{"jsonrpc":"2.0","id":1,"method":"ping","\\u006dethod":"tools/call"}'],
    [
      "a duplicate deep in arguments",
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"x":{"k":1,"k":2}}}}',
    ],
    ["Method beside method", '{"jsonrpc":"2.0","id":1,"method":"tools/list","Method":"tools/call"}'],
    ["Method alone", '{"jsonrpc":"2.0","id":1,"Method":"tools/call"}'],
    ["METHOD alone", '{"jsonrpc":"2.0","id":1,"METHOD":"ping"}'],
    ["Params", '{"jsonrpc":"2.0","id":1,"method":"ping","Params":{}}'],
    ["ID", '{"jsonrpc":"2.0","ID":1,"method":"ping"}'],
    ["Name beside name", '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"safe","Name":"danger"}}'],
    ["NAME alone in params", '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"safe","NAME":"x"}}'],
    ["Uri in params", '{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"a://b","Uri":"c://d"}}'],
    ["Name in ref", '{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"a","Name":"b"}}}'],
  ])("%s is refused (-32600)", (_label, text) => {
    const error = rejection(text);
    expect(error.code).toBe(-32600);
    expect(error.status).toBe(400);
  });

  test("argument names that differ only in case stay allowed deeper down", () => {
    const text = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"ID":1,"id":2}}}';
    expect(parseMessage(text).primitiveName).toBe("a");
  });

  test("a look-alike method name is just another method, not the real one", () => {
    // Cyrillic "е" in "tools/cаll": classified as an unknown method with no primitive.
    const m = parseMessage(req("tools/c\u0430ll", { name: "x" }));
    expect(m.method).not.toBe("tools/call");
    expect(m.primitiveType).toBe("");
  });

  test("a message nested too deeply is refused", () => {
    const deep = "[".repeat(300) + "]".repeat(300);
    const text = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"x":${deep}}}}`;
    expect(rejection(text).code).toBe(-32600);
  });

  test("strings containing braces, quotes and escapes do not confuse the scan", () => {
    const text = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: 'a"}{,', arguments: { s: '{"method":"x","method":"y"}', t: '\\"' } },
    });
    expect(parseMessage(text).primitiveName).toBe('a"}{,');
  });
});

describe("the cheap ambiguity check agrees with the full scan", () => {
  const samples = [
    req("tools/call", { name: "a", arguments: { x: [1, { y: 2 }], z: '{"k":1,"k":2}' } }),
    '{"jsonrpc":"2.0","id":1,"method":"ping","method":"x"}',
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"k":1,"k":2}}}',
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","Name":"b"}}',
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"ID":1,"id":2}}}',
    '{"a":[{"b":1},{"b":2}],"c":{"d":{"e":[]}}}',
    '{"x":"\\"","y":{}}',
  ];
  test.each(samples)("%s", (text) => {
    const value = JSON.parse(text);
    const cheap = isUnambiguous(text, value);
    const full = findAmbiguousMember(text, new Set(["", "params", "params.ref"]));
    expect(cheap).toBe(full === undefined);
  });
});

describe("identifiers are classified in canonical form, or refused (-32602, 400)", () => {
  test.each([
    ["resources/read", { uri: "FILE:///public/../secret" }, "file:///secret"],
    ["resources/subscribe", { uri: "test://Static-Text" }, "test://static-text"],
    ["resources/unsubscribe", { uri: "file:///%73ecret#x" }, "file:///secret"],
    [
      "completion/complete",
      { ref: { type: "ref/resource", uri: "FILE:///{path}" }, argument: { name: "path", value: "" } },
      "file:///{path}",
    ],
    ["tools/call", { name: "Safe" }, "Safe"],
  ])("%s", (method, params, name) => {
    expect(parseMessage(req(method, params)).primitiveName).toBe(name);
  });

  test.each([
    ["tools/call", { name: "safe\n" }, '"params.name" contains a control character'],
    ["tools/call", { name: " safe" }, '"params.name" has whitespace at its start or end'],
    ["prompts/get", { name: "p\u0000" }, '"params.name" contains a control character'],
    ["resources/read", { uri: " file:///secret" }, '"params.uri" has whitespace at its start or end'],
    ["resources/read", { uri: "file:///sec\tret" }, '"params.uri" contains a control character'],
    ["resources/read", { uri: "file:///secret\n" }, '"params.uri" contains a control character'],
    ["resources/read", { uri: "secret" }, '"params.uri" is not an absolute URI (it has no scheme)'],
    ["resources/read", { uri: "http://exa mple/" }, '"params.uri" is not a URI that can be parsed'],
    ["completion/complete", { ref: { type: "ref/prompt", name: "p " } }, '"params.ref.name" has whitespace at its start or end'],
  ])("%s %j", (method, params, problem) => {
    const error = rejection(req(method, params, 3));
    expect(error).toMatchObject({ code: -32602, status: 400, reason: "invalid_params", id: 3 });
    expect(error.message).toBe(`Invalid params: ${problem}`);
  });
});
