// The gateway's own JavaScript, without the network: the gateway's and the bare passthrough's
// `app.fetch`, called in this process with the same JSON-RPC POST, each with a stub for the
// upstream `fetch` that answers at once with the bench upstream's JSON answer and headers. What is
// left is the work each app does per request, in µs, with no sockets, syscalls or other process.
//
//   bun scripts/bench/in-process.ts [--requests 40000] [--concurrency 32] [--rounds 5]
//   node scripts/bench/in-process.ts ...          (Node 22.18+ / 24, which run TypeScript as is)
//
// The gateway's client address is a constant here: on Bun, looking it up (`server.requestIP`) is
// a syscall per request, measured by run.mjs and investigate.mjs, not by this script.
import { parseArgs } from "node:util";
import { createGateway } from "../../src/gateway.ts";
import { seedEntries } from "../../src/admin/seed.ts";
import { MemoryStore } from "../../src/stores/memory.ts";
import { createBareApp } from "./bare-app.mjs";
import { median } from "./lib.mjs";
import { CALL_BODY, POST_HEADERS } from "./load.mjs";
import { benchDefinition, LISTEN_PATH, MCP_PATH } from "./targets.mjs";

const { values: flags } = parseArgs({
  options: {
    requests: { type: "string", default: "40000" },
    concurrency: { type: "string", default: "32" },
    rounds: { type: "string", default: "5" },
  },
});
const requests = Number(flags.requests);
const concurrency = Number(flags.concurrency);
const rounds = Number(flags.rounds);

const UPSTREAM = "http://127.0.0.1:9";
const ANSWER = JSON.stringify({ jsonrpc: "2.0", id: 1, result: { content: [{ type: "text", text: "hello from the bench" }] } });
// What the bench upstream (a Node server) sends with it.
const ANSWER_HEADERS = {
  "content-type": "application/json",
  "content-length": String(ANSWER.length),
  date: new Date().toUTCString(),
  connection: "keep-alive",
  "keep-alive": "timeout=5",
};
const stubFetch = async (): Promise<Response> => new Response(ANSWER, { status: 200, headers: ANSWER_HEADERS });
// The bare passthrough calls the global fetch.
globalThis.fetch = stubFetch as typeof fetch;

const store = new MemoryStore();
for (const entry of seedEntries([["bench", benchDefinition(UPSTREAM)]])) await store.put(entry.key, entry.value);
const gateway = createGateway({ store, fetch: stubFetch as typeof fetch, clientAddress: () => "127.0.0.1" });
const bare = createBareApp(UPSTREAM, "buffer");

function post(path: string): Request {
  return new Request(`http://127.0.0.1:8787${path}`, {
    method: "POST",
    headers: { host: "127.0.0.1:8787", ...POST_HEADERS, "content-length": String(CALL_BODY.length) },
    body: CALL_BODY,
  });
}

/** µs per request, `requests` requests with `concurrency` in flight. */
async function measure(app: { fetch(request: Request): Response | Promise<Response> }, path: string): Promise<number> {
  let started = 0;
  async function client(): Promise<void> {
    while (started++ < requests) {
      const response = await app.fetch(post(path));
      const text = await response.text();
      if (response.status !== 200 || text !== ANSWER) throw new Error(`${path}: ${response.status} ${text.slice(0, 200)}`);
    }
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, client));
  return ((performance.now() - t0) * 1000) / requests;
}

const runtime = typeof (globalThis as { Bun?: unknown }).Bun === "object" ? "bun" : `node ${process.version}`;
console.log(`${runtime}: ${requests} requests per target and round, ${concurrency} in flight`);
// One round first that is not counted: the JIT's warm-up.
await measure(bare, MCP_PATH);
await measure(gateway, `${LISTEN_PATH}${MCP_PATH}`);
const rows: Array<[number, number]> = [];
for (let round = 1; round <= rounds; round++) {
  const b = await measure(bare, MCP_PATH);
  const g = await measure(gateway, `${LISTEN_PATH}${MCP_PATH}`);
  rows.push([b, g]);
  console.log(`round ${round}: bare passthrough ${b.toFixed(2)} µs, gateway ${g.toFixed(2)} µs, gateway − bare ${(g - b).toFixed(2)} µs`);
}
const diffs = rows.map(([b, g]) => g - b);
console.log(
  `median: bare passthrough ${median(rows.map((r) => r[0])).toFixed(2)} µs, gateway ${median(rows.map((r) => r[1])).toFixed(2)} µs, gateway − bare ${median(diffs).toFixed(2)} µs`,
);
