import type { CartErrorCode } from "./types.js";

/** An error thrown by cartsync: a real `Error` with `name === "CartError"` and a stable `code`. */
export declare class CartError extends Error {
  constructor(code: CartErrorCode, message: string);
  readonly code: CartErrorCode;
}
