// Download sizes as a browser gets them: each library's whole browser ESM
// API bundled and minified by esbuild (`export * from "<package>"`, so
// nothing is tree-shaken away), plus its .wasm file as published; raw,
// gzip -9 and brotli q11 (node's zlib).
import { build } from "esbuild";
import { existsSync, readFileSync } from "node:fs";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { join } from "node:path";

const sizes = (buf) => ({
  raw: buf.length,
  gzip: gzipSync(buf, { level: 9 }).length,
  brotli: brotliCompressSync(buf, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: buf.length },
  }).length,
});

async function bundle(entry, resolveDir) {
  const out = await build({
    stdin: { contents: entry, resolveDir, loader: "js" },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    write: false,
    logLevel: "silent",
  });
  return Buffer.from(out.outputFiles[0].contents);
}

const add = (a, b) => ({ raw: a.raw + b.raw, gzip: a.gzip + b.gzip, brotli: a.brotli + b.brotli });
const none = { raw: 0, gzip: 0, brotli: 0 };

/** One row per library: {name, version, js, wasm, total}. */
export async function measureSizes(root, pkgDir) {
  const here = join(root, "bench/browser");
  const mods = join(here, "node_modules");
  const version = (p) => JSON.parse(readFileSync(join(mods, p, "package.json"))).version;
  const rows = [];
  const cartsyncJs = sizes(await bundle(`export * from ${JSON.stringify(join(pkgDir, "index.js"))};`, here));
  const cartsyncWasm = sizes(readFileSync(join(pkgDir, "web/cartsync_bg.wasm")));
  rows.push({ name: "cartsync (CartClient: pkg/index.js + web/)", version: "HEAD", js: cartsyncJs, wasm: cartsyncWasm });
  if (existsSync(join(pkgDir, "rules.js"))) {
    const rulesJs = sizes(await bundle(`export * from ${JSON.stringify(join(pkgDir, "rules.js"))};`, here));
    const rulesWasm = sizes(readFileSync(join(pkgDir, "rules/cartsync_bg.wasm")));
    rows.push({ name: "cartsync/rules (optional second module)", version: "HEAD", js: rulesJs, wasm: rulesWasm });
  }
  const peers = [
    ["replicache", "replicache", null],
    ["loro-crdt", "loro-crdt/web", "loro-crdt/web/loro_wasm_bg.wasm"],
    ["yjs", "yjs", null],
    ["@medusajs/js-sdk", "@medusajs/js-sdk", null],
  ];
  for (const [name, entry, wasm] of peers) {
    const js = sizes(await bundle(`export * from ${JSON.stringify(entry)};`, here));
    rows.push({ name, version: version(name), js, wasm: wasm ? sizes(readFileSync(join(mods, wasm))) : none });
  }
  for (const r of rows) r.total = add(r.js, r.wasm);
  return { rows };
}
