// `cartsync/vue`: a `useCart(options)` composable (its own client, opened
// on mount and closed on unmount), or `provideCart(options)` in a parent
// and `useCart()` in its descendants (one client for the subtree). The
// view is a `shallowRef` set to the client's snapshot at every event: the
// snapshot keeps its identity until something changes, so nothing
// re-renders for nothing.
//
// On the server nothing opens (mount hooks do not run there): the view
// stays empty (`status: "loading"`) until the client opens after hydration.
import { computed, getCurrentInstance, getCurrentScope, inject, onBeforeUnmount, onMounted, onScopeDispose, provide, shallowRef } from "vue";
import { CartClient, CartError } from "./index.js";
import { EMPTY_VIEW } from "./empty-view.js";

/** The view before the client is open (and on the server): an empty bag. */
export { EMPTY_VIEW };

const KEY = Symbol("cartsync");
const onServer = () => typeof window === "undefined";

function notOpen() {
  return onServer()
    ? new CartError("unsupported_environment", "cartsync/vue: the cart opens in the browser; on the server the view stays empty")
    : new CartError("client_closed", "cartsync/vue: the cart is not open yet (ready is false)");
}

function createCart({ onEvent, ...options }) {
  const view = shallowRef(EMPTY_VIEW);
  const client = shallowRef(null);
  const openError = shallowRef(null);
  let opening = null;
  let closed = false;
  let unsubscribe = null;

  function open() {
    if (opening !== null || closed || onServer()) return;
    opening = CartClient.open(options).then(
      (c) => {
        if (closed) {
          c.close();
          throw notOpen();
        }
        unsubscribe = c.subscribe((event) => {
          view.value = c.view();
          onEvent?.(event);
        });
        client.value = c;
        view.value = c.view();
        return c;
      },
      (e) => {
        if (!closed) openError.value = e;
        throw e;
      },
    );
    opening.catch(() => {});
  }

  function close() {
    closed = true;
    unsubscribe?.();
    client.value?.close();
    client.value = null;
  }

  const current = () => {
    if (client.value) return client.value;
    throw openError.value ?? notOpen();
  };
  const command = (name) => (arg) => (view.value = current()[name](arg));
  const later = (name) => async (arg) => (opening && !closed ? await opening : current())[name](arg);
  const ready = computed(() => client.value !== null);

  const cart = {
    view,
    client,
    ready,
    status: computed(() => (ready.value ? view.value.status : openError.value ? "error" : "loading")),
    pending: computed(() => view.value.pending),
    error: computed(() => openError.value ?? view.value.lastError),
    addItem: command("addItem"),
    setQuantity: command("setQuantity"),
    removeItem: command("removeItem"),
    applyCoupon: command("applyCoupon"),
    removeCoupon: command("removeCoupon"),
    selectShipping: command("selectShipping"),
    setDestination: command("setDestination"),
    clear: command("clear"),
    flush: later("flush"),
    login: later("login"),
    logout: later("logout"),
    checkout: later("checkout"),
  };

  if (getCurrentInstance()) {
    onMounted(open);
    onBeforeUnmount(close);
  } else {
    // Outside a component (a store, a test): open now, close with the scope.
    open();
    if (getCurrentScope()) onScopeDispose(close);
  }
  return cart;
}

/**
 * Opens a cart for this component and its descendants (`useCart()` there
 * finds it). `options`: `CartClient.open`'s, plus `onEvent`.
 */
export function provideCart(options) {
  const cart = createCart(options);
  provide(KEY, cart);
  return cart;
}

/**
 * With options: a cart of this component's own, opened on mount, closed
 * on unmount. Without: the cart an ancestor provided (`provideCart`).
 */
export function useCart(options) {
  if (options) return createCart(options);
  const cart = inject(KEY, null);
  if (cart === null) throw new Error("useCart() without options needs provideCart(options) in an ancestor");
  return cart;
}
