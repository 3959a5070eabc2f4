// Faults on the wire between browser and server (issue 14, part 1).
// Chromium runs in a network namespace whose only way out is a veth pair
// with `tc netem` on both ends (delay 40 ms ± 20 ms, 3 % loss, 2 %
// duplication, 10 % reordering, 1 % corruption); on the host end a chaos
// proxy resets 5 % of the cart API's connections before the request and
// cuts 10 % of its answers off after the server committed. Two shoppers
// shop through it: one in two tabs who signs in halfway and checks out,
// one in a third tab who stays a guest. At the end every add was applied
// exactly once (each quantity is the number of clicks, no mutation id is
// in the log twice), every tab shows the server's cart, and the checkout
// made one order. NETEM_SEED picks the clicks and the proxy's dice;
// NETEM_CLICKS how many adds each shopper makes (default 14).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startServer, tempDir, openBag, closeBag, shownLines, cartToken, setDelivery, WAIT } from "./helpers.mjs";
import { netns, chaosProxy, rng } from "./netem.mjs";
import { freePort } from "./cluster.mjs";

const SEED = Number(process.env.NETEM_SEED ?? 14);
const CLICKS = Number(process.env.NETEM_CLICKS ?? 14);
const NETEM = "delay 40ms 20ms distribution normal loss 3% duplicate 2% reorder 10% 50% corrupt 1%";
const SKUS = ["mug-enamel", "tote-natural", "plant-pot", "sticker-pack", "poster-tides"];
const LONG = 4 * WAIT;

let server, net, proxy, browser, db, base;
before(async () => {
  db = join(tempDir(), "netem.db");
  server = await startServer({ db });
  net = netns({ netem: NETEM });
  proxy = await chaosProxy({
    listen: { host: net.hostAddress, port: await freePort() },
    upstream: { host: "127.0.0.1", port: server.port },
    reset: 0.05,
    cut: 0.1,
    seed: SEED,
    // Without netem in the kernel the delay with jitter is the proxy's.
    jitterMs: net.kind === "netem" ? 0 : 20,
    // Sign-in's first attach commits and its answer is lost, whatever the
    // dice say: the SDK's resend must get the account cart.
    cutFirst: /\/attach /,
  });
  base = { url: `http://${net.hostAddress}:${proxy.port}` };
  browser = await chromium.launch({ executablePath: net.chromium });
});
after(async () => {
  await browser?.close();
});

/** SQL on the server's SQLite file (python3's sqlite3: no npm package). */
function sql(query) {
  const out = execFileSync("python3", ["-c", `import json,sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(json.dumps(c.execute(sys.argv[2]).fetchall()))`, db, query]);
  return JSON.parse(String(out));
}

async function open(context) {
  const page = await context.newPage();
  page.setDefaultTimeout(LONG);
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e));
  await page.goto(base.url + "/", { timeout: LONG });
  await page.waitForSelector("body[data-ready=true]", { timeout: LONG });
  return page;
}

const synced = (page) =>
  page.waitForSelector('[data-testid=sync-status][data-status=synced][data-pending="0"]', { timeout: LONG, state: "attached" });

function tally(expected, sku) {
  expected[sku] = (expected[sku] ?? 0) + 1;
}

/** The lines the server holds for a token (as the tab's user). */
async function serverLines(token, bearer) {
  const headers = bearer ? { authorization: `Bearer ${bearer}` } : {};
  const res = await fetch(`${server.url}/api/v1/carts/${token}`, { headers });
  const cart = await res.json();
  return Object.fromEntries(cart.lines.map((l) => [l.sku, l.quantity]));
}

test("shoppers behind netem and a chaos proxy: every add once, every tab the server's cart, one order", async () => {
  const random = rng(SEED * 7919);
  const pick = () => SKUS[Math.floor(random() * SKUS.length)];
  const ctxA = await browser.newContext();
  const ctxB = await browser.newContext();
  const [a1, a2, b1] = [await open(ctxA), await open(ctxA), await open(ctxB)];
  const expectedA = {};
  const expectedB = {};
  const started = Date.now();

  // Both shoppers click away, shopper A in either tab.
  for (let i = 0; i < CLICKS; i++) {
    const skuA = pick();
    await (random() < 0.5 ? a1 : a2).click(`[data-testid=add-${skuA}]`);
    tally(expectedA, skuA);
    const skuB = pick();
    await b1.click(`[data-testid=add-${skuB}]`);
    tally(expectedB, skuB);
    await a1.waitForTimeout(Math.floor(random() * 150));
  }

  // Shopper A signs in halfway (a guest bag merged into an empty account
  // bag keeps its quantities), then keeps adding in both tabs.
  await closeBag(a1);
  await a1.click("[data-testid=sign-in]");
  await a1.fill("[data-testid=login-user]", `netem-${SEED}`);
  await a1.click("[data-testid=login-submit]");
  await a1.waitForSelector("[data-testid=account-name]", { timeout: LONG });
  // The guest bag was merged: the report is shown; close it.
  await a1.locator("[data-testid=merge-report]").waitFor({ state: "visible", timeout: LONG });
  await a1.click("[data-testid=merge-report-close]");
  for (let i = 0; i < Math.ceil(CLICKS / 2); i++) {
    const sku = pick();
    await (i % 2 ? a1 : a2).click(`[data-testid=add-${sku}]`);
    tally(expectedA, sku);
  }

  for (const page of [a1, a2, b1]) await synced(page);
  // Every tab shows the server's cart, and it holds each click once.
  const user = await a1.evaluate(() => localStorage.getItem("cartsync:v1:user"));
  assert.ok(user, "shopper A is signed in");
  for (const [page, expected, bearer] of [[a1, expectedA, user], [a2, expectedA, user], [b1, expectedB, null]]) {
    await openBag(page);
    assert.deepEqual(await shownLines(page), expected);
    assert.deepEqual(await serverLines(await cartToken(page), bearer), expected);
    await closeBag(page);
  }
  const dupes = sql("SELECT mutation_id, count(*) FROM events WHERE mutation_id IS NOT NULL GROUP BY cart_id, mutation_id HAVING count(*) > 1");
  assert.deepEqual(dupes, [], "no mutation id applied twice");
  const adds = sql("SELECT count(*) FROM events WHERE kind = 'mutation'")[0][0];
  const clicks = Object.values(expectedA).concat(Object.values(expectedB)).reduce((s, n) => s + n, 0);
  assert.equal(adds, clicks, "one event per click");

  // Checkout through the faults: one order, however often the answer is cut
  // (after choosing where it goes and how: checkout needs both).
  await setDelivery(a1, "DE", "10115", "standard", LONG);
  await a1.click("[data-testid=checkout]");
  await a1.locator("[data-testid=order-confirmation]").waitFor({ state: "visible", timeout: LONG });
  const orders = sql("SELECT count(*) FROM orders")[0][0];
  assert.equal(orders, 1, "one order");
  await a1.click("[data-testid=order-close]");
  // Both of A's tabs move on to a fresh bag; B's is untouched.
  for (const page of [a1, a2]) {
    await page.waitForFunction(() => document.querySelector("[data-testid=cart-count]")?.textContent === "0", null, { timeout: LONG });
  }
  await synced(b1);
  assert.deepEqual(await serverLines(await cartToken(b1), null), expectedB);
  for (const page of [a1, a2, b1]) assert.deepEqual(page.errors, []);

  const stats = net.stats();
  const sum = (text, re) => [...text.matchAll(re)].reduce((s, m) => s + Number(m[1]), 0);
  console.log(
    "netem shoppers:",
    JSON.stringify({
      seed: SEED,
      seconds: Math.round((Date.now() - started) / 1000),
      injector: net.kind,
      netem: net.kind === "netem" ? NETEM : "nftables loss 3% both ways, duplicate 2%, tbf 8mbit, proxy jitter 0-40 ms",
      qdisc_dropped_packets: sum(stats.host, /dropped (\d+)/g) + sum(stats.namespace, /dropped (\d+)/g),
      nft_counters_packets: [...stats.nft.matchAll(/counter packets (\d+)/g)].map((m) => Number(m[1])),
      proxy: proxy.counts,
      adds: clicks,
      orders,
    }),
  );
  assert.ok(proxy.counts.answer_cut_after_commit + proxy.counts.reset_before_request > 0, "the proxy injected faults");
  assert.equal(proxy.counts.first_cut, 1, "sign-in's first attach answer was lost");
  await ctxA.close();
  await ctxB.close();
});
