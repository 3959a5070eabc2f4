// An in-page stand-in for the cart authority, passed to CartClient.open as
// its `fetch`: it answers protocol v1 (create a cart, apply a batch) at
// once, so the benchmark measures the SDK, not a network. Its cart has as
// many lines as the benchmark asks for (the real server caps carts at 100).
export const sku = (i) => `sku-${String(i).padStart(4, "0")}`;

export function lineView(i) {
  return {
    sku: sku(i),
    options: {},
    quantity: 1,
    name: `Product ${i}`,
    unit_price: { amount: 1000 + i, currency: "EUR" },
    image: `/images/${sku(i)}.svg`,
  };
}

const money = (amount) => ({ amount, currency: "EUR" });

export function cartView(lines, version = 1) {
  return {
    version,
    owner: null,
    lines: Array.from({ length: lines }, (_, i) => lineView(i)),
    coupons: [],
    shipping_option: null,
    totals: { subtotal: money(0), discount: money(0), estimated_total: money(0) },
    updated_at: Date.now(),
  };
}

const json = (status, body) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

export class FakeAuthority {
  constructor(lines) {
    this.cart = cartView(lines);
    this.token = "benchtokenbenchtokenbenchtoken00";
    /** When false, requests never answer (the shopper is offline). */
    this.online = true;
    this.fetch = (url, init) => this.answer(String(url), init);
  }

  apply(command) {
    const line = this.cart.lines.find((l) => l.sku === command.sku);
    if (!line) throw new Error(`fake authority: no line ${command.sku}`);
    if (command.type === "add_item") line.quantity += command.quantity;
    else if (command.type === "set_quantity") line.quantity = command.quantity;
    else throw new Error(`fake authority: unexpected ${command.type}`);
  }

  async answer(url, init) {
    if (!this.online) return new Promise(() => {});
    if (url.endsWith("/carts")) return json(201, { token: this.token, cart: this.cart });
    if (url.endsWith("/mutations")) {
      const { mutations } = JSON.parse(init.body);
      const results = mutations.map((m) => {
        this.apply(m.command);
        this.cart.version += 1;
        return { id: m.id, status: "applied", version: this.cart.version };
      });
      this.cart.updated_at = Date.now();
      return json(200, { cart: this.cart, results });
    }
    return json(404, { code: "not_found", message: url });
  }
}
