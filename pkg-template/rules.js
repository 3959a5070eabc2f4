// The core's pure rules for the browser (`cartsync/rules`): a separate,
// smaller wasm module, so cart pages that never merge or decide batches do
// not download them. Call `await ready()` before the first rule.
import init, * as wasm from "./rules/cartsync.js";
import { bindRules } from "./rules-api.js";
export { CartError } from "./errors.js";

let loading;

export function ready(moduleOrPath) {
  loading ??= init(moduleOrPath === undefined ? undefined : { module_or_path: moduleOrPath });
  return loading;
}

export const { validateCommand, applyCommand, applyBatch, mergeCarts, rebasePending } = bindRules(wasm);
