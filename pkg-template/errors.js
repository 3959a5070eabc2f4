// Errors thrown by cartsync are real `Error` objects with
// `name === "CartError"` and a stable `code`. They are created inside the
// WebAssembly module, so `CartError` recognises them by name rather than by
// prototype: `err instanceof CartError` works for every one of them.
export class CartError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "CartError";
    this.code = code;
  }

  static [Symbol.hasInstance](value) {
    return value instanceof Error && value.name === "CartError" && typeof value.code === "string";
  }
}
