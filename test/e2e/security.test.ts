/**
 * Trying to get around the gateway's checks, on workerd, Bun and Deno. Behind the gateway sits a
 * recording upstream: every refused attempt must get the right HTTP status and JSON-RPC code AND
 * leave the upstream untouched, and no client credential (`Authorization`, the API key header,
 * `Cookie`) may ever reach it, on refused and allowed requests alike.
 *
 * - `sec-a` (`/sec-a/`): auth token in `X-Api-Key`; the `safe-only` policy allows only the tool
 *   `safe` and a JSON-RPC method allowlist that blocks `notifications/cancelled`;
 * - `sec-b` (`/sec-b/`): auth token in `Authorization`; no key in this suite grants it;
 * - `sec-jwt` (`/sec-jwt/`): HS256 JWTs (`source` + `signingMethod: "hmac"`), one issuer, one
 *   audience, policies from the `pol` claim.
 *
 * Attempts: odd-case method names and members, duplicate member names (also hidden behind escapes),
 * look-alike tool names, a blocked notification, a response that carries a method, bad keys (expired,
 * revoked, inactive, in the wrong header, in the query string, in a cookie, for another API), bad
 * JWTs (alg none, wrong signature, audience, issuer, expired, not yet valid, no policy), and
 * pathological or invalid patterns in a policy.
 */
import { SignJWT, UnsecuredJWT } from "jose";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { mcpDefinition, withTokenAuth } from "../helpers/definitions.ts";
import { RUNTIMES, startGateway, type RunningGateway, tykAdmin } from "../helpers/gateways.ts";
import { startUpstream, jsonRpcResult, type TestUpstream } from "../helpers/upstream.ts";
import { MCP_POST_HEADERS } from "../helpers/mcp.ts";

const KEY_HEADER = "X-Api-Key";
const JWT_SECRET = new TextEncoder().encode("security-suite-hmac-secret-0123456789abcdef");
const ISSUER = "https://issuer.security.test";
const AUDIENCE = "mcp-gateway-security-suite";
const LONG = 50_000;

function tokenApi(id: string, listenPath: string, upstream: string, header: string) {
  return withTokenAuth(mcpDefinition({ id, listenPath, upstream }), header);
}

function jwtApi(upstream: string) {
  const d = mcpDefinition({ id: "sec-jwt", listenPath: "/sec-jwt/", upstream }) as Record<string, any>;
  d.components = { securitySchemes: { jwt: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } };
  d.security = [{ jwt: [] }];
  d["x-tyk-api-gateway"].server.authentication = {
    enabled: true,
    securitySchemes: {
      jwt: {
        enabled: true,
        source: Buffer.from(JWT_SECRET).toString("base64"),
        signingMethod: "hmac",
        allowedIssuers: [ISSUER],
        allowedAudiences: [AUDIENCE],
        policyFieldName: "pol",
      },
    },
  };
  return d;
}

/** The access the `safe-only` policies grant on an API. */
const safeOnly = (apiId: string) => ({
  api_id: apiId,
  json_rpc_methods_access_rights: {
    allowed: ["initialize", "notifications/initialized", "ping", "tools/list", "tools/call", "notifications/.*"],
    blocked: ["notifications/cancelled"],
  },
  mcp_access_rights: { tools: { allowed: ["safe"] } },
});

const now = () => Math.floor(Date.now() / 1000);

async function jwt(
  claims: Record<string, unknown>,
  options: { secret?: Uint8Array; iss?: string; aud?: string; exp?: number; nbf?: number } = {},
) {
  let builder = new SignJWT({ pol: "jwt-safe", ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject("jwt-agent")
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt(now() - 5)
    .setExpirationTime(options.exp ?? now() + 300);
  if (options.nbf !== undefined) builder = builder.setNotBefore(options.nbf);
  return builder.sign(options.secret ?? JWT_SECRET);
}

const call = (name: string, id: number | string = 1) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: {} } });

describe.each(RUNTIMES)("security on %s", (runtime) => {
  let gw: RunningGateway;
  let up: TestUpstream;
  let goodKey: string;
  /** Every credential handed to a client in this suite: none may ever reach the upstream. */
  const credentials: string[] = [];

  const admin = (method: string, path: string, body?: unknown) => tykAdmin(gw, method, path, body);

  async function createKey(session: Record<string, unknown>) {
    const created = await admin("POST", "/tyk/keys", session);
    expect(created.status, JSON.stringify(created.json)).toBe(200);
    credentials.push(created.json.key);
    return created.json as { key: string; key_hash: string };
  }

  /** Sends one message (an object, raw JSON text or bytes) to a proxy, by POST unless told. */
  async function post(path: string, body: unknown, headers: Record<string, string> = {}, method = "POST") {
    const started = performance.now();
    const res = await fetch(`${gw.url}${path}`, {
      method,
      headers: { ...MCP_POST_HEADERS, ...headers },
      body: typeof body === "string" || body instanceof Uint8Array ? (body as BodyInit) : JSON.stringify(body),
    });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json, ms: performance.now() - started };
  }

  /** Sends an attempt that must be refused: status and JSON-RPC code, and nothing reached the upstream. */
  async function refused(path: string, body: unknown, headers: Record<string, string>, status: number, code: number, method = "POST") {
    const before = up.seen.length;
    const res = await post(path, body, headers, method);
    expect(up.seen.length, `the upstream saw a refused request: ${JSON.stringify(up.seen.at(-1)?.body)?.slice(0, 200)}`).toBe(before);
    expect(res.status, res.text).toBe(status);
    expect(res.json, res.text).toMatchObject({ jsonrpc: "2.0", error: { code, data: { http_code: status } } });
    if (status === 401) expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    return res;
  }

  /** Sends a request that must pass: 200 (or 202), and the upstream saw exactly it, without credentials. */
  async function allowed(path: string, body: unknown, headers: Record<string, string>) {
    const before = up.seen.length;
    const res = await post(path, body, headers);
    expect([200, 202], res.text).toContain(res.status);
    expect(up.seen.length).toBe(before + 1);
    const seen = up.seen.at(-1)!;
    expect(seen.body).toBe(typeof body === "string" ? body : JSON.stringify(body));
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers["x-api-key"]).toBeUndefined();
    expect(seen.headers.cookie).toBeUndefined();
    return res;
  }

  const keyHeaders = () => ({ [KEY_HEADER]: goodKey });

  beforeAll(async () => {
    up = await startUpstream();
    up.handle((_req, res, body) => {
      let message: any;
      try {
        message = JSON.parse(body);
      } catch {}
      if (message && !("id" in message)) {
        res.writeHead(202).end();
        return;
      }
      jsonRpcResult(res, body, { content: [{ type: "text", text: "ok" }] });
    });
    gw = await startGateway(runtime, [
      tokenApi("sec-a", "/sec-a/", up.url, KEY_HEADER),
      tokenApi("sec-b", "/sec-b/", up.url, "Authorization"),
      jwtApi(up.url),
    ]);
    for (const [id, api] of [
      ["safe-only", "sec-a"],
      ["jwt-safe", "sec-jwt"],
    ] as const) {
      const created = await admin("POST", "/tyk/policies", { id, name: id, access_rights: { [api]: safeOnly(api) } });
      expect(created.status, JSON.stringify(created.json)).toBe(200);
    }
    const patho = await admin("POST", "/tyk/policies", {
      id: "patho",
      access_rights: {
        "sec-a": { api_id: "sec-a", mcp_access_rights: { tools: { allowed: ["(a+)+$", "(.*)*y"], blocked: ["(.*)*x", "(a|aa)+z"] } } },
      },
    });
    expect(patho.status, JSON.stringify(patho.json)).toBe(200);
    goodKey = (await createKey({ alias: "safe-agent", apply_policies: ["safe-only"] })).key;
  }, 90_000);

  afterAll(async () => {
    await gw?.stop();
    await up?.stop();
  });

  test("the allowed request reaches the upstream, without the client's credentials", async () => {
    const res = await allowed("/sec-a/mcp", call("safe"), {
      ...keyHeaders(),
      Authorization: `Bearer ${goodKey}`,
      Cookie: `session=${goodKey}; key=${goodKey}`,
    });
    expect(res.json).toMatchObject({ id: 1, result: { content: [{ text: "ok" }] } });
    // "Bearer <key>" in the key header works too, and is not forwarded either.
    await allowed("/sec-a/mcp", call("safe", 2), { [KEY_HEADER]: `Bearer ${goodKey}` });
    // An allowed notification gets the upstream's 202.
    const note = await allowed(
      "/sec-a/mcp",
      { jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: 1, progress: 1 } },
      keyHeaders(),
    );
    expect(note.status).toBe(202);
  });

  test("other tools, and method names in other cases, are refused (403 -32002)", async () => {
    await refused("/sec-a/mcp", call("danger"), keyHeaders(), 403, -32002);
    for (const method of ["Tools/Call", "TOOLS/CALL", "tools/Call", "tools/call ", " tools/call", "tools//call", "tools/call\u0000"]) {
      await refused("/sec-a/mcp", { jsonrpc: "2.0", id: 1, method, params: { name: "danger" } }, keyHeaders(), 403, -32002);
    }
    // Escapes decode to the same method and name the upstream reads: still tools/call of "danger".
    await refused(
      "/sec-a/mcp",
      '{"jsonrpc":"2.0","id":1,"method":"tools\\u002fcall","params":{"name":"d\\u0061nger"}}',
      keyHeaders(),
      403,
      -32002,
    );
  });

  test("odd-case and duplicate members are refused (400 -32600)", async () => {
    const bad = [
      // A `Method` member, alone or beside `method`.
      '{"jsonrpc":"2.0","id":1,"Method":"tools/call","params":{"name":"danger"}}',
      '{"jsonrpc":"2.0","id":1,"method":"tools/list","Method":"tools/call","params":{"name":"danger"}}',
      '{"jsonrpc":"2.0","id":1,"METHOD":"tools/call","method":"ping"}',
      // `method` twice, also spelled with an escape.
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"safe"},"method":"tools/call"}',
      '{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"danger"}}',
      '{"jsonrpc":"2.0","id":1,"method":"tools/list","m\\u0065thod":"tools/call","params":{"name":"danger"}}',
      // `name` twice in params, `Name` beside `name`, `Name` alone, an escaped second `name`.
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"safe","name":"danger"}}',
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"danger","name":"safe"}}',
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"safe","Name":"danger"}}',
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"Name":"danger"}}',
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"safe","n\\u0061me":"danger"}}',
      // `params` twice.
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"safe"},"params":{"name":"danger"}}',
      // A client response that also carries a method.
      '{"jsonrpc":"2.0","id":1,"result":{},"method":"tools/call","params":{"name":"danger"}}',
      '{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"x"},"method":"tools/call","params":{"name":"danger"}}',
      // A batch that smuggles a second call, a name that is not a string, an id that is null.
      '[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"safe"}},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"danger"}}]',
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":["safe","danger"]}}',
      '{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"danger"}}',
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"__proto__":{"name":"safe"}}}',
    ];
    for (const body of bad) await refused("/sec-a/mcp", body, keyHeaders(), 400, -32600);
  });

  test("a message the gateway cannot read exactly as sent is refused, and so is the wrong media type", async () => {
    const invalidUtf8 = Buffer.concat([
      Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"safe'),
      Buffer.from([0xff]),
      Buffer.from('"}}'),
    ]);
    await refused("/sec-a/mcp", new Uint8Array(invalidUtf8), keyHeaders(), 400, -32700);
    // An overlong UTF-8 encoding of "/" in the method.
    const overlong = Buffer.concat([
      Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools'),
      Buffer.from([0xc0, 0xaf]),
      Buffer.from('call","params":{"name":"danger"}}'),
    ]);
    await refused("/sec-a/mcp", new Uint8Array(overlong), keyHeaders(), 400, -32700);
    await refused("/sec-a/mcp", `\ufeff${JSON.stringify(call("danger"))}`, keyHeaders(), 403, -32002);
    await refused("/sec-a/mcp", "{not json", keyHeaders(), 400, -32700);
    for (const type of [
      "text/plain",
      "application/x-www-form-urlencoded",
      "application/json-patch+json",
      "multipart/form-data; boundary=x",
    ]) {
      await refused("/sec-a/mcp", call("danger"), { ...keyHeaders(), "content-type": type }, 415, -32000);
    }
    await refused("/sec-a/mcp", call("danger"), { ...keyHeaders(), accept: "application/json" }, 406, -32000);
  });

  test("other HTTP methods never carry a message past the check", async () => {
    const danger = JSON.stringify(call("danger"));
    for (const method of ["PUT", "PATCH", "DELETE", "PROPFIND"]) {
      // Without a credential: refused before anything else.
      await refused("/sec-a/mcp", danger, {}, 401, -32001, method);
      // With one: the gateway may pass the request on (an upstream answers 405) or refuse it, but a
      // JSON-RPC body it has not checked must never reach the upstream.
      const before = up.seen.length;
      const res = await post("/sec-a/mcp", danger, keyHeaders(), method);
      const delivered = up.seen.slice(before);
      expect(
        delivered.every((seen) => seen.body === ""),
        `${method} delivered ${JSON.stringify(delivered.map((s) => s.body))} (${res.status})`,
      ).toBe(true);
    }
  });

  test("look-alike tool names are refused (403 -32002)", async () => {
    const lookAlikes = [
      "\u0455afe", // Cyrillic dze
      "s\u0430fe", // Cyrillic a
      "\uff53\uff41\uff46\uff45", // fullwidth
      "safe\u200b", // zero-width space
      "\u202esafe", // right-to-left override
      "Safe",
      "SAFE",
      "safe/../danger",
    ];
    for (const name of lookAlikes) await refused("/sec-a/mcp", call(name), keyHeaders(), 403, -32002);
  });

  test("a name that cannot be read one way only is refused before any policy check (400 -32602)", async () => {
    for (const name of ["safe\n", "safe ", " safe", "safe\u0000", "sa\tfe", "safe\u0085", "\u00a0safe"]) {
      await refused("/sec-a/mcp", call(name), keyHeaders(), 400, -32602);
    }
  });

  test("a notification with a blocked method is refused (403 -32002)", async () => {
    await refused("/sec-a/mcp", { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 1 } }, keyHeaders(), 403, -32002);
    await refused(
      "/sec-a/mcp",
      { jsonrpc: "2.0", id: 9, method: "notifications/cancelled", params: { requestId: 1 } },
      keyHeaders(),
      403,
      -32002,
    );
  });

  test("expired, revoked and inactive keys are refused (401 -32001)", async () => {
    const expired = await createKey({ apply_policies: ["safe-only"], expires: now() - 60 });
    await refused("/sec-a/mcp", call("safe"), { [KEY_HEADER]: expired.key }, 401, -32001);

    const revoked = await createKey({ apply_policies: ["safe-only"] });
    await allowed("/sec-a/mcp", call("safe"), { [KEY_HEADER]: revoked.key });
    expect((await admin("DELETE", `/tyk/keys/${revoked.key_hash}?hashed=true`)).status).toBe(200);
    await refused("/sec-a/mcp", call("safe"), { [KEY_HEADER]: revoked.key }, 401, -32001);

    const inactive = await createKey({ apply_policies: ["safe-only"], is_inactive: true });
    await refused("/sec-a/mcp", call("safe"), { [KEY_HEADER]: inactive.key }, 401, -32001);

    await refused("/sec-a/mcp", call("safe"), { [KEY_HEADER]: `${goodKey}x` }, 401, -32001);
    await refused("/sec-a/mcp", call("safe"), {}, 401, -32001);
  });

  test("a valid key anywhere but its header is refused (401 -32001)", async () => {
    const enc = encodeURIComponent(goodKey);
    for (const query of [
      `key=${enc}`,
      `authorization=${enc}`,
      `Authorization=Bearer%20${enc}`,
      `x-api-key=${enc}`,
      `access_token=${enc}`,
    ]) {
      await refused(`/sec-a/mcp?${query}`, call("safe"), {}, 401, -32001);
    }
    await refused(
      "/sec-a/mcp",
      call("safe"),
      { Cookie: `${KEY_HEADER}=${goodKey}; key=${goodKey}; authorization=${goodKey}` },
      401,
      -32001,
    );
    // The proxy reads X-Api-Key only: the same key in Authorization is not a credential here.
    await refused("/sec-a/mcp", call("safe"), { Authorization: `Bearer ${goodKey}` }, 401, -32001);
  });

  test("a key for API A is refused on API B (403 -32002)", async () => {
    await refused("/sec-b/mcp", call("safe"), { Authorization: `Bearer ${goodKey}` }, 403, -32002);
    await refused("/sec-b/mcp", call("safe"), { Authorization: goodKey }, 403, -32002);
  });

  test("bad JWTs are refused (401 -32001), a JWT without a usable policy gets 403", async () => {
    const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
    const valid = await jwt({});
    credentials.push(valid);
    await allowed("/sec-jwt/mcp", call("safe"), { ...bearer(valid), Cookie: `token=${valid}` });
    await refused("/sec-jwt/mcp", call("danger"), bearer(valid), 403, -32002);

    const claims = { pol: "jwt-safe", sub: "jwt-agent", iss: ISSUER, aud: AUDIENCE, exp: now() + 300 };
    const unsecured = new UnsecuredJWT(claims).encode();
    const [header, payload] = valid.split(".");
    const noneHeader = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
    const otherSecret = new TextEncoder().encode("not-the-gateway-secret-0123456789abcdef!");
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, pol: "admin" })).toString("base64url")}.${valid.split(".")[2]}`;
    const bad = {
      "alg none": unsecured,
      "alg none with the valid payload": `${noneHeader}.${payload}.`,
      "HS256 without a signature": `${header}.${payload}.`,
      "wrong signature": await jwt({}, { secret: otherSecret }),
      "tampered payload": tampered,
      "wrong audience": await jwt({}, { aud: "another-api" }),
      "wrong issuer": await jwt({}, { iss: "https://evil.example.test" }),
      expired: await jwt({}, { exp: now() - 120 }),
      "not yet valid": await jwt({}, { nbf: now() + 600 }),
      garbage: "not.a.jwt",
    };
    for (const [what, token] of Object.entries(bad)) {
      credentials.push(token);
      const res = await refused("/sec-jwt/mcp", call("safe"), bearer(token), 401, -32001);
      expect(res.json.error.message, what).toMatch(/Authentication failed|invalid|expired|not/i);
    }
    // Signed correctly, but naming no policy, or a policy that does not exist: 403.
    await refused("/sec-jwt/mcp", call("safe"), bearer(await jwt({ pol: undefined })), 403, -32002);
    await refused("/sec-jwt/mcp", call("safe"), bearer(await jwt({ pol: "no-such-policy" })), 403, -32002);
    // A JWT is not an API key, and an API key is not a JWT.
    await refused("/sec-a/mcp", call("safe"), { [KEY_HEADER]: valid }, 401, -32001);
    await refused("/sec-jwt/mcp", call("safe"), bearer(goodKey), 401, -32001);
  });

  test("pathological patterns answer quickly with the right result", async () => {
    const patho = await createKey({ apply_policies: ["patho"] });
    const headers = { [KEY_HEADER]: patho.key };
    const as = "a".repeat(LONG);
    const cases: [string, boolean][] = [
      [as, true], // (a+)+$
      [`${as}!`, false], // the classic catastrophic-backtracking input for (a+)+$
      [`${as}x`, false], // blocked by (.*)*x
      [`${"x".repeat(LONG)}y`, true], // (.*)*y
      [`${as}z`, false], // blocked by (a|aa)+z
      [`${as}b`, false],
    ];
    for (const [name, ok] of cases) {
      const res = ok ? await allowed("/sec-a/mcp", call(name), headers) : await refused("/sec-a/mcp", call(name), headers, 403, -32002);
      expect(res.ms, `${name.slice(-3)} took ${Math.round(res.ms)} ms`).toBeLessThan(1000);
    }
  });

  test("patterns that are not RE2 are refused by the policy API (400) and not stored", async () => {
    const invalid: [string, Record<string, unknown>][] = [
      ["backreference", { mcp_access_rights: { tools: { allowed: ["(a)\\1"] } } }],
      ["lookahead", { mcp_access_rights: { tools: { blocked: ["(?=x)safe"] } } }],
      ["lookbehind", { json_rpc_methods_access_rights: { blocked: ["(?<=tools/)call"] } }],
      ["possessive", { mcp_access_rights: { prompts: { allowed: ["a++"] } } }],
      ["unbalanced", { mcp_access_rights: { resources: { allowed: ["(demo://"] } } }],
      ["escaping the anchors", { mcp_access_rights: { tools: { allowed: ["safe)|(.*"] } } }],
      ["too long", { mcp_access_rights: { tools: { allowed: ["a".repeat(1025)] } } }],
    ];
    for (const [what, rights] of invalid) {
      const id = `bad-${what.replace(/\s/g, "-")}`;
      const res = await admin("POST", "/tyk/policies", { id, access_rights: { "sec-a": { api_id: "sec-a", ...rights } } });
      expect(res.status, `${what}: ${JSON.stringify(res.json)}`).toBe(400);
      expect(res.json.status).toBe("error");
      expect((await admin("GET", `/tyk/policies/${id}`)).status).toBe(404);
      // Nor can an existing policy be changed to one, nor a key carry one in its own rights.
      const put = await admin("PUT", "/tyk/policies/patho", { access_rights: { "sec-a": { api_id: "sec-a", ...rights } } });
      expect(put.status, `${what} (update)`).toBe(400);
      const key = await admin("POST", "/tyk/keys", { access_rights: { "sec-a": { api_id: "sec-a", ...rights } } });
      expect(key.status, `${what} (key)`).toBe(400);
    }
  });

  test("no client credential ever reached the upstream", () => {
    expect(up.seen.length).toBeGreaterThan(0);
    for (const seen of up.seen) {
      expect(seen.headers.authorization).toBeUndefined();
      expect(seen.headers["x-api-key"]).toBeUndefined();
      expect(seen.headers.cookie).toBeUndefined();
      expect(seen.headers["proxy-authorization"]).toBeUndefined();
      const visible = `${seen.url}\n${JSON.stringify(seen.headers)}`;
      for (const credential of credentials) expect(visible.includes(credential), "a credential reached the upstream").toBe(false);
    }
  });
});
