import { describe, expect, it } from "vitest";
import { matchPrmPath, prmUrl, prmWellKnownPaths, protectedResourceMetadata } from "../../src/auth/prm.ts";

describe("protectedResourceMetadata", () => {
  it("builds the RFC 9728 document, with bearer_methods_supported defaulting to header", () => {
    const doc = protectedResourceMetadata(
      {
        enabled: true,
        authorizationServers: ["https://idp.example/realms/mcp"],
        scopesSupported: ["mcp:tools", "mcp:resources"],
        resourceDocumentation: "https://docs.example/mcp",
        resourceName: "Weather MCP",
      },
      "https://gw.example/weather/mcp",
    );
    expect(doc).toEqual({
      resource: "https://gw.example/weather/mcp",
      authorization_servers: ["https://idp.example/realms/mcp"],
      scopes_supported: ["mcp:tools", "mcp:resources"],
      bearer_methods_supported: ["header"],
      resource_documentation: "https://docs.example/mcp",
      resource_name: "Weather MCP",
    });
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  it("prefers the configured resource and bearer methods, and leaves out empty fields", () => {
    const doc = protectedResourceMetadata(
      {
        enabled: true,
        resource: "https://public.example/mcp",
        bearerMethodsSupported: ["header", "body"],
        scopesSupported: [],
        resourceName: " ",
      },
      "https://gw.example/weather/mcp",
    );
    expect(doc).toEqual({ resource: "https://public.example/mcp", bearer_methods_supported: ["header", "body"] });
  });
});

describe("well-known paths", () => {
  it("inserts the well-known string between host and path (RFC 9728 §3.1)", () => {
    expect(prmUrl("https://gw.example/weather/mcp")).toBe("https://gw.example/.well-known/oauth-protected-resource/weather/mcp");
    expect(prmUrl("https://gw.example:8443/")).toBe("https://gw.example:8443/.well-known/oauth-protected-resource");
    expect(prmUrl("https://gw.example")).toBe("https://gw.example/.well-known/oauth-protected-resource");
    expect(prmUrl("https://gw.example/a/?x=1")).toBe("https://gw.example/.well-known/oauth-protected-resource/a/?x=1");
    expect(() => prmUrl("/relative")).toThrow(TypeError);
  });

  it("lists the host's and the listen path's well-known paths", () => {
    expect(prmWellKnownPaths("/weather/")).toEqual([
      "/.well-known/oauth-protected-resource/weather",
      "/weather/.well-known/oauth-protected-resource",
    ]);
    expect(prmWellKnownPaths("/weather", { endpointPath: "/mcp", resource: "https://public.example/tools/weather" })).toEqual([
      "/.well-known/oauth-protected-resource/weather/mcp",
      "/.well-known/oauth-protected-resource/weather",
      "/weather/.well-known/oauth-protected-resource",
      "/.well-known/oauth-protected-resource/tools/weather",
    ]);
    expect(prmWellKnownPaths("/")).toEqual(["/.well-known/oauth-protected-resource"]);
  });

  it("matches the metadata paths of a listen path, and sub-paths under the host's one", () => {
    const yes = [
      "/.well-known/oauth-protected-resource/weather",
      "/.well-known/oauth-protected-resource/weather/",
      "/.well-known/oauth-protected-resource/weather/mcp",
      "/.well-known/oauth-protected-resource/weather/sse",
      "/weather/.well-known/oauth-protected-resource",
    ];
    for (const path of yes) expect(matchPrmPath(path, "/weather/"), path).toBe(true);
    const no = [
      "/.well-known/oauth-protected-resource",
      "/.well-known/oauth-protected-resource/weatherman",
      "/.well-known/oauth-protected-resource/other/mcp",
      "/weather/mcp",
      "/weather/.well-known/oauth-protected-resource/x",
    ];
    for (const path of no) expect(matchPrmPath(path, "/weather/"), path).toBe(false);
    expect(matchPrmPath("/.well-known/oauth-protected-resource", "/")).toBe(true);
    expect(matchPrmPath("/.well-known/oauth-protected-resource/anything", "/")).toBe(false);
    expect(
      matchPrmPath("/.well-known/oauth-protected-resource/tools/weather", "/weather", { resource: "https://public.example/tools/weather" }),
    ).toBe(true);
  });
});
