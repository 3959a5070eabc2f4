// The pure rules over a loaded rules module (rules.js for browsers,
// node.mjs for Node): arguments go in as JSON text, answers come back as
// `{ok}` or `{error}` and errors are thrown as `CartError`.
import { CartError } from "./errors.js";

function text(what, value) {
  try {
    return JSON.stringify(value === undefined ? null : value) ?? "null";
  } catch {
    throw new CartError("bad_request", `${what}: the argument cannot be read as JSON`);
  }
}

function answer(json) {
  const out = JSON.parse(json);
  if (out.error) throw new CartError(out.error.code, out.error.message);
  return out.ok ?? undefined;
}

export function bindRules(wasm) {
  return {
    validateCommand: (command) => answer(wasm.validateCommand(text("command", command))),
    applyCommand: (cart, command) => answer(wasm.applyCommand(text("cart", cart), text("command", command))),
    applyBatch: (cart, mutations, records) =>
      answer(
        wasm.applyBatch(text("cart", cart), text("mutations", mutations), text("records", records), Date.now()),
      ),
    mergeCarts: (account, anonymous) => answer(wasm.mergeCarts(text("account", account), text("anonymous", anonymous))),
    rebasePending: (server, pending) => answer(wasm.rebasePending(text("server", server), text("pending", pending))),
  };
}
