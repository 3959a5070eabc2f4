// Compiled with `tsc --noEmit` against the packed package and @types/react
// (scripts/framework-apps.sh, in www-example/react-shop's node_modules):
// `cartsync/react`'s declarations as a React user consumes them.
import { StrictMode, type ReactNode } from "react";
import { CartProvider, EMPTY_VIEW, useCart, type CartStatus, type UseCart } from "cartsync/react";
import type { CartEvent, CartView, CheckoutResult, MergeReport } from "cartsync";

function Bag(): ReactNode {
  const cart: UseCart = useCart();
  const view: CartView = cart.view;
  const status: CartStatus = cart.status;
  const next: CartView = cart.addItem({ sku: "mug", quantity: 1 });
  cart.setQuantity({ sku: "mug", options: {}, quantity: 2 });
  cart.removeItem({ sku: "mug" });
  cart.applyCoupon("SAVE10");
  cart.removeCoupon("SAVE10");
  cart.setDestination({ country: "DE", postalCode: "10115" });
  cart.selectShipping("standard");
  const signIn = async (): Promise<MergeReport> => cart.login("token");
  const order = async (): Promise<CheckoutResult> => cart.checkout({ idempotencyKey: "k" });
  void [signIn, order, cart.flush(), cart.logout(), next, cart.client?.token()];
  return (
    <p data-status={status} data-ready={cart.ready}>
      {view.lines.length} lines, {cart.pending} pending, {cart.error?.code ?? "no error"}
    </p>
  );
}

export function Shop(): ReactNode {
  const onEvent = (event: CartEvent) => console.log(event.type);
  return (
    <StrictMode>
      <CartProvider endpoint="/api/v1" namespace="shop" requestTimeoutMs={10_000} onEvent={onEvent}>
        <Bag />
      </CartProvider>
    </StrictMode>
  );
}

const empty: CartView = EMPTY_VIEW;
console.log(empty.pending);
