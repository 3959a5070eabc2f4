// One of three instances (PostgreSQL + Redis, behind nginx) is killed
// mid-session while the shopper keeps adding: nginx sends the requests to
// the others, and every add arrives exactly once.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, openShop, openBag, waitSynced, shownLines, cartToken, cartEvents, duplicateIds, storedMutations } from "./helpers.mjs";
import { startCluster } from "./cluster.mjs";

let cluster, browser;
before(async () => {
  cluster = await startCluster();
  browser = await launchBrowser();
});

test("cluster: an instance killed mid-session; the others take the adds, each once", async () => {
  const { balancer, instances } = cluster;
  const context = await browser.newContext();
  const page = await openShop(context, balancer);
  await page.click("[data-testid=add-mug-enamel]");
  await page.click("[data-testid=add-tote-natural]");
  await waitSynced(page);
  const token = await cartToken(page);

  const { signal } = await instances[0].kill();
  assert.equal(signal, "SIGKILL");
  const adds = ["mug-enamel", "plant-pot", "plant-pot", "sticker-pack", "poster-tides", "tote-natural"];
  for (const sku of adds) await page.click(`[data-testid=add-${sku}]`);
  await waitSynced(page);

  await openBag(page);
  const expected = { "mug-enamel": 2, "tote-natural": 2, "plant-pot": 2, "sticker-pack": 1, "poster-tides": 1 };
  assert.deepEqual(await shownLines(page), expected);
  for (const survivor of instances.slice(1)) {
    const cart = (await survivor.api("GET", `/carts/${token}`)).body;
    assert.deepEqual(Object.fromEntries(cart.lines.map((l) => [l.sku, l.quantity])), expected, survivor.name);
    assert.equal(cart.version, 2 + adds.length);
  }
  const events = await cartEvents(balancer, token);
  assert.deepEqual(duplicateIds(events), []);
  assert.equal(events.length, 2 + adds.length, "every add arrived exactly once");
  assert.deepEqual(await storedMutations(page), []);
  assert.deepEqual(page.errors, []);
  await context.close();
});
