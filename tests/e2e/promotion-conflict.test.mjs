// Failure table, row 8: promotion conflict. A coupon accepted in the bag
// expires before checkout; checkout revalidates it, rejects it with the
// reason shown, and confirming orders without the discount.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer, launchBrowser, tempDir, openShop, openBag, waitSynced, setDelivery } from "./helpers.mjs";

let server, browser;
before(async () => {
  server = await startServer({ db: join(tempDir(), "promo.db") });
  browser = await launchBrowser();
});

test("promotion conflict: a coupon that expired after it was applied is rejected at checkout, reason shown", async () => {
  const context = await browser.newContext();
  const page = await openShop(context, server);
  await page.click("[data-testid=add-tee-black]");
  await page.click("[data-testid=add-tee-black]");
  await openBag(page);
  await page.fill("[data-testid=coupon-input]", "save10");
  await page.click("[data-testid=coupon-apply]");
  await waitSynced(page);
  await setDelivery(page, "DE", "10115", "standard");
  assert.equal(await page.getAttribute("[data-testid=coupon-SAVE10]", "data-state"), "applied");
  assert.match(await page.textContent("[data-testid=grand-total]"), /€45\.00/);

  const expired = await server.api("PUT", "/admin/coupons/SAVE10", { percent_off: 10, active: false });
  assert.equal(expired.status, 200);

  await page.click("[data-testid=checkout]");
  await page.waitForSelector("[data-testid=checkout-problems]");
  const problem = page.locator("[data-testid=problem-coupon_rejected-SAVE10]");
  assert.equal(await problem.getAttribute("data-reason"), "expired");
  assert.match(await problem.textContent(), /Code SAVE10 no longer applies: this code has expired/);
  assert.equal(await page.textContent("[data-testid=new-total]"), "€50.00");

  await page.click("[data-testid=confirm-checkout]");
  await page.waitForSelector("[data-testid=order-confirmation]");
  assert.equal(await page.textContent("[data-testid=order-total]"), "€50.00");
  assert.doesNotMatch(await page.textContent("[data-testid=order-confirmation]"), /SAVE10/, "no discount on the order");
  assert.deepEqual(page.errors, []);
  await context.close();
});
