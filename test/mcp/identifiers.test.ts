/**
 * Identifiers as the upstream reads them (src/mcp/identifiers.ts): every spelling a parsing
 * upstream takes for the same resource has the same canonical form, and what no parser agrees on is
 * refused.
 */
import { describe, expect, test } from "vitest";
import { canonicalName, canonicalResource } from "../../src/mcp/identifiers.ts";

const resource = (uri: string) => {
  const result = canonicalResource(uri);
  return result.ok ? result.value : `refused: ${result.problem}`;
};

describe("resource URIs", () => {
  test.each([
    "file:///secret",
    "FILE:///secret",
    "File:///secret",
    "file:///public/../secret",
    "file:///public/./../secret",
    "file:///public/%2e%2e/secret",
    "file:///public/%2E%2E/secret",
    "file:///%73ecret",
    "file:/secret",
    "file:///secret#part",
  ])("%j is file:///secret", (uri) => expect(resource(uri)).toBe("file:///secret"));

  test.each([
    ["test://Static-Text", "test://static-text"],
    ["TEST://HOST/Path", "test://host/Path"],
    ["https://Example.COM:443/a/./b/../c?q=%7e", "https://example.com/a/c?q=~"],
    ["test://x/a b", "test://x/a%20b"],
    ["test://x/%c3%a9", "test://x/%C3%A9"],
    ["urn:isbn:0451450523", "urn:isbn:0451450523"],
  ])("%j → %j", (uri, expected) => expect(resource(uri)).toBe(expected));

  test("the path keeps its case: only scheme and host are case-insensitive", () => {
    expect(resource("file:///Secret")).toBe("file:///Secret");
  });

  test.each([
    [" file:///secret", "has whitespace at its start or end"],
    ["file:///secret ", "has whitespace at its start or end"],
    ["file:///secret\n", "contains a control character"],
    ["file:///sec\tret", "contains a control character"],
    ["file:///sec\u0000ret", "contains a control character"],
    ["file:///sec\u0085ret", "contains a control character"],
    ["\u00a0file:///secret", "has whitespace at its start or end"],
    ["secret", "is not an absolute URI (it has no scheme)"],
    ["/secret", "is not an absolute URI (it has no scheme)"],
    ["http://exa mple.com/", "is not a URI that can be parsed"],
    ["", "is empty"],
  ])("%j is refused: %s", (uri, problem) => expect(resource(uri)).toBe(`refused: ${problem}`));

  test("a URI template keeps all but its scheme as written", () => {
    expect(resource("FILE:///{path}")).toBe("file:///{path}");
    expect(resource("test://template/{id}/data")).toBe("test://template/{id}/data");
    expect(resource("{scheme}://x")).toBe("refused: is not an absolute URI (it has no scheme)");
  });
});

describe("tool and prompt names", () => {
  test("are exact", () => {
    for (const name of ["safe", "Safe", "s\u0430fe", "safe/../danger", "a b"])
      expect(canonicalName(name)).toEqual({ ok: true, value: name });
  });

  test.each(["safe\n", "safe ", " safe", "sa\tfe", "safe\u0000", "safe\u007f", "safe\u009b", "\u2028safe", ""])("%j is refused", (name) => {
    expect(canonicalName(name).ok).toBe(false);
  });
});
