// Browser and bundler entry: instantiates the wasm module (fetched on the
// first `CartClient.open()`, or by `ready()`) and re-exports the
// `CartClient` class wasm-bindgen generated from Rust. Everything the client
// does is Rust; this file only finds and loads the module.
import init, { CartClient } from "./web/cartsync.js";
import { CartError } from "./errors.js";
export { CartClient, CartError };

let loading;

/**
 * Loads and instantiates the module once; later calls reuse it. A load
 * that failed (offline, a 404) is forgotten, so the next call tries again;
 * it rejects with `CartError` `module_load_failed`.
 */
export function ready(moduleOrPath) {
  loading ??= init({ module_or_path: moduleOrPath ?? locate() }).then(
    () => undefined,
    (e) => {
      loading = undefined;
      throw new CartError("module_load_failed", `the cartsync module could not be loaded: ${e?.message ?? e}`);
    },
  );
  return loading;
}

/**
 * Where the wasm is: next to this module (a literal `new URL(...,
 * import.meta.url)`, which Vite builds, webpack 5, esbuild and plain
 * `<script type="module">` pages all resolve). Vite's dev server bundles
 * dependencies into `node_modules/.vite/deps/` and leaves the wasm behind;
 * there the package's own folder, which the dev server also serves, has it.
 */
function locate() {
  const here = new URL(import.meta.url);
  const deps = /\.vite\/deps[^/]*\/[^/]*$/;
  if (!/\/node_modules\//.test(here.pathname) || !deps.test(here.pathname)) {
    return new URL("./web/cartsync_bg.wasm", import.meta.url);
  }
  // Built at run time, so that bundlers do not try to resolve it.
  here.pathname = here.pathname.replace(deps, "cartsync/web/cartsync_bg.wasm");
  here.search = "";
  return here;
}

// `open()` loads the module first: the generated class needs it.
const open = CartClient.open;
CartClient.open = async function (options) {
  await ready();
  return open.call(CartClient, options);
};
