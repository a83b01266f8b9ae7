/**
 * readOptions (src/options.ts): every environment variable and Worker var the gateway reads, read
 * and checked in one place; a value that cannot be used stops the start, naming the variable.
 */
import { describe, expect, test } from "vitest";
import { gatewayOptions, OptionsError, readOptions } from "../src/options.ts";

const read = (vars: Record<string, unknown>) => readOptions((name) => vars[name]);

function refusal(vars: Record<string, unknown>): OptionsError {
  try {
    read(vars);
  } catch (error) {
    expect(error).toBeInstanceOf(OptionsError);
    return error as OptionsError;
  }
  throw new Error(`accepted ${JSON.stringify(vars)}`);
}

describe("defaults", () => {
  test("nothing set: loopback on 8787, no public origins, the admin APIs on but closed", () => {
    expect(read({})).toEqual({
      host: "127.0.0.1",
      port: 8787,
      upstreamTimeoutSeconds: undefined,
      configMaxAgeMs: undefined,
      publicOrigins: [],
      admin: { enabled: true, host: undefined, gatewaySecret: undefined, dashboardKeys: [] },
      seedDir: undefined,
      storeDir: undefined,
      kvPath: undefined,
    });
  });

  test("an empty or blank value counts as unset; a binding that is not a string (a KV namespace) is not read", () => {
    expect(read({ PORT: "", UPSTREAM_TIMEOUT_SECONDS: "  ", GATEWAY_SECRET: {} })).toMatchObject({
      port: 8787,
      upstreamTimeoutSeconds: undefined,
    });
  });
});

describe("values that are read", () => {
  test("numbers, lists, origins and flags", () => {
    const options = read({
      HOST: " 0.0.0.0 ",
      PORT: "0",
      UPSTREAM_TIMEOUT_SECONDS: "2.5",
      GATEWAY_CONFIG_MAX_AGE_MS: "0",
      GATEWAY_PUBLIC_ORIGINS: "https://MCP.example.com/, http://localhost:8787",
      GATEWAY_SECRET: "s3cret",
      DASHBOARD_API_KEYS: " a, ,b ",
      ADMIN_API: "OFF",
      ADMIN_HOST: "Admin.Example",
      GATEWAY_SEED_DIR: "defs",
    });
    expect(options).toMatchObject({
      host: "0.0.0.0",
      port: 0,
      upstreamTimeoutSeconds: 2.5,
      configMaxAgeMs: 0,
      publicOrigins: ["https://mcp.example.com", "http://localhost:8787"],
      admin: { enabled: false, host: "admin.example", gatewaySecret: "s3cret", dashboardKeys: ["a", "b"] },
      seedDir: "defs",
    });
    expect(gatewayOptions(options)).toEqual({
      publicOrigins: ["https://mcp.example.com", "http://localhost:8787"],
      configMaxAgeMs: 0,
      defaultTimeoutSeconds: 2.5,
    });
  });

  test.each(["on", "true", "1", "yes", "ON"])("ADMIN_API=%s turns the admin APIs on", (value) => {
    expect(read({ ADMIN_API: value }).admin.enabled).toBe(true);
  });
});

describe("a value that cannot be used stops the start, naming the variable", () => {
  test.each([
    ["PORT", "http"],
    ["PORT", "70000"],
    ["PORT", "-1"],
    ["UPSTREAM_TIMEOUT_SECONDS", "0"],
    ["UPSTREAM_TIMEOUT_SECONDS", "ten"],
    ["UPSTREAM_TIMEOUT_SECONDS", "1e3"],
    ["GATEWAY_CONFIG_MAX_AGE_MS", "1.5"],
    ["GATEWAY_CONFIG_MAX_AGE_MS", "-5"],
    ["GATEWAY_PUBLIC_ORIGINS", "mcp.example.com"],
    ["GATEWAY_PUBLIC_ORIGINS", "https://mcp.example.com/path"],
    ["GATEWAY_PUBLIC_ORIGINS", "https://ok.example, ftp://files.example"],
    ["ADMIN_API", "maybe"],
    ["ADMIN_HOST", "https://admin.example"],
    ["ADMIN_HOST", "admin.example:8443"],
  ])("%s=%j", (variable, value) => {
    const error = refusal({ [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(variable);
    expect(error.message).toContain(JSON.stringify(value));
  });
});
