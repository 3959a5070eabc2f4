// The core's pure rules for the browser (`cartsync/rules`): a separate,
// smaller wasm module, so cart pages that never merge or decide batches do
// not download them. Call `await ready()` before the first rule.
import init from "./rules/cartsync.js";
import { CartError } from "./errors.js";
export { validateCommand, applyCommand, applyBatch, mergeCarts, rebasePending } from "./rules/cartsync.js";
export { CartError };

let loading;

/** Loads the rules module once; a failed load is tried again next time. */
export function ready(moduleOrPath) {
  loading ??= init({ module_or_path: moduleOrPath ?? new URL("./rules/cartsync_bg.wasm", import.meta.url) }).then(
    () => undefined,
    (e) => {
      loading = undefined;
      throw new CartError("module_load_failed", `the cartsync rules module could not be loaded: ${e?.message ?? e}`);
    },
  );
  return loading;
}
