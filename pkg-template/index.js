// Browser and bundler entry. The wasm module is fetched on first use
// (`new URL(..., import.meta.url)`, which Vite, webpack 5 and plain
// `<script type="module">` pages all resolve), so importing costs nothing
// until a cart is opened.
//
// `CartClient` is a thin class over the wasm `CartCore`: the synchronous
// methods go straight through; the four asynchronous ones only sequence
// awaits between synchronous calls, because async state machines cost the
// wasm more bytes than the rest of the client. Every decision (what to
// send, how to read an answer, what to store) stays in Rust.
import init, { CartCore } from "./web/cartsync.js";
export { CartError } from "./errors.js";

let loading;

/** Loads and instantiates the wasm module once; later calls reuse it. */
export function ready(moduleOrPath) {
  loading ??= init(moduleOrPath === undefined ? undefined : { module_or_path: moduleOrPath });
  return loading;
}

export class CartClient {
  #core;

  constructor(core) {
    this.#core = core;
  }

  /** Restores the token, the last server cart and the outbox from localStorage. */
  static async open(options = {}) {
    await ready();
    return new CartClient(CartCore.open(options));
  }

  addItem(args) { return this.#core.addItem(args); }
  setQuantity(args) { return this.#core.setQuantity(args); }
  removeItem(args) { return this.#core.removeItem(args); }
  applyCoupon(code) { return this.#core.applyCoupon(code); }
  removeCoupon(code) { return this.#core.removeCoupon(code); }
  selectShipping(option) { return this.#core.selectShipping(option); }
  clear() { return this.#core.clear(); }
  view() { return this.#core.view(); }
  subscribe(listener) { return this.#core.subscribe(listener); }
  close() { this.#core.close(); }

  /** Resolves when nothing is pending; rejects with the failed attempt's CartError. */
  flush() {
    return new Promise((resolve, reject) => this.#core.waitSettled(resolve, reject));
  }

  /** Attaches this cart to the account of `userToken`; resolves to the merge report. */
  async login(userToken) {
    await this.flush();
    let token = this.#core.cartToken();
    if (token === undefined) {
      token = this.#core.adoptCreated(await this.#core.request("/carts", {}, {}, undefined));
    }
    const answer = await this.#core.request(`/carts/${token}/attach`, {}, {}, userToken);
    return this.#core.attached(answer, userToken);
  }

  /** Starts a new anonymous cart (after sending what it can). */
  async logout() {
    try {
      await this.flush();
    } catch {
      // Offline: what is pending stays and goes to the new cart.
    }
    this.#core.forgetAccount();
  }

  /** Revalidates and orders the cart: `{ order }` or `{ problems, cart }`. */
  async checkout(options) {
    await this.flush();
    const plan = this.#core.checkoutPlan(options);
    const answer = await this.#core.request(plan.path, plan.body, plan.headers, undefined);
    return this.#core.checkedOut(plan.token, answer);
  }
}
