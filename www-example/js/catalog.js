// The product grid: the catalog from /api/v1/catalog, kept in localStorage
// so the shop still renders (and the bag still shows names and prices)
// when the store cannot be reached.
import { h, fill, money } from "./dom.js";

const CACHE_KEY = "tidewater:catalog";
const SIZED = /^(tee|hoodie|jacket)-/;
export const SIZES = ["S", "M", "L", "XL"];

/** Products that come in sizes carry a `size` option. */
export const hasSizes = (sku) => SIZED.test(sku);

/** The catalog: fresh from the server, else the last copy this browser saw
 *  (`stale: true`), else empty. */
export async function loadCatalog(api) {
  try {
    const res = await fetch(`${api}/catalog`, { cache: "no-store" });
    if (!res.ok) throw new Error(`catalog answered ${res.status}`);
    const { products } = await res.json();
    try {
      localStorage.setItem(CACHE_KEY, JSON.stringify(products));
    } catch {
      // A full localStorage only costs the offline copy of the catalog.
    }
    return { products, stale: false };
  } catch {
    const cached = localStorage.getItem(CACHE_KEY);
    return { products: cached ? JSON.parse(cached) : [], stale: true };
  }
}

function stockNote(stock) {
  if (stock <= 0) return h("span", { class: "stock stock--out" }, "Sold out");
  if (stock === 1) return h("span", { class: "stock stock--low" }, "Last one");
  if (stock <= 5) return h("span", { class: "stock stock--low" }, `Only ${stock} left`);
  return h("span", { class: "stock" }, "In stock");
}

function productCard(product, onAdd) {
  let size = "M";
  const sizes = hasSizes(product.sku)
    ? h(
        "div",
        { class: "sizes", role: "radiogroup", "aria-label": `Size of ${product.name}` },
        SIZES.map((s) =>
          h(
            "button",
            {
              type: "button",
              class: "size",
              role: "radio",
              "aria-checked": String(s === size),
              "data-testid": `size-${product.sku}-${s}`,
              onclick: (e) => {
                size = s;
                for (const b of e.currentTarget.parentElement.children) b.setAttribute("aria-checked", String(b.textContent === s));
              },
            },
            s,
          ),
        ),
      )
    : null;
  const soldOut = product.stock <= 0;
  return h(
    "li",
    { class: "card", "data-testid": `product-${product.sku}`, "data-sku": product.sku },
    h("div", { class: "card__media" }, h("img", { src: product.image, alt: "", loading: "lazy", width: 400, height: 400 })),
    h(
      "div",
      { class: "card__body" },
      h("h3", { class: "card__title" }, product.name),
      h("div", { class: "card__meta" }, h("span", { class: "price", "data-testid": `price-${product.sku}` }, money(product.price)), stockNote(product.stock)),
      sizes,
      h(
        "button",
        {
          type: "button",
          class: "button button--add",
          "data-testid": `add-${product.sku}`,
          disabled: soldOut,
          onclick: (e) => {
            if (!onAdd(product, hasSizes(product.sku) ? { size } : {})) return;
            const b = e.currentTarget;
            b.classList.add("button--added");
            b.textContent = "Added ✓";
            setTimeout(() => {
              b.classList.remove("button--added");
              b.textContent = "Add to bag";
            }, 900);
          },
        },
        soldOut ? "Sold out" : "Add to bag",
      ),
    ),
  );
}

/** Renders the grid into `ul`. */
export function renderCatalog(ul, { products, stale }, onAdd) {
  fill(ul, products.map((p) => productCard(p, onAdd)));
  ul.setAttribute("aria-busy", "false");
  const count = document.getElementById("product-count");
  if (count) count.textContent = `${products.length} products`;
  const note = document.getElementById("catalog-note");
  if (note) {
    note.hidden = !stale;
    note.textContent = products.length
      ? "Showing the catalog this device saved last time; prices and stock may have changed."
      : "The shop could not be reached. Reload when you're back online.";
  }
}
