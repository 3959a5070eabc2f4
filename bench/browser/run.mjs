// `make bench-browser`: the browser SDK benchmarks in headless Chromium,
// side by side with baselines in the same page and run, plus download
// sizes. Prints Markdown and writes target/bench/browser.json. Numbers
// never fail the run; only a broken workload does.
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { serve } from "./server.mjs";
import { measureSizes } from "./sizes.mjs";

const here = resolve(import.meta.dirname);
const root = resolve(here, "../..");
// BENCH_PKG=<dir> measures another `make pkg` output instead of pkg/.
const pkgDir = process.env.BENCH_PKG ? resolve(process.env.BENCH_PKG) : join(root, "pkg");
const dist = join(root, "target/bench/browser-dist");
const REPS = Number(process.env.BENCH_REPS ?? 3);
const QUICK = process.env.BENCH_QUICK === "1";
const SIZES = [
  { lines: 10, ops: QUICK ? 200 : 2000, warmup: 200 },
  { lines: 100, ops: QUICK ? 200 : 2000, warmup: 200 },
  { lines: 1000, ops: QUICK ? 50 : 150, warmup: 20 },
];
// BENCH_PKG_B=<dir of another `make pkg` output> adds it as "cartsync-b"
// (an A/B of two SDK builds in the same page and run).
const PKG_B = process.env.BENCH_PKG_B ? resolve(process.env.BENCH_PKG_B) : null;
const IMPLS = ["cartsync", ...(PKG_B ? ["cartsync-b"] : []), "setItem", "plain", "loro", "yjs"];

if (!existsSync(join(pkgDir, "web/cartsync_bg.wasm"))) {
  console.error("pkg/ is missing: run `make pkg` first (make bench-browser does)");
  process.exit(1);
}
mkdirSync(dist, { recursive: true });
await build({
  entryPoints: [join(here, "node_modules/yjs/dist/yjs.mjs")],
  bundle: true,
  format: "esm",
  outfile: join(dist, "yjs.js"),
  logLevel: "silent",
});

const fmt = (us) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);
const kb = (b) => (b / 1024).toFixed(1);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

const out = { reps: REPS, quick: QUICK };
const pageErrors = [];

// Sizes first (no browser needed).
const sizes = await measureSizes(root, pkgDir);
out.sizes = sizes;
console.log("\n## Download size (KB; JS bundled+minified by esbuild, wasm as published)");
console.log("| library | version | JS raw / gzip / brotli | wasm raw / gzip / brotli | total gzip | total brotli |");
console.log("|---|---|---:|---:|---:|---:|");
for (const r of sizes.rows) {
  const t = (s) => (s.raw ? `${kb(s.raw)} / ${kb(s.gzip)} / ${kb(s.brotli)}` : "–");
  console.log(`| ${r.name} | ${r.version} | ${t(r.js)} | ${t(r.wasm)} | ${kb(r.total.gzip)} | ${kb(r.total.brotli)} |`);
}

const server = await serve({ "/pkg/": pkgDir, ...(PKG_B ? { "/pkgb/": PKG_B } : {}), "/bench/": join(here, "page"), "/node_modules/": join(here, "node_modules"), "/dist/": dist });
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium" });
try {
  out.browser = browser.version();
  const newPage = async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on("pageerror", (e) => {
      pageErrors.push(e.message);
      if (pageErrors.length === 1) console.error("page error:", e.message);
    });
    await page.goto(`${server.url}/bench/index.html`);
    await page.waitForFunction(() => window.benchReady === true);
    return { context, page };
  };

  // Wasm instantiation: a fresh context (no HTTP or code cache) each time.
  const inst = { cartsync: [], loro: [] };
  for (let r = 0; r < (QUICK ? 3 : 10); r++) {
    const { context, page } = await newPage();
    inst.cartsync.push(
      await page.evaluate(async () => {
        const { ready } = await import("cartsync");
        const t0 = performance.now();
        await ready();
        return (performance.now() - t0) * 1000;
      }),
    );
    inst.loro.push(
      await page.evaluate(async () => {
        const init = (await import("loro-crdt")).default;
        const t0 = performance.now();
        await init();
        return (performance.now() - t0) * 1000;
      }),
    );
    await context.close();
  }

  const { context, page } = await newPage();
  out.page = await page.evaluate(() => window.bench.setup());
  console.log(`\nbrowser: Chromium ${out.browser}; cross-origin isolated: ${out.page.isolated}; timer step ${out.page.resolutionUs.toFixed(1)} µs`);
  out.instantiation = Object.fromEntries(
    await Promise.all(Object.entries(inst).map(async ([k, v]) => [k, await page.evaluate((v) => window.bench.summarize(v), v)])),
  );
  console.log("\n## Wasm instantiation (fetch over loopback + compile + instantiate, fresh context each)");
  console.log("| module | runs | median | min | max |\n|---|---:|---:|---:|---:|");
  for (const [k, s] of Object.entries(out.instantiation)) console.log(`| ${k} | ${s.n} | ${fmt(s.p50)} | ${fmt(s.min)} | ${fmt(s.max)} |`);

  // Optimistic mutations: every implementation, every size, REPS rounds
  // with the implementation order rotated each round.
  const runs = {};
  for (let rep = 0; rep < REPS; rep++) {
    for (const s of SIZES) {
      const order = IMPLS.map((_, i) => IMPLS[(i + rep) % IMPLS.length]);
      for (const impl of order) {
        const r = await page.evaluate(([impl, s]) => window.bench.optimistic(impl, s.lines, s.ops, s.warmup), [impl, s]);
        (runs[`${impl}@${s.lines}`] ??= []).push(r);
      }
    }
  }
  out.optimistic = [];
  console.log(`\n## Optimistic mutation until the view is updated and the change is in localStorage (median of ${REPS} runs; [min–max] of the run medians)`);
  console.log("| lines | implementation | ops/run | p50 | p99 | mean | cartsync ÷ this (p50) |");
  console.log("|---:|---|---:|---:|---:|---:|---:|");
  for (const s of SIZES) {
    const ours = median(runs[`cartsync@${s.lines}`].map((r) => r.p50));
    for (const impl of IMPLS) {
      const rs = runs[`${impl}@${s.lines}`];
      const p50s = rs.map((r) => r.p50);
      const row = {
        lines: s.lines,
        impl,
        ops: s.ops,
        p50: median(p50s),
        p50_min: Math.min(...p50s),
        p50_max: Math.max(...p50s),
        p99: median(rs.map((r) => r.p99)),
        mean: median(rs.map((r) => r.mean)),
      };
      row.ratio = ours / row.p50;
      out.optimistic.push(row);
      console.log(
        `| ${s.lines} | ${impl} | ${s.ops} | ${fmt(row.p50)} [${fmt(row.p50_min)}–${fmt(row.p50_max)}] | ${fmt(row.p99)} | ${fmt(row.mean)} | ${impl === "cartsync" ? "–" : `${row.ratio.toFixed(2)}×`} |`,
      );
    }
  }

  out.rebase = await page.evaluate(() => window.bench.rebase(200, 100, 300));
  console.log("\n## view() after the acknowledgement changed it, view() again, and JSON.parse of the same view's text (p50, median of the runs)");
  console.log("| lines | view() after a change | view() unchanged | JSON.parse of its text | change ÷ parse |");
  console.log("|---:|---:|---:|---:|---:|");
  for (const s of SIZES) {
    const pick = (k) => median(runs[`cartsync@${s.lines}`].map((r) => r.probe[k].p50));
    const row = out.optimistic.find((r) => r.impl === "cartsync" && r.lines === s.lines);
    row.view = { changed: pick("changed"), unchanged: pick("unchanged"), parse: pick("parse") };
    const v = row.view;
    console.log(`| ${s.lines} | ${fmt(v.changed)} | ${fmt(v.unchanged)} | ${fmt(v.parse)} | ${(v.changed / v.parse).toFixed(2)}× |`);
  }

  console.log("\n## Rebase (rebasePending: 100 pending mutations onto a server cart of 200 changed lines)");
  console.log(`p50 ${fmt(out.rebase.p50)}, p99 ${fmt(out.rebase.p99)}, min ${fmt(out.rebase.min)} over ${out.rebase.n} runs; ${out.rebase.reconciliations} reconciliations reported`);

  out.coldOpen = [];
  console.log("\n## Cold open (CartClient.open from localStorage until the first view; 100 pending mutations)");
  console.log("| lines | storage keys | stored chars | runs | p50 | p99 | min |\n|---:|---:|---:|---:|---:|---:|---:|");
  for (const lines of [100, 1000]) {
    const r = await page.evaluate((lines) => window.bench.coldOpen(lines, 100, 30), lines);
    out.coldOpen.push({ lines, ...r });
    console.log(`| ${lines} | ${r.keys} | ${r.storageChars} | ${r.n} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.min)} |`);
  }
  await context.close();
} finally {
  await browser.close();
  await server.close();
}
out.pageErrors = pageErrors;
if (pageErrors.length) console.log(`\n${pageErrors.length} uncaught page error(s) during the run (first: ${pageErrors[0]})`);
// BENCH_OUT=<file> writes the results elsewhere (default target/bench/browser.json).
const outFile = process.env.BENCH_OUT ? resolve(process.env.BENCH_OUT) : join(root, "target/bench/browser.json");
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify(out, null, 2));
console.log(`\nresults: ${outFile}`);
