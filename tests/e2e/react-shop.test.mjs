// The React example shop (www-example/react-shop, built on the packed
// package by scripts/framework-apps.sh with React's development build, so
// StrictMode mounts every effect twice) served by the real server. A
// shopper adds, reloads (the bag survives), signs in to an account that
// already has a bag (the merge report appears), checks out (the order
// exists on the server); and the provider opened one CartClient per page
// despite StrictMode's double mount, and sent each mutation once.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT, WAIT, startServer, launchBrowser, tempDir, waitSynced, shownLines, cartToken, cartEvents, duplicateIds, devLogin } from "./helpers.mjs";

const DIST = join(ROOT, "www-example/react-shop/dist");
let server, browser;
before(async () => {
  if (!existsSync(join(DIST, "index.html"))) throw new Error("www-example/react-shop/dist is missing: run `make framework-apps`");
  server = await startServer({ db: join(tempDir(), "react-shop.db"), staticDir: DIST });
  browser = await launchBrowser();
});

/** Opens (or reloads) the shop and waits until the cart is open and the products are listed. */
async function openApp(context, page) {
  if (!page) {
    page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    page.errors = [];
    page.on("pageerror", (e) => page.errors.push(e));
    await page.goto(server.url + "/");
  } else {
    await page.reload();
  }
  await page.waitForSelector("[data-testid=sync-status][data-ready=true]", { state: "attached" });
  await page.waitForSelector("[data-testid=products]:not([data-count='0'])");
  return page;
}

/** What the page counted: CartClient opens and closes, provider mounts. */
const probe = (page) => page.evaluate(() => ({ ...window.__cartsyncProbe }));

async function signIn(page, user) {
  await page.fill("[data-testid=login-user]", user);
  await page.click("[data-testid=login-submit]");
  await page.waitForSelector("[data-testid=merge-report]");
  await page.waitForSelector("[data-testid=account-name]");
}

test("React shop in StrictMode: add, reload, sign in with a merge, check out; one client per provider", async () => {
  // The account's bag, filled earlier on another device.
  const laptop = await browser.newContext();
  const earlier = await openApp(laptop);
  await signIn(earlier, "ada");
  await earlier.click("[data-testid=merge-report-close]");
  await earlier.click("[data-testid=add-mug-enamel]");
  await earlier.click("[data-testid=more-mug-enamel]");
  await waitSynced(earlier);

  // A guest on the phone.
  const phone = await browser.newContext();
  const page = await openApp(phone);
  await page.click("[data-testid=add-mug-enamel]");
  await page.click("[data-testid=add-notebook-a5]");
  await page.click("[data-testid=more-notebook-a5]");
  await waitSynced(page);
  assert.deepEqual(await shownLines(page), { "mug-enamel": 1, "notebook-a5": 2 });
  const first = await probe(page);
  assert.ok(first.mounts >= 2, `StrictMode mounted the provider's subtree twice (mounts: ${first.mounts})`);
  assert.deepEqual([first.opens, first.closes], [1, 0], "one CartClient, never closed while in use");

  // A reload keeps the bag (and opens one client again).
  await openApp(phone, page);
  await waitSynced(page);
  assert.deepEqual(await shownLines(page), { "mug-enamel": 1, "notebook-a5": 2 });
  const guestToken = await cartToken(page);
  const guestEvents = await cartEvents(server, guestToken);
  assert.deepEqual(duplicateIds(guestEvents), [], "no mutation was sent twice");
  assert.equal(new Set(guestEvents.map((e) => e.mutation_id).filter(Boolean)).size, 3, "three commands, three mutations");

  // Sign in: the guest bag merges into ada's, and the report says how.
  await signIn(page, "ada");
  assert.match(await page.textContent("[data-testid=merged-summed-mug-enamel]"), /2 in your account \+ 1 from this visit = 3/);
  assert.match(await page.textContent("[data-testid=merged-added-notebook-a5]"), /× 2/);
  await page.click("[data-testid=merge-report-close]");
  await waitSynced(page);
  const merged = { "mug-enamel": 3, "notebook-a5": 2 };
  assert.deepEqual(await shownLines(page), merged);
  const bearer = { authorization: `Bearer ${await devLogin(server, "ada")}` };
  const accountToken = await cartToken(page);
  const account = await server.api("GET", `/carts/${accountToken}`, undefined, bearer);
  assert.equal(account.body.owner, "ada");
  assert.deepEqual(Object.fromEntries(account.body.lines.map((l) => [l.sku, l.quantity])), merged);

  // Check out: where it goes and how, then the order.
  await page.fill("[data-testid=destination-country]", "DE");
  await page.fill("[data-testid=destination-postal]", "10115");
  await page.click("[data-testid=destination-save]");
  await page.click("[data-testid=ship-standard][data-status=available] input");
  await page.waitForSelector("[data-testid=ship-standard] input:checked");
  await waitSynced(page);
  await page.click("[data-testid=checkout]");
  const orderId = await (await page.waitForSelector("[data-testid=order]")).getAttribute("data-order-id");
  const order = await server.api("GET", `/orders/${orderId}`);
  assert.equal(order.status, 200);
  assert.equal(order.body.order.status, "pending_payment");
  assert.deepEqual(Object.fromEntries(order.body.order.lines.map((l) => [l.sku, l.quantity])), merged);
  assert.deepEqual(duplicateIds(await cartEvents(server, accountToken, bearer)), []);

  const last = await probe(page);
  assert.deepEqual([last.opens, last.closes], [1, 0], "sign-in and checkout reused the provider's client");
  assert.deepEqual([...page.errors, ...earlier.errors], []);
  await laptop.close();
  await phone.close();
});
