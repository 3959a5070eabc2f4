// The Node entry: the rules (validation, batch decision, merge, rebase) for
// a JavaScript backend, and `CartClient`, which imports for server-side
// rendering and rejects `open()` with `unsupported_environment`.
export type * from "./types.js";
export { CartError } from "./errors.js";
export { CartClient, validateCommand, applyCommand, applyBatch, mergeCarts, rebasePending } from "./node/cartsync.js";

/** Nothing to wait for in Node (kept for code shared with browsers). */
export declare function ready(): Promise<void>;
