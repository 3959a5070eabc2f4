// Failure table, row 3: multi-tab edits. Two pages of one browser context
// edit the same line; both converge on the server's answer, and each tab
// shows the other's changes through storage events, without a reload.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer, launchBrowser, tempDir, openShop, openBag, closeBag, waitSynced, shownLines, cartToken, cartEvents, duplicateIds, storedMutations, metric } from "./helpers.mjs";

let server, browser;
before(async () => {
  server = await startServer({ db: join(tempDir(), "tabs.db") });
  browser = await launchBrowser();
});

const quantityIn = (page, key) => page.getAttribute(`[data-testid='line-${key}']`, "data-quantity").then(Number);

test("multi-tab edits: two tabs edit one line, both converge, each sees the other without reload", async () => {
  const context = await browser.newContext();
  const tab1 = await openShop(context, server);
  const tab2 = await openShop(context, server);
  await openBag(tab2);
  const loads = [];
  tab2.on("load", () => loads.push("tab2"));

  // Tab 1 adds; tab 2 shows it (storage event, no reload).
  await tab1.click("[data-testid=add-mug-enamel]");
  await tab2.waitForSelector("[data-testid='line-mug-enamel'][data-quantity='1']");
  assert.equal(await tab2.textContent("[data-testid=cart-count]"), "1");
  await waitSynced(tab1);
  await waitSynced(tab2);
  await openBag(tab1);

  // Both edit the same line at once: tab 1 types 4, tab 2 presses +.
  await Promise.all([
    tab1.fill("[data-testid='qty-mug-enamel']", "4").then(() => tab1.press("[data-testid='qty-mug-enamel']", "Enter")),
    tab2.click("[data-testid='inc-mug-enamel']"),
  ]);
  await waitSynced(tab1);
  await waitSynced(tab2);
  const token = await cartToken(tab1);
  assert.equal(await cartToken(tab2), token, "one cart for the whole browser");
  const server1 = (await server.api("GET", `/carts/${token}`)).body;
  const final = server1.lines.find((l) => l.sku === "mug-enamel").quantity;
  // Both are `set_quantity`, so one edit wins, never a sum of both: tab 1's
  // 4, tab 2's 1 + 1 = 2, or tab 2's + pressed after tab 1's 4 reached it
  // through the storage event (4 + 1 = 5). Never, say, 6 or 3.
  assert.ok([2, 4, 5].includes(final), `one of the two edits wins, not a mix (got ${final})`);
  await tab1.waitForSelector(`[data-testid='line-mug-enamel'][data-quantity='${final}']`);
  await tab2.waitForSelector(`[data-testid='line-mug-enamel'][data-quantity='${final}']`);

  // Tab 2's edit shows up in tab 1 and the other way round.
  await closeBag(tab2);
  await tab2.click("[data-testid=add-candle-cedar]");
  await openBag(tab2);
  await tab1.waitForSelector("[data-testid='line-candle-cedar'][data-quantity='1']");
  await tab1.click("[data-testid='remove-mug-enamel']");
  await tab2.waitForSelector("[data-testid='line-mug-enamel']", { state: "detached" });
  await waitSynced(tab1);
  await waitSynced(tab2);
  assert.deepEqual(await shownLines(tab1), { "candle-cedar": 1 });
  assert.deepEqual(await shownLines(tab2), { "candle-cedar": 1 });
  assert.deepEqual((await server.api("GET", `/carts/${token}`)).body.lines.map((l) => [l.sku, l.quantity]), [["candle-cedar", 1]]);

  // A write from another device makes the tabs' next edit stale: the
  // server answers version_conflict, the SDK rebases and resends, and both
  // tabs converge on the server's cart.
  const v = (await server.api("GET", `/carts/${token}`)).body.version;
  const elsewhere = await server.api("POST", `/carts/${token}/mutations`, {
    mutations: [{ id: crypto.randomUUID(), base_version: v, command: { type: "set_quantity", sku: "candle-cedar", quantity: 5 } }],
  });
  assert.equal(elsewhere.body.results[0].status, "applied");
  const conflicts = await metric(server, 'cartsync_mutations_total{status="conflict"}');
  await tab1.click("[data-testid='inc-candle-cedar']"); // the tab still shows 1: sets 2 at version v
  await waitSynced(tab1);
  await waitSynced(tab2);
  assert.ok((await metric(server, 'cartsync_mutations_total{status="conflict"}')) > conflicts, "the stale write was refused once");
  const settled = (await server.api("GET", `/carts/${token}`)).body;
  assert.equal(settled.version, v + 2);
  assert.deepEqual(settled.lines.map((l) => [l.sku, l.quantity]), [["candle-cedar", 2]]);
  await tab1.waitForSelector("[data-testid='line-candle-cedar'][data-quantity='2']");
  await tab2.waitForSelector("[data-testid='line-candle-cedar'][data-quantity='2']");

  const events = await cartEvents(server, token);
  assert.deepEqual(duplicateIds(events), [], "no mutation applied twice");
  assert.deepEqual(await storedMutations(tab1), []);
  assert.deepEqual(loads, [], "tab 2 never reloaded");
  assert.deepEqual([...tab1.errors, ...tab2.errors], []);
  await context.close();
});
