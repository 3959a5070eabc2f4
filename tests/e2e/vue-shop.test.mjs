// The Vue example shop (www-example/vue-shop, built on the packed package
// by scripts/framework-apps.sh) served by the real server: a shopper adds,
// reloads (the bag survives, nothing pending), adds again after the
// reload, and a second tab shows the same bag; the server has each
// mutation once.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT, WAIT, startServer, launchBrowser, tempDir, waitSynced, shownLines, cartToken, cartEvents, duplicateIds } from "./helpers.mjs";

const DIST = join(ROOT, "www-example/vue-shop/dist");
let server, browser;
before(async () => {
  if (!existsSync(join(DIST, "index.html"))) throw new Error("www-example/vue-shop/dist is missing: run `make framework-apps`");
  server = await startServer({ db: join(tempDir(), "vue-shop.db"), staticDir: DIST });
  browser = await launchBrowser();
});

async function ready(page) {
  await page.waitForSelector("[data-testid=sync-status][data-ready=true]", { state: "attached" });
  await page.waitForSelector("[data-testid=products]:not([data-count='0'])");
}

async function openApp(context) {
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e));
  await page.goto(server.url + "/");
  await ready(page);
  return page;
}

const serverLines = async (token) =>
  Object.fromEntries((await server.api("GET", `/carts/${token}`)).body.lines.map((l) => [l.sku, l.quantity]));

test("Vue shop: add, reload, the bag survives and keeps syncing", async () => {
  const context = await browser.newContext();
  const page = await openApp(context);
  await page.waitForSelector("[data-testid=empty-bag]");
  await page.click("[data-testid=add-mug-enamel]");
  await page.click("[data-testid=add-tee-black]");
  await page.click("[data-testid=more-mug-enamel]");
  await waitSynced(page);
  assert.deepEqual(await shownLines(page), { "mug-enamel": 2, "tee-black": 1 });

  await page.reload();
  await ready(page);
  await waitSynced(page);
  assert.deepEqual(await shownLines(page), { "mug-enamel": 2, "tee-black": 1 });
  const token = await cartToken(page);
  assert.deepEqual(await serverLines(token), { "mug-enamel": 2, "tee-black": 1 });

  // After the reload the same cart takes more changes, and another tab sees them.
  await page.click("[data-testid=add-candle-cedar]");
  await page.click("[data-testid=remove-tee-black]");
  await waitSynced(page);
  const bag = { "mug-enamel": 2, "candle-cedar": 1 };
  assert.deepEqual(await shownLines(page), bag);
  assert.deepEqual(await serverLines(token), bag);
  const other = await openApp(context);
  await waitSynced(other);
  assert.deepEqual(await shownLines(other), bag);
  assert.equal(await cartToken(other), token);

  assert.deepEqual(duplicateIds(await cartEvents(server, token)), [], "no mutation was sent twice");
  assert.deepEqual([...page.errors, ...other.errors], []);
  await context.close();
});
