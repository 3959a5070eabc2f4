// Stock held, then released: the last vase is ordered and held (the shop
// shows it sold out); nobody pays; when the hold runs out the server's
// recovery worker gives the vase back and the order the shopper is looking
// at turns to expired.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { WAIT, startServer, launchBrowser, tempDir, openShop, waitSynced, setDelivery } from "./helpers.mjs";

let server, browser;
before(async () => {
  server = await startServer({ db: join(tempDir(), "hold.db"), extraArgs: ["--hold-expiry-secs", "3"] });
  browser = await launchBrowser();
});

test("an unpaid order expires and its stock comes back", async () => {
  const context = await browser.newContext();
  const page = await openShop(context, server);
  await page.click("[data-testid=add-last-one-vase]");
  await waitSynced(page);
  await setDelivery(page, "DE", "10115", "standard");
  await page.click("[data-testid=checkout]");
  await page.waitForSelector("[data-testid=order-confirmation]");
  const orderId = await page.textContent("[data-testid=order-id]");
  const vase = async () => (await server.api("GET", "/catalog")).body.products.find((p) => p.sku === "last-one-vase").stock;
  assert.equal(await vase(), 0, "held for the order");
  assert.equal(await page.getAttribute("[data-testid=order-status]", "data-status"), "pending_payment");
  assert.ok(await page.isVisible("[data-testid=payment-pay-by]"));

  await page.waitForSelector("[data-testid=order-status][data-status=expired]", { timeout: WAIT });
  assert.match(await page.textContent("[data-testid=order-status]"), /Not paid in time/);
  assert.equal(await vase(), 1, "the vase is back");
  const { body } = await server.api("GET", `/orders/${orderId}`);
  assert.deepEqual([body.order.status, body.order.payment.status, body.order.payment.next_action], ["expired", "canceled", null]);
  // The shop sells it again.
  await page.click("[data-testid=order-close]");
  await page.waitForSelector("[data-testid=add-last-one-vase]:not([disabled])", { timeout: WAIT });
  assert.deepEqual(page.errors, []);
  await context.close();
});
