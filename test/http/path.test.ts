/**
 * normalisePath (src/http/path.ts): the one canonical form of a request path, the same whatever
 * the runtime handed over (Bun and workerd resolve dot segments themselves; Deno does not).
 */
import { describe, expect, test } from "vitest";
import { normalisePath, pathOfUrl } from "../../src/http/path.ts";

const canonical = (raw: string) => {
  const result = normalisePath(raw);
  return result.ok ? result.path : `refused: ${result.problem}`;
};

describe("a path that is already canonical", () => {
  test.each(["/", "/everything/mcp", "/everything/", "/a/b%20c", "/a/%C3%A9", "/a/b;c=d", "/a/:b@c"])("%s comes back as it is", (path) => {
    expect(canonical(path)).toBe(path);
  });
});

describe("dot segments are resolved, raw or percent-encoded (as WHATWG parsers resolve them)", () => {
  test.each([
    ["/a/../b", "/b"],
    ["/a/./b", "/a/b"],
    ["/a/b/..", "/a/"],
    ["/a/b/.", "/a/b/"],
    ["/../b", "/b"],
    ["/a/%2e%2e/b", "/b"],
    ["/a/%2E%2E/b", "/b"],
    ["/a/.%2e/b", "/b"],
    ["/a/%2e./b", "/b"],
    ["/a/%2e/b", "/a/b"],
    ["/everything/mcp/../../tyk/mcps", "/tyk/mcps"],
  ])("%s → %s", (raw, expected) => expect(canonical(raw)).toBe(expected));
});

describe("percent-encoding is normalised", () => {
  test.each([
    ["/a/%61b", "/a/ab"],
    ["/a/%7e%2D%5f", "/a/~-_"],
    ["/a/%c3%a9", "/a/%C3%A9"],
    ["/a/b%3f", "/a/b%3F"],
  ])("%s → %s", (raw, expected) => expect(canonical(raw)).toBe(expected));
});

describe("a backslash is a slash, as WHATWG reads an http(s) URL", () => {
  test("/a\\b → /a/b", () => expect(canonical("/a\\b")).toBe("/a/b"));
  test("/a\\..\\b → /b", () => expect(canonical("/a\\..\\b")).toBe("/b"));
});

describe("what an upstream could read another way is refused", () => {
  test.each([
    ["/a/b%2fc", "an encoded slash (%2F)"],
    ["/a/b%2Fc", "an encoded slash (%2F)"],
    ["/a/b%5cc", "an encoded backslash (%5C)"],
    ["/a/%2e%2e%2fb", "an encoded slash (%2F)"],
    ["/a//b", "an empty path segment (//)"],
    ["//a", "an empty path segment (//)"],
    ["/a/b%zz", "a malformed percent-encoding"],
    ["/a/b%2", "a malformed percent-encoding"],
    ["/a/b%00", "an encoded control character"],
    ["/a/b%0a", "an encoded control character"],
    ["/a/b\u0001", "a control character"],
  ])("%j: %s", (raw, problem) => expect(canonical(raw)).toBe(`refused: ${problem}`));
});

describe("the path of a request URL", () => {
  test.each([
    ["http://h:1/a/b?q=1#f", "/a/b"],
    ["http://h/a/..%2F?x", "/a/..%2F"],
    ["http://h", "/"],
    ["https://h/#x", "/"],
  ])("%s → %s", (url, expected) => expect(pathOfUrl(url)).toBe(expected));
});
