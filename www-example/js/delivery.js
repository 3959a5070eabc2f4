// Where the order goes and how: the destination form and the delivery
// options as the SDK judges them for the bag (the server's own rules, run
// in the browser): available with a price, or unavailable with the reason.
import { h, money } from "./dom.js";

/** Countries the demo ships to (the catalog's shipping rules decide which
 *  options serve each one). */
export const COUNTRIES = [
  ["DE", "Germany"], ["AT", "Austria"], ["BE", "Belgium"], ["DK", "Denmark"], ["ES", "Spain"],
  ["FI", "Finland"], ["FR", "France"], ["IE", "Ireland"], ["IT", "Italy"], ["LU", "Luxembourg"],
  ["NL", "Netherlands"], ["PL", "Poland"], ["PT", "Portugal"], ["SE", "Sweden"],
  ["GB", "United Kingdom"], ["CH", "Switzerland"], ["NO", "Norway"], ["US", "United States"],
  ["CA", "Canada"], ["JP", "Japan"], ["AU", "Australia"],
];

export const countryName = (code) => COUNTRIES.find(([c]) => c === code)?.[1] ?? code;

const DETAILS = {
  standard: "3–5 working days",
  express: "Next working day",
  pickup: "Harbour Street studio, Hamburg",
  international: "5–10 working days",
};

const kg = (grams) => `${(grams / 1000).toLocaleString("en-IE", { maximumFractionDigits: 1 })} kg`;

/** Why an option cannot take the bag, in the shopper's words. */
export function shippingReason(reason, nameOf) {
  switch (reason?.code) {
    case "country_not_served":
      return `doesn't deliver to ${countryName(reason.country)}`;
    case "class_not_carried":
      return `can't carry ${nameOf(reason.sku)}`;
    case "too_heavy":
      return `your bag weighs ${kg(reason.weightGrams)}, the limit is ${kg(reason.maxGrams)}`;
    case "destination_required":
      return "we need to know where your order goes";
    case "not_selected":
      return "choose how it's delivered";
    case "unknown_option":
      return "this option is no longer offered";
    default:
      return "not available for this bag";
  }
}

/** The destination: what is set, and the form to set or change it. */
export function destinationSection(view, act, ui) {
  const dest = view.destination;
  const editing = ui.editingDestination || !dest;
  if (!editing) {
    return h(
      "section",
      { class: "drawer__section" },
      h("h3", {}, "Deliver to"),
      h(
        "p",
        { class: "dest", "data-testid": "destination", "data-country": dest.country },
        h("span", {}, `${countryName(dest.country)} · ${dest.postalCode}`),
        h("button", { type: "button", class: "link", "data-testid": "destination-change", onclick: act.editDestination }, "Change"),
      ),
    );
  }
  const country = h(
    "select",
    { name: "country", "data-keep": "country", "data-testid": "destination-country", "aria-label": "Country" },
    COUNTRIES.map(([code, name]) => h("option", { value: code, selected: code === (dest?.country ?? "DE") }, name)),
  );
  const postal = h("input", {
    name: "postal",
    "data-keep": "postal",
    "data-testid": "destination-postal",
    placeholder: "Postal code",
    autocomplete: "postal-code",
    value: dest?.postalCode ?? "",
    "aria-label": "Postal code",
  });
  return h(
    "section",
    { class: "drawer__section" },
    h("h3", {}, "Deliver to"),
    h(
      "form",
      {
        class: "dest-form",
        "data-testid": "destination-form",
        onsubmit: (e) => {
          e.preventDefault();
          act.setDestination({ country: country.value, postalCode: postal.value.trim() });
        },
      },
      country,
      postal,
      h("button", { type: "submit", class: "button button--ghost", "data-testid": "destination-save" }, "Save"),
    ),
    ui.destinationError ? h("p", { class: "form-error", role: "alert", "data-testid": "destination-error" }, ui.destinationError) : null,
  );
}

function optionRow(q, current, act, nameOf) {
  const available = q.status === "available";
  const selected = q.option === current;
  const note = available
    ? DETAILS[q.option] ?? ""
    : q.status === "unknown"
      ? "checking your bag…"
      : shippingReason(q.reason, nameOf);
  return h(
    "label",
    {
      class: `ship__option${available ? "" : " ship__option--off"}`,
      "data-testid": `ship-${q.option}`,
      "data-status": q.status,
    },
    h("input", {
      type: "radio",
      name: "shipping",
      value: q.option,
      checked: selected,
      disabled: q.status === "unavailable",
      onchange: () => act.selectShipping(q.option),
    }),
    h("span", { class: "ship__label" }, q.name, h("small", {}, note)),
    h("span", { class: "ship__price" }, available ? (q.price.amount ? money(q.price) : "Free") : "—"),
  );
}

/** The delivery options judged for the bag; the selected one stays
 *  selected when it can no longer take the bag, with a warning. */
export function shippingSection(view, act, nameOf) {
  const current = view.shippingOption;
  const options = view.shippingOptions ?? [];
  const chosen = options.find((q) => q.option === current);
  const warning =
    chosen && chosen.status === "unavailable"
      ? h("p", { class: "form-error", "data-testid": "shipping-warning" }, `${chosen.name} ${shippingReason(chosen.reason, nameOf)}. Choose another option.`)
      : null;
  return h(
    "section",
    { class: "drawer__section" },
    h("h3", {}, "Delivery"),
    options.length
      ? h("div", { class: "ship", role: "radiogroup", "aria-label": "Delivery" }, options.map((q) => optionRow(q, current, act, nameOf)))
      : h("p", { class: "muted" }, "Delivery options appear once your bag reaches the store."),
    warning,
  );
}
