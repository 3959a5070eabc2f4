// The storefront as an installable PWA. After one online visit its service
// worker (www-example/sw.js) holds the app shell, the package and its wasm,
// so a shopper who is fully offline (`context.setOffline(true)`, the server
// still running) can reload, open a new tab or follow a deep link and still
// gets the shop, the bag from localStorage and the offline banner. The API
// is never answered or stored by the worker, and what was added offline
// reaches the server exactly once when the shopper is back.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { startServer, launchBrowser, tempDir, openShop, openBag, closeBag, waitSynced, waitStatus, shownLines, cartToken, cartEvents, duplicateIds, storedMutations, STATIC_DIR, WAIT } from "./helpers.mjs";

let server, browser;
before(async () => {
  server = await startServer({ db: join(tempDir(), "pwa.db") });
  browser = await launchBrowser();
});

/** Waits until the shop's worker controls `page` (it claims open pages once
 *  it has precached the shell). The install is all or nothing: one file of
 *  the shell that the server does not have and there is no worker at all. */
async function waitControlled(page) {
  try {
    await page.waitForFunction(() => navigator.serviceWorker.controller?.scriptURL.endsWith("/sw.js"), null, { timeout: WAIT });
  } catch (err) {
    const registration = await page.evaluate(async () => {
      const r = await navigator.serviceWorker.getRegistration();
      return r ? { installing: r.installing?.state, waiting: r.waiting?.state, active: r.active?.state } : "none (the install failed: is every file of SHELL in sw.js served?)";
    });
    throw new Error(`the worker does not control the page; registration: ${JSON.stringify(registration)}`, { cause: err });
  }
}

/** Every URL in the page's Cache Storage, by cache name. */
async function cachedUrls(page) {
  return page.evaluate(async () => {
    const out = {};
    for (const name of await caches.keys()) {
      out[name] = (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname);
    }
    return out;
  });
}

/** What an offline page load must show: the products (names and prices from
 *  this device's copy of the catalog, illustrations from the worker), the
 *  offline banner, and the bag as this device keeps it. */
async function assertShopOffline(page, expected, label) {
  await page.waitForSelector("body[data-ready=true]", { timeout: WAIT });
  const skus = await page.$$eval("[data-testid=product-grid] > li", (els) => els.map((e) => e.dataset.sku));
  assert.ok(skus.length >= 20, `${label}: the products are listed (${skus.length})`);
  await page.waitForFunction(() => {
    const img = document.querySelector("[data-testid=product-grid] > li img");
    return img?.complete && img.naturalWidth > 0;
  }, null, { timeout: WAIT });
  await page.waitForSelector("[data-testid=offline-banner][data-kind=offline]", { state: "visible", timeout: WAIT });
  await waitStatus(page, "offline", 2);
  await openBag(page);
  assert.deepEqual(await shownLines(page), expected, `${label}: the bag`);
  assert.match(await page.textContent("[data-testid=line-mug-enamel]"), /Enamel Mug/, `${label}: names from the saved catalog`);
  await closeBag(page);
}

test("offline, a reload, a new tab and a deep link render the shop and the bag; what was added offline syncs once", async () => {
  const context = await browser.newContext();
  // Every API answer any page (or the worker) got: none may come from the worker.
  const apiResponses = [];
  const wasmResponses = [];
  context.on("response", (response) => {
    const path = new URL(response.url()).pathname;
    if (path.startsWith("/api/")) apiResponses.push(response);
    if (path.endsWith(".wasm")) wasmResponses.push(response);
  });

  const page = await openShop(context, server);
  await waitControlled(page);
  // An online load under the worker: the page through it, the catalog and
  // the cart straight from the server.
  apiResponses.length = 0;
  const online = await page.reload();
  assert.equal(online.fromServiceWorker(), true, "the worker answered the online navigation (from the network)");
  await page.waitForSelector("body[data-ready=true]", { timeout: WAIT });
  assert.ok(apiResponses.length > 0, "the page read the API");
  await page.click("[data-testid=add-lamp-desk]");
  await waitSynced(page);
  const token = await cartToken(page);
  assert.ok(token, "the cart exists on the server");

  // The shell cache holds the page, every module of js/, the package with
  // its wasm, every image and the manifest; nothing of the API.
  const caches = await cachedUrls(page);
  const names = Object.keys(caches).filter((name) => name.startsWith("tidewater-shell-"));
  assert.equal(names.length, 1, `one versioned shell cache: ${Object.keys(caches)}`);
  const shell = new Set(caches[names[0]]);
  const wanted = [
    "/", "/index.html", "/styles.css", "/manifest.webmanifest",
    "/vendor/cartsync/index.js", "/vendor/cartsync/errors.js", "/vendor/cartsync/web/cartsync.js", "/vendor/cartsync/web/cartsync_bg.wasm",
    ...readdirSync(join(STATIC_DIR, "js")).map((f) => `/js/${f}`),
    ...readdirSync(join(STATIC_DIR, "images")).map((f) => `/images/${f}`),
  ];
  assert.deepEqual(wanted.filter((path) => !shell.has(path)), [], "precached");

  // The installability basics: the manifest is linked and names its icons.
  const manifest = await page.evaluate(async () => (await fetch(document.querySelector("link[rel=manifest]").href)).json());
  assert.equal(manifest.start_url, "/");
  assert.equal(manifest.display, "standalone");
  assert.deepEqual(manifest.icons.map((i) => `${i.sizes} ${i.purpose}`).sort(), ["192x192 any", "512x512 any", "512x512 maskable"]);

  // Fully offline: two more adds, kept in localStorage.
  await context.setOffline(true);
  await waitStatus(page, "offline");
  await page.click("[data-testid=add-mug-enamel]");
  await page.click("[data-testid=add-notebook-a5]");
  await waitStatus(page, "offline", 2);
  const expected = { "lamp-desk": 1, "mug-enamel": 1, "notebook-a5": 1 };

  // (a) A reload: the worker answers the navigation, the shell and the wasm.
  wasmResponses.length = 0;
  const reloaded = await page.reload();
  assert.equal(reloaded.fromServiceWorker(), true, "the reload came from the worker");
  await assertShopOffline(page, expected, "reload");
  assert.ok(wasmResponses.length > 0 && wasmResponses.every((r) => r.fromServiceWorker() && r.status() === 200), "the wasm came from Cache Storage");

  // (b) A new tab.
  const tab = await context.newPage();
  tab.setDefaultTimeout(WAIT);
  tab.errors = [];
  tab.on("pageerror", (e) => tab.errors.push(e));
  const opened = await tab.goto(server.url + "/");
  assert.equal(opened.fromServiceWorker(), true, "the new tab came from the worker");
  await assertShopOffline(tab, expected, "new tab");

  // (c) Deep links: a query the shop ignores, and a path the server does not have.
  for (const path of ["/?product=mug-enamel", "/some/path"]) {
    const deep = await tab.goto(server.url + path);
    assert.equal(deep.fromServiceWorker(), true, `${path} came from the worker`);
    await assertShopOffline(tab, expected, path);
  }

  const offlineCaches = await cachedUrls(tab);
  assert.deepEqual(Object.values(offlineCaches).flat().filter((p) => p.startsWith("/api/")), [], "no API answer in Cache Storage");

  // Back online: the two offline adds reach the server exactly once, whichever tab sends them.
  await context.setOffline(false);
  await waitSynced(page);
  await waitSynced(tab);
  assert.deepEqual(await storedMutations(page), []);
  const events = await cartEvents(server, token);
  assert.deepEqual(duplicateIds(events), []);
  assert.equal(events.filter((e) => e.kind === "mutation").length, 3, "one online add and two offline adds, one event each");
  const cart = (await server.api("GET", `/carts/${token}`)).body;
  assert.deepEqual(Object.fromEntries(cart.lines.map((l) => [l.sku, l.quantity])), expected);

  assert.deepEqual(Object.values(await cachedUrls(page)).flat().filter((p) => p.startsWith("/api/")), [], "still no API answer in Cache Storage");
  assert.deepEqual(apiResponses.filter((r) => r.fromServiceWorker()).map((r) => r.url()), [], "no API answer came from the worker");
  assert.deepEqual([...page.errors, ...tab.errors], []);
  await context.close();
});
