import { describe, expect, test } from "vitest";
import { Hono } from "hono";
import { adminAuth, matchesSecret } from "../../src/admin/auth.ts";
import { isAdminRequest, reservedPaths } from "../../src/admin/admin.ts";
import { readOptions } from "../../src/options.ts";

describe("secrets", () => {
  test("only an exact match passes", async () => {
    expect(await matchesSecret("s3cret", ["s3cret"])).toBe(true);
    expect(await matchesSecret("s3cre", ["s3cret"])).toBe(false);
    expect(await matchesSecret("s3cret ", ["s3cret"])).toBe(false);
    expect(await matchesSecret("S3CRET", ["s3cret"])).toBe(false);
    expect(await matchesSecret("b", ["a", "b"])).toBe(true);
  });
  test("nothing configured, or nothing presented, never passes (fail closed)", async () => {
    expect(await matchesSecret("", [""])).toBe(false);
    expect(await matchesSecret(undefined, ["x"])).toBe(false);
    expect(await matchesSecret("x", [])).toBe(false);
  });
  test("the middleware answers the API's own 403", async () => {
    const app = new Hono();
    app.use("*", adminAuth({ header: "x-key", secrets: [], forbidden: () => new Response("no", { status: 403 }) }));
    app.get("/", (c) => c.text("yes"));
    expect((await app.request("/", { headers: { "x-key": "" } })).status).toBe(403);
  });
});

describe("admin settings", () => {
  const env = (vars: Record<string, string>) => readOptions((n) => vars[n]).admin;
  test("on by default, off with ADMIN_API=off", () => {
    expect(env({}).enabled).toBe(true);
    expect(env({ ADMIN_API: "off" }).enabled).toBe(false);
  });
  test("dashboard keys are a comma-separated list", () => {
    expect(env({ DASHBOARD_API_KEYS: " a, ,b " }).dashboardKeys).toEqual(["a", "b"]);
  });
  test("ADMIN_HOST moves the admin API to its own host and frees its paths for proxies", () => {
    const s = env({ ADMIN_HOST: "Admin.Example" });
    expect(isAdminRequest(s, "/tyk/mcps", "admin.example")).toBe(true);
    expect(isAdminRequest(s, "/tyk/mcps", "proxy.example")).toBe(false);
    expect(isAdminRequest(s, "/tyk/mcps", "ADMIN.example:8443")).toBe(true);
    expect(reservedPaths(s)).toEqual([]);
    expect(reservedPaths(env({}))).toEqual(["/tyk", "/api"]);
  });
  test("only /tyk and /api paths are admin requests", () => {
    const s = env({});
    expect(isAdminRequest(s, "/tyk", "g")).toBe(true);
    expect(isAdminRequest(s, "/api/mcps", "g")).toBe(true);
    expect(isAdminRequest(s, "/apis/x", "g")).toBe(false);
    expect(isAdminRequest(env({ ADMIN_API: "off" }), "/tyk/mcps", "g")).toBe(false);
  });
});
