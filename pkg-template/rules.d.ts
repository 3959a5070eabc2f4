// `cartsync/rules`: the core's pure rules on protocol v1's snake_case
// shapes (declared by wasm-bindgen from the Rust source, typed with the
// generated v1 types).
export type * from "./types.js";
export { CartError } from "./errors.js";
export { validateCommand, applyCommand, applyBatch, mergeCarts, rebasePending } from "./rules/cartsync.js";

/** Loads the rules module (call it before the first rule in a browser); retried after a failure. */
export declare function ready(moduleOrPath?: string | URL | Response | BufferSource | WebAssembly.Module): Promise<void>;
