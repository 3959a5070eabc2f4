// Browser and bundler entry. The wasm module is fetched on first use
// (`new URL(..., import.meta.url)`, which Vite, webpack 5 and plain
// `<script type="module">` pages all resolve), so importing costs nothing
// until a cart is opened.
import init, * as wasm from "./web/cartsync.js";
export { CartError } from "./errors.js";

let loading;

/** Loads and instantiates the wasm module once; later calls reuse it. */
export function ready(moduleOrPath) {
  loading ??= init(moduleOrPath === undefined ? undefined : { module_or_path: moduleOrPath });
  return loading;
}

export const CartClient = {
  /** Restores (or starts) the cart; see `CartClient.open` in the README. */
  async open(options) {
    await ready();
    return wasm.CartClient.open(options);
  },
};

// The core's pure rules (call `await ready()` first in a browser).
export const validateCommand = (...a) => wasm.validateCommand(...a);
export const applyCommand = (...a) => wasm.applyCommand(...a);
export const applyBatch = (...a) => wasm.applyBatch(...a);
export const mergeCarts = (...a) => wasm.mergeCarts(...a);
export const rebasePending = (...a) => wasm.rebasePending(...a);
