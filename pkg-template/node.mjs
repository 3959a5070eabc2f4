// Node entry: the same rules the browser and the Rust server run, for a
// JavaScript backend (validation, batch decision, merge, rebase). The wasm
// module loads synchronously. `CartClient` needs a browser (localStorage,
// fetch, storage events) and is not exported here.
import { createRequire } from "node:module";
import { bindRules } from "./rules-api.js";
export { CartError } from "./errors.js";

const require = createRequire(import.meta.url);

export const ready = () => Promise.resolve();
export const { validateCommand, applyCommand, applyBatch, mergeCarts, rebasePending } = bindRules(
  require("./node/cartsync.js"),
);
