/**
 * The JSON Schema served at `GET /api/schemas/apidefs/mcp`, generated from the same valibot schema
 * that validates every write (`schema.ts`), so the published schema and the validator cannot
 * disagree. `mcpVersion` 3.0 gives a draft-07 schema for OpenAPI 3.0.x documents, 3.1 a
 * draft 2020-12 schema for OpenAPI 3.1.x documents.
 */
import { toJsonSchema } from "@valibot/to-json-schema";
import * as v from "valibot";
import { McpDefinition } from "./schema.ts";

export type OasVersion = "3.0" | "3.1";

const cache = new Map<OasVersion, Record<string, unknown>>();

/** The JSON Schema of an MCP proxy definition for one OpenAPI version. */
export function mcpJsonSchema(version: OasVersion): Record<string, unknown> {
  let schema = cache.get(version);
  if (!schema) {
    const pattern = version === "3.0" ? /^3\.0\.\d+$/ : /^3\.1\.\d+$/;
    const definition = v.looseObject({
      ...McpDefinition.entries,
      openapi: v.pipe(v.string(), v.regex(pattern, `must be an OpenAPI ${version}.x version`)),
    });
    schema = {
      ...(toJsonSchema(definition, {
        target: version === "3.0" ? "draft-07" : "draft-2020-12",
        // Pipe actions with no JSON Schema form (URL parsing of upstream.url) stay with the validator.
        errorMode: "ignore",
      }) as Record<string, unknown>),
      title: `Tyk OAS MCP proxy definition (OpenAPI ${version})`,
    };
    cache.set(version, schema);
  }
  return schema;
}
