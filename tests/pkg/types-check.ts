// Compiled with `tsc --noEmit` against the packed package (scripts/pkg-smoke.sh):
// the declarations must describe the API as the tests use it. A type error
// here fails `make test`.
import { CartClient, CartError, type CartEvent, type CartView, type v1 } from "cartsync";
import { mergeCarts, ready } from "cartsync/rules";

async function storefront(): Promise<number> {
  const cart: CartClient = await CartClient.open({ endpoint: "/api/v1", namespace: "shop" });
  const view: CartView = cart.addItem({ sku: "tee", quantity: 2, options: { size: "M" } });
  cart.setQuantity({ sku: "tee", options: { size: "M" }, quantity: 3 });
  const unsubscribe = cart.subscribe((event: CartEvent) => {
    if (event.type === "rejected") console.log(event.code, event.line?.sku);
    if (event.type === "merged") console.log(event.report.summed.length);
  });
  await cart.flush();
  const report: v1.MergeReport = await cart.login("user-token");
  const result = await cart.checkout({ idempotencyKey: "k1" });
  if ("order" in result) {
    const order: v1.Order = result.order;
    console.log(order.totals.estimated_total.amount);
  } else {
    for (const p of result.problems) if (p.type === "out_of_stock") console.log(p.available);
  }
  unsubscribe();
  try {
    cart.addItem({ sku: "bad sku" });
  } catch (e) {
    if (e instanceof CartError) console.log(e.code);
  }
  return view.pending + report.added.length;
}

async function backend(): Promise<void> {
  await ready();
  const account: v1.Cart = { version: 3, owner: "ada", lines: [], coupons: [], shipping_option: null, updated_at: 0 };
  console.log(mergeCarts(account, account));
}

void storefront;
void backend;
