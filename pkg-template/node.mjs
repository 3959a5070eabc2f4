// Node entry: the same module built for Node (client and rules). The rules
// — validation, batch decision, merge, rebase — are what a JavaScript
// backend runs; `CartClient` imports here too, so server-side rendering of
// a page that uses it works, and `open()` rejects with `CartError`
// `unsupported_environment` (there is no browser to keep a cart in).
import { createRequire } from "node:module";
export { CartError } from "./errors.js";

const require = createRequire(import.meta.url);
const wasm = require("./node/cartsync.js");

/** The module loads synchronously in Node: nothing to wait for. */
export const ready = () => Promise.resolve();
export const { CartClient, validateCommand, applyCommand, applyBatch, mergeCarts, rebasePending } = wasm;
