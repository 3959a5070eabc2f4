// A tab closed in the middle of a flush leaves nothing behind: its request
// reached the server but the answer never came back to it; another tab of
// the same browser takes over sending and everything lands exactly once.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer, launchBrowser, tempDir, openShop, openBag, waitSynced, shownLines, cartToken, cartEvents, duplicateIds, storedMutations } from "./helpers.mjs";

let server, browser;
before(async () => {
  server = await startServer({ db: join(tempDir(), "closed.db") });
  browser = await launchBrowser();
});

test("a tab closed mid-flush: the other tab sends what it left, nothing is lost or doubled", async () => {
  const context = await browser.newContext();
  const leader = await openShop(context, server); // first tab: holds the flush lock
  const other = await openShop(context, server);

  // The leader's batches reach the server and commit; their answers never
  // come back to the tab.
  let committed;
  const reachedServer = new Promise((res) => (committed = res));
  const sent = [];
  await leader.route("**/api/v1/carts/*/mutations", async (route) => {
    const body = route.request().postDataJSON();
    sent.push(...body.mutations.map((m) => m.id));
    await route.fetch();
    if (body.mutations.length) committed();
    await new Promise(() => {}); // the tab is closed before an answer arrives
  });

  await leader.click("[data-testid=add-mug-enamel]");
  await leader.click("[data-testid=add-mug-enamel]");
  await leader.click("[data-testid=add-lamp-desk]");
  await reachedServer;
  assert.ok(sent.length >= 1, "a batch was in flight");
  const token = await cartToken(leader);
  assert.ok((await cartEvents(server, token)).length >= 1, "the in-flight batch committed on the server");
  assert.ok(Number(await leader.getAttribute("[data-testid=sync-status]", "data-pending")) >= 1);

  await leader.close();

  await waitSynced(other);
  await openBag(other);
  assert.deepEqual(await shownLines(other), { "mug-enamel": 2, "lamp-desk": 1 });
  assert.deepEqual(await storedMutations(other), [], "no mutation left behind in storage");
  const events = await cartEvents(server, token);
  assert.deepEqual(duplicateIds(events), []);
  assert.equal(events.filter((e) => e.kind === "mutation").length, 3, "three commands, three events");
  const cart = (await server.api("GET", `/carts/${token}`)).body;
  assert.deepEqual(cart.lines.map((l) => [l.sku, l.quantity]), [["mug-enamel", 2], ["lamp-desk", 1]]);
  assert.deepEqual(other.errors, []);
  await context.close();
});
