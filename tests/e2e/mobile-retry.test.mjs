// Failure table, row 4: mobile retry. The server commits an add but the
// answer is lost on the way back; the client retries the same mutation id
// and the quantity goes up once, not twice.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer, launchBrowser, tempDir, openShop, openBag, waitSynced, shownLines, cartToken, cartEvents, duplicateIds, metric } from "./helpers.mjs";

let server, browser;
before(async () => {
  server = await startServer({ db: join(tempDir(), "retry.db") });
  browser = await launchBrowser();
});

test("mobile retry: a lost answer after the commit is retried and the add counts once", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await openShop(context, server);
  await page.click("[data-testid=add-mug-enamel]");
  await waitSynced(page);
  const token = await cartToken(page);

  // The next batch with a mutation reaches the server and commits, then the
  // connection drops before the answer arrives.
  const attempts = [];
  let dropped = false;
  await page.route("**/api/v1/carts/*/mutations", async (route) => {
    const ids = route.request().postDataJSON().mutations.map((m) => m.id);
    attempts.push(ids);
    if (!dropped && ids.length) {
      dropped = true;
      const response = await route.fetch();
      assert.equal(response.status(), 200, "the server committed the batch");
      return route.abort("connectionreset");
    }
    return route.continue();
  });
  const duplicatesBefore = await metric(server, 'cartsync_mutations_total{status="duplicate"}');

  await page.click("[data-testid=add-mug-enamel]"); // add_item: +1, not idempotent by itself
  await waitSynced(page);

  const first = attempts.find((ids) => ids.length);
  const retries = attempts.filter((ids) => ids.includes(first[0]));
  assert.ok(retries.length >= 2, `the same mutation id was sent again (${JSON.stringify(attempts)})`);
  assert.ok((await metric(server, 'cartsync_mutations_total{status="duplicate"}')) > duplicatesBefore, "the server answered the retry from its record");

  await openBag(page);
  assert.deepEqual(await shownLines(page), { "mug-enamel": 2 });
  const cart = (await server.api("GET", `/carts/${token}`)).body;
  assert.deepEqual(cart.lines.map((l) => [l.sku, l.quantity]), [["mug-enamel", 2]]);
  const events = await cartEvents(server, token);
  assert.deepEqual(duplicateIds(events), []);
  assert.equal(events.length, 2, "two adds, two events");
  assert.deepEqual(page.errors, []);
  await context.close();
});
