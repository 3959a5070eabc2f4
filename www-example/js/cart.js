// The bag drawer: lines with quantities, coupons, where it goes and how,
// totals with delivery and VAT, and the checkout button (or, after a failed
// revalidation, the problems to review).
import { h, money, sum, lineKey, optionLabel, plural } from "./dom.js";
import { problemsPanel } from "./checkout.js";
import { couponReason } from "./copy.js";
import { destinationSection, shippingSection } from "./delivery.js";

/** The line's display data: the server's when it knows the line, else the
 *  catalog's (a line added offline has only a sku until it syncs). */
export function describe(line, catalog) {
  const product = catalog.get(line.sku);
  return {
    name: line.name ?? product?.name ?? line.sku,
    image: line.image ?? product?.image ?? "images/favicon.svg",
    price: line.unitPrice ?? product?.price ?? null,
  };
}

function quantityControl(line, name, act) {
  const key = lineKey(line.sku, line.options);
  const set = (q) => act.setQuantity(line, q);
  return h(
    "div",
    { class: "qty", role: "group", "aria-label": `Quantity of ${name}` },
    h("button", { type: "button", class: "qty__step", "aria-label": "One less", "data-testid": `dec-${key}`, onclick: () => set(line.quantity - 1) }, "−"),
    h("input", {
      class: "qty__input",
      type: "number",
      inputmode: "numeric",
      min: 0,
      max: 999,
      value: String(line.quantity),
      "data-line": key,
      "data-testid": `qty-${key}`,
      "aria-label": `Quantity of ${name}`,
      onchange: (e) => {
        const q = Number.parseInt(e.currentTarget.value, 10);
        if (Number.isFinite(q)) set(q);
        else e.currentTarget.value = String(line.quantity);
      },
      onkeydown: (e) => e.key === "Enter" && e.currentTarget.blur(),
    }),
    h("button", { type: "button", class: "qty__step", "aria-label": "One more", "data-testid": `inc-${key}`, onclick: () => set(line.quantity + 1) }, "+"),
  );
}

function lineItem(line, catalog, act) {
  const key = lineKey(line.sku, line.options);
  const d = describe(line, catalog);
  return h(
    "li",
    { class: "line", "data-testid": `line-${key}`, "data-sku": line.sku, "data-quantity": line.quantity },
    h("img", { class: "line__img", src: d.image, alt: "", width: 72, height: 72 }),
    h(
      "div",
      { class: "line__info" },
      h("p", { class: "line__name" }, d.name),
      line.options && Object.keys(line.options).length ? h("p", { class: "line__opts" }, optionLabel(line.options)) : null,
      h("p", { class: "line__unit" }, d.price ? `${money(d.price)} each` : ""),
      h(
        "div",
        { class: "line__controls" },
        quantityControl(line, d.name, act),
        h("button", { type: "button", class: "link", "data-testid": `remove-${key}`, onclick: () => act.removeItem(line) }, "Remove"),
      ),
    ),
    h("p", { class: "line__total" }, d.price ? money({ amount: d.price.amount * line.quantity, currency: d.price.currency }) : ""),
  );
}

function couponSection(view, act) {
  const input = h("input", {
    name: "code",
    placeholder: "Promo code",
    autocomplete: "off",
    spellcheck: "false",
    "data-testid": "coupon-input",
    "data-keep": "coupon",
    "aria-label": "Promo code",
  });
  const form = h(
    "form",
    {
      class: "coupon-form",
      onsubmit: (e) => {
        e.preventDefault();
        const code = input.value.trim().toUpperCase();
        if (!code) return;
        // Cleared before the command re-renders the drawer (which keeps
        // typed text); put back if the code was refused.
        input.value = "";
        if (!act.applyCoupon(code)) {
          const fresh = document.querySelector("input[data-keep=coupon]");
          if (fresh) fresh.value = code;
        }
      },
    },
    input,
    h("button", { type: "submit", class: "button button--ghost", "data-testid": "coupon-apply" }, "Apply"),
  );
  const chips = view.coupons.map((c) =>
    h(
      "li",
      { class: `chip chip--${c.state}`, "data-testid": `coupon-${c.code}`, "data-state": c.state },
      h("span", { class: "chip__code" }, c.code),
      h(
        "span",
        { class: "chip__state" },
        c.state === "applied" ? "applied" : c.state === "pending" ? "checking…" : `not applied: ${couponReason(c.reason)}`,
      ),
      h("button", { type: "button", class: "chip__remove", "aria-label": `Remove code ${c.code}`, onclick: () => act.removeCoupon(c.code) }, "✕"),
    ),
  );
  return h("section", { class: "drawer__section" }, h("h3", {}, "Promo code"), form, chips.length ? h("ul", { class: "chips" }, chips) : null);
}

/** Totals: the server's while nothing is pending (or the SDK's estimate by
 *  the same rules), else an estimate from the prices the page knows
 *  (discounts and VAT are confirmed once synced). */
export function totalsOf(view, catalog) {
  if (view.totals) {
    const t = view.totals;
    return { subtotal: t.subtotal, discount: t.discount, shipping: t.shipping, tax: t.tax, total: t.estimatedTotal, exact: true };
  }
  let subtotal = { amount: 0, currency: "EUR" };
  for (const line of view.lines) {
    const price = describe(line, catalog).price;
    if (price) subtotal = sum(subtotal, { amount: price.amount * line.quantity, currency: price.currency });
  }
  const chosen = (view.shippingOptions ?? []).find((q) => q.option === view.shippingOption && q.status === "available");
  const shipping = chosen?.price ?? null;
  return { subtotal, discount: null, shipping, tax: null, total: shipping ? sum(subtotal, shipping) : subtotal, exact: false };
}

const percent = (bp) => `${(bp / 100).toLocaleString("en-IE", { maximumFractionDigits: 2 })}%`;

function totalsSection(view, catalog) {
  const t = totalsOf(view, catalog);
  const row = (label, value, attrs = {}) => h("div", { class: "totals__row", ...attrs }, h("dt", {}, label), h("dd", {}, value));
  const tax = t.tax
    ? row(
        t.tax.included ? `Incl. VAT ${percent(t.tax.rateBp)} (${t.tax.country})` : `VAT ${percent(t.tax.rateBp)} (${t.tax.country})`,
        money(t.tax.amount),
        { class: `totals__row${t.tax.included ? " totals__row--muted" : ""}`, "data-testid": "totals-tax", "data-amount": String(t.tax.amount.amount) },
      )
    : row("VAT", view.destination ? "confirmed when synced" : "after you enter where it goes", { class: "totals__row totals__row--muted", "data-testid": "totals-tax" });
  return h(
    "dl",
    { class: "totals", "data-testid": "totals", "data-exact": String(t.exact) },
    row("Subtotal", money(t.subtotal)),
    t.discount
      ? t.discount.amount > 0
        ? row("Discount", `−${money(t.discount)}`, { class: "totals__row totals__row--discount" })
        : null
      : view.coupons.length
        ? row("Discount", "confirmed when synced", { class: "totals__row totals__row--muted" })
        : null,
    row("Delivery", t.shipping ? (t.shipping.amount ? money(t.shipping) : "Free") : "choose an option", { "data-testid": "totals-shipping" }),
    tax,
    row(t.exact ? "Total" : "Estimated total", money(t.total), { class: "totals__row totals__row--grand", "data-testid": "grand-total" }),
  );
}

/** The drawer's content for `state`: `{view, catalog, checkout, act, ui}`. */
export function drawerContent({ view, catalog, checkout, act, ui }) {
  if (checkout?.phase === "problems") return problemsPanel(checkout, catalog, act);
  if (!view.lines.length) {
    return h(
      "div",
      { class: "empty", "data-testid": "empty-bag" },
      h("p", { class: "empty__title" }, "Your bag is empty"),
      h("p", { class: "muted" }, "Everything you add is kept on this device, even offline."),
      h("button", { type: "button", class: "button", onclick: act.closeDrawer }, "Browse the shop"),
    );
  }
  const units = view.lines.reduce((n, l) => n + l.quantity, 0);
  const busy = checkout?.phase === "busy";
  return [
    h("p", { class: "drawer__count" }, plural(units, "item")),
    h("ul", { class: "lines", "data-testid": "lines" }, view.lines.map((l) => lineItem(l, catalog, act))),
    couponSection(view, act),
    destinationSection(view, act, ui),
    shippingSection(view, act, (sku) => catalog.get(sku)?.name ?? sku),
    totalsSection(view, catalog),
    view.pending
      ? h("p", { class: "drawer__pending", "data-testid": "drawer-pending" }, `${plural(view.pending, "change")} saved on this device, syncing…`)
      : null,
    h(
      "button",
      { type: "button", class: "button button--checkout", "data-testid": "checkout", disabled: busy, onclick: act.checkout },
      busy ? "Checking prices and stock…" : "Check out",
    ),
    h("p", { class: "drawer__fine" }, "We check prices, stock, codes, delivery and VAT again before you order."),
  ];
}
