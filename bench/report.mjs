// Renders the Markdown tables of BENCHMARKS.md from the JSON results of
// `make bench` (target/bench/server.json, browser.json, and scale-1m.json
// when `make bench-scale-1m` ran). Usage: node bench/report.mjs
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

// BENCH_DIR=<dir> reads the JSON files from elsewhere (default target/bench).
const dir = process.env.BENCH_DIR ? resolve(process.env.BENCH_DIR) : join(resolve(import.meta.dirname, ".."), "target/bench");
const load = (f) => (existsSync(join(dir, f)) ? JSON.parse(readFileSync(join(dir, f))) : null);
const server = load("server.json");
const browser = load("browser.json");
const scale1m = load("scale-1m.json");
const n0 = (x) => Math.round(x).toLocaleString("en-US");
const f2 = (x) => x.toFixed(2);
const us = (x) => (x >= 1000 ? `${(x / 1000).toFixed(2)} ms` : `${Math.round(x)} µs`);
const kb = (b) => (b / 1024).toFixed(1);
const out = [];
const p = (s = "") => out.push(s);

if (server?.writes) {
  const w = server.writes;
  p("| clients | carts | mutations/s | p50 ms | p99 ms | 409s | errors / gave up |");
  p("|---:|---:|---:|---:|---:|---:|---:|");
  for (const l of w.levels) {
    const L = l.latency;
    p(`| ${l.clients} | ${l.carts}${l.hot ? " (hot)" : ""} | ${n0(L.per_sec)} | ${f2(L.p50_ms)} | ${f2(L.p99_ms)} | ${n0(l.conflicts_409)} | ${l.errors} / ${l.gave_up} |`);
  }
  p();
  const r = (x) => `${n0(x.per_sec)}/s (p50 ${f2(x.p50_ms)} ms, p99 ${f2(x.p99_ms)} ms)`;
  p(`Raw SQLite, one transaction per commit, before the server phases: update + idempotency insert ${r(w.raw_before.update_idempotency)}; with the event row too ${r(w.raw_before.update_event_idempotency)}. After: ${r(w.raw_after.update_idempotency)}; ${r(w.raw_after.update_event_idempotency)}.`);
  p();
  const s = w.paired_32;
  p(`Side by side (6 alternating 1-s slices; disk flush probe p50 ${f2(s.fsync_probe.p50_ms)} ms, p99 ${f2(s.fsync_probe.p99_ms)} ms):`);
  p();
  p("| slice | raw commits/s | server mutations/s (32 clients) | server p99 ms | ratio |");
  p("|---:|---:|---:|---:|---:|");
  s.raw_per_sec.forEach((raw, i) => p(`| ${i + 1} | ${n0(raw)} | ${n0(s.server_per_sec[i])} | ${f2(s.server_p99_ms[i])} | ${f2(s.ratios[i])} |`));
  p(`| **median** | **${n0(s.median_raw)}** | **${n0(s.median_server)}** | **${f2(s.median_p99_ms)}** | **${f2(s.ratio_of_medians)}** |`);
  p();
}
if (server?.reads) {
  p(`| read (${n0(server.reads.carts)} carts of 5 lines, ${server.reads.clients} clients) | reads | reads/s | p50 ms | p99 ms | cache hits / misses |`);
  p("|---|---:|---:|---:|---:|---:|");
  for (const r of server.reads.rounds) {
    const L = r.latency;
    p(`| ${r.kind === "cold" ? "cold (after `POST /admin/cache/flush`)" : "cached"} | ${n0(L.count)} | ${n0(L.per_sec)} | ${f2(L.p50_ms)} | ${f2(L.p99_ms)} | ${n0(r.cache_hits)} / ${n0(r.cache_misses)} |`);
  }
  p();
}
const scaling = [...(server?.scaling ?? []), ...(scale1m?.scaling ?? []).filter((r) => r.carts >= 1_000_000)];
if (scaling.length) {
  p("| carts | events per cart | DB MB | generate s | cold read p50 / p99 ms | write p50 / p99 ms | verification pass s | verification µs per cart |");
  p("|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of scaling) {
    p(`| ${n0(r.carts)} | ${n0(r.events_per_cart)} | ${n0(r.db_mb)} | ${r.generate_secs.toFixed(1)} | ${r.cold_read.p50_ms.toFixed(3)} / ${r.cold_read.p99_ms.toFixed(3)} | ${f2(r.write.p50_ms)} / ${f2(r.write.p99_ms)} | ${f2(r.verify_secs)} | ${r.verify_us_per_cart.toFixed(1)} |`);
  }
  p();
}
if (browser) {
  p("| lines | implementation | ops per run | p50 [min–max of run p50s] | p99 | mean | cartsync ÷ this (p50) |");
  p("|---:|---|---:|---:|---:|---:|---:|");
  for (const r of browser.optimistic) {
    p(`| ${n0(r.lines)} | ${r.impl} | ${n0(r.ops)} | ${us(r.p50)} [${us(r.p50_min)}–${us(r.p50_max)}] | ${us(r.p99)} | ${us(r.mean)} | ${r.impl === "cartsync" ? "–" : `${r.ratio.toFixed(1)}×`} |`);
  }
  p();
  p(`cartsync \`view()\` alone (nothing pending), p50: ${browser.optimistic.filter((r) => r.view_p50 !== undefined).map((r) => `${n0(r.lines)} lines ${us(r.view_p50)}`).join(", ")}.`);
  p();
  const b = browser.rebase;
  p(`Rebase: p50 ${us(b.p50)}, p99 ${us(b.p99)}, min ${us(b.min)} over ${b.n} calls (${b.reconciliations} reconciliations reported, ${b.lines} lines in the result).`);
  p();
  p("| cold open: lines | pending | storage keys | stored characters | runs | p50 | p99 | min |");
  p("|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const c of browser.coldOpen) p(`| ${n0(c.lines)} | 100 | ${c.keys} | ${n0(c.storageChars)} | ${c.n} | ${us(c.p50)} | ${us(c.p99)} | ${us(c.min)} |`);
  p();
  p("| wasm instantiation | runs | p50 | min | max |");
  p("|---|---:|---:|---:|---:|");
  for (const [k, s] of Object.entries(browser.instantiation)) p(`| ${k} | ${s.n} | ${us(s.p50)} | ${us(s.min)} | ${us(s.max)} |`);
  p();
  p("| library | version | JS raw / gzip / brotli (KB) | wasm raw / gzip / brotli (KB) | total gzip (KB) | total brotli (KB) |");
  p("|---|---|---:|---:|---:|---:|");
  for (const r of browser.sizes.rows) {
    const t = (s) => (s.raw ? `${kb(s.raw)} / ${kb(s.gzip)} / ${kb(s.brotli)}` : "–");
    p(`| ${r.name} | ${r.version} | ${t(r.js)} | ${t(r.wasm)} | ${kb(r.total.gzip)} | ${kb(r.total.brotli)} |`);
  }
  p();
  p(`Browser: Chromium ${browser.browser}, cross-origin isolated ${browser.page.isolated} (timer step ${browser.page.resolutionUs.toFixed(1)} µs); ${browser.reps} runs; ${browser.pageErrors.length} uncaught page errors.`);
}
console.log(out.join("\n"));
