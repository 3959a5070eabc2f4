// Failure table, row 5: regional failover. The server process dies while
// the shopper keeps adding (the bag keeps working offline); a fresh server
// process on the same database takes over and every change arrives exactly
// once.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { WAIT, startServer, launchBrowser, tempDir, openShop, openBag, closeBag, waitSynced, shownLines, cartToken, cartEvents, duplicateIds, storedMutations } from "./helpers.mjs";

let db, browser;
before(async () => {
  db = join(tempDir(), "failover.db");
  browser = await launchBrowser();
});

test("failover: the server is killed mid-session, a fresh process on the same database gets everything once", async () => {
  const first = await startServer({ db });
  const context = await browser.newContext();
  const page = await openShop(context, first);
  await page.click("[data-testid=add-mug-enamel]");
  await page.click("[data-testid=add-tote-natural]");
  await waitSynced(page);
  const token = await cartToken(page);

  const { signal } = await first.kill();
  assert.equal(signal, "SIGKILL");

  // The shopper does not notice at first, then sees the bag is kept here.
  const adds = ["mug-enamel", "plant-pot", "plant-pot", "sticker-pack", "poster-tides"];
  for (const sku of adds) await page.click(`[data-testid=add-${sku}]`);
  await page.waitForSelector("[data-testid=offline-banner][data-kind=unreachable]", { state: "visible" });
  assert.match(await page.textContent("[data-testid=offline-banner]"), /can't reach the store/);
  assert.ok(Number(await page.getAttribute("[data-testid=sync-status]", "data-pending")) >= 4);
  await openBag(page);
  assert.deepEqual(await shownLines(page), { "mug-enamel": 2, "tote-natural": 1, "plant-pot": 2, "sticker-pack": 1, "poster-tides": 1 });
  await closeBag(page);

  // A fresh process on the same database and address.
  const second = await startServer({ db, port: first.port });
  // "Retry now" unless the SDK's own retry timer reached the new process
  // first (then the banner is already gone: on a loaded machine the gap
  // between the server's start and this click is long enough for it).
  await page.click("[data-testid=retry-now]", { timeout: 2000 }).catch(async (e) => {
    if (await page.isVisible("[data-testid=retry-now]")) throw e;
  });
  await waitSynced(page);
  await page.waitForSelector("[data-testid=offline-banner]", { state: "hidden", timeout: WAIT });

  const cart = (await second.api("GET", `/carts/${token}`)).body;
  assert.deepEqual(
    Object.fromEntries(cart.lines.map((l) => [l.sku, l.quantity])),
    { "mug-enamel": 2, "tote-natural": 1, "plant-pot": 2, "sticker-pack": 1, "poster-tides": 1 },
  );
  const events = await cartEvents(second, token);
  assert.deepEqual(duplicateIds(events), []);
  assert.equal(events.filter((e) => e.kind === "mutation").length, 2 + adds.length, "every add arrived exactly once");
  assert.equal(cart.version, 2 + adds.length);
  assert.deepEqual(await storedMutations(page), []);
  assert.deepEqual(page.errors, []);
  await context.close();
});
