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
  // The per-request read of the version stamp (registry.table() → repository.version()) served
  // from memory for 1 s after each real read.
  versionCached: {
    file: "src/definitions/repository.ts",
    apply: (text) =>
      text.includes("class DefinitionRepository") && text.includes("version()")
        ? `${text}
const __benchVersion = DefinitionRepository.prototype.version;
const __benchCache = new WeakMap();
DefinitionRepository.prototype.version = function () {
  const hit = __benchCache.get(this);
  if (hit && Date.now() - hit.at < 1000) return Promise.resolve(hit.value);
  return __benchVersion.call(this).then((value) => {
    __benchCache.set(this, { at: Date.now(), value });
    return value;
  });
};
`
        : text,
  },
  // The duplicate-member scan over the request text (json-guard.ts) skipped.
  noDuplicateScan: {
    file: "src/mcp/json-guard.ts",
    apply: replace(
      "export function findAmbiguousMember(",
      "export function findAmbiguousMember(): undefined { return undefined; }\nfunction __benchUnused(",
    ),
  },
  // Header filtering skipped: the client's headers go upstream as they are, the upstream's come back.
  noHeaderCopy: {
    file: "src/proxy/headers.ts",
    apply: (text) =>
      replace(
        "export function clientResponseHeaders(",
        "export function clientResponseHeaders(upstream: Headers): Headers { return upstream; }\nfunction __benchUnused2(",
      )(
        replace(
          "export function upstreamRequestHeaders(",
          "export function upstreamRequestHeaders(incoming: Headers, ..._rest: unknown[]): Headers { return incoming; }\nfunction __benchUnused1(",
        )(text),
      ),
  },
  // The body read with one arrayBuffer() call instead of a reader loop.
  readArrayBuffer: {
    file: "src/mcp/read-body.ts",
    apply: replace("  const body = request.body;\n", "  return new Uint8Array(await request.arrayBuffer());\n  const body = request.body;\n"),
  },
  // No upstream timeout timer and no client-abort wiring (AbortController signal, listener).
  noAbortTimer: {
    file: "src/proxy/forward.ts",
    apply: (text) =>
      [
        ["const timer = setTimeout(", "const timer = ((..._a: unknown[]) => 0)("],
        ['else request.signal.addEventListener("abort", onClientAbort, { once: true });', "else void onClientAbort;"],
        ["signal: controller.signal,", ""],
      ].reduce((t, [from, to]) => (t.includes(from) ? t.replace(from, to) : "\u0000missing"), text),
  },
};

/** The variants measured: name, patches, extra environment / bindings. */
export const VARIANTS = [
  { name: "as is", patches: [], note: "src/ bundled unchanged" },
  { name: "admin API off", patches: [], env: { ADMIN_API: "off" }, note: "ADMIN_API=off: no admin dispatch step" },
  { name: "version read cached 1 s", patches: ["versionCached"], note: "store version stamp read at most once a second" },
  { name: "no duplicate-key scan", patches: ["noDuplicateScan"], note: "json-guard findAmbiguousMember skipped" },
  { name: "no header filtering", patches: ["noHeaderCopy"], note: "headers passed through as they are" },
  { name: "body via arrayBuffer()", patches: ["readArrayBuffer"], note: "readBody without the reader loop" },
  { name: "no timeout/abort wiring", patches: ["noAbortTimer"], note: "no setTimeout, AbortController signal or abort listener" },
  {
    name: "version cached + arrayBuffer()",
    patches: ["versionCached", "readArrayBuffer"],
    note: "the two changes that matter most, together",
  },
  {
    name: "all of the above",
    patches: ["versionCached", "noDuplicateScan", "noHeaderCopy", "readArrayBuffer", "noAbortTimer"],
    env: { ADMIN_API: "off" },
    note: "every change at once",
  },
];

/** esbuild plugin applying the named patches to src/ modules. */
export function patchPlugin(names) {
  const byFile = new Map();
  for (const name of names) {
    const patch = PATCHES[name];
    if (!patch) throw new Error(`unknown patch ${name}`);
    const file = join(root, patch.file);
    byFile.set(file, [...(byFile.get(file) ?? []), { name, apply: patch.apply }]);
  }
  return {
    name: "bench-patches",
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        const patches = byFile.get(args.path);
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
