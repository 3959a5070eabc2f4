// Shared pieces of the end-to-end tests: the real cartsync-server binary on
// 127.0.0.1 with a temp database, Chromium through playwright-core, and
// small readers for what the storefront shows.
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after } from "node:test";
import { chromium } from "playwright-core";

export const ROOT = resolve(import.meta.dirname, "../..");
export const STATIC_DIR = join(ROOT, "www-example");
/** How long any single wait may take before a test fails. */
export const WAIT = 15_000;
/** The secret test servers verify the bank's callbacks with. */
export const CALLBACK_SECRET = "e2e-callback-secret";

/** The server binary: `CARTSYNC_SERVER_BIN`, else the release build, else
 *  the debug build (`make e2e` builds the release one). */
export function serverBinary() {
  const candidates = [
    process.env.CARTSYNC_SERVER_BIN,
    join(ROOT, "target/release/cartsync-server"),
    join(ROOT, "target/debug/cartsync-server"),
  ].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error("no cartsync-server binary: run `cargo build --release -p cartsync-server`");
  if (!existsSync(join(STATIC_DIR, "vendor/cartsync/index.js"))) {
    throw new Error("www-example/vendor/cartsync is missing: run `make e2e` (it copies pkg/ there)");
  }
  return found;
}

// Everything started here is stopped when the test file ends, in reverse
// order, whatever happened (a hook registered at import, not per test).
const cleanups = [];
const onEnd = (fn) => cleanups.push(fn);
after(async () => {
  for (const fn of cleanups.reverse()) await fn().catch?.(() => {});
});

const children = new Set();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

/** A temp directory removed when the test file ends. */
export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), "cartsync-e2e-"));
  onEnd(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Starts cartsync-server on 127.0.0.1 (`port` 0: a free one, read back from
 * its log) with the storefront, dev endpoints and a fixed secret (so user
 * tokens survive a restart). Resolves once it listens. The server is
 * stopped when the test file ends, whatever happens.
 */
export async function startServer({ db, port = 0, staticDir = STATIC_DIR, extraArgs = [] } = {}) {
  const bin = serverBinary();
  const args = [
    "--listen", `127.0.0.1:${port}`,
    "--database", `sqlite://${db}`,
    "--static-dir", staticDir,
    "--dev",
    "--secret", "e2e-secret",
    "--payment-callback-secret", CALLBACK_SECRET,
    ...extraArgs,
  ];
  const child = spawn(bin, args, {
    env: { ...process.env, RUST_LOG: "info", NO_COLOR: "1" },
    // It logs to stdout (with ANSI colours even when piped).
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let log = "";
  const exited = new Promise((res) => child.once("exit", (code, signal) => res({ code, signal })));
  exited.then(() => children.delete(child));
  const address = await new Promise((res, rej) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      rej(new Error(`server did not start in ${WAIT} ms:\n${log}`));
    }, WAIT);
    const read = (chunk) => {
      log += String(chunk).replace(/\x1b\[[0-9;]*m/g, "");
      const m = /listening listen=(127\.0\.0\.1:\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        res(m[1]);
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.once("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`server exited (${code}) before listening:\n${log}`));
    });
  });
  const server = {
    url: `http://${address}`,
    port: Number(address.split(":")[1]),
    log: () => log,
    /** SIGTERM (drains, exits 0); resolves once the process is gone. */
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
    /** SIGKILL: a crash, nothing drained. */
    async kill() {
      child.kill("SIGKILL");
      return exited;
    },
    /** Calls the HTTP API: `await server.api("PUT", "/admin/catalog/mug", {price})`. */
    async api(method, path, body, headers = {}) {
      const res = await fetch(`${server.url}/api/v1${path}`, {
        method,
        headers: { "content-type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
  };
  onEnd(() => server.stop());
  return server;
}

/** Chromium (the system one; never downloaded), closed when the file ends. */
export async function launchBrowser({ args = [] } = {}) {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args });
  onEnd(() => browser.close());
  return browser;
}

/** Opens the storefront in a new page of `context` and waits until the
 *  cart is open. Page errors fail the test that reads `page.errors`. */
export async function openShop(context, server, { viewport } = {}) {
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  if (viewport) await page.setViewportSize(viewport);
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e));
  await page.goto(server.url + "/");
  await page.waitForSelector("body[data-ready=true]", { timeout: WAIT });
  return page;
}

/** Reloads and waits until the cart is open again. */
export async function reloadShop(page) {
  await page.reload();
  await page.waitForSelector("body[data-ready=true]", { timeout: WAIT });
}

/** Waits until the page shows `status` (synced, syncing, offline, error)
 *  and, if given, that many pending changes. */
export async function waitStatus(page, status, pending, timeout = WAIT) {
  const sel = `[data-testid=sync-status][data-status=${status}]` + (pending === undefined ? "" : `[data-pending="${pending}"]`);
  await page.waitForSelector(sel, { timeout, state: "attached" });
}

export const waitSynced = (page) => waitStatus(page, "synced", 0);

/** The line quantities the bag shows, by line key (`sku` or `sku|size=M`). */
export async function shownLines(page) {
  return page.$$eval("[data-testid=lines] [data-testid^=line-]", (els) =>
    Object.fromEntries(els.map((el) => [el.dataset.testid.slice(5), Number(el.dataset.quantity)])),
  );
}

/** The cart token the SDK stored in this page's localStorage. */
export async function cartToken(page) {
  const raw = await page.evaluate(() => localStorage.getItem("cartsync:v1:token"));
  return raw ? JSON.parse(raw).token : null;
}

/** Every event of a cart's log (all pages). */
export async function cartEvents(server, token, headers = {}) {
  const events = [];
  let after = 0;
  for (;;) {
    const { status, body } = await server.api("GET", `/carts/${token}/events?after=${after}`, undefined, headers);
    if (status !== 200) throw new Error(`events answered ${status}: ${JSON.stringify(body)}`);
    events.push(...body.events);
    if (body.next_after == null) return events;
    after = body.next_after;
  }
}

/** Mutation ids that appear more than once in an event log. */
export function duplicateIds(events) {
  const seen = new Set();
  const dupes = [];
  for (const e of events) {
    if (!e.mutation_id) continue;
    if (seen.has(e.mutation_id)) dupes.push(e.mutation_id);
    seen.add(e.mutation_id);
  }
  return dupes;
}

/** In the bag: where it goes (`country`, `postal`) and how (`option`),
 *  through the storefront's own controls; waits until the server has both
 *  (`timeout`: longer behind injected faults, where backoff can pass WAIT). */
export async function setDelivery(page, country, postal, option, timeout = WAIT) {
  await openBag(page);
  if (await page.locator("[data-testid=destination-change]").count()) await page.click("[data-testid=destination-change]");
  await page.selectOption("[data-testid=destination-country]", country);
  await page.fill("[data-testid=destination-postal]", postal);
  await page.click("[data-testid=destination-save]");
  await page.waitForSelector(`[data-testid=destination][data-country=${country}]`, { timeout });
  if (option) {
    await page.click(`[data-testid=ship-${option}][data-status=available]`);
    await page.waitForSelector(`[data-testid=ship-${option}] input:checked`, { timeout });
  }
  await waitStatus(page, "synced", 0, timeout);
}

/** The bank's callback for `event`, signed as the bank signs it
 *  (HMAC-SHA256 over "<t>.<body>" with the shared secret). */
export async function bankCallback(server, event, t = Math.floor(Date.now() / 1000)) {
  const body = JSON.stringify(event);
  const sig = createHmac("sha256", CALLBACK_SECRET).update(`${t}.${body}`).digest("hex");
  const res = await fetch(`${server.url}/api/v1/payments/bank_transfer/callback`, {
    method: "POST",
    headers: { "content-type": "application/json", "cartsync-signature": `t=${t},v1=${sig}` },
    body,
  });
  return { status: res.status, body: await res.json() };
}

/** Opens the bag drawer (idempotent). */
export async function openBag(page) {
  if ((await page.getAttribute("[data-testid=open-cart]", "aria-expanded")) !== "true") {
    await page.click("[data-testid=open-cart]");
  }
  await page.waitForSelector("[data-testid=drawer][aria-hidden=false]", { timeout: WAIT });
}

/** Closes the bag drawer (idempotent). */
export async function closeBag(page) {
  if ((await page.getAttribute("[data-testid=open-cart]", "aria-expanded")) === "true") {
    await page.click("[data-testid=close-cart]");
  }
  await page.waitForSelector("[data-testid=drawer][aria-hidden=true]", { state: "attached" });
}

/** A dev user token (the server's `--dev` login). */
export async function devLogin(server, user) {
  const { status, body } = await server.api("POST", "/dev/login", { user });
  if (status !== 200) throw new Error(`dev login answered ${status}`);
  return body.token;
}

/** A Prometheus counter from /metrics, e.g. `metric(server,
 *  'cartsync_cache_requests_total{result="miss"}')` (0 when absent). */
export async function metric(server, name) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(name + " "));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

/** Every cartsync mutation key left in this page's localStorage. */
export async function storedMutations(page) {
  return page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("cartsync:v1:m:")));
}

/** The browser drops its connection and gets it back: the SDK retries at
 *  once (coming online resets its backoff). */
export async function reconnect(context) {
  await context.setOffline(true);
  await context.setOffline(false);
}
