// Toasts for what happened without the shopper asking (rejections,
// reconciliations, a replaced bag), and the merge report after sign-in.
import { h, fill, optionLabel } from "./dom.js";

const toasts = () => document.getElementById("toasts");

/** Shows a notice for a while. `kind`: info | success | warning | error;
 *  `type` names the SDK event it reports (for styling and tests). */
export function toast(text, { kind = "info", type = "notice", ms = 7000 } = {}) {
  const close = () => el.remove();
  const el = h(
    "div",
    { class: `toast toast--${kind}`, role: kind === "error" ? "alert" : "status", "data-testid": `toast-${type}`, "data-type": type },
    h("p", { class: "toast__text" }, text),
    h("button", { type: "button", class: "toast__close", "aria-label": "Dismiss", onclick: close }, "✕"),
  );
  toasts().append(el);
  setTimeout(close, ms);
  return el;
}

function named(ref, nameOf) {
  const opts = optionLabel(ref.options);
  return opts ? `${nameOf(ref.sku)} (${opts})` : nameOf(ref.sku);
}

/** Whether a merge report has anything to tell. */
export function reportIsEmpty(r) {
  return !r.summed.length && !r.added.length && !r.dropped.length && !r.couponsPending.length && !r.couponsDropped.length;
}

/** Fills the report dialog for `user` with the merge report. */
export function renderReport(container, user, report, nameOf) {
  const items = [];
  for (const s of report.summed) {
    items.push(
      h("li", { "data-testid": `merged-summed-${s.sku}` },
        h("strong", {}, named(s, nameOf)), `: ${s.accountQuantity} already in your account + ${s.anonymousQuantity} from this visit = ${s.quantity}`,
        s.excess ? h("span", { class: "warn" }, ` (${s.excess} over the limit of 999 could not be kept)`) : null),
    );
  }
  for (const a of report.added) {
    items.push(h("li", { "data-testid": `merged-added-${a.sku}` }, "Added ", h("strong", {}, named(a, nameOf)), ` × ${a.quantity}`));
  }
  for (const d of report.dropped) {
    items.push(h("li", { class: "warn", "data-testid": `merged-dropped-${d.sku}` }, "Could not fit ", h("strong", {}, named(d, nameOf)), ` × ${d.quantity}: your bag is full`));
  }
  if (report.couponsPending.length) {
    items.push(h("li", {}, `Codes ${report.couponsPending.join(", ")} will be checked again before you pay`));
  }
  if (report.couponsDropped.length) {
    items.push(h("li", { class: "warn" }, `Codes ${report.couponsDropped.join(", ")} did not fit`));
  }
  if (report.shippingOption) {
    items.push(h("li", {}, `Delivery: ${report.shippingOption}`));
  }
  document.getElementById("report-title").textContent = `Welcome, ${user}`;
  fill(
    container,
    h("p", { class: "muted" }, "We merged the bag you filled as a guest into your account's bag. Nothing was overwritten:"),
    h("ul", { class: "report" }, items),
  );
}
