/** bearerChallenge (src/auth/challenge.ts): the `WWW-Authenticate: Bearer` values of RFC 6750 §3 and RFC 9728 §5.1. */
import { describe, expect, it } from "vitest";
import { bearerChallenge } from "../../src/auth/challenge.ts";

describe("bearerChallenge", () => {
  const metadata = "https://gw.example/.well-known/oauth-protected-resource/weather/mcp";

  it("points at the metadata, with the scopes a client should request", () => {
    expect(bearerChallenge({ resourceMetadataUrl: metadata })).toBe(`Bearer resource_metadata="${metadata}"`);
    expect(bearerChallenge({ resourceMetadataUrl: metadata, scope: ["mcp:tools", "mcp:resources"] })).toBe(
      `Bearer resource_metadata="${metadata}", scope="mcp:tools mcp:resources"`,
    );
  });

  it("formats the insufficient_scope and invalid_token challenges (RFC 6750 §3)", () => {
    expect(
      bearerChallenge({
        resourceMetadataUrl: metadata,
        scope: "mcp:tools  mcp:admin",
        error: "insufficient_scope",
        errorDescription: "The tool needs mcp:admin",
      }),
    ).toBe(
      `Bearer resource_metadata="${metadata}", scope="mcp:tools mcp:admin", error="insufficient_scope", error_description="The tool needs mcp:admin"`,
    );
    expect(bearerChallenge({ error: "invalid_token", errorDescription: "The access token has expired" })).toBe(
      'Bearer error="invalid_token", error_description="The access token has expired"',
    );
    expect(bearerChallenge({})).toBe("Bearer");
  });

  it("keeps every value a valid quoted-string", () => {
    const header = bearerChallenge({
      resourceMetadataUrl: 'https://gw.example/.well-known/oauth-protected-resource/a"b c',
      scope: ['read"', "wr\\ite", "é", "ok"],
      errorDescription: 'say "hi"\r\nSet-Cookie: x=1 \\ done',
    });
    expect(header).toBe(
      'Bearer resource_metadata="https://gw.example/.well-known/oauth-protected-resource/a%22b%20c", scope="read write ok", error_description="say hiSet-Cookie: x=1  done"',
    );
    expect(header).not.toMatch(/[\r\n]/);
    expect(() => bearerChallenge({ resourceMetadataUrl: "javascript:alert(1)" })).toThrow(TypeError);
    expect(() => bearerChallenge({ resourceMetadataUrl: "/relative" })).toThrow(TypeError);
    expect(() => bearerChallenge({ error: 'x", realm="evil' })).toThrow(TypeError);
  });
});
