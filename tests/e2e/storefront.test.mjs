// The storefront itself: the catalog with its images, every bag control
// (+/−, typed quantity, remove, coupon, delivery), totals from the server,
// and the screenshot the README shows.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, WAIT, startServer, launchBrowser, tempDir, openShop, openBag, waitSynced, shownLines, cartToken, setDelivery } from "./helpers.mjs";

// The README's screenshots are rewritten only on request (`make
// screenshots`), so a test run leaves the tree clean.
const SHOTS = process.env.CARTSYNC_SCREENSHOTS ? join(ROOT, "docs") : null;

let server, browser, shots;
before(async () => {
  shots = SHOTS ?? tempDir();
  server = await startServer({ db: join(tempDir(), "shop.db") });
  browser = await launchBrowser();
});

test("the shop renders the catalog with a loaded image and price for every product", async () => {
  const context = await browser.newContext();
  const page = await openShop(context, server);
  const { body } = await server.api("GET", "/catalog");
  const cards = await page.$$eval("[data-testid=product-grid] > li", (els) => els.map((e) => e.dataset.sku));
  assert.deepEqual(cards.sort(), body.products.map((p) => p.sku).sort());
  // Every image is served as an SVG; those on screen have rendered.
  const images = await page.$$eval(".card img", (imgs) =>
    Promise.all(imgs.map(async (i) => {
      const res = await fetch(i.src);
      return `${res.status} ${res.headers.get("content-type")}`;
    })),
  );
  assert.deepEqual([...new Set(images)], ["200 image/svg+xml"]);
  await page.waitForFunction(
    () => [...document.querySelectorAll(".card img")].slice(0, 4).every((i) => i.complete && i.naturalWidth > 0),
    null,
    { timeout: WAIT },
  );
  assert.equal(await page.textContent("[data-testid=price-mug-enamel]"), "€16.00");
  assert.deepEqual(page.errors, []);
  await context.close();
});

test("the bag: add, +, −, typed quantity, remove, coupon, delivery and server totals", async () => {
  const context = await browser.newContext();
  const page = await openShop(context, server);
  await page.click("[data-testid=size-tee-navy-L]");
  await page.click("[data-testid=add-tee-navy]");
  await page.click("[data-testid=add-mug-enamel]");
  await page.click("[data-testid=add-notebook-a5]");
  await openBag(page);
  assert.deepEqual(await shownLines(page), { "tee-navy|size=L": 1, "mug-enamel": 1, "notebook-a5": 1 });

  await page.click("[data-testid='inc-mug-enamel']");
  await page.click("[data-testid='inc-mug-enamel']");
  await page.click("[data-testid='dec-mug-enamel']");
  await page.fill("[data-testid='qty-tee-navy|size=L']", "3");
  await page.press("[data-testid='qty-tee-navy|size=L']", "Enter");
  await page.click("[data-testid='remove-notebook-a5']");
  // A re-render while the shopper types a code keeps what is typed.
  await page.fill("[data-testid=coupon-input]", "save10");
  await page.click("[data-testid='inc-tee-navy|size=L']");
  await page.click("[data-testid='dec-tee-navy|size=L']");
  assert.equal(await page.inputValue("[data-testid=coupon-input]"), "save10");
  await page.click("[data-testid=coupon-apply]");
  await page.waitForSelector("[data-testid=coupon-SAVE10]");
  assert.equal(await page.inputValue("[data-testid=coupon-input]"), "", "an applied code leaves the field");
  await page.click("[data-testid=ship-express]");
  await waitSynced(page);

  assert.deepEqual(await shownLines(page), { "tee-navy|size=L": 3, "mug-enamel": 2 });
  assert.equal(await page.getAttribute("[data-testid=coupon-SAVE10]", "data-state"), "applied");
  // 3 × 25 + 2 × 16 = 107; −10 % = 96.30; + express 9 = 105.30
  assert.equal(await page.getAttribute("[data-testid=totals]", "data-exact"), "true");
  assert.match(await page.textContent("[data-testid=grand-total]"), /€105\.30/);
  assert.equal(await page.textContent("[data-testid=cart-count]"), "5");

  // The server holds the same bag.
  const { body: cart } = await server.api("GET", `/carts/${await cartToken(page)}`);
  assert.deepEqual(
    cart.lines.map((l) => [l.sku, l.options, l.quantity]),
    [["tee-navy", { size: "L" }, 3], ["mug-enamel", {}, 2]],
  );
  assert.equal(cart.shipping_option, "express");
  assert.equal(cart.totals.estimated_total.amount, 10530);

  await page.setViewportSize({ width: 1280, height: 1000 });
  await page.locator("#drawer-body").evaluate((el) => (el.scrollTop = 0));
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, "storefront.png") });

  // An invalid quantity is refused on the spot, nothing is queued.
  await page.fill("[data-testid='qty-mug-enamel']", "1000");
  await page.press("[data-testid='qty-mug-enamel']", "Enter");
  await page.waitForSelector("[data-testid=toast-error]", { timeout: WAIT });
  assert.match(await page.textContent("[data-testid=toast-error]"), /1 to 999/);
  assert.deepEqual(await shownLines(page), { "tee-navy|size=L": 3, "mug-enamel": 2 });

  assert.deepEqual(page.errors, []);
  await context.close();
});

test("checkout review: price, stock and coupon problems together, fixed from the review, then ordered", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await openShop(context, server);
  await page.click("[data-testid=add-mug-enamel]");
  await page.click("[data-testid=add-mug-enamel]");
  await page.click("[data-testid=add-lamp-desk]");
  await page.click("[data-testid=add-lamp-desk]");
  await openBag(page);
  await page.fill("[data-testid=coupon-input]", "FIVEOFF");
  await page.click("[data-testid=coupon-apply]");
  await waitSynced(page);
  await setDelivery(page, "DE", "10115", "standard");
  assert.equal(await page.getAttribute("[data-testid=coupon-FIVEOFF]", "data-state"), "applied");

  await server.api("PUT", "/admin/catalog/mug-enamel", { price: { amount: 1800, currency: "EUR" } });
  await server.api("PUT", "/admin/catalog/lamp-desk", { stock: 1 });
  await server.api("PUT", "/admin/coupons/FIVEOFF", { amount_off: { amount: 500, currency: "EUR" }, active: false });

  await page.click("[data-testid=checkout]");
  await page.waitForSelector("[data-testid=checkout-problems]");
  const types = await page.$$eval("[data-testid=checkout-problems] [data-type]", (els) => els.map((e) => e.dataset.type).sort());
  assert.deepEqual(types, ["coupon_rejected", "out_of_stock", "price_changed"]);
  assert.match(await page.textContent("[data-testid=problem-out_of_stock-lamp-desk]"), /only 1 left, you asked for 2/);
  assert.equal(await page.textContent("[data-testid=new-total]"), "€198.90"); // 2 × 18 + 2 × 79 + 4.90 (5.5 kg)
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, "checkout-problems.png") });

  await page.click("[data-testid='fix-lamp-desk']");
  await page.waitForSelector("[data-testid='line-lamp-desk'][data-quantity='1']");
  await waitSynced(page);
  await page.click("[data-testid=checkout]");
  await page.waitForSelector("[data-testid=order-confirmation]");
  assert.equal(await page.textContent("[data-testid=order-total]"), "€119.90"); // 2 × 18 + 79 + 4.90 (3.1 kg)
  assert.equal(await page.textContent("[data-testid=order-tax]"), "€19.14"); // 119.90 holds 19 % VAT
  assert.match(await page.textContent("[data-testid=payment-iban]"), /^DE89 /);
  assert.match(await page.textContent("[data-testid=payment-reference]"), /^CS-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
  assert.equal(await page.textContent("[data-testid=payment-amount]"), "€119.90");
  await page.screenshot({ path: join(shots, "order-payment.png") });
  assert.deepEqual(page.errors, []);
  await context.close();
});
