import { describe, expect, test } from "vitest";
import { forClient, readHeaders, upstreamRequestHeaders } from "../../src/http/headers.ts";

type Rest = Parameters<typeof upstreamRequestHeaders> extends [unknown, ...infer R] ? R : never;
/** The upstream headers for a client's `incoming`, as the upstream's `fetch` turns them into a `Headers`. */
const upstream = (incoming: Headers, ...rest: Rest) => new Headers(upstreamRequestHeaders(readHeaders(incoming), ...rest));

describe("headers towards the upstream", () => {
  const incoming = new Headers({
    authorization: "Bearer client-secret",
    cookie: "session=abc",
    host: "gateway.example",
    connection: "keep-alive, x-hop",
    "x-hop": "1",
    "keep-alive": "timeout=5",
    te: "trailers",
    upgrade: "h2c",
    "proxy-authorization": "Basic x",
    "transfer-encoding": "chunked",
    "content-length": "10",
    "accept-encoding": "gzip",
    "mcp-session-id": "s-1",
    "mcp-protocol-version": "2025-11-25",
    "last-event-id": "e-9",
    accept: "application/json, text/event-stream",
    "content-type": "application/json",
    origin: "http://localhost:6274",
    "cf-connecting-ip": "1.2.3.4",
    "x-forwarded-for": "10.0.0.1",
    "x-custom": "kept",
  });
  const out = upstream(incoming, { clientAddress: "192.0.2.7", host: "gateway.example", proto: "https" });

  test("the client's credentials never go upstream", () => {
    expect(out.has("authorization")).toBe(false);
    expect(out.has("cookie")).toBe(false);
    expect(out.has("proxy-authorization")).toBe(false);
  });

  test("hop-by-hop headers, and those the Connection header names, are dropped", () => {
    for (const name of ["connection", "x-hop", "keep-alive", "te", "upgrade", "transfer-encoding"]) {
      expect(out.has(name), name).toBe(false);
    }
  });

  test("MCP transport headers pass", () => {
    expect(out.get("mcp-session-id")).toBe("s-1");
    expect(out.get("mcp-protocol-version")).toBe("2025-11-25");
    expect(out.get("last-event-id")).toBe("e-9");
    expect(out.get("accept")).toBe("application/json, text/event-stream");
    expect(out.get("content-type")).toBe("application/json");
    expect(out.get("origin")).toBe("http://localhost:6274");
    expect(out.get("x-custom")).toBe("kept");
  });

  test("Host and Content-Length are left to fetch; the body is asked for unencoded", () => {
    expect(out.has("host")).toBe(false);
    expect(out.has("content-length")).toBe(false);
    expect(out.get("accept-encoding")).toBe("identity");
  });

  test("X-Forwarded-* are set, appending to a prior X-Forwarded-For", () => {
    expect(out.get("x-forwarded-for")).toBe("10.0.0.1, 192.0.2.7");
    expect(out.get("x-forwarded-host")).toBe("gateway.example");
    expect(out.get("x-forwarded-proto")).toBe("https");
    expect(out.has("cf-connecting-ip")).toBe(false);
  });

  test("exactly these pass, each once", () => {
    expect([...out.keys()]).toEqual([
      "accept",
      "accept-encoding",
      "content-type",
      "last-event-id",
      "mcp-protocol-version",
      "mcp-session-id",
      "origin",
      "x-custom",
      "x-forwarded-for",
      "x-forwarded-host",
      "x-forwarded-proto",
    ]);
  });

  test("a repeated header passes with its values combined; a header named __proto__ is a header like any other", () => {
    const repeated = new Headers([
      ["x-multi", "a"],
      ["x-multi", "b"],
      ["__proto__", "p"],
      ["constructor", "c"],
    ]);
    const record = upstreamRequestHeaders(readHeaders(repeated), { clientAddress: undefined, host: null, proto: "http" });
    // An own header, not the record's prototype.
    expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(record, "__proto__")?.value).toBe("p");
    expect(Object.getOwnPropertyDescriptor(record, "constructor")?.value).toBe("c");
    // (Bun's, Deno's and workerd's fetch send it; Node's Headers, where this test runs, drops it.)
    const sent = new Headers(record);
    expect(sent.get("constructor")).toBe("c");
    expect(sent.get("x-multi")).toBe("a, b");
  });

  test("the client's headers are read once into a record where every name is a header or absent", () => {
    const client = readHeaders(
      new Headers([
        ["x-multi", "a"],
        ["x-multi", "b"],
        ["__proto__", "p"],
        ["Content-Type", "application/json"],
      ]),
    );
    expect(client["x-multi"]).toBe("a, b");
    const header = (name: string) => client[name];
    expect(header("__proto__")).toBe("p");
    expect(header("content-type")).toBe("application/json");
    // Names an ordinary object would inherit are absent, not Object.prototype's members.
    expect(header("constructor")).toBeUndefined();
    expect(header("toString")).toBeUndefined();
    expect(Object.keys(client).sort()).toEqual(["__proto__", "content-type", "x-multi"]);
  });

  test("extra names can be dropped (an API's own credential header)", () => {
    const h = upstream(new Headers({ "x-api-key": "k" }), { clientAddress: undefined, host: null, proto: "http" }, new Set(["x-api-key"]));
    expect(h.has("x-api-key")).toBe(false);
    expect(h.has("x-forwarded-for")).toBe(false);
  });
});

describe("headers back to the client", () => {
  // The copy a response with a replaced body (an SSE guard's) gets: the upstream's headers, cleaned.
  const clientResponseHeaders = (upstream: Headers) => forClient(new Response(null, { headers: upstream }), new Response("").body).headers;

  test("the upstream's headers pass, less hop-by-hop ones", () => {
    const out = clientResponseHeaders(
      new Headers({
        "content-type": "text/event-stream",
        "mcp-session-id": "s-2",
        connection: "close",
        "transfer-encoding": "chunked",
        "cache-control": "no-cache",
      }),
    );
    expect(out.get("mcp-session-id")).toBe("s-2");
    expect(out.get("content-type")).toBe("text/event-stream");
    expect(out.get("cache-control")).toBe("no-cache");
    expect(out.has("connection")).toBe(false);
    expect(out.has("transfer-encoding")).toBe(false);
  });

  test("headers the Connection header names are dropped; every Set-Cookie is kept apart", () => {
    const upstream = new Headers({ connection: "keep-alive, X-Hop", "keep-alive": "timeout=5", "x-hop": "1", "x-stay": "2" });
    upstream.append("set-cookie", "a=1; Path=/");
    upstream.append("set-cookie", "b=2; Path=/");
    const out = clientResponseHeaders(upstream);
    expect([...out.keys()].sort()).toEqual(["set-cookie", "set-cookie", "x-stay"].sort());
    expect(out.getSetCookie()).toEqual(["a=1; Path=/", "b=2; Path=/"]);
  });

  test("an encoding the runtime already decoded is not claimed", () => {
    const out = clientResponseHeaders(new Headers({ "content-encoding": "gzip", "content-length": "12" }));
    expect(out.has("content-encoding")).toBe(false);
    expect(out.has("content-length")).toBe(false);
  });
});

describe("the response for the client", () => {
  const hopHeaders = () => ({
    "content-type": "application/json",
    connection: "keep-alive",
    "keep-alive": "timeout=5",
    "mcp-session-id": "s",
  });

  test("a response with nothing to drop is handed on as it is", () => {
    const response = new Response("{}", { headers: { "content-type": "application/json" } });
    expect(forClient(response, response.body)).toBe(response);
  });

  test("where headers may be edited, the same response goes on without its hop-by-hop headers", async () => {
    const response = new Response("{}", { headers: hopHeaders() });
    const out = forClient(response, response.body);
    expect(out).toBe(response);
    expect([...out.headers.keys()].sort()).toEqual(["content-type", "mcp-session-id"]);
    expect(await out.text()).toBe("{}");
  });

  test("where they are immutable (a fetch response), a copy goes on, with status and body", async () => {
    const response = new Response("{}", { status: 201, statusText: "Made", headers: hopHeaders() });
    const headers = response.headers;
    headers.delete = () => {
      throw new TypeError("immutable");
    };
    const out = forClient(response, response.body);
    expect(out).not.toBe(response);
    expect(out.status).toBe(201);
    expect(out.statusText).toBe("Made");
    expect([...out.headers.keys()].sort()).toEqual(["content-type", "mcp-session-id"]);
    expect(await out.text()).toBe("{}");
  });

  test("what the runtime's server drops by itself needs no copy; what a Connection header names still goes", () => {
    const drops = new Set(["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"]);
    const immutable = (headers: Record<string, string>) => {
      const response = new Response("{}", { headers });
      response.headers.delete = () => {
        throw new TypeError("immutable");
      };
      return response;
    };
    const plain = immutable({ "content-type": "application/json", connection: "keep-alive", "keep-alive": "timeout=5" });
    expect(forClient(plain, plain.body, drops)).toBe(plain);
    const listed = immutable({ connection: "keep-alive, x-hop", "x-hop": "1", "x-stay": "2" });
    const out = forClient(listed, listed.body, drops);
    expect(out).not.toBe(listed);
    expect(out.headers.has("x-hop")).toBe(false);
    expect(out.headers.get("x-stay")).toBe("2");
    const proxy = immutable({ "proxy-connection": "keep-alive" });
    expect(forClient(proxy, proxy.body, drops).headers.has("proxy-connection")).toBe(false);
  });

  test("a replaced body gets a new response with the cleaned headers", async () => {
    const response = new Response("upstream", { headers: hopHeaders() });
    const out = forClient(response, new Response("guarded").body);
    expect(out).not.toBe(response);
    expect(out.headers.has("connection")).toBe(false);
    expect(out.headers.get("mcp-session-id")).toBe("s");
    expect(await out.text()).toBe("guarded");
  });
});

describe("plain OAS APIs", () => {
  test("keep the client's own Authorization and Cookie when asked (never for MCP)", () => {
    const incoming = new Headers({ authorization: "Basic abc", cookie: "a=b", "x-api-key": "k" });
    const info = { clientAddress: undefined, host: null, proto: "http" };
    const kept = upstream(incoming, info, new Set(["x-api-key"]), true);
    expect(kept.get("authorization")).toBe("Basic abc");
    expect(kept.get("cookie")).toBe("a=b");
    expect(kept.has("x-api-key")).toBe(false);
    const mcp = upstream(incoming, info);
    expect(mcp.has("authorization")).toBe(false);
  });
});
