// Server-side rendering under Node with the packed package as the example
// apps installed it (scripts/framework-apps.sh): a page using
// `cartsync/react`'s useCart() renders with react-dom/server, and one using
// `cartsync/vue` with vue/server-renderer. Neither crashes, nothing opens,
// both render the empty bag ("loading"), and the methods refuse with
// CartError `unsupported_environment`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "./helpers.mjs";

/** `require` and `import()` as seen from an app's folder (its node_modules). */
function fromApp(name) {
  const dir = join(ROOT, "www-example", name);
  if (!existsSync(join(dir, "node_modules/cartsync"))) throw new Error(`${dir}/node_modules is missing: run \`make framework-apps\``);
  const require = createRequire(join(dir, "package.json"));
  const load = (specifier) => import(pathToFileURL(require.resolve(specifier)).href);
  return { require, load };
}

/** Counts CartClient.open calls of the browser entry the bindings import. */
async function countOpens(require) {
  const entry = await import(pathToFileURL(join(dirname(require.resolve("cartsync/package.json")), "index.js")).href);
  const counter = { opens: 0 };
  const open = entry.CartClient.open;
  entry.CartClient.open = (options) => {
    counter.opens += 1;
    return open.call(entry.CartClient, options);
  };
  return { counter, CartError: entry.CartError };
}

async function refusals(cart, CartError) {
  let thrown;
  try {
    cart.addItem({ sku: "mug-enamel", quantity: 1 });
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown instanceof CartError, `addItem threw ${thrown}`);
  assert.equal(thrown.code, "unsupported_environment");
  await assert.rejects(cart.flush(), (e) => e instanceof CartError && e.code === "unsupported_environment");
  await assert.rejects(cart.checkout(), (e) => e.code === "unsupported_environment");
}

test("React: renderToString of a page using useCart() renders the empty bag", async () => {
  assert.equal(typeof window, "undefined");
  const { require, load } = fromApp("react-shop");
  const { counter, CartError } = await countOpens(require);
  const { createElement } = require("react");
  const { renderToString } = require("react-dom/server");
  const { CartProvider, useCart, EMPTY_VIEW } = await load("cartsync/react");

  let seen;
  function Bag() {
    const cart = useCart();
    seen = cart;
    return createElement(
      "p",
      { "data-status": cart.status, "data-pending": cart.pending, "data-lines": cart.view.lines.length },
      cart.view.lines.length === 0 ? "Your bag is empty." : "lines",
    );
  }
  const html = renderToString(createElement(CartProvider, { endpoint: "/api/v1" }, createElement(Bag)));
  assert.equal(html, '<p data-status="loading" data-pending="0" data-lines="0">Your bag is empty.</p>');
  assert.equal(seen.view, EMPTY_VIEW);
  assert.deepEqual([seen.ready, seen.error, seen.client], [false, null, null]);
  assert.equal(counter.opens, 0, "nothing opens on the server");
  await refusals(seen, CartError);
});

test("Vue: renderToString of an app using useCart() renders the empty bag", async () => {
  const { require, load } = fromApp("vue-shop");
  const { counter, CartError } = await countOpens(require);
  const { createSSRApp, h } = await load("vue");
  const { renderToString } = await load("vue/server-renderer");
  const { provideCart, useCart } = await load("cartsync/vue");

  let seen;
  const Bag = {
    setup() {
      const cart = useCart();
      seen = cart;
      return () => h("p", { "data-status": cart.status.value, "data-pending": cart.pending.value }, `${cart.view.value.lines.length} lines`);
    },
  };
  const app = createSSRApp({
    setup() {
      provideCart({ endpoint: "/api/v1" });
      return () => h(Bag);
    },
  });
  const html = await renderToString(app);
  assert.equal(html, '<p data-status="loading" data-pending="0">0 lines</p>');
  assert.equal(seen.ready.value, false);
  assert.equal(counter.opens, 0, "nothing opens on the server");
  await refusals(seen, CartError);
});
