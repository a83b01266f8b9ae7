/** The read step's part of a definition (src/steps/read.ts); its behaviour is tested end to end. */
import { describe, expect, test } from "vitest";
import { routeBase } from "../../src/routing/route-table.ts";
import { read as readStep } from "../../src/steps/read.ts";
import { ToolHeaderBook } from "../../src/mcp/param-headers.ts";
import { MemoryStore } from "../../src/stores/memory.ts";
import { validateDefinition } from "../../src/definitions/schema.ts";
import { mcpDefinition, type DefinitionOptions } from "../helpers/definitions.ts";

function stored(d: DefinitionOptions) {
  const r = validateDefinition(mcpDefinition(d));
  if (!r.ok) throw new Error(r.issues.join("; "));
  return { kind: "mcp" as const, id: d.id, definition: r.definition };
}

const read = readStep({ toolHeaders: new ToolHeaderBook(new MemoryStore()), waitUntil: () => {} });

describe("the read step's part", () => {
  test("the request size limit comes from middleware.global.requestSizeLimit, else 1 MiB", () => {
    const limit = (d: DefinitionOptions) => read.compile!(stored(d), routeBase(stored(d)))?.maxBodyBytes;
    expect(
      limit({
        id: "s",
        listenPath: "/s/",
        upstream: "http://s:1",
        middleware: { global: { requestSizeLimit: { enabled: true, value: 100 } } },
      }),
    ).toBe(100);
    expect(limit({ id: "d", listenPath: "/d/", upstream: "http://d:1" })).toBe(1024 * 1024);
  });

  test("a plain HTTP API is not read", () => {
    const api = { ...stored({ id: "o", listenPath: "/o/", upstream: "http://o:1" }), kind: "oas" as const };
    expect(read.compile!(api, routeBase(api))).toBeUndefined();
  });
});
