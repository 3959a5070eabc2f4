// Failure table, row 1, on the several-instance deployment: three
// instances on PostgreSQL + Redis behind nginx. Redis is flushed whole
// (FLUSHALL) mid-session: every instance misses, rebuilds the cart from
// PostgreSQL, and the shopper carries on; nothing is lost or doubled.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, openShop, reloadShop, openBag, waitSynced, shownLines, cartToken, cartEvents, duplicateIds } from "./helpers.mjs";
import { startCluster, redisFlushAll } from "./cluster.mjs";

let cluster, browser;
before(async () => {
  cluster = await startCluster();
  browser = await launchBrowser();
});

test("cluster: after FLUSHALL mid-session every instance rebuilds the bag from PostgreSQL and the session carries on", async () => {
  const { balancer, instances } = cluster;
  const context = await browser.newContext();
  const page = await openShop(context, balancer);
  await page.click("[data-testid=add-mug-enamel]");
  await page.click("[data-testid=add-mug-enamel]");
  await page.click("[data-testid=add-candle-cedar]");
  await waitSynced(page);
  const token = await cartToken(page);
  const before = (await balancer.api("GET", `/carts/${token}`)).body;
  assert.equal(before.version, 3);

  redisFlushAll();

  // Each instance, its cache gone, serves the durable cart.
  for (const instance of instances) {
    const r = await instance.api("GET", `/carts/${token}`);
    assert.equal(r.status, 200, instance.name);
    assert.deepEqual(r.body.lines, before.lines, instance.name);
    assert.equal(r.body.version, before.version);
  }

  // The browser's own copy goes too: what renders can only come from
  // PostgreSQL, through whichever instance nginx picks.
  redisFlushAll();
  await page.evaluate(() => localStorage.removeItem("cartsync:v1:cart"));
  await reloadShop(page);
  await openBag(page);
  await page.waitForSelector("[data-testid=line-mug-enamel]");
  assert.deepEqual(await shownLines(page), { "mug-enamel": 2, "candle-cedar": 1 });

  // The session carries on from the same version, through every instance.
  for (let i = 0; i < 3; i++) {
    await page.click("[data-testid=inc-mug-enamel]");
    await waitSynced(page);
  }
  const after = (await balancer.api("GET", `/carts/${token}`)).body;
  assert.equal(after.version, before.version + 3);
  assert.equal(after.lines.find((l) => l.sku === "mug-enamel").quantity, 5);
  const events = await cartEvents(balancer, token);
  assert.deepEqual(duplicateIds(events), []);
  assert.equal(events.length, 6);
  const health = await (await fetch(`${balancer.url}/healthz`)).json();
  assert.equal(health.cache.backend, "redis");
  assert.deepEqual(page.errors, []);
  await context.close();
});
