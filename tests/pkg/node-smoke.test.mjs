// Smoke test of the packed tarball from Node ESM: `npm pack`, install it in
// a scratch project, import it by name and use the pure rules.
// Run by scripts/pkg-smoke.sh after `make pkg`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mergeCarts, rebasePending, applyBatch, validateCommand, applyCommand, CartError, CartClient } from "cartsync";
import * as rules from "cartsync/rules";

test("merge sums same lines, caps at 999 and reports the excess", () => {
  const account = { version: 3, lines: [{ sku: "tee", options: { size: "M" }, quantity: 998 }] };
  const anonymous = { version: 1, lines: [{ sku: "tee", options: { size: "M" }, quantity: 5 }, { sku: "tee", options: { size: "L" }, quantity: 1 }] };
  const { cart, report } = mergeCarts(account, anonymous);
  assert.equal(cart.lines.length, 2);
  assert.equal(cart.lines[0].quantity, 999);
  assert.equal(report.summed[0].excess, 4);
});

test("a batch is decided like the server decides it, duplicates included", () => {
  const m = { id: "00000000-0000-4000-8000-000000000001", base_version: null, command: { type: "add_item", sku: "mug", quantity: 2 } };
  const first = applyBatch({ version: 0 }, [m], {});
  assert.equal(first.results[0].status, "applied");
  const records = Object.fromEntries(first.records);
  const again = applyBatch(first.cart, [m], records);
  assert.equal(again.results[0].status, "duplicate");
  assert.equal(again.cart.version, 1);
});

test("rebase restores a line the server removed", () => {
  const pending = [{ id: "00000000-0000-4000-8000-000000000002", base_version: 1, command: { type: "set_quantity", sku: "cap", quantity: 2 } }];
  const { cart, reconciliations } = rebasePending({ version: 4 }, pending);
  assert.equal(cart.lines[0].quantity, 2);
  assert.equal(reconciliations[0].kind, "restored");
});

test("invalid input throws a CartError with a stable code", () => {
  assert.throws(() => validateCommand({ type: "add_item", sku: "a b", quantity: 1 }), (e) => e instanceof CartError && e.code === "invalid_sku");
  assert.throws(() => applyCommand({ version: 0 }, { type: "add_item", sku: "tee", quantity: 0 }), (e) => e instanceof CartError && e.code === "quantity_out_of_range");
  assert.throws(() => applyCommand({ version: 0 }, { type: "explode" }), (e) => e instanceof CartError && e.code === "bad_request");
});

// Server-side rendering imports the browser API too: it must link, and
// `open()` must say clearly that there is no browser here.
test("CartClient imports under Node and open() rejects with unsupported_environment", async () => {
  assert.equal(typeof CartClient.open, "function");
  await assert.rejects(
    CartClient.open({ endpoint: "/api/v1" }),
    (e) => e instanceof CartError && e.code === "unsupported_environment",
  );
  assert.equal(rules.mergeCarts, mergeCarts, "cartsync/rules is the same module in Node");
});
