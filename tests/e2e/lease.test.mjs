// Without Web Locks (older browsers) one tab still sends at a time: the
// holder of a lease in localStorage. The other tab's adds reach the server
// through the leader; when the leader closes, the other tab takes the lease
// and sends what is left. Nothing is lost or doubled.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer, launchBrowser, tempDir, openShop, openBag, waitSynced, shownLines, cartToken, cartEvents, duplicateIds } from "./helpers.mjs";

let server, browser;
before(async () => {
  server = await startServer({ db: join(tempDir(), "lease.db") });
  browser = await launchBrowser();
});

/** Mutation batches each page sends, counted. */
function countSends(page) {
  const counter = { batches: 0 };
  page.on("request", (request) => {
    if (request.method() === "POST" && /\/carts\/[^/]+\/mutations$/.test(request.url())) counter.batches += 1;
  });
  return counter;
}

test("without Web Locks a lease in storage lets one tab send; the other takes over when it closes", async () => {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, "locks", { get: () => undefined, configurable: true });
  });
  const first = await openShop(context, server);
  assert.equal(await first.evaluate(() => navigator.locks), undefined, "Web Locks are off in this browser");
  const second = await openShop(context, server);
  const firstSends = countSends(first);
  const secondSends = countSends(second);

  // Adds in the second tab travel through the first, which holds the lease.
  await second.click("[data-testid=add-mug-enamel]");
  await second.click("[data-testid=add-lamp-desk]");
  await waitSynced(second);
  assert.ok(firstSends.batches >= 1, "the lease holder sent the batches");
  assert.equal(secondSends.batches, 0, "the other tab sent nothing while the lease was held");
  const lease = await second.evaluate(() => localStorage.getItem("cartsync:v1:lease"));
  assert.match(lease ?? "", /^[0-9a-f-]{36} \d+$/, "the lease is in storage");

  // The holder goes away without a goodbye; the lease runs out and the
  // other tab takes it.
  await first.close({ runBeforeUnload: false });
  await second.click("[data-testid=add-mug-enamel]");
  await waitSynced(second);
  assert.ok(secondSends.batches >= 1, "the remaining tab sends once it holds the lease");

  await openBag(second);
  assert.deepEqual(await shownLines(second), { "mug-enamel": 2, "lamp-desk": 1 });
  const token = await cartToken(second);
  const events = await cartEvents(server, token);
  assert.deepEqual(duplicateIds(events), []);
  assert.equal(events.filter((e) => e.kind === "mutation").length, 3, "three commands, three events");
  assert.deepEqual(second.errors, []);
  await context.close();
});
