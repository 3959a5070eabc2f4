// What checkout shows: the problems revalidation found (prices that moved,
// stock that ran out, codes that no longer apply, a delivery option that
// cannot take the bag, VAT that changed) with the new total to confirm. The
// placed order and its payment are order.js's.
import { h, money, lineKey, optionLabel } from "./dom.js";
import { couponReason } from "./copy.js";
import { countryName, shippingReason } from "./delivery.js";

function productName(sku, options, catalog) {
  const name = catalog.get(sku)?.name ?? sku;
  const opts = optionLabel(options);
  return opts ? `${name} (${opts})` : name;
}

function problemItem(p, catalog, act, view) {
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
    case "shipping_unavailable": {
      const nameOf = (sku) => catalog.get(sku)?.name ?? sku;
      const reason = shippingReason(p.cause, nameOf);
      const option = view?.shippingOptions?.find((q) => q.option === p.option)?.name ?? p.option;
      const what = p.option && !["destination_required", "not_selected"].includes(p.cause.code)
        ? `${option} ${reason}.`
        : `${reason[0].toUpperCase()}${reason.slice(1)}.`;
      return h(
        "li",
        { class: "problem problem--stock", "data-testid": "problem-shipping_unavailable", "data-type": p.type, "data-cause": p.cause.code },
        h("span", { class: "problem__tag" }, "Delivery"),
        h("p", {}, what),
        h("button", { type: "button", class: "link", "data-testid": "fix-shipping", onclick: act.backToBag }, p.cause.code === "destination_required" ? "Enter where it goes" : "Choose another delivery option"),
      );
    }
    case "tax_changed":
      return h(
        "li",
        { class: "problem", "data-testid": "problem-tax_changed", "data-type": p.type },
        h("span", { class: "problem__tag" }, "VAT changed"),
        h("p", {}, `VAT for ${countryName(p.country)} is now ${(p.rateBp / 100).toLocaleString("en-IE")}%: `, h("strong", {}, money(p.actual)), " (was ", h("s", {}, money(p.expected)), ")."),
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
  const blocked = problems.some((p) => p.type === "out_of_stock" || p.type === "shipping_unavailable");
  const total = view?.totals?.estimatedTotal;
  return h(
    "section",
    { class: "review", "data-testid": "checkout-problems" },
    h("h3", { class: "review__title" }, "Before you pay, a few things changed"),
    h("p", { class: "muted" }, "We checked your bag against today's prices, stock, codes, delivery and VAT."),
    h("ul", { class: "problems" }, problems.map((p) => problemItem(p, catalog, act, view))),
    total ? h("p", { class: "review__total" }, "New total ", h("strong", { "data-testid": "new-total" }, money(total))) : null,
    blocked ? h("p", { class: "review__hint", "data-testid": "review-blocked" }, "Fix the issues above, then place your order.") : null,
    h(
      "div",
      { class: "review__actions" },
      h("button", { type: "button", class: "button button--ghost", "data-testid": "back-to-bag", onclick: act.backToBag }, "Back to bag"),
      h(
        "button",
        { type: "button", class: "button button--checkout", "data-testid": "confirm-checkout", disabled: checkout.busy || problems.some((p) => p.type === "shipping_unavailable"), onclick: act.confirm },
        checkout.busy ? "Placing order…" : total ? `Place order at ${money(total)}` : "Place order",
      ),
    ),
  );
}
