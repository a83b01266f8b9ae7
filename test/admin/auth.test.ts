import { describe, expect, test } from "vitest";
import { Hono } from "hono";
import { adminAuth, matchesSecret } from "../../src/admin/auth.ts";
import { adminSettings, isAdminRequest, reservedPaths } from "../../src/admin/admin.ts";

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
  const env = (vars: Record<string, string>) => adminSettings((n) => vars[n]);
  test("on by default, off with ADMIN_API=off", () => {
    expect(env({}).enabled).toBe(true);
    expect(env({ ADMIN_API: "off" }).enabled).toBe(false);
  });
  test("dashboard keys are a comma-separated list", () => {
    expect(env({ DASHBOARD_API_KEYS: " a, ,b " }).dashboardKeys).toEqual(["a", "b"]);
  });
  test("ADMIN_HOST moves the admin API to its own host and frees its paths for proxies", () => {
    const s = env({ ADMIN_HOST: "Admin.Example" });
    expect(isAdminRequest(s, new URL("http://admin.example/tyk/mcps"))).toBe(true);
    expect(isAdminRequest(s, new URL("http://proxy.example/tyk/mcps"))).toBe(false);
    expect(reservedPaths(s)).toEqual([]);
    expect(reservedPaths(env({}))).toEqual(["/tyk", "/api"]);
  });
  test("only /tyk and /api paths are admin requests", () => {
    const s = env({});
    expect(isAdminRequest(s, new URL("http://g/tyk"))).toBe(true);
    expect(isAdminRequest(s, new URL("http://g/api/mcps"))).toBe(true);
    expect(isAdminRequest(s, new URL("http://g/apis/x"))).toBe(false);
    expect(isAdminRequest(env({ ADMIN_API: "off" }), new URL("http://g/tyk/mcps"))).toBe(false);
  });
});
