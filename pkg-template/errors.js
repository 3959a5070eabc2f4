// `CartError` (defined with the client in client.js, which imports nothing,
// so the browser tests can load it on its own).
export { CartError } from "./client.js";
