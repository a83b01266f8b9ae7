/** The forward step's part of a definition (src/steps/forward.ts); its behaviour is tested end to end. */
import { describe, expect, test } from "vitest";
import { compileForward, timeoutFor } from "../../src/steps/forward.ts";
import { validateDefinition } from "../../src/definitions/schema.ts";
import { mcpDefinition, type DefinitionOptions } from "../helpers/definitions.ts";

function stored(d: DefinitionOptions) {
  const r = validateDefinition(mcpDefinition(d));
  if (!r.ok) throw new Error(r.issues.join("; "));
  return { kind: "mcp" as const, id: d.id, definition: r.definition };
}

describe("the forward step's part", () => {
  test("operation timeouts are keyed by the HTTP method of their operationId", () => {
    const part = compileForward(
      stored({
        id: "t",
        listenPath: "/t/",
        upstream: "http://t:1",
        middleware: {
          operations: {
            mcpTransportPost: { enforceTimeout: { enabled: true, value: 12 } },
            mcpSSEGet: { enforceTimeout: { enabled: false, value: 99 } },
          },
        },
      }).definition,
      "mcp",
    );
    expect(part.operationTimeouts.get("POST")).toBe(12);
    expect(part.operationTimeouts.has("GET")).toBe(false);
  });

  test("a primitive's timeout wins over its operation's, which wins over the default", () => {
    const part = compileForward(
      stored({
        id: "t",
        listenPath: "/t/",
        upstream: "http://t:1",
        middleware: {
          operations: { mcpTransportPost: { enforceTimeout: { enabled: true, value: 12 } } },
          mcpTools: { slow: { enforceTimeout: { enabled: true, value: 90 } }, off: { enforceTimeout: { enabled: false, value: 5 } } },
        },
      }).definition,
      "mcp",
    );
    const call = (name: string) => ({
      kind: "request" as const,
      id: 1,
      method: "tools/call",
      primitiveType: "tool" as const,
      primitiveName: name,
    });
    expect(timeoutFor(part, call("slow"), "POST", 30)).toBe(90);
    expect(timeoutFor(part, call("off"), "POST", 30)).toBe(12);
    expect(timeoutFor(part, undefined, "GET", 30)).toBe(30);
  });
});
