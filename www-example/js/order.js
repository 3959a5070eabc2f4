// The placed order: its lines and totals, what the shopper must do to pay
// (a bank transfer's account, amount, reference and date), and its status
// as it changes (followed with GET /api/v1/orders/{id}).
import { h, money, lineKey, optionLabel } from "./dom.js";
import { countryName } from "./delivery.js";

const STATUS = {
  pending_payment: "Waiting for your transfer",
  paid: "Paid, thank you! We're packing your order.",
  payment_failed: "The payment failed. The items went back on the shelf.",
  expired: "Not paid in time. The items went back on the shelf.",
};

const date = (ms) => new Date(ms).toLocaleString("en-IE", { dateStyle: "medium", timeStyle: "short" });

function productName(l, catalog) {
  const name = l.name ?? catalog.get(l.sku)?.name ?? l.sku;
  return Object.keys(l.options ?? {}).length ? `${name} (${optionLabel(l.options)})` : name;
}

/** What the shopper must do to pay, while there is something to do. */
function instructions(order) {
  const action = order.payment?.nextAction;
  if (order.status !== "pending_payment" || !action) return null;
  if (action.type === "redirect") {
    return h("p", {}, h("a", { class: "button", href: action.url, "data-testid": "payment-redirect" }, "Continue to payment"));
  }
  const row = (label, value, testid) => h("div", { class: "totals__row" }, h("dt", {}, label), h("dd", { "data-testid": testid }, value));
  return h(
    "section",
    { class: "pay", "data-testid": "payment-instructions" },
    h("h3", {}, "Pay by bank transfer"),
    h("p", { class: "muted" }, "Your items are held for you until the date below. Quote the reference so we can match your transfer."),
    h(
      "dl",
      { class: "totals" },
      row("Amount", money(action.amount), "payment-amount"),
      row("Beneficiary", action.beneficiary, "payment-beneficiary"),
      row("IBAN", action.iban, "payment-iban"),
      row("BIC", action.bic, "payment-bic"),
      row("Reference", action.reference, "payment-reference"),
      row("Pay by", date(action.payBy), "payment-pay-by"),
    ),
  );
}

/** The order dialog's content; `sim` (the demo bank) is offered while the
 *  order waits for payment. */
export function orderContent(order, catalog, { onClose, onSimulate }) {
  const t = order.totals;
  const dest = order.destination;
  return [
    h("p", { class: "eyebrow" }, "Order placed"),
    h("h2", {}, "Thank you!"),
    h("p", { class: "muted" }, "Your order ", h("strong", { "data-testid": "order-id" }, order.id),
      dest ? ` goes to ${countryName(dest.country)} ${dest.postalCode}.` : "."),
    h("p", { class: `order-status order-status--${order.status}`, "data-testid": "order-status", "data-status": order.status, role: "status" }, STATUS[order.status] ?? order.status),
    h(
      "ul",
      { class: "order-lines" },
      order.lines.map((l) =>
        h(
          "li",
          { "data-testid": `order-line-${lineKey(l.sku, l.options)}` },
          h("span", {}, `${l.quantity} × ${productName(l, catalog)}`),
          h("span", {}, money({ amount: l.unitPrice.amount * l.quantity, currency: l.unitPrice.currency })),
        ),
      ),
    ),
    h(
      "dl",
      { class: "totals" },
      h("div", { class: "totals__row" }, h("dt", {}, "Subtotal"), h("dd", {}, money(t.subtotal))),
      t.discount.amount ? h("div", { class: "totals__row totals__row--discount" }, h("dt", {}, `Discount ${order.coupons.join(", ")}`), h("dd", {}, `−${money(t.discount)}`)) : null,
      h("div", { class: "totals__row" }, h("dt", {}, "Delivery"), h("dd", { "data-testid": "order-shipping" }, t.shipping?.amount ? money(t.shipping) : "Free")),
      t.tax
        ? h("div", { class: `totals__row${t.tax.included ? " totals__row--muted" : ""}` }, h("dt", {}, `${t.tax.included ? "Incl. VAT" : "VAT"} ${(t.tax.rateBp / 100).toLocaleString("en-IE")}%`), h("dd", { "data-testid": "order-tax" }, money(t.tax.amount)))
        : null,
      h("div", { class: "totals__row totals__row--grand" }, h("dt", {}, "Total"), h("dd", { "data-testid": "order-total" }, money(t.estimatedTotal))),
    ),
    instructions(order),
    order.status === "pending_payment" && order.payment?.nextAction?.type === "bank_transfer"
      ? h(
          "p",
          { class: "demo-bank", "data-testid": "demo-bank" },
          "Demo: play the bank ",
          h("button", { type: "button", class: "link", "data-testid": "simulate-paid", onclick: () => onSimulate("transfer.received") }, "the transfer arrives"),
          " · ",
          h("button", { type: "button", class: "link", "data-testid": "simulate-failed", onclick: () => onSimulate("transfer.failed") }, "the transfer fails"),
        )
      : null,
    h("div", { class: "dialog__actions" }, h("button", { type: "button", class: "button", "data-testid": "order-close", onclick: onClose }, "Continue shopping")),
  ];
}
