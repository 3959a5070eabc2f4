// Compiled with `tsc --noEmit` against the packed package and Vue's own
// types (scripts/framework-apps.sh, in www-example/vue-shop's
// node_modules): `cartsync/vue`'s declarations as a Vue user consumes them.
import { defineComponent, h, type ComputedRef, type ShallowRef } from "vue";
import { EMPTY_VIEW, provideCart, useCart, type CartStatus, type UseCart } from "cartsync/vue";
import type { CartEvent, CartView, CheckoutResult, MergeReport } from "cartsync";

export const Shop = defineComponent({
  setup() {
    const cart: UseCart = provideCart({ endpoint: "/api/v1", onEvent: (e: CartEvent) => console.log(e.type) });
    return () => h("p", `${cart.view.value.lines.length} lines`);
  },
});

export const Bag = defineComponent({
  setup() {
    const { view, status, pending, error, ready, client, addItem, setQuantity, removeItem, flush, login, checkout } = useCart();
    const v: Readonly<ShallowRef<CartView>> = view;
    const s: ComputedRef<CartStatus> = status;
    const next: CartView = addItem({ sku: "mug", quantity: 1 });
    setQuantity({ sku: "mug", options: {}, quantity: 2 });
    removeItem({ sku: "mug" });
    const signIn = async (): Promise<MergeReport> => login("token");
    const order = async (): Promise<CheckoutResult> => checkout();
    void [signIn, order, flush(), next, client.value?.token(), error.value?.code];
    return () => h("p", { "data-status": s.value, "data-ready": ready.value }, `${v.value.lines.length} lines, ${pending.value} pending`);
  },
});

const own: UseCart = useCart({ endpoint: "/api/v1", namespace: "mini" });
const empty: CartView = EMPTY_VIEW;
console.log(own.pending.value, empty.pending);
