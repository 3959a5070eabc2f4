// Twenty items added while offline survive two reloads and arrive exactly
// once when the shopper is back online.
//
// The reloads happen while only the store's API is unreachable: the page
// itself loads from the network, every API call fails. A reload with the
// browser fully offline (the page served by the storefront's service
// worker) is pwa-offline.test.mjs.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer, launchBrowser, tempDir, openShop, reloadShop, openBag, closeBag, waitSynced, waitStatus, shownLines, cartToken, cartEvents, duplicateIds, storedMutations, reconnect } from "./helpers.mjs";

let server, browser;
before(async () => {
  server = await startServer({ db: join(tempDir(), "offline.db") });
  browser = await launchBrowser();
});

const SKUS = ["mug-enamel", "notebook-a5", "sticker-pack", "candle-cedar", "socks-stripe"];

test("twenty items added offline survive two reloads and arrive exactly once", async () => {
  const context = await browser.newContext();
  const page = await openShop(context, server);
  await context.setOffline(true);
  await waitStatus(page, "offline");
  await page.waitForSelector("[data-testid=offline-banner][data-kind=offline]", { state: "visible" });

  const expected = {};
  for (let i = 0; i < 20; i++) {
    const sku = SKUS[i % SKUS.length];
    await page.click(`[data-testid=add-${sku}]`);
    expected[sku] = (expected[sku] ?? 0) + 1;
  }
  await waitStatus(page, "offline", 20);
  assert.equal(await page.textContent("[data-testid=pending-badge]"), "20");
  assert.equal(await cartToken(page), null, "the cart does not even exist on the server yet");

  // Two reloads while the store stays unreachable.
  await page.route("**/api/v1/**", (route) => route.abort("internetdisconnected"));
  await context.setOffline(false);
  for (let reload = 0; reload < 2; reload++) {
    await reloadShop(page);
    await page.waitForSelector("[data-testid=sync-status][data-pending='20']", { state: "attached" });
    await openBag(page);
    assert.deepEqual(await shownLines(page), expected, `reload ${reload + 1}`);
    assert.match(await page.textContent("[data-testid=line-mug-enamel]"), /Enamel Mug/, "names from the catalog this device saved");
    await closeBag(page);
  }
  assert.equal((await storedMutations(page)).length, 20);

  // Back online.
  await page.unroute("**/api/v1/**");
  await reconnect(context);
  await waitSynced(page);
  const token = await cartToken(page);
  const events = await cartEvents(server, token);
  assert.deepEqual(duplicateIds(events), []);
  assert.equal(events.filter((e) => e.kind === "mutation").length, 20, "twenty adds, twenty events");
  const cart = (await server.api("GET", `/carts/${token}`)).body;
  assert.deepEqual(Object.fromEntries(cart.lines.map((l) => [l.sku, l.quantity])), expected);
  assert.deepEqual(await storedMutations(page), []);
  assert.equal(await page.isVisible("[data-testid=pending-badge]"), false);
  assert.deepEqual(page.errors, []);
  await context.close();
});
