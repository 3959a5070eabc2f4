// Entry-point declarations. The class and function signatures come from
// the declarations wasm-bindgen generates from the Rust code (web/cartsync.d.ts).
export { validateCommand, applyCommand, applyBatch, mergeCarts, rebasePending } from "./web/cartsync.js";
import type { CartClient as WasmCartClient } from "./web/cartsync.js";

/** An error thrown by cartsync: `name === "CartError"` and a stable `code`. */
export declare class CartError extends Error {
  constructor(code: string, message: string);
  readonly code: string;
}

/** Loads the wasm module (done for you by `CartClient.open`). */
export declare function ready(moduleOrPath?: string | URL | Response | BufferSource | WebAssembly.Module): Promise<unknown>;

export declare const CartClient: {
  open(options: {
    endpoint: string;
    namespace?: string;
    fetch?: typeof fetch;
    userToken?: string;
    requestTimeoutMs?: number;
  }): Promise<WasmCartClient>;
};
export type { WasmCartClient as CartClientInstance };
