/**
 * The request path's runner (src/steps/step.ts): steps in order, each handed the part it compiled,
 * waiting only where a step returns a promise; the first answer ends the run; every answer, errors
 * included, is finished by the steps that began, last first.
 */
import { Hono } from "hono";
import { describe, expect, test } from "vitest";
import type { GatewayContext, GatewayEnv, RequestState } from "../../src/context.ts";
import type { StoredApi } from "../../src/definitions/repository.ts";
import { validateDefinition } from "../../src/definitions/schema.ts";
import { GatewayError } from "../../src/errors.ts";
import { type ApiRoute, routeBase } from "../../src/routing/route-table.ts";
import { RequestPath, type Step } from "../../src/steps/step.ts";
import { mcpDefinition } from "../helpers/definitions.ts";

const result = validateDefinition(mcpDefinition({ id: "a", listenPath: "/a/", upstream: "http://upstream.test" }));
if (!result.ok) throw new Error("bad definition");
const api: StoredApi = { kind: "mcp", id: "a", definition: result.definition };

/** A request path whose first step routes every request to `api`, then `steps`. */
function pathOf(steps: Step<any>[], log: (message: string) => void = () => {}) {
  let compiled: ApiRoute | undefined;
  const routeStep: Step = {
    name: "route",
    run(_c, state) {
      state.match = { route: compiled!, forwardPath: "/mcp" };
    },
  };
  const path = new RequestPath([routeStep, ...steps], log);
  compiled = path.compile(api, routeBase(api));
  const app = new Hono<GatewayEnv>();
  const handled: (Response | Promise<Response>)[] = [];
  app.all("*", (c) => {
    const out = path.handle(c);
    handled.push(out);
    return out;
  });
  return { path, route: compiled, app, handled };
}

const answer = (text: string): Step => ({
  name: "answer",
  run(_c, state) {
    state.response = new Response(text);
  },
});

describe("running the steps", () => {
  test("each step gets the part it compiled; the route keeps them in the path's order", async () => {
    const seen: unknown[] = [];
    const first: Step<string> = { name: "first", compile: (a) => `first part of ${a.id}`, run: (_c, _s, part) => void seen.push(part) };
    const second: Step = { name: "second", run: (_c, _s, part) => void seen.push(part) };
    const { app, path, route } = pathOf([first, second, answer("ok")]);
    expect(await (await app.request("/a/mcp")).text()).toBe("ok");
    expect(seen).toEqual(["first part of a", undefined]);
    expect(path.part(route, first)).toBe("first part of a");
    expect(() => path.part(route, answer("x"))).toThrow(/not on the request path/);
  });

  test("a path of steps that do not wait answers without a promise", async () => {
    const { app, handled } = pathOf([{ name: "check", run() {} }, answer("sync")]);
    const response = await app.request("/a/mcp");
    expect(await response.text()).toBe("sync");
    expect(handled[0]).toBeInstanceOf(Response);
  });

  test("a step that waits holds the next steps until it is done", async () => {
    const order: string[] = [];
    const waits: Step = {
      name: "waits",
      run: () =>
        new Promise<void>((resolve) =>
          setTimeout(() => {
            order.push("waited");
            resolve();
          }, 10),
        ),
    };
    const after: Step = { name: "after", run: () => void order.push("after") };
    const { app, handled } = pathOf([waits, after, answer("async")]);
    expect(await (await app.request("/a/mcp")).text()).toBe("async");
    expect(order).toEqual(["waited", "after"]);
    expect(handled[0]).toBeInstanceOf(Promise);
  });

  test("the first step that answers ends the run", async () => {
    let reached = false;
    const later: Step = {
      name: "later",
      run() {
        reached = true;
      },
    };
    const { app } = pathOf([answer("early"), later]);
    expect(await (await app.request("/a/mcp")).text()).toBe("early");
    expect(reached).toBe(false);
  });

  test("a path that ends without an answer is a 500, logged", async () => {
    const logged: string[] = [];
    const { app } = pathOf([{ name: "silent", run() {} }], (message) => logged.push(message));
    const response = await app.request("/a/mcp");
    expect(response.status).toBe(500);
    expect(logged).toEqual(["unexpected error"]);
  });
});

describe("finishing the answer", () => {
  const label = (name: string, finished: string[]): Step => ({
    name,
    run() {},
    finish(_c: GatewayContext, _s: RequestState, response: Response) {
      finished.push(name);
      const headers = new Headers(response.headers);
      headers.append("x-finished", name);
      return new Response(response.body, { status: response.status, headers });
    },
  });

  test("steps that began finish every answer, last first", async () => {
    const finished: string[] = [];
    const { app } = pathOf([label("outer", finished), label("inner", finished), answer("ok")]);
    const response = await app.request("/a/mcp");
    expect(finished).toEqual(["inner", "outer"]);
    expect(response.headers.get("x-finished")).toBe("inner, outer");
  });

  test("a refusal is answered as a JSON-RPC error and finished only by the steps before it", async () => {
    const finished: string[] = [];
    const refuse: Step = {
      name: "refuse",
      run: () => Promise.reject(new GatewayError("method_not_allowed", "no", { headers: { allow: "POST" } })),
    };
    const { app } = pathOf([label("before", finished), refuse, label("after", finished), answer("never")]);
    const response = await app.request("/a/mcp");
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
    expect(response.headers.get("x-finished")).toBe("before");
    expect(await response.json()).toMatchObject({ error: { code: -32000, message: "no", data: { http_code: 405 } } });
    expect(finished).toEqual(["before"]);
  });

  test("a step that throws at once is answered the same way, without a promise", async () => {
    const { app, handled } = pathOf([
      {
        name: "throws",
        run() {
          throw new GatewayError("origin_forbidden");
        },
      },
    ]);
    expect((await app.request("/a/mcp")).status).toBe(403);
    expect(handled[0]).toBeInstanceOf(Response);
  });
});
