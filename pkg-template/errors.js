// Errors thrown by cartsync are real `Error` objects with
// `name === "CartError"` and a stable `code`. `CartError` recognises them
// by name and code rather than by prototype (the client's are made in
// client.js, which imports nothing), so `err instanceof CartError` works for
// every one of them.
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
