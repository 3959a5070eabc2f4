// Failure table, row 5, for real: three instances behind nginx on a
// PostgreSQL primary with a synchronous standby (multi-host URL,
// target_session_attrs=read-write). The primary dies (immediate stop)
// while the shopper keeps adding; the standby is promoted; the instances
// reconnect on their own, the SDK resends with the same mutation ids, and
// every add arrives exactly once.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { WAIT, launchBrowser, openShop, openBag, closeBag, waitStatus, shownLines, cartToken, cartEvents, duplicateIds, storedMutations, reconnect } from "./helpers.mjs";
import { startCluster, startPgPair } from "./cluster.mjs";

let pair, cluster, browser;
before(async () => {
  pair = startPgPair();
  cluster = await startCluster({ database: pair.url });
  browser = await launchBrowser();
});

test("cluster failover: the primary dies mid-session, the standby is promoted, every add arrives once", async () => {
  const { balancer } = cluster;
  const context = await browser.newContext();
  const page = await openShop(context, balancer);
  await page.click("[data-testid=add-mug-enamel]");
  await page.click("[data-testid=add-tote-natural]");
  await waitStatus(page, "synced", 0);
  const token = await cartToken(page);

  pair.killPrimary();
  const adds = ["mug-enamel", "plant-pot", "plant-pot", "sticker-pack", "poster-tides"];
  for (const sku of adds) await page.click(`[data-testid=add-${sku}]`);
  // The bag keeps working here while nothing can be written.
  await openBag(page);
  const expected = { "mug-enamel": 2, "tote-natural": 1, "plant-pot": 2, "sticker-pack": 1, "poster-tides": 1 };
  assert.deepEqual(await shownLines(page), expected);
  await closeBag(page);
  // Nothing can have been acknowledged while no node takes writes.
  const during = await balancer.api("GET", `/carts/${token}`);
  assert.equal(during.status, 503);
  assert.equal(during.body.code, "store_unavailable");

  pair.promote();
  // The SDK backs off after failures; coming back online resets it.
  await reconnect(context);
  await page.waitForSelector("[data-testid=sync-status][data-status=synced][data-pending=\"0\"]", { timeout: 3 * WAIT, state: "attached" });

  const cart = (await balancer.api("GET", `/carts/${token}`)).body;
  assert.deepEqual(Object.fromEntries(cart.lines.map((l) => [l.sku, l.quantity])), expected);
  const events = await cartEvents(balancer, token);
  assert.deepEqual(duplicateIds(events), []);
  assert.equal(events.length, 2 + adds.length, "every add arrived exactly once");
  assert.equal(cart.version, 2 + adds.length);
  assert.deepEqual(await storedMutations(page), []);
  assert.deepEqual(page.errors, []);
  await context.close();
});
