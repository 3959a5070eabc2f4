// `CartError`: what every cartsync error is. The errors themselves are made
// in Rust (a real `Error` with `name === "CartError"` and a stable `code`);
// this class recognises them by name and code rather than by prototype, so
// `err instanceof CartError` holds for every one, whichever copy of the
// module made it. (A JavaScript class is the one part that cannot be Rust.)
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
