// What checkout shows: the problems revalidation found (prices that moved,
// stock that ran out, codes that no longer apply) with the new total to
// confirm, and the order once it is placed.
import { h, money, lineKey, optionLabel } from "./dom.js";
import { couponReason } from "./copy.js";

function productName(sku, options, catalog) {
  const name = catalog.get(sku)?.name ?? sku;
  const opts = optionLabel(options);
  return opts ? `${name} (${opts})` : name;
}

function problemItem(p, catalog, act) {
  switch (p.type) {
    case "price_changed": {
      const up = p.oldPrice && p.newPrice.amount > p.oldPrice.amount;
      return h(
        "li",
        { class: "problem", "data-testid": `problem-price_changed-${p.sku}`, "data-type": p.type },
        h("span", { class: "problem__tag" }, up ? "Price up" : "Price changed"),
        h("p", {}, h("strong", {}, productName(p.sku, p.options, catalog)), " is now ", h("strong", {}, money(p.newPrice)),
          p.oldPrice ? [" (was ", h("s", {}, money(p.oldPrice)), ")"] : null, "."),
      );
    }
    case "out_of_stock": {
      const key = lineKey(p.sku, p.options);
      const fix = p.available > 0
        ? h("button", { type: "button", class: "link", "data-testid": `fix-${key}`, onclick: () => act.setQuantity({ sku: p.sku, options: p.options }, p.available) }, `Reduce to ${p.available}`)
        : h("button", { type: "button", class: "link", "data-testid": `fix-${key}`, onclick: () => act.removeItem({ sku: p.sku, options: p.options }) }, "Remove from bag");
      return h(
        "li",
        { class: "problem problem--stock", "data-testid": `problem-out_of_stock-${p.sku}`, "data-type": p.type },
        h("span", { class: "problem__tag" }, p.available ? "Low stock" : "Sold out"),
        h("p", {}, h("strong", {}, productName(p.sku, p.options, catalog)), ": ",
          p.available ? `only ${p.available} left, you asked for ${p.requested}.` : "sold out while it was in your bag."),
        fix,
      );
    }
    case "coupon_rejected":
      return h(
        "li",
        { class: "problem", "data-testid": `problem-coupon_rejected-${p.code}`, "data-type": p.type, "data-reason": p.reason },
        h("span", { class: "problem__tag" }, "Code removed"),
        h("p", {}, "Code ", h("strong", {}, p.code), ` no longer applies: ${couponReason(p.reason)}.`),
      );
    case "total_changed":
      return h(
        "li",
        { class: "problem", "data-testid": "problem-total_changed", "data-type": p.type },
        h("span", { class: "problem__tag" }, "Total changed"),
        h("p", {}, "Your total is now ", h("strong", {}, money(p.actual)), " (was ", h("s", {}, money(p.expected)), ")."),
      );
    default:
      return h("li", { class: "problem", "data-type": p.type }, h("p", {}, p.type));
  }
}

/** The review panel shown in the drawer after checkout found problems. */
export function problemsPanel(checkout, catalog, act) {
  const { problems, view } = checkout;
  const blocked = problems.some((p) => p.type === "out_of_stock");
  const total = view?.totals?.estimatedTotal;
  return h(
    "section",
    { class: "review", "data-testid": "checkout-problems" },
    h("h3", { class: "review__title" }, "Before you pay, a few things changed"),
    h("p", { class: "muted" }, "We checked your bag against today's prices, stock and codes."),
    h("ul", { class: "problems" }, problems.map((p) => problemItem(p, catalog, act))),
    total ? h("p", { class: "review__total" }, "New total ", h("strong", { "data-testid": "new-total" }, money(total))) : null,
    blocked ? h("p", { class: "review__hint" }, "Fix the stock issues above, then place your order.") : null,
    h(
      "div",
      { class: "review__actions" },
      h("button", { type: "button", class: "button button--ghost", "data-testid": "back-to-bag", onclick: act.backToBag }, "Back to bag"),
      h(
        "button",
        { type: "button", class: "button button--checkout", "data-testid": "confirm-checkout", disabled: checkout.busy, onclick: act.confirm },
        checkout.busy ? "Placing order…" : total ? `Place order at ${money(total)}` : "Place order",
      ),
    ),
  );
}

/** The order confirmation dialog's content. */
export function orderContent(order, catalog, onClose) {
  const t = order.totals;
  return [
    h("p", { class: "eyebrow" }, "Order placed"),
    h("h2", {}, "Thank you!"),
    h("p", { class: "muted" }, "Your order ", h("strong", { "data-testid": "order-id" }, order.id), " is waiting for payment."),
    h(
      "ul",
      { class: "order-lines" },
      order.lines.map((l) =>
        h(
          "li",
          { "data-testid": `order-line-${lineKey(l.sku, l.options)}` },
          h("span", {}, `${l.quantity} × ${l.name ?? productName(l.sku, l.options, catalog)}`, Object.keys(l.options ?? {}).length ? ` (${optionLabel(l.options)})` : ""),
          h("span", {}, money({ amount: l.unitPrice.amount * l.quantity, currency: l.unitPrice.currency })),
        ),
      ),
    ),
    h(
      "dl",
      { class: "totals" },
      h("div", { class: "totals__row" }, h("dt", {}, "Subtotal"), h("dd", {}, money(t.subtotal))),
      t.discount.amount ? h("div", { class: "totals__row totals__row--discount" }, h("dt", {}, `Discount ${order.coupons.join(", ")}`), h("dd", {}, `−${money(t.discount)}`)) : null,
      h("div", { class: "totals__row totals__row--grand" }, h("dt", {}, "Total"), h("dd", { "data-testid": "order-total" }, money(t.estimatedTotal))),
    ),
    h("div", { class: "dialog__actions" }, h("button", { type: "button", class: "button", "data-testid": "order-close", onclick: onClose }, "Continue shopping")),
  ];
}
