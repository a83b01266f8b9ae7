// Gateway variants for scripts/bench/investigate.mjs: the gateway built with one step of its
// request path removed or changed, to measure what that step costs. Nothing in src/ is edited: an
// esbuild plugin rewrites the module text while bundling. A patch whose text is no longer found
// in src/ (the code moved on) makes its variant fail loudly rather than measure the wrong thing.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { build } from "esbuild";
import { root } from "./lib.mjs";

const replace = (from, to) => (text) => text.replace(from, to);

/** Each patch: the src file it applies to and a text transform. */
const PATCHES = {
  // Not a variant: for instructions.mjs. Under valgrind everything runs ~40 times slower, so at c>1 a
  // request would wait past the deadline's 50 ms link delay (deadline.ts) that it never reaches
  // natively, and be counted with a second timer and a listener. Scaled to match.
  linkAfterUnderValgrind: {
    file: "src/proxy/deadline.ts",
    apply: replace("export const DEFAULT_LINK_AFTER_MS = 50;", "export const DEFAULT_LINK_AFTER_MS = 2000;"),
  },
  // No client address for X-Forwarded-For: on Bun, `server.requestIP` (one getpeername per call).
  noClientAddressBun: {
    file: "src/bun.ts",
    apply: replace("  clientAddress: (c) => (c.env as { server: BunServer }).server.requestIP(c.req.raw)?.address,\n", ""),
  },
  noClientAddressWorker: {
    file: "src/worker.ts",
    apply: replace('    clientAddress: (_c, headers) => headers["cf-connecting-ip"],\n', ""),
  },
  // The duplicate-member scan over the request text (json-guard.ts) skipped.
  noDuplicateScan: {
    file: "src/mcp/json-guard.ts",
    apply: replace(
      "export function findAmbiguousMember(",
      "export function findAmbiguousMember(): undefined { return undefined; }\nfunction __benchUnused(",
    ),
  },
  // The body still read, but decoded and parsed once only: every later request reuses the first
  // request's classification (the bench sends the same message every time).
  noParse: {
    file: "src/steps/read.ts",
    apply: (text) =>
      text.replace(
        /parseMessage\(decodeUtf8\(bytes\)(, [^)]*)?\)/,
        (call) => `((globalThis as { __benchMcp?: ReturnType<typeof parseMessage> }).__benchMcp ??= ${call})`,
      ),
  },

  // Request headers not filtered: the client's headers (their record) go upstream as they are.
  noHeaderFilter: {
    file: "src/http/headers.ts",
    apply: replace(
      "export function upstreamRequestHeaders(",
      "export function upstreamRequestHeaders(incoming: HeaderRecord, ..._rest: unknown[]): UpstreamHeaders { return incoming as UpstreamHeaders; }\nfunction __benchUnused1(",
    ),
  },
  // The upstream's response handed back without looking at its headers (no hop-by-hop checks).
  noResponseCleanup: {
    file: "src/steps/forward.ts",
    apply: replace(
      "forClient(response, responseBody, serverDrops, answerHeaders, upstreamBody)",
      "(responseBody === upstreamBody ? response : forClient(response, responseBody, serverDrops, answerHeaders, upstreamBody))",
    ),
  },

  // No upstream deadline: no AbortController, no timer, no signal on the upstream fetch.
  noDeadline: {
    file: "src/steps/forward.ts",
    apply: (text) =>
      [
        [
          "const deadline = new UpstreamDeadline(request, seconds * 1000, deadlineOptions);",
          "const deadline = { settle() {}, timedOut: false, clientGone: false } as unknown as UpstreamDeadline; void deadlineOptions;",
        ],
        ["signal: deadline.signal };", "};"],
      ].reduce((t, [from, to]) => (t.includes(from) ? t.replace(from, to) : "\u0000missing"), text),
  },
  // Discovery lists not filtered (the answer to tools/list passes as it came): what filtering costs.
  noDiscoveryFilter: {
    file: "src/mcp/discovery.ts",
    apply: replace(
      "export function needsFiltering(method: string): boolean {",
      "export function needsFiltering(_method: string): boolean { return false; }\nfunction __benchUnused2(method: string): boolean {",
    ),
  },
  // Diagnostic only (it breaks revocation): a key's record, once found in the store, kept (in
  // the module, so the admin's reads on workerd, in the same isolate, fill it too).
  // What the per-request read costs (on workerd, Miniflare's KV: a call into its KV worker).
  keyReadOnce: {
    file: "src/auth/api-keys.ts",
    apply: (text) =>
      text.includes("const raw = await this.#store.get(API_KEY_PREFIX + hash);")
        ? `const __benchKeyRecords = new Map<string, string>();\n${text.replace(
            "const raw = await this.#store.get(API_KEY_PREFIX + hash);",
            "const raw = __benchKeyRecords.get(hash) ?? (await this.#store.get(API_KEY_PREFIX + hash)); if (raw !== null) __benchKeyRecords.set(hash, raw);",
          )}`
        : "\u0000missing",
  },
};

/** The variants measured: name, patches, extra environment / bindings. */
export const VARIANTS = [
  { name: "as is", patches: [], note: "src/ bundled unchanged" },
  { name: "admin API off", patches: [], env: { ADMIN_API: "off" }, note: "ADMIN_API=off: no admin dispatch step" },
  {
    name: "no X-Forwarded-For address",
    patches: ["noClientAddressBun", "noClientAddressWorker"],
    note: "the client address not looked up (Bun: server.requestIP; workerd: a lookup in the header record)",
  },
  { name: "no duplicate-key scan", patches: ["noDuplicateScan"], note: "json-guard findAmbiguousMember skipped" },
  { name: "no JSON-RPC parse", patches: ["noParse"], note: "the body read, but decoded and classified once only" },
  { name: "no header filtering", patches: ["noHeaderFilter"], note: "the client's headers passed upstream as they are" },
  { name: "no deadline", patches: ["noDeadline"], note: "no timeout timer, AbortController or signal on the upstream fetch" },
  {
    name: "no response header checks",
    patches: ["noResponseCleanup"],
    note: "the upstream's response returned without looking at its headers",
  },
  {
    name: "observability off",
    patches: [],
    env: {
      GATEWAY_CONFIG: JSON.stringify({
        access_logs: { enabled: false },
        enable_analytics: false,
        opentelemetry: { metrics: { enabled: false } },
      }),
    },
    note: "GATEWAY_CONFIG with access logs, analytics and metrics off (the defaults have all three on)",
  },
  {
    name: "no discovery filtering",
    patches: ["noDiscoveryFilter"],
    note: "diagnostic, not a fix (the consumer would see every tool): list answers pass unfiltered, so the secured gateway's tools/list shows what filtering costs",
  },
  {
    name: "key read once",
    patches: ["keyReadOnce"],
    note: "diagnostic, not a fix (a revoked key would keep working): the key's record read from the store once per key, then kept (secured gateway only)",
  },
  {
    name: "all of the above",
    patches: [
      "noClientAddressBun",
      "noClientAddressWorker",
      "noDuplicateScan",
      "noParse",
      "noHeaderFilter",
      "noDeadline",
      "noResponseCleanup",
    ],
    env: { ADMIN_API: "off" },
    note: "every change at once",
  },
];

/** esbuild plugin applying the named patches to src/ modules. */
export function patchPlugin(names) {
  // By the path inside a tree (src/...), so that a patch applies to another tree's entry as well.
  const byFile = new Map();
  for (const name of names) {
    const patch = PATCHES[name];
    if (!patch) throw new Error(`unknown patch ${name}`);
    byFile.set(patch.file, [...(byFile.get(patch.file) ?? []), { name, apply: patch.apply }]);
  }
  return {
    name: "bench-patches",
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        const at = args.path.lastIndexOf("/src/");
        const patches = at === -1 ? undefined : byFile.get(args.path.slice(at + 1));
        if (!patches) return undefined;
        let text = await readFile(args.path, "utf8");
        for (const patch of patches) {
          const next = patch.apply(text);
          if (next === text || next.includes("\u0000missing")) {
            throw new Error(`patch ${patch.name} no longer applies to ${args.path}: update scripts/bench/variants.mjs`);
          }
          text = next;
        }
        return { contents: text, loader: "ts" };
      });
    },
  };
}

/** Bundles the Bun entry (src/bun.ts) with patches into `outfile`, to run with `bun outfile`. */
export async function bundleBunEntry(outfile, names) {
  await build({
    entryPoints: [join(root, "src/bun.ts")],
    bundle: true,
    format: "esm",
    platform: "node",
    target: "esnext",
    outfile,
    logLevel: "error",
    plugins: [patchPlugin(names)],
  });
  return outfile;
}
