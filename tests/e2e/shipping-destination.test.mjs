// Shipping constraints: the shopper picks "Pick up" (Germany only), then
// gives a French address. The bag says so at once (a reconciled notice, the
// option marked unavailable, never switched silently); checkout reports
// shipping_unavailable with the reason and cannot be confirmed; choosing an
// option that serves France orders. A postal code of the wrong shape is
// refused on the spot.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { WAIT, startServer, launchBrowser, tempDir, openShop, openBag, waitSynced, setDelivery, cartToken } from "./helpers.mjs";

let server, browser;
before(async () => {
  server = await startServer({ db: join(tempDir(), "ship.db") });
  browser = await launchBrowser();
});

test("a destination the chosen option does not serve: told in the bag, reported at checkout, fixed, ordered", async () => {
  const context = await browser.newContext();
  const page = await openShop(context, server);
  await page.click("[data-testid=add-mug-enamel]");
  await waitSynced(page);
  await openBag(page);

  // A German postal code has five digits: refused before anything is stored.
  await page.selectOption("[data-testid=destination-country]", "DE");
  await page.fill("[data-testid=destination-postal]", "1011");
  await page.click("[data-testid=destination-save]");
  await page.waitForSelector("[data-testid=destination-error]");
  assert.match(await page.textContent("[data-testid=destination-error]"), /postal code doesn't match the country/);
  assert.equal(await page.getAttribute("[data-testid=sync-status]", "data-pending"), "0", "nothing queued");

  await setDelivery(page, "DE", "10115", "pickup");
  assert.equal(await page.getAttribute("[data-testid=ship-pickup]", "data-status"), "available");
  assert.equal(await page.getAttribute("[data-testid=ship-international]", "data-status"), "unavailable");
  assert.match(await page.textContent("[data-testid=ship-international]"), /doesn't deliver to Germany/);

  // The bag moves to France: pick up (Germany only) can no longer take it.
  await setDelivery(page, "FR", "75001");
  const notice = page.locator("[data-testid=toast-reconciled]", { hasText: "pickup" });
  await notice.waitFor({ state: "visible", timeout: WAIT });
  assert.match(await notice.textContent(), /doesn't deliver to France/);
  assert.equal(await page.getAttribute("[data-testid=ship-pickup]", "data-status"), "unavailable");
  assert.equal(await page.isChecked("[data-testid=ship-pickup] input"), true, "still the shopper's choice");
  assert.match(await page.textContent("[data-testid=shipping-warning]"), /Pick up doesn't deliver to France/);
  const { body: cart } = await server.api("GET", `/carts/${await cartToken(page)}`);
  assert.deepEqual([cart.shipping_option, cart.destination], ["pickup", { country: "FR", postal_code: "75001" }]);

  await page.click("[data-testid=checkout]");
  await page.waitForSelector("[data-testid=checkout-problems]");
  const problem = page.locator("[data-testid=problem-shipping_unavailable]");
  assert.equal(await problem.getAttribute("data-cause"), "country_not_served");
  assert.match(await problem.textContent(), /Pick up doesn't deliver to France/);
  assert.equal(await page.locator("[data-testid^=problem-]").count(), 1);
  assert.equal(await page.isDisabled("[data-testid=confirm-checkout]"), true, "cannot order without a delivery that fits");
  assert.equal((await server.api("GET", "/catalog")).body.products.find((p) => p.sku === "mug-enamel").stock, 45, "nothing held");

  await page.click("[data-testid=fix-shipping]");
  await page.click("[data-testid=ship-standard][data-status=available]");
  await waitSynced(page);
  await page.click("[data-testid=checkout]");
  await page.waitForSelector("[data-testid=order-confirmation]");
  assert.match(await page.textContent("[data-testid=order-confirmation]"), /goes to France 75001/);
  assert.equal(await page.textContent("[data-testid=order-tax]"), "€2.67"); // 16.00 holds 20 % French VAT
  assert.deepEqual(page.errors, []);
  await context.close();
});
