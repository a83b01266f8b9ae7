/**
 * The Tyk Dashboard API (`/api/`), for MCP proxies and plain OAS APIs.
 *
 * Shapes as the Dashboard writes them: `{mcps, pages}` (or `{apis, pages}`) listings paged with
 * `?p=`, the definition itself for a get, `{Status, Message, Meta}` for writes and errors. Bodies
 * may be JSON or YAML (`application/x-yaml`). Also `GET /api/mcps/{apiId}/versions` and the schema
 * endpoint `GET /api/schemas/apidefs/mcp`.
 */
import { Hono, type Context } from "hono";
import { mcpJsonSchema } from "../definitions/json-schema.ts";
import type { ApiKind } from "../stores/layout.ts";
import { adminAuth } from "./auth.ts";
import { readAdminBody } from "./body.ts";
import { CONSUMER_FAILURE_STATUS, type ConsumerFailure, type ConsumerService } from "./consumers.ts";
import type { ApiService, Failure, FailureCode } from "./service.ts";

export interface DashboardApiOptions {
  service: ApiService;
  consumers: ConsumerService;
  /** Dashboard API keys accepted in `Authorization`. */
  keys: readonly string[];
  maxBodyBytes: number;
  /** Items per page in listings (default 10). */
  pageSize?: number;
}

type Operation = "get" | "create" | "update" | "delete" | "versions";

const STATUS: Record<Operation, Partial<Record<FailureCode, number>>> = {
  get: { invalid_id: 400, wrong_kind: 400, not_found: 404 },
  create: {
    invalid_id: 400,
    invalid_definition: 400,
    already_exists: 400,
    listen_path_conflict: 400,
    version_params: 400,
    base_invalid: 400,
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
  versions: { wrong_kind: 400, not_a_base: 422 },
};

const error = (c: Context, status: number, message: string) => c.json({ Status: "Error", Message: message, Meta: null }, status as 400);

const failed = (c: Context, op: Operation, failure: Failure) => error(c, STATUS[op][failure.code] ?? 400, failure.message);

const consumerFailed = (c: Context, failure: ConsumerFailure) => error(c, CONSUMER_FAILURE_STATUS[failure.code], failure.message);

function forbidden(): Response {
  return Response.json({ Status: "Error", Message: "Not authorised", Meta: null }, { status: 403 });
}

/** The 1-based page `p` of `items`, and the number of pages (at least 1). */
export function page<T>(items: readonly T[], p: string | undefined, size: number): { items: T[]; pages: number } {
  const pages = Math.max(1, Math.ceil(items.length / size));
  const n = Number.parseInt(p ?? "1", 10);
  const index = Number.isFinite(n) && n >= 1 ? n : 1;
  return { items: items.slice((index - 1) * size, index * size), pages };
}

function crud(app: Hono, path: string, kind: ApiKind, listName: string, options: DashboardApiOptions): void {
  const { service } = options;
  const size = options.pageSize ?? 10;

  app.get(path, async (c) => {
    const { items, pages } = page(await service.list(kind), c.req.query("p"), size);
    return c.json({ [listName]: items, pages });
  });

  app.post(path, async (c) => {
    const body = await readAdminBody(c.req.raw, options.maxBodyBytes, true);
    if (!body.ok) return error(c, body.status, body.message);
    const result = await service.create(kind, body.value, {
      baseApiId: c.req.query("base_api_id"),
      versionName: c.req.query("version_name"),
      setDefault: c.req.query("set_default") === "true",
    });
    if (!result.ok) return failed(c, "create", result);
    return c.json({ Status: "OK", Message: "API created", Meta: result.value });
  });

  app.get(`${path}/:apiId/versions`, async (c) => {
    const result = await service.versions(kind, c.req.param("apiId"));
    if (!result.ok) return failed(c, "versions", result);
    const { items, pages } = page(result.value, c.req.query("p"), size);
    return c.json({ apis: items, pages });
  });

  app.get(`${path}/:apiId`, async (c) => {
    const result = await service.get(kind, c.req.param("apiId"));
    if (!result.ok) return failed(c, "get", result);
    if (result.value.baseId !== undefined) c.header("X-Tyk-Base-API-ID", result.value.baseId);
    return c.json(result.value.definition);
  });

  app.put(`${path}/:apiId`, async (c) => {
    const body = await readAdminBody(c.req.raw, options.maxBodyBytes, true);
    if (!body.ok) return error(c, body.status, body.message);
    const result = await service.update(kind, c.req.param("apiId"), body.value);
    if (!result.ok) return failed(c, "update", result);
    return c.json({ Status: "OK", Message: "API updated", Meta: result.value });
  });

  app.delete(`${path}/:apiId`, async (c) => {
    const result = await service.delete(kind, c.req.param("apiId"));
    if (!result.ok) return failed(c, "delete", result);
    return c.json({ Status: "OK", Message: "API deleted", Meta: result.value });
  });
}

/** `/api/portal/policies`: `{Data, Pages}` listings, `{Status, Message, Meta}` writes. */
function policies(app: Hono, options: DashboardApiOptions): void {
  const { consumers } = options;
  const size = options.pageSize ?? 10;
  app.get("/api/portal/policies", async (c) => {
    const { items, pages } = page(await consumers.listPolicies(), c.req.query("p"), size);
    return c.json({ Data: items, Pages: pages });
  });
  app.get("/api/portal/policies/:polID", async (c) => {
    const result = await consumers.getPolicy(c.req.param("polID"));
    return result.ok ? c.json(result.value) : consumerFailed(c, result);
  });
  app.post("/api/portal/policies", async (c) => {
    const body = await readAdminBody(c.req.raw, options.maxBodyBytes, true);
    if (!body.ok) return error(c, body.status, body.message);
    const result = await consumers.createPolicy(body.value);
    return result.ok ? c.json({ Status: "OK", Message: "Policy created", Meta: result.value }) : consumerFailed(c, result);
  });
  app.put("/api/portal/policies/:polID", async (c) => {
    const body = await readAdminBody(c.req.raw, options.maxBodyBytes, true);
    if (!body.ok) return error(c, body.status, body.message);
    const result = await consumers.updatePolicy(c.req.param("polID"), body.value);
    return result.ok ? c.json({ Status: "OK", Message: "Policy updated", Meta: result.value }) : consumerFailed(c, result);
  });
  app.delete("/api/portal/policies/:polID", async (c) => {
    const result = await consumers.deletePolicy(c.req.param("polID"));
    return result.ok ? c.json({ Status: "OK", Message: "Policy deleted", Meta: result.value }) : consumerFailed(c, result);
  });
}

/**
 * `/api/keys`: the Dashboard's key shapes (`{api_model, key_id, data, key_hash}`); paths name a key
 * by its hash. The key itself appears only in the answer to create and regenerate.
 */
function keys(app: Hono, options: DashboardApiOptions): void {
  const { consumers } = options;
  const size = options.pageSize ?? 10;
  const shape = (keyId: string, hash: string, session: unknown) => ({ api_model: {}, key_id: keyId, data: session, key_hash: hash });
  app.get("/api/keys", async (c) => {
    const { items, pages } = page(await consumers.listKeys(), c.req.query("p"), size);
    return c.json({ data: { keys: items }, pages });
  });
  app.post("/api/keys", async (c) => {
    const body = await readAdminBody(c.req.raw, options.maxBodyBytes, true);
    if (!body.ok) return error(c, body.status, body.message);
    const result = await consumers.createKey(body.value);
    return result.ok ? c.json(shape(result.value.key, result.value.hash, result.value.session)) : consumerFailed(c, result);
  });
  app.post("/api/keys/:keyId/regenerate", async (c) => {
    const result = await consumers.regenerateKey(c.req.param("keyId"), true);
    return result.ok ? c.json(shape(result.value.key, result.value.hash, result.value.session)) : consumerFailed(c, result);
  });
  app.get("/api/keys/:keyId", async (c) => {
    const result = await consumers.getKey(c.req.param("keyId"), true);
    return result.ok ? c.json(shape(result.value.hash, result.value.hash, result.value.session)) : consumerFailed(c, result);
  });
  app.put("/api/keys/:keyId", async (c) => {
    const body = await readAdminBody(c.req.raw, options.maxBodyBytes, true);
    if (!body.ok) return error(c, body.status, body.message);
    const result = await consumers.updateKey(c.req.param("keyId"), true, body.value, c.req.query("suppress_reset") === "1");
    return result.ok ? c.json(shape(result.value.hash, result.value.hash, result.value.session)) : consumerFailed(c, result);
  });
  app.delete("/api/keys/:keyId", async (c) => {
    const result = await consumers.deleteKey(c.req.param("keyId"), true);
    return result.ok ? c.json({ Status: "OK", Message: "Key deleted successfully", Meta: "" }) : consumerFailed(c, result);
  });
}

export function dashboardApi(options: DashboardApiOptions): Hono {
  const app = new Hono();
  app.use("*", adminAuth({ header: "Authorization", secrets: options.keys, forbidden }));

  app.get("/api/schemas/apidefs/mcp", (c) => {
    const requested = c.req.query("mcpVersion") ?? "3.0";
    if (requested !== "3.0" && requested !== "3.1") {
      return error(c, 400, `mcpVersion must be 3.0 or 3.1, not "${requested.slice(0, 20)}"`);
    }
    const schema = mcpJsonSchema(requested);
    const pretty = c.req.query("pretty") === "true";
    return c.body(pretty ? JSON.stringify(schema, null, 2) : JSON.stringify(schema), 200, {
      "content-type": "application/json",
    });
  });

  crud(app, "/api/mcps", "mcp", "mcps", options);
  crud(app, "/api/apis/oas", "oas", "apis", options);
  crud(app, "/api/apis", "oas", "apis", options);
  policies(app, options);
  keys(app, options);
  app.all("/api/*", (c) => error(c, 404, "Not found"));
  app.onError((err, c) => {
    console.error("dashboard API error", err);
    return error(c, 500, "Internal error: the change was not applied");
  });
  return app;
}
