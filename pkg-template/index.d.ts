// The browser entry: the `CartClient` class (declared by wasm-bindgen from
// the Rust source), `CartError`, and `ready()`.
export type * from "./types.js";
export { CartError } from "./errors.js";
export { CartClient } from "./web/cartsync.js";

/** Loads the wasm module (`CartClient.open` does it for you); retried after a failure. */
export declare function ready(moduleOrPath?: string | URL | Response | BufferSource | WebAssembly.Module): Promise<void>;
