// The gateway's own JavaScript, without the network: the bare passthrough's and the gateway's
// `app.fetch` (an open API, and the same API secured with a key and a policy with allow lists),
// called in this process with the same JSON-RPC POST, each with a stub for the upstream `fetch`
// that answers at once with the bench upstream's answer and headers. What is left is the work each
// app does per request, in µs, with no sockets, syscalls or other process. Then the 1000-tool
// `tools/list` through the open gateway (passed as it is) and the secured one (filtered to the four
// tools the policy allows): the time discovery filtering adds, in µs.
//
//   bun scripts/bench/in-process.ts [--requests 40000] [--concurrency 32] [--rounds 5] [--list-requests 400]
//   node scripts/bench/in-process.ts ...          (Node 22.18+ / 24, which run TypeScript as is)
//
// The client's address is a constant here (the bare passthrough adds it to X-Forwarded-For as the
// gateway does): on Bun, looking it up (`server.requestIP`) is a syscall per request, measured by
// run.mjs and investigate.mjs, not by this script. Each round measures every app once, in a
// rotated order; the differences are paired by round.
import { parseArgs } from "node:util";
import { seedEntries } from "../../src/admin/seed.ts";
import { hashKey } from "../../src/auth/api-keys.ts";
import { createGateway } from "../../src/gateway.ts";
import { API_KEY_PREFIX } from "../../src/stores/layout.ts";
import { MemoryStore } from "../../src/stores/memory.ts";
import { createBareApp } from "./bare-app.mjs";
import { median, rotate } from "./lib.mjs";
import { BENCH_KEY, BENCH_KEY_SESSION, CALL_BODY, LIST_BODY, LIST_TOOLS, NAMED_TOOLS, toolList } from "./messages.mjs";
import { benchDefinition, benchSeedEntries, LISTEN_PATH, MCP_PATH, SECURED_HEADERS } from "./targets.mjs";

const { values: flags } = parseArgs({
  options: {
    requests: { type: "string", default: "40000" },
    concurrency: { type: "string", default: "32" },
    rounds: { type: "string", default: "5" },
    "list-requests": { type: "string", default: "400" },
  },
});
const requests = Number(flags.requests);
const concurrency = Number(flags.concurrency);
const rounds = Number(flags.rounds);
const listRequests = Number(flags["list-requests"]);

const POST_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };
const UPSTREAM = "http://127.0.0.1:9";
const ANSWER = JSON.stringify({ jsonrpc: "2.0", id: 1, result: { content: [{ type: "text", text: "hello from the bench" }] } });
const LIST_ANSWER = new TextEncoder().encode(`{"jsonrpc":"2.0","id":3,"result":${JSON.stringify({ tools: toolList(LIST_TOOLS) })}}`);
// What the bench upstream (a Node server) sends with it.
const answerHeaders = (length: number) => ({
  "content-type": "application/json",
  "content-length": String(length),
  date: new Date().toUTCString(),
  connection: "keep-alive",
  "keep-alive": "timeout=5",
});
const stubFetch = async (_input: unknown, init?: RequestInit): Promise<Response> => {
  // The body is the exact bytes of one of the two requests this script sends.
  const body = init?.body;
  const isList =
    body instanceof Uint8Array || body instanceof ArrayBuffer ? (body as ArrayBufferLike).byteLength === LIST_BODY.length : false;
  return isList
    ? new Response(LIST_ANSWER, { status: 200, headers: answerHeaders(LIST_ANSWER.byteLength) })
    : new Response(ANSWER, { status: 200, headers: answerHeaders(ANSWER.length) });
};
// The bare passthrough calls the global fetch.
globalThis.fetch = stubFetch as typeof fetch;

async function gatewayOver(entries: { key: string; value: string }[]) {
  const store = new MemoryStore();
  for (const entry of entries) await store.put(entry.key, entry.value);
  return createGateway({ store, fetch: stubFetch as typeof fetch, clientAddress: () => "127.0.0.1", log: () => {} });
}
const open = await gatewayOver(seedEntries([["bench", benchDefinition(UPSTREAM)]]));
// The key as the Gateway API stores it (POST /tyk/keys/{key}): its session under its hash.
const secured = await gatewayOver([
  ...benchSeedEntries(UPSTREAM, { secured: true }),
  { key: API_KEY_PREFIX + (await hashKey(BENCH_KEY)), value: JSON.stringify(BENCH_KEY_SESSION) },
]);
const bare = createBareApp(UPSTREAM, "buffer", () => "127.0.0.1");

type App = { fetch(request: Request): Response | Promise<Response> };
interface Target {
  name: string;
  app: App;
  path: string;
  headers: Record<string, string>;
}
const targets: Target[] = [
  { name: "bare passthrough", app: bare, path: MCP_PATH, headers: {} },
  { name: "gateway, open API", app: open, path: `${LISTEN_PATH}${MCP_PATH}`, headers: {} },
  { name: "gateway, key-secured", app: secured, path: `${LISTEN_PATH}${MCP_PATH}`, headers: SECURED_HEADERS },
];

function post(target: Target, body: string): Request {
  return new Request(`http://127.0.0.1:8787${target.path}`, {
    method: "POST",
    headers: { host: "127.0.0.1:8787", ...POST_HEADERS, ...target.headers, "content-length": String(body.length) },
    body,
  });
}

/** µs per request, `count` requests of `body` with `inFlight` in flight; checks each answer. */
async function measure(target: Target, body: string, count: number, inFlight: number, check: (text: string) => boolean): Promise<number> {
  let started = 0;
  async function client(): Promise<void> {
    while (started++ < count) {
      const response = await target.app.fetch(post(target, body));
      const text = await response.text();
      if (response.status !== 200 || !check(text)) throw new Error(`${target.name}: ${response.status} ${text.slice(0, 200)}`);
    }
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, client));
  return ((performance.now() - t0) * 1000) / count;
}
const isAnswer = (text: string) => text === ANSWER;
const listsTools = (n: number) => (text: string) => JSON.parse(text).result.tools.length === n;

const runtime = typeof (globalThis as { Bun?: unknown }).Bun === "object" ? "bun" : `node ${process.version}`;
console.log(
  `${runtime}: ${requests} requests per target and round, ${concurrency} in flight; ${listRequests} tools/list requests, one at a time`,
);
// One round first that is not counted: the JIT's warm-up.
for (const t of targets) await measure(t, CALL_BODY, requests, concurrency, isAnswer);
const [, openTarget, securedTarget] = targets as [Target, Target, Target];
const listOpen = () => measure(openTarget, LIST_BODY, listRequests, 1, listsTools(LIST_TOOLS));
const listSecured = () => measure(securedTarget, LIST_BODY, listRequests, 1, listsTools(NAMED_TOOLS.length));
await listOpen();
await listSecured();

const rows: Record<string, number>[] = [];
for (let round = 1; round <= rounds; round++) {
  const row: Record<string, number> = {};
  for (const t of rotate(targets, round)) row[t.name] = await measure(t, CALL_BODY, requests, concurrency, isAnswer);
  const lists = round % 2 ? [listOpen, listSecured] : [listSecured, listOpen];
  for (const list of lists) row[list === listOpen ? "list open" : "list secured"] = await list();
  rows.push(row);
  const b = row["bare passthrough"]!;
  console.log(
    `round ${round}: bare ${b.toFixed(2)} µs, open ${row["gateway, open API"]!.toFixed(2)} µs (+${(row["gateway, open API"]! - b).toFixed(2)}), ` +
      `secured ${row["gateway, key-secured"]!.toFixed(2)} µs (+${(row["gateway, key-secured"]! - b).toFixed(2)}); ` +
      `tools/list open ${row["list open"]!.toFixed(0)} µs, secured ${row["list secured"]!.toFixed(0)} µs (filtering +${(row["list secured"]! - row["list open"]!).toFixed(0)})`,
  );
}
const med = (f: (r: Record<string, number>) => number) => median(rows.map(f));
const spreadOf = (f: (r: Record<string, number>) => number) => {
  const v = rows.map(f);
  return `${Math.min(...v).toFixed(2)}–${Math.max(...v).toFixed(2)}`;
};
const bareOf = (r: Record<string, number>) => r["bare passthrough"]!;
console.log(
  `median: bare passthrough ${med(bareOf).toFixed(2)} µs; ` +
    `open gateway − bare ${med((r) => r["gateway, open API"]! - bareOf(r)).toFixed(2)} µs (${spreadOf((r) => r["gateway, open API"]! - bareOf(r))}); ` +
    `secured gateway − bare ${med((r) => r["gateway, key-secured"]! - bareOf(r)).toFixed(2)} µs (${spreadOf((r) => r["gateway, key-secured"]! - bareOf(r))}); ` +
    `secured − open ${med((r) => r["gateway, key-secured"]! - r["gateway, open API"]!).toFixed(2)} µs; ` +
    `tools/list filtering ${med((r) => r["list secured"]! - r["list open"]!).toFixed(0)} µs (${spreadOf((r) => r["list secured"]! - r["list open"]!)})`,
);
