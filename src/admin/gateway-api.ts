/**
 * The Tyk Gateway API (`/tyk/`), for MCP proxies and plain OAS APIs.
 *
 * Shapes as Tyk writes them: a JSON array for listings, the definition itself for a get,
 * `{key, status, action}` for writes, `{status, message}` for errors, `X-Tyk-Base-API-ID` on a
 * versioned child. Writes are live on the next request, so `/tyk/reload` and `/tyk/reload/group`
 * have nothing left to do and answer `ok` at once.
 */
import { Hono, type Context } from "hono";
import type { ApiKind } from "../stores/layout.ts";
import { adminAuth } from "./auth.ts";
import { readAdminBody } from "./body.ts";
import { CONSUMER_FAILURE_STATUS, type ConsumerFailure, type ConsumerService } from "./consumers.ts";
import type { ApiService, Failure, FailureCode } from "./service.ts";

export interface GatewayApiOptions {
  service: ApiService;
  consumers: ConsumerService;
  /** Gateway secrets accepted in `X-Tyk-Authorization` (normally one). */
  secrets: readonly string[];
  maxBodyBytes: number;
}

type Operation = "get" | "create" | "update" | "delete";

/** HTTP status per failure, per operation (the reference's error tables). */
const STATUS: Record<Operation, Partial<Record<FailureCode, number>>> = {
  get: { invalid_id: 400, not_found: 404, wrong_kind: 404 },
  create: {
    invalid_id: 400,
    invalid_definition: 400,
    already_exists: 400,
    listen_path_conflict: 400,
    version_params: 422,
    base_invalid: 422,
  },
  update: {
    invalid_id: 400,
    invalid_definition: 400,
    id_mismatch: 400,
    wrong_kind: 400,
    listen_path_conflict: 400,
    not_found: 404,
  },
  delete: { invalid_id: 400, wrong_kind: 400, not_found: 404 },
};

const error = (c: Context, status: number, message: string) => c.json({ status: "error", message }, status as 400);

const failed = (c: Context, op: Operation, failure: Failure) => error(c, STATUS[op][failure.code] ?? 400, failure.message);

const consumerFailed = (c: Context, failure: ConsumerFailure) => error(c, CONSUMER_FAILURE_STATUS[failure.code], failure.message);

function forbidden(): Response {
  return Response.json({ status: "error", message: "Attempted administrative access with invalid or missing key!" }, { status: 403 });
}

/** Routes for one kind of API under a base path (`/tyk/mcps`, `/tyk/apis`). */
function crud(app: Hono, path: string, kind: ApiKind, options: GatewayApiOptions): void {
  const { service } = options;

  app.get(path, async (c) => c.json(await service.list(kind)));

  app.post(path, async (c) => {
    const body = await readAdminBody(c.req.raw, options.maxBodyBytes, false);
    if (!body.ok) return error(c, body.status, body.message);
    const setDefault = c.req.query("set_default");
    const result = await service.create(kind, body.value, {
      baseApiId: c.req.query("base_api_id"),
      versionName: c.req.query("version_name"),
      setDefault: setDefault === "true",
      requireVersionName: true,
    });
    if (!result.ok) return failed(c, "create", result);
    return c.json({ key: result.value, status: "ok", action: "added" });
  });

  app.get(`${path}/:apiID`, async (c) => {
    const result = await service.get(kind, c.req.param("apiID"));
    if (!result.ok) return failed(c, "get", result);
    if (result.value.baseId !== undefined) c.header("X-Tyk-Base-API-ID", result.value.baseId);
    return c.json(result.value.definition);
  });

  app.put(`${path}/:apiID`, async (c) => {
    const id = c.req.param("apiID");
    const body = await readAdminBody(c.req.raw, options.maxBodyBytes, false);
    if (!body.ok) return error(c, body.status, body.message);
    const result = await service.update(kind, id, body.value);
    if (!result.ok) return failed(c, "update", result);
    return c.json({ key: result.value, status: "ok", action: "modified" });
  });

  app.delete(`${path}/:apiID`, async (c) => {
    const result = await service.delete(kind, c.req.param("apiID"));
    if (!result.ok) return failed(c, "delete", result);
    return c.json({ key: result.value, status: "ok", action: "deleted" });
  });
}

/** `/tyk/policies`: Tyk's policy objects; writes answer `{key, status, action}`. */
function policies(app: Hono, options: GatewayApiOptions): void {
  const { consumers } = options;
  app.get("/tyk/policies", async (c) => c.json(await consumers.listPolicies()));
  app.get("/tyk/policies/:polID", async (c) => {
    const result = await consumers.getPolicy(c.req.param("polID"));
    return result.ok ? c.json(result.value) : consumerFailed(c, result);
  });
  app.post("/tyk/policies", async (c) => {
    const body = await readAdminBody(c.req.raw, options.maxBodyBytes, false);
    if (!body.ok) return error(c, body.status, body.message);
    const result = await consumers.createPolicy(body.value);
    return result.ok ? c.json({ key: result.value, status: "ok", action: "added" }) : consumerFailed(c, result);
  });
  app.put("/tyk/policies/:polID", async (c) => {
    const body = await readAdminBody(c.req.raw, options.maxBodyBytes, false);
    if (!body.ok) return error(c, body.status, body.message);
    const result = await consumers.updatePolicy(c.req.param("polID"), body.value);
    return result.ok ? c.json({ key: result.value, status: "ok", action: "modified" }) : consumerFailed(c, result);
  });
  app.delete("/tyk/policies/:polID", async (c) => {
    const result = await consumers.deletePolicy(c.req.param("polID"));
    return result.ok ? c.json({ key: result.value, status: "ok", action: "deleted" }) : consumerFailed(c, result);
  });
}

/**
 * `/tyk/keys`: create (a random key, or `POST /tyk/keys/{custom}`), list (hashes), get, update,
 * delete, and `POST /tyk/keys/{key}/regenerate`. A path names a key, or its hash with `?hashed=true`.
 */
function keys(app: Hono, options: GatewayApiOptions): void {
  const { consumers } = options;
  const hashed = (c: Context) => c.req.query("hashed") === "true";
  const create = async (c: Context, custom?: string) => {
    const body = await readAdminBody(c.req.raw, options.maxBodyBytes, false);
    if (!body.ok) return error(c, body.status, body.message);
    const result = await consumers.createKey(body.value, custom);
    if (!result.ok) return consumerFailed(c, result);
    return c.json({ key: result.value.key, status: "ok", action: "added", key_hash: result.value.hash });
  };
  app.get("/tyk/keys", async (c) => c.json({ keys: await consumers.listKeys() }));
  app.post("/tyk/keys", (c) => create(c));
  app.post("/tyk/keys/create", (c) => create(c));
  app.post("/tyk/keys/:keyId/regenerate", async (c) => {
    const result = await consumers.regenerateKey(c.req.param("keyId"), hashed(c));
    if (!result.ok) return consumerFailed(c, result);
    return c.json({ key: result.value.key, status: "ok", action: "regenerated", key_hash: result.value.hash });
  });
  app.post("/tyk/keys/:keyId", (c) => create(c, c.req.param("keyId")));
  app.get("/tyk/keys/:keyId", async (c) => {
    const result = await consumers.getKey(c.req.param("keyId"), hashed(c));
    return result.ok ? c.json({ ...result.value.session, key_hash: result.value.hash }) : consumerFailed(c, result);
  });
  app.put("/tyk/keys/:keyId", async (c) => {
    const body = await readAdminBody(c.req.raw, options.maxBodyBytes, false);
    if (!body.ok) return error(c, body.status, body.message);
    const result = await consumers.updateKey(c.req.param("keyId"), hashed(c), body.value, c.req.query("suppress_reset") === "1");
    if (!result.ok) return consumerFailed(c, result);
    return c.json({ key: c.req.param("keyId"), status: "ok", action: "modified", key_hash: result.value.hash });
  });
  app.delete("/tyk/keys/:keyId", async (c) => {
    const result = await consumers.deleteKey(c.req.param("keyId"), hashed(c));
    if (!result.ok) return consumerFailed(c, result);
    return c.json({ key: c.req.param("keyId"), status: "ok", action: "deleted" });
  });
}

export function gatewayApi(options: GatewayApiOptions): Hono {
  const app = new Hono();
  app.use("*", adminAuth({ header: "X-Tyk-Authorization", secrets: options.secrets, forbidden }));
  crud(app, "/tyk/mcps", "mcp", options);
  crud(app, "/tyk/apis/oas", "oas", options);
  crud(app, "/tyk/apis", "oas", options);
  policies(app, options);
  keys(app, options);
  const reload = (c: Context) => c.json({ status: "ok", message: "" });
  app.get("/tyk/reload", reload);
  app.get("/tyk/reload/", reload);
  app.get("/tyk/reload/group", reload);
  app.all("/tyk/*", (c) => error(c, 404, "Not found"));
  app.onError((err, c) => {
    console.error("gateway API error", err);
    return error(c, 500, "Internal error: the change was not applied");
  });
  return app;
}
