// The notices the storefront shows for what the shopper did not do
// themselves: a `reconciled` event (a stale edit rebased onto a cart
// another device changed) and a `rejected` event (a change the store
// refused after the page had accepted it).
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer, launchBrowser, tempDir, openShop, openBag, waitSynced, shownLines, cartToken } from "./helpers.mjs";

let server, browser;
before(async () => {
  server = await startServer({ db: join(tempDir(), "notices.db") });
  browser = await launchBrowser();
});

test("reconciled: a line removed on another device comes back with the shopper's new quantity, and says so", async () => {
  const context = await browser.newContext();
  const page = await openShop(context, server);
  await page.click("[data-testid=add-mug-enamel]");
  await waitSynced(page);
  const token = await cartToken(page);
  const { version } = (await server.api("GET", `/carts/${token}`)).body;
  const removed = await server.api("POST", `/carts/${token}/mutations`, {
    mutations: [{ id: crypto.randomUUID(), base_version: version, command: { type: "remove_item", sku: "mug-enamel" } }],
  });
  assert.equal(removed.body.results[0].status, "applied");

  await openBag(page);
  await page.fill("[data-testid='qty-mug-enamel']", "3"); // the page still shows the mug
  await page.press("[data-testid='qty-mug-enamel']", "Enter");
  const notice = page.locator("[data-testid=toast-reconciled]").first();
  await notice.waitFor({ state: "visible" });
  assert.match(await notice.textContent(), /Enamel Mug was removed elsewhere; we kept your choice of 3/);
  await waitSynced(page);
  assert.deepEqual(await shownLines(page), { "mug-enamel": 3 });
  assert.deepEqual((await server.api("GET", `/carts/${token}`)).body.lines.map((l) => [l.sku, l.quantity]), [["mug-enamel", 3]]);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test("rejected: a change the store refuses is shown and leaves the bag as the store has it", async () => {
  const context = await browser.newContext();
  const page = await openShop(context, server);
  await page.click("[data-testid=add-candle-cedar]");
  await waitSynced(page);
  // A SKU the page's own catalog would never offer (an old link, a stale app).
  await page.evaluate(() => tidewater.cart.addItem({ sku: "discontinued-kettle", quantity: 1 }));
  const notice = page.locator("[data-testid=toast-rejected]");
  await notice.waitFor({ state: "visible" });
  assert.match(await notice.textContent(), /could not be added: is no longer sold/);
  await waitSynced(page);
  await openBag(page);
  assert.deepEqual(await shownLines(page), { "candle-cedar": 1 });
  assert.deepEqual(page.errors, []);
  await context.close();
});
