// The service worker (cartsync/sw, served by the storefront as /sw.js)
// sends what is pending when every tab of the shop is closed: Background
// Sync (`cartsync-flush`) fires when the browser is back online, the worker
// sends the IndexedDB copy of the outbox with the same mutation ids, and
// the next page takes in what it settled. Also after a browser restart, when
// a page sends the same mutations again, and when the first sends fail.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { chromium } from "playwright-core";
import {
  startServer, launchBrowser, tempDir, openShop, openBag, waitStatus, waitSynced, shownLines, cartEvents,
  duplicateIds, storedMutations, WAIT,
} from "./helpers.mjs";

// Background Sync retries a failed sync after 2 s instead of 5 minutes
// (../shared/design/pwa.md).
const SYNC_RETRY_ARGS = [
  "--force-fieldtrials=BackgroundSync/Test",
  "--force-fieldtrial-params=BackgroundSync.Test:initial_retry_delay_sec/2/retry_delay_factor/1/max_sync_attempts/4",
];

let server, browser;
before(async () => {
  server = await startServer({ db: join(tempDir(), "worker.db") });
  browser = await launchBrowser({ args: SYNC_RETRY_ARGS });
});

const SKUS = ["mug-enamel", "notebook-a5", "sticker-pack"];

/** Polls `f` until it returns something truthy. */
async function until(what, f, timeout = WAIT) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until the storefront's service worker controls `page`. */
async function controlled(page) {
  await page.evaluate(() => navigator.serviceWorker.ready);
  await until("the service worker to control the page", () => page.evaluate(() => !!navigator.serviceWorker.controller));
}

/** The IndexedDB copy (`cartsync` / `records`), read in a page of the shop's origin. */
function copy(page) {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open("cartsync");
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          if (!db.objectStoreNames.contains("records")) return resolve({});
          const tx = db.transaction("records");
          const keys = tx.objectStore("records").getAllKeys();
          const values = tx.objectStore("records").getAll();
          tx.oncomplete = () => {
            db.close();
            resolve(Object.fromEntries(keys.result.map((k, i) => [k, values.result[i]])));
          };
        };
      }),
  );
}

const pendingIn = (records) => Object.keys(records).filter((k) => k.startsWith("cartsync:v1:m:"));
const settledIn = (records) => Object.keys(records).filter((k) => k.startsWith("cartsync:v1:sw:"));
const tokenIn = (records) => (records["cartsync:v1:token"] ? JSON.parse(records["cartsync:v1:token"]).token : null);

/** A page of the shop's origin that opens no cart (an image): it reads the
 *  copy without taking the flush lock. */
async function probe(context) {
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  await page.goto(server.url + "/images/favicon.svg");
  return page;
}

/** Opens the shop, waits for the worker, and adds the SKUs offline: they
 *  are pending in localStorage and copied to IndexedDB. */
async function addOffline(context, skus = SKUS) {
  const page = await openShop(context, server);
  await controlled(page);
  await context.setOffline(true);
  await waitStatus(page, "offline");
  for (const sku of skus) await page.click(`[data-testid=add-${sku}]`);
  await waitStatus(page, "offline", skus.length);
  await until("the copy in IndexedDB", async () => pendingIn(await copy(page)).length === skus.length);
  return page;
}

/** The server's log of the cart: each SKU added once, nothing twice. */
async function assertOnce(token, skus = SKUS) {
  const events = await cartEvents(server, token);
  assert.deepEqual(duplicateIds(events), [], "no mutation applied twice");
  const adds = events.filter((e) => e.kind === "mutation");
  assert.equal(adds.length, skus.length, `one event per add: ${JSON.stringify(events)}`);
  const cart = (await server.api("GET", `/carts/${token}`)).body;
  assert.deepEqual(
    Object.fromEntries(cart.lines.map((l) => [l.sku, l.quantity])),
    Object.fromEntries(skus.map((s) => [s, 1])),
  );
}

/** The next page load takes in what the worker settled: nothing pending. */
async function nextLoadIsSettled(context, skus = SKUS) {
  const page = await openShop(context, server);
  await waitSynced(page);
  assert.deepEqual(await storedMutations(page), []);
  await openBag(page);
  assert.deepEqual(await shownLines(page), Object.fromEntries(skus.map((s) => [s, 1])));
  await until("the worker's markers to be taken in", async () => settledIn(await copy(page)).length === 0);
  return page;
}

test("three adds offline, every tab closed, back online: the worker sends each once", async () => {
  const context = await browser.newContext();
  const shop = await addOffline(context);
  await shop.close();
  const look = await probe(context);
  const back = Date.now();
  await context.setOffline(false);
  const records = await until("the worker to settle three mutations", async () => {
    const r = await copy(look);
    return settledIn(r).length === 3 ? r : null;
  });
  console.log(`worker flush with no tab open: settled 3 mutations ${Date.now() - back} ms after going online`);
  assert.deepEqual(pendingIn(records), [], "acknowledged mutations leave the copy");
  await assertOnce(tokenIn(records));
  await nextLoadIsSettled(context);
  await context.close();
});

test("a page and the worker both sending the same mutations: no duplicate line, no duplicate event", async () => {
  const context = await browser.newContext();
  const shop = await addOffline(context);
  await shop.close();
  const look = await probe(context);
  await context.setOffline(false);
  const records = await until("the worker to settle", async () => {
    const r = await copy(look);
    return settledIn(r).length === 3 ? r : null;
  });
  // The page never hears of it (its markers are lost): it sends the same
  // three mutations again from localStorage.
  await look.evaluate(
    (keys) =>
      new Promise((resolve) => {
        const open = indexedDB.open("cartsync");
        open.onsuccess = () => {
          const tx = open.result.transaction("records", "readwrite");
          for (const k of keys) tx.objectStore("records").delete(k);
          tx.oncomplete = () => (open.result.close(), resolve());
        };
      }),
    settledIn(records),
  );
  const page = await openShop(context, server);
  await waitSynced(page);
  assert.deepEqual(await storedMutations(page), []);
  await openBag(page);
  assert.deepEqual(await shownLines(page), Object.fromEntries(SKUS.map((s) => [s, 1])));
  await assertOnce(tokenIn(records));
  await context.close();
});

test("a worker flush the server refuses with 503 is retried and then succeeds", async () => {
  const context = await browser.newContext();
  let refused = 0;
  // Service-worker requests go through the context's routes in Chromium.
  await context.route("**/api/v1/carts**", (route) => {
    if (refused < 2 && route.request().method() === "POST") {
      refused++;
      return route.fulfill({ status: 503, contentType: "application/json", body: '{"code":"unavailable","message":"try later"}' });
    }
    return route.continue();
  });
  const shop = await addOffline(context);
  await shop.close();
  const look = await probe(context);
  await context.setOffline(false);
  const records = await until(
    "the worker to settle after the refusals",
    async () => {
      const r = await copy(look);
      return settledIn(r).length === 3 ? r : null;
    },
    40_000,
  );
  assert.equal(refused, 2, "the first two sends were refused");
  await assertOnce(tokenIn(records));
  await nextLoadIsSettled(context);
  await context.close();
});

test("after a browser restart with the shop closed, the worker sends what was pending", async () => {
  const profile = tempDir();
  const launch = () =>
    chromium.launchPersistentContext(profile, { executablePath: "/usr/bin/chromium", args: SYNC_RETRY_ARGS });
  let context = await launch();
  const shop = await addOffline(context);
  await shop.close();
  await context.close();
  // Relaunched online; the shop is not opened.
  context = await launch();
  for (const p of context.pages()) if (p.url() !== "about:blank") await p.close();
  const look = await probe(context);
  const records = await until(
    "the worker to settle after the restart",
    async () => {
      const r = await copy(look);
      return settledIn(r).length === 3 ? r : null;
    },
    30_000,
  );
  await assertOnce(tokenIn(records));
  await nextLoadIsSettled(context);
  await context.close();
});
