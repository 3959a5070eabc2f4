// Failure table, row 1: cache eviction. The admin flushes the session cache
// mid-session; the cart is rebuilt from the durable store, renders intact,
// and the shopper carries on.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer, launchBrowser, tempDir, openShop, reloadShop, openBag, waitSynced, shownLines, cartToken, metric } from "./helpers.mjs";

let server, browser;
before(async () => {
  server = await startServer({ db: join(tempDir(), "cache.db") });
  browser = await launchBrowser();
});

test("cache eviction: after an admin flush the bag is rebuilt from the durable cart and renders", async () => {
  const context = await browser.newContext();
  const page = await openShop(context, server);
  await page.click("[data-testid=add-mug-enamel]");
  await page.click("[data-testid=add-mug-enamel]");
  await page.click("[data-testid=add-candle-cedar]");
  await waitSynced(page);
  const token = await cartToken(page);
  const before = (await server.api("GET", `/carts/${token}`)).body;
  assert.equal((await server.api("GET", `/carts/${token}`)).status, 200);
  assert.ok((await metric(server, 'cartsync_cache_requests_total{result="hit"}')) >= 1, "the second read was served by the cache");

  const flushed = await server.api("POST", "/admin/cache/flush");
  assert.equal(flushed.status, 200);
  assert.ok(flushed.body.flushed >= 1, `the flush dropped the cart (${JSON.stringify(flushed.body)})`);
  assert.equal(await metric(server, "cartsync_cache_entries"), 0);

  // The first read after the flush misses and rebuilds the same cart.
  const misses = await metric(server, 'cartsync_cache_requests_total{result="miss"}');
  const after = await server.api("GET", `/carts/${token}`);
  assert.equal(after.status, 200);
  assert.deepEqual(after.body.lines, before.lines);
  assert.equal(after.body.version, before.version);
  assert.equal(await metric(server, 'cartsync_cache_requests_total{result="miss"}'), misses + 1, "the read after the flush missed the cache");

  // The browser's own copy of the server cart goes too: what renders after
  // the reload can only come from the durable store.
  await server.api("POST", "/admin/cache/flush");
  await page.evaluate(() => localStorage.removeItem("cartsync:v1:cart"));
  await reloadShop(page);
  await openBag(page);
  await page.waitForSelector("[data-testid=line-mug-enamel]");
  assert.deepEqual(await shownLines(page), { "mug-enamel": 2, "candle-cedar": 1 });
  assert.match(await page.textContent("[data-testid=line-mug-enamel]"), /Enamel Mug/);
  assert.match(await page.textContent("[data-testid=grand-total]"), /€51\.00/);

  // The session carries on from the same version.
  await page.click("[data-testid=inc-mug-enamel]");
  await waitSynced(page);
  const next = (await server.api("GET", `/carts/${token}`)).body;
  assert.equal(next.version, before.version + 1);
  assert.equal(next.lines.find((l) => l.sku === "mug-enamel").quantity, 3);
  assert.deepEqual(page.errors, []);
  await context.close();
});
