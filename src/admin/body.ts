/**
 * Reading an admin request body: within a size limit (enforced while reading), as JSON, or as YAML
 * where the API accepts it (`application/x-yaml`, `application/yaml`, `text/yaml`).
 */
import { parse as parseYaml } from "yaml";
import { GatewayError } from "../errors.ts";
import { decodeUtf8, readBody } from "../mcp/read-body.ts";

/** Default admin body limit: 2 MiB. */
export const DEFAULT_ADMIN_MAX_BODY_BYTES = 2 * 1024 * 1024;

const YAML_TYPES = new Set(["application/x-yaml", "application/yaml", "text/yaml", "text/x-yaml"]);

export type BodyResult = { ok: true; value: unknown } | { ok: false; status: 400 | 413; message: string };

export function isYaml(contentType: string | undefined): boolean {
  return YAML_TYPES.has((contentType ?? "").split(";")[0]!.trim().toLowerCase());
}

export async function readAdminBody(request: Request, limit: number, allowYaml: boolean): Promise<BodyResult> {
  let text: string;
  try {
    text = decodeUtf8(await readBody(request, limit));
  } catch (error) {
    if (error instanceof GatewayError && error.status === 413) {
      return { ok: false, status: 413, message: `Request body exceeds the limit of ${limit} bytes` };
    }
    return { ok: false, status: 400, message: "Request malformed: the body is not valid UTF-8" };
  }
  const yaml = allowYaml && isYaml(request.headers.get("content-type") ?? undefined);
  try {
    return { ok: true, value: yaml ? parseYaml(text, { maxAliasCount: 50 }) : JSON.parse(text) };
  } catch (error) {
    const detail = error instanceof Error ? error.message.split("\n")[0] : "";
    return { ok: false, status: 400, message: `Request malformed: the body is not valid ${yaml ? "YAML" : "JSON"} (${detail})` };
  }
}
