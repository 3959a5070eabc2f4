// Payment: the order shows how to pay by bank transfer; the bank's signed
// callback arrives; the order the shopper is looking at turns to paid. A
// replay of the same signed message and an unsigned one change nothing.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { WAIT, startServer, launchBrowser, tempDir, openShop, waitSynced, setDelivery, bankCallback } from "./helpers.mjs";

let server, browser;
before(async () => {
  server = await startServer({ db: join(tempDir(), "pay.db") });
  browser = await launchBrowser();
});

test("an order paid through the bank's signed callback", async () => {
  const context = await browser.newContext();
  const page = await openShop(context, server);
  await page.click("[data-testid=add-backpack-daypack]");
  await waitSynced(page);
  await setDelivery(page, "NL", "1234ab", "express");
  await page.click("[data-testid=checkout]");
  await page.waitForSelector("[data-testid=order-confirmation]");
  assert.equal(await page.getAttribute("[data-testid=order-status]", "data-status"), "pending_payment");
  const orderId = await page.textContent("[data-testid=order-id]");
  const reference = await page.textContent("[data-testid=payment-reference]");
  assert.equal(await page.textContent("[data-testid=payment-amount]"), "€98.00"); // 89 + express 9
  assert.equal(await page.textContent("[data-testid=payment-beneficiary]"), "Tidewater Supply Co.");
  const stock = async () => (await server.api("GET", "/catalog")).body.products.find((p) => p.sku === "backpack-daypack").stock;
  assert.equal(await stock(), 5, "held for the order");

  // Unsigned: refused, nothing changes.
  const event = { id: "evt_e2e_1", type: "transfer.received", reference, amount: { amount: 9800, currency: "EUR" } };
  const unsigned = await fetch(`${server.url}/api/v1/payments/bank_transfer/callback`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(event),
  });
  assert.equal(unsigned.status, 401);
  assert.equal((await server.api("GET", `/orders/${orderId}`)).body.order.status, "pending_payment");

  const t = Math.floor(Date.now() / 1000);
  const paid = await bankCallback(server, event, t);
  assert.equal(paid.status, 200);
  assert.deepEqual([paid.body.status, paid.body.outcome, paid.body.order.status], ["processed", "paid", "paid"]);

  // The dialog follows the order: paid, nothing left to do.
  await page.waitForSelector("[data-testid=order-status][data-status=paid]", { timeout: WAIT });
  assert.equal(await page.locator("[data-testid=payment-instructions]").count(), 0);
  const replay = await bankCallback(server, event, t);
  assert.deepEqual([replay.status, replay.body.code], [409, "callback_replayed"]);
  const resent = await bankCallback(server, event, t + 1);
  assert.deepEqual([resent.status, resent.body.status], [200, "duplicate"]);
  assert.equal(await stock(), 5, "sold once");
  assert.deepEqual(page.errors, []);
  await context.close();
});
