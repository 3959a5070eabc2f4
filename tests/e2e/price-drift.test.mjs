// Failure table, row 6: price drift. The price changes after the shopper
// put the item in the bag; checkout reprices, reports price_changed with
// old and new price, and confirming orders at the new price.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer, launchBrowser, tempDir, openShop, openBag, waitSynced, cartToken, setDelivery } from "./helpers.mjs";

let server, browser;
before(async () => {
  server = await startServer({ db: join(tempDir(), "price.db") });
  browser = await launchBrowser();
});

test("price drift: checkout reports price_changed, confirming orders at the new price", async () => {
  const context = await browser.newContext();
  const page = await openShop(context, server);
  await page.click("[data-testid=add-mug-enamel]");
  await page.click("[data-testid=add-mug-enamel]");
  await page.click("[data-testid=add-notebook-a5]");
  await waitSynced(page);
  await setDelivery(page, "DE", "10115", "standard");
  await openBag(page);
  assert.match(await page.textContent("[data-testid=grand-total]"), /€44\.00/); // 2 × 16 + 12

  const raised = await server.api("PUT", "/admin/catalog/mug-enamel", { price: { amount: 1900, currency: "EUR" } });
  assert.equal(raised.status, 200);

  await page.click("[data-testid=checkout]");
  const review = page.locator("[data-testid=checkout-problems]");
  await review.waitFor({ state: "visible" });
  const problem = page.locator("[data-testid=problem-price_changed-mug-enamel]");
  assert.match(await problem.textContent(), /Enamel Mug is now €19\.00 \(was €16\.00\)/);
  assert.equal(await page.locator("[data-testid^=problem-]").count(), 1, "only the mug's price moved");
  assert.equal(await page.textContent("[data-testid=new-total]"), "€50.00");
  assert.equal(await page.locator("[data-testid=order-confirmation]").isVisible(), false, "no order yet");
  assert.equal((await server.api("GET", "/catalog")).body.products.find((p) => p.sku === "mug-enamel").stock, 45, "stock released");

  const token = await cartToken(page);
  await page.click("[data-testid=confirm-checkout]");
  const order = page.locator("[data-testid=order-confirmation]");
  await order.waitFor({ state: "visible" });
  assert.match(await page.textContent("[data-testid=order-id]"), /^ord_/);
  assert.equal(await page.textContent("[data-testid=order-total]"), "€50.00");
  assert.match(await page.textContent("[data-testid=order-line-mug-enamel]"), /2 × Enamel Mug.*€38\.00/);

  // The order is durable: the cart is closed, the stock is taken.
  const closed = await server.api("POST", `/carts/${token}/mutations`, { mutations: [] });
  assert.equal(closed.body.code, "cart_closed");
  assert.equal((await server.api("GET", "/catalog")).body.products.find((p) => p.sku === "mug-enamel").stock, 43);
  await page.click("[data-testid=order-close]");
  assert.equal(await page.textContent("[data-testid=cart-count]"), "0", "a fresh bag after the order");
  assert.deepEqual(page.errors, []);
  await context.close();
});
