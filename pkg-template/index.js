// Browser and bundler entry. The wasm module is fetched on first use
// (`new URL(..., import.meta.url)`, which Vite, webpack 5 and plain
// `<script type="module">` pages all resolve), so importing costs nothing
// until a cart is opened.
//
// `CartClient` (client.js) does the browser's IO around the wasm `Core`,
// which makes every decision: what to store, what to send, how to read an
// answer, when to retry and how to rebase.
import init, { Core } from "./web/cartsync.js";
import { defineCartClient } from "./client.js";
export { CartError } from "./client.js";

let loading;

/**
 * Loads and instantiates the wasm module once; later calls reuse it. The
 * default location is written here, next to this module, so bundlers see
 * the `new URL(..., import.meta.url)` asset reference and the package's
 * bundled entry (which inlines the glue) still finds the file.
 */
export function ready(moduleOrPath) {
  loading ??= init({ module_or_path: moduleOrPath ?? new URL("./web/cartsync_bg.wasm", import.meta.url) });
  return loading;
}

export const CartClient = defineCartClient((timeoutMs, seed) => new Core(timeoutMs, seed), () => ready());
