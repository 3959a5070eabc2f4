// Tax: the bag shows the VAT of its destination; the rate changes before the
// shopper orders; checkout reports tax_changed (the estimate the shopper saw
// and the order's tax may only differ through a reported problem), and the
// order confirmed afterwards carries the new tax.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer, launchBrowser, tempDir, openShop, openBag, waitSynced, setDelivery } from "./helpers.mjs";

let server, browser;
before(async () => {
  server = await startServer({ db: join(tempDir(), "tax.db") });
  browser = await launchBrowser();
});

test("a tax change is reported at checkout and confirmed by the shopper", async () => {
  const context = await browser.newContext();
  const page = await openShop(context, server);
  await page.click("[data-testid=add-hoodie-grey]");
  await waitSynced(page);
  await setDelivery(page, "DE", "10115", "standard");
  await openBag(page);
  assert.match(await page.textContent("[data-testid=totals-tax]"), /Incl\. VAT 19% \(DE\)\s*€11\.02/);
  assert.match(await page.textContent("[data-testid=grand-total]"), /€69\.00/);

  const changed = await server.api("PUT", "/admin/tax/DE", { rate_bp: 700 });
  assert.equal(changed.status, 200);

  await page.click("[data-testid=checkout]");
  await page.waitForSelector("[data-testid=checkout-problems]");
  const problem = page.locator("[data-testid=problem-tax_changed]");
  assert.match(await problem.textContent(), /VAT for Germany is now 7%: €4\.51 \(was €11\.02\)/);
  assert.equal(await page.locator("[data-testid^=problem-]").count(), 1, "prices include VAT: the total stays");
  assert.equal(await page.textContent("[data-testid=new-total]"), "€69.00");

  await page.click("[data-testid=confirm-checkout]");
  await page.waitForSelector("[data-testid=order-confirmation]");
  assert.equal(await page.textContent("[data-testid=order-tax]"), "€4.51");
  assert.equal(await page.textContent("[data-testid=order-total]"), "€69.00");
  assert.deepEqual(page.errors, []);
  await context.close();
});
