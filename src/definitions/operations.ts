/** The operations a definition's OAS `paths` declare. Pure. */
import type { McpDefinition } from "./schema.ts";

/** HTTP methods an OAS path item may declare, in the order they are read. */
export const OAS_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

/** One operation a definition's `paths` declare: its path, its HTTP method (upper case), itself. */
export interface DeclaredOperation {
  path: string;
  method: string;
  operation: { operationId?: unknown };
}

/** Every operation object under `paths`, path by path, methods in the order of {@link OAS_METHODS}. */
export function declaredOperations(definition: McpDefinition): DeclaredOperation[] {
  const out: DeclaredOperation[] = [];
  for (const [path, item] of Object.entries(definition.paths)) {
    if (item === null || typeof item !== "object") continue;
    for (const method of OAS_METHODS) {
      const operation = (item as Record<string, unknown>)[method];
      if (operation !== null && typeof operation === "object") out.push({ path, method: method.toUpperCase(), operation });
    }
  }
  return out;
}
