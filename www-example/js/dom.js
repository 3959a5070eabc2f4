// Small DOM and formatting helpers. Everything user- or server-provided is
// inserted as text, never as HTML.

/** `h("button", {class: "x", onclick}, "Add")`: an element with attributes,
 *  properties (`on*` handlers, `value`, `checked`) and children. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "value" || key === "checked" || key === "disabled") el[key] = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export const $ = (selector, root = document) => root.querySelector(selector);

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const formats = new Map();
/** `{amount: 2500, currency: "EUR"}` → "€25.00". Amounts are integer minor
 *  units; the division happens only here, for display. */
export function money(m) {
  if (!m) return "–";
  let f = formats.get(m.currency);
  if (!f) {
    f = new Intl.NumberFormat("en-IE", { style: "currency", currency: m.currency });
    formats.set(m.currency, f);
  }
  return f.format(m.amount / 100);
}

export const sum = (a, b) => ({ amount: a.amount + b.amount, currency: a.currency ?? b.currency });

/** The stable key of a cart line: sku plus its options. */
export function lineKey(sku, options = {}) {
  const opts = Object.keys(options).sort().map((k) => `${k}=${options[k]}`).join(",");
  return opts ? `${sku}|${opts}` : sku;
}

/** "Size M" from `{size: "M"}`. */
export function optionLabel(options = {}) {
  return Object.entries(options)
    .map(([k, v]) => `${k[0].toUpperCase()}${k.slice(1)} ${v}`)
    .join(" · ");
}

export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}
