// Failure table, row 7: inventory race. Two shoppers hold the last unit in
// their bags; availability is checked at checkout, so exactly one order is
// created and the other shopper is told the item sold out.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer, launchBrowser, tempDir, openShop, openBag, waitSynced, metric, setDelivery } from "./helpers.mjs";

let server, browser;
before(async () => {
  server = await startServer({ db: join(tempDir(), "race.db") });
  browser = await launchBrowser();
});

test("inventory race: one unit, two shoppers checking out at once: one order, one out_of_stock", async () => {
  const shoppers = [];
  for (let i = 0; i < 2; i++) {
    const context = await browser.newContext();
    const page = await openShop(context, server);
    await page.click("[data-testid=add-last-one-vase]");
    await waitSynced(page);
    await setDelivery(page, "DE", "10115", "standard");
    await openBag(page);
    shoppers.push({ context, page });
  }
  assert.equal((await server.api("GET", "/catalog")).body.products.find((p) => p.sku === "last-one-vase").stock, 1);

  // Both press "Check out" together.
  await Promise.all(shoppers.map(({ page }) => page.click("[data-testid=checkout]")));
  const outcomes = await Promise.all(
    shoppers.map(({ page }) =>
      Promise.race([
        page.waitForSelector("[data-testid=order-confirmation]", { state: "visible" }).then(() => "order"),
        page.waitForSelector("[data-testid=checkout-problems]", { state: "visible" }).then(() => "problems"),
      ]),
    ),
  );
  assert.deepEqual([...outcomes].sort(), ["order", "problems"], `outcomes: ${outcomes}`);

  const loser = shoppers[outcomes.indexOf("problems")].page;
  const problem = loser.locator("[data-testid=problem-out_of_stock-last-one-vase]");
  assert.match(await problem.textContent(), /Studio Vase \(last one\): sold out while it was in your bag/);
  assert.equal(await loser.locator("[data-testid^=problem-]").count(), 1);
  // Confirming again cannot oversell.
  await loser.click("[data-testid=confirm-checkout]");
  await loser.waitForSelector("[data-testid=confirm-checkout]:not([disabled])");
  await loser.waitForSelector("[data-testid=problem-out_of_stock-last-one-vase]");
  assert.equal(await loser.locator("[data-testid=order-confirmation]").isVisible(), false);
  // The shopper can take it out of the bag from the review.
  await loser.click("[data-testid='fix-last-one-vase']");
  await loser.waitForSelector("[data-testid=empty-bag]");

  assert.equal(await metric(server, 'cartsync_checkouts_total{outcome="created"}'), 1);
  assert.equal((await server.api("GET", "/catalog")).body.products.find((p) => p.sku === "last-one-vase").stock, 0);
  for (const { context, page } of shoppers) {
    assert.deepEqual(page.errors, []);
    await context.close();
  }
});
