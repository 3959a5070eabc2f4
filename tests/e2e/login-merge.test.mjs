// Failure table, row 2: anonymous login. A guest bag is merged into an
// existing account bag by the explicit merge rules (same line: summed;
// other options: kept apart; coupons: pending again); nothing is lost and
// the shopper is shown the merge report.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { WAIT, startServer, launchBrowser, tempDir, openShop, reloadShop, openBag, closeBag, waitSynced, shownLines, cartToken, devLogin } from "./helpers.mjs";

let server, browser;
before(async () => {
  server = await startServer({ db: join(tempDir(), "login.db") });
  browser = await launchBrowser();
});

async function signIn(page, user) {
  await closeBag(page);
  await page.click("[data-testid=sign-in]");
  await page.fill("[data-testid=login-user]", user);
  await page.click("[data-testid=login-submit]");
}

test("anonymous login: the guest bag merges into the account bag, nothing lost, report shown", async () => {
  // The account's bag, filled earlier on another device.
  const laptop = await browser.newContext();
  const earlier = await openShop(laptop, server);
  await signIn(earlier, "ada");
  await earlier.waitForSelector("[data-testid=account-name]", { timeout: WAIT });
  await earlier.click("[data-testid=add-mug-enamel]");
  await earlier.click("[data-testid=add-mug-enamel]");
  await earlier.click("[data-testid=size-tee-black-M]");
  await earlier.click("[data-testid=add-tee-black]");
  await waitSynced(earlier);

  // A guest on the phone.
  const phone = await browser.newContext();
  const page = await openShop(phone, server);
  await page.click("[data-testid=add-mug-enamel]");
  await page.click("[data-testid=size-tee-black-L]");
  await page.click("[data-testid=add-tee-black]");
  await page.click("[data-testid=add-notebook-a5]");
  await openBag(page);
  await page.fill("[data-testid=coupon-input]", "SAVE10");
  await page.click("[data-testid=coupon-apply]");
  await waitSynced(page);
  const guestToken = await cartToken(page);

  await signIn(page, "ada");
  const report = page.locator("[data-testid=merge-report]");
  await report.waitFor({ state: "visible", timeout: WAIT });
  assert.match(await report.textContent(), /Welcome, ada/);
  assert.match(await page.textContent("[data-testid=merged-summed-mug-enamel]"), /2 already in your account \+ 1 from this visit = 3/);
  assert.match(await page.textContent("[data-testid=merged-added-tee-black]"), /Size L.*× 1/);
  assert.match(await page.textContent("[data-testid=merged-added-notebook-a5]"), /× 1/);
  assert.match(await report.textContent(), /SAVE10 will be checked again/);
  await page.click("[data-testid=merge-report-close]");

  await waitSynced(page);
  const merged = { "mug-enamel": 3, "tee-black|size=M": 1, "tee-black|size=L": 1, "notebook-a5": 1 };
  assert.deepEqual(await shownLines(page), merged);
  assert.match(await page.textContent("[data-testid=account-name]"), /ada/);

  // The server agrees; the guest cart is gone for good; the account cart
  // is private to ada.
  const accountToken = await cartToken(page);
  assert.notEqual(accountToken, guestToken);
  const bearer = { authorization: `Bearer ${await devLogin(server, "ada")}` };
  const cart = await server.api("GET", `/carts/${accountToken}`, undefined, bearer);
  assert.equal(cart.status, 200);
  assert.equal(cart.body.owner, "ada");
  assert.deepEqual(Object.fromEntries(cart.body.lines.map((l) => [l.sku + (l.options.size ? `|size=${l.options.size}` : ""), l.quantity])), merged);
  assert.deepEqual(cart.body.coupons.map((c) => c.code), ["SAVE10"]);
  assert.equal((await server.api("GET", `/carts/${guestToken}`)).body.code, "cart_merged");
  assert.equal((await server.api("GET", `/carts/${accountToken}`)).status, 401);

  // The other device sees the merged bag after a reload.
  await reloadShop(earlier);
  await openBag(earlier);
  await earlier.waitForSelector("[data-testid=line-notebook-a5]", { timeout: WAIT });
  assert.deepEqual(await shownLines(earlier), merged);

  // Signing out starts a fresh guest bag; the account keeps its own.
  await closeBag(page);
  await page.click("[data-testid=sign-out]");
  await page.waitForSelector("[data-testid=sign-in]", { timeout: WAIT });
  await page.waitForSelector("[data-testid=empty-bag]", { state: "attached" });
  assert.equal((await server.api("GET", `/carts/${accountToken}`, undefined, bearer)).body.lines.length, 4);
  assert.deepEqual([...page.errors, ...earlier.errors], []);
  await laptop.close();
  await phone.close();
});

// A sign-in in one tab must reach the tab that holds the flush lock: the
// binding reads the user token from shared storage at every send (it once
// kept it per tab, so the leader sent to the account cart without a bearer
// token, got 401 and dropped the adds as rejected).
test("sign-in in a second tab: adds from the first tab still reach the account cart", async () => {
  const context = await browser.newContext();
  const leader = await openShop(context, server); // holds the flush lock
  const other = await openShop(context, server);
  await leader.click("[data-testid=add-mug-enamel]");
  await waitSynced(leader);
  await signIn(other, "grace");
  await other.waitForSelector("[data-testid=merge-report]", { state: "visible" });
  await other.click("[data-testid=merge-report-close]");
  await leader.waitForSelector("[data-testid=account-name]");

  await leader.click("[data-testid=add-candle-cedar]");
  await waitSynced(leader);
  assert.equal(await leader.locator("[data-testid=toast-rejected]").count(), 0, "the add was not rejected");
  const bearer = { authorization: `Bearer ${await devLogin(server, "grace")}` };
  const cart = await server.api("GET", `/carts/${await cartToken(leader)}`, undefined, bearer);
  assert.deepEqual(cart.body.lines.map((l) => [l.sku, l.quantity]), [["mug-enamel", 1], ["candle-cedar", 1]]);
  await context.close();
});
