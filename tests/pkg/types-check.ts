// Compiled with `tsc --noEmit` against the packed package (scripts/pkg-smoke.sh):
// the declarations must describe the API as the tests use it. A type error
// here fails `make test`.
import {
  CartClient,
  CartError,
  type CartErrorCode,
  type CartEvent,
  type CartView,
  type MergeReport,
  type NextAction,
  type Order,
  type OrderStatus,
  type PaymentIntent,
  type v1,
} from "cartsync";
import { mergeCarts, ready } from "cartsync/rules";

async function storefront(): Promise<number> {
  const cart: CartClient = await CartClient.open({ endpoint: "/api/v1", namespace: "shop" });
  const view: CartView = cart.addItem({ sku: "tee", quantity: 2, options: { size: "M" } });
  cart.setQuantity({ sku: "tee", options: { size: "M" }, quantity: 3 });
  const shipped: CartView = cart.setDestination({ country: "DE", postalCode: "10115" });
  for (const q of shipped.shippingOptions) {
    if (q.status === "available") console.log(q.option, q.price?.amount);
    if (q.reason?.code === "too_heavy") console.log(q.reason.weightGrams, q.reason.maxGrams);
  }
  console.log(shipped.destination?.postalCode, shipped.totals?.tax?.rateBp, shipped.totals?.shipping?.amount);
  const unsubscribe = cart.subscribe((event: CartEvent) => {
    if (event.type === "rejected") console.log(event.code, event.line?.sku);
    if (event.type === "merged") console.log(event.report.summed.length);
    if (event.type === "reconciled") {
      for (const c of event.changes) if (c.kind === "shipping_unavailable") console.log(c.option, c.cause.code);
    }
  });
  await cart.flush();
  const report: MergeReport = await cart.login("user-token");
  const token: string | undefined = cart.token();
  const result = await cart.checkout({ idempotencyKey: "k1" });
  if ("order" in result) {
    const order: Order = result.order;
    console.log(order.totals.estimatedTotal.amount, order.lines[0]?.unitPrice.amount, order.holdUntil);
    const status: OrderStatus = order.status;
    const payment: PaymentIntent | null = order.payment;
    const action: NextAction | null | undefined = payment?.nextAction;
    if (action?.type === "bank_transfer") console.log(status, action.iban, action.reference, action.payBy);
  } else {
    for (const p of result.problems) {
      if (p.type === "out_of_stock") console.log(p.available);
      if (p.type === "shipping_unavailable") console.log(p.option, p.cause.code);
      if (p.type === "tax_changed") console.log(p.rateBp, p.expected.amount, p.actual.amount);
    }
  }
  unsubscribe();
  try {
    cart.addItem({ sku: "bad sku" });
  } catch (e) {
    if (e instanceof CartError) {
      const code: CartErrorCode = e.code;
      if (code === "storage_full") console.log("full");
    }
  }
  console.log(token, view.shippingOption, view.lastError?.code, report.couponsPending);
  return view.pending + report.added.length;
}

async function backend(): Promise<void> {
  await ready();
  const account: v1.Cart = {
    version: 3,
    owner: "ada",
    lines: [],
    coupons: [],
    shipping_option: null,
    destination: { country: "DE", postal_code: "10115" },
    updated_at: 0,
  };
  console.log(mergeCarts(account, account));
}

void storefront;
void backend;
