// `cartsync/react`: one `CartClient` per `<CartProvider>`, read with
// `useCart()` through `useSyncExternalStore` over the client's own stable
// snapshots (`view()` keeps its identity until something changes). No JSX:
// this file ships as is.
//
// StrictMode mounts every effect twice in development (mount → unmount →
// mount). The provider's client lives in a holder that counts its users:
// the unmount only schedules the close, and the second mount, which follows
// at once, cancels it; so StrictMode opens one client and never closes the
// one in use. A real unmount closes it a task later.
//
// On the server (no `window`) nothing opens: `useCart()` renders the empty
// view (`status: "loading"`), and the client takes over after hydration.
import { createContext, createElement, useContext, useEffect, useMemo, useRef, useSyncExternalStore } from "react";
import { CartClient, CartError } from "./index.js";
import { EMPTY_VIEW } from "./empty-view.js";

/** The view before the client is open (and on the server): an empty bag. */
export { EMPTY_VIEW };

const onServer = () => typeof window === "undefined";

function notOpen() {
  return onServer()
    ? new CartError("unsupported_environment", "cartsync/react: the cart opens in the browser; on the server useCart() renders the empty view")
    : new CartError("client_closed", "cartsync/react: the cart is not open yet (useCart().ready is false)");
}

const CLOSED = Object.freeze({ client: null, error: null });

/** The provider's client: opened by the first user, closed a task after the last one leaves. */
class Holder {
  constructor(options) {
    this.options = options;
    this.users = 0;
    this.state = CLOSED; // { client, error }: replaced, never mutated
    this.opening = null;
    this.closing = null;
    this.disposed = false;
    this.listeners = new Set();
    this.unsubscribe = null;
    this.onEvent = null;
  }

  acquire() {
    this.users += 1;
    if (this.closing !== null) {
      clearTimeout(this.closing);
      this.closing = null;
    }
    if (this.opening === null && !this.disposed) this.open();
  }

  release() {
    this.users -= 1;
    if (this.users > 0 || this.closing !== null) return;
    this.closing = setTimeout(() => {
      this.closing = null;
      if (this.users === 0) this.dispose();
    }, 0);
  }

  open() {
    this.opening = CartClient.open(this.options).then(
      (client) => {
        if (this.disposed) {
          client.close();
          throw notOpen();
        }
        this.unsubscribe = client.subscribe((event) => {
          this.onEvent?.(event);
          this.emit();
        });
        this.set({ client, error: null });
        return client;
      },
      (error) => {
        if (!this.disposed) this.set({ client: null, error });
        throw error;
      },
    );
    // A failed open is reported through `error`; callers of `ready()` see it too.
    this.opening.catch(() => {});
  }

  dispose() {
    this.disposed = true;
    const { client } = this.state;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (client) client.close();
    this.set(CLOSED);
  }

  set(state) {
    this.state = state;
    this.emit();
  }

  emit() {
    for (const listener of this.listeners) listener();
  }

  subscribe = (listener) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  view = () => this.state.client?.view() ?? EMPTY_VIEW;
  status = () => this.state;

  /** The open client, or the CartError saying why there is none. */
  client() {
    const { client } = this.state;
    if (client) return client;
    throw this.state.error ?? notOpen();
  }

  /** Waits for the open client (async methods may be called before it is open). */
  async ready() {
    if (onServer() || this.disposed || this.opening === null) return this.client();
    return this.opening;
  }
}

const Context = createContext(null);

/**
 * Opens one `CartClient` for its subtree. Props: `CartClient.open`'s
 * options (`endpoint`, `namespace`, `userToken`, `requestTimeoutMs`,
 * `fetch`) and `onEvent`, called with every event (`rejected`, `merged`...).
 * Changing an option opens a new client and closes the old one.
 */
export function CartProvider({ children, onEvent, endpoint, namespace, userToken, requestTimeoutMs, fetch }) {
  const holder = useMemo(
    () => new Holder({ endpoint, namespace, userToken, requestTimeoutMs, fetch }),
    [endpoint, namespace, userToken, requestTimeoutMs, fetch],
  );
  const latest = useRef(onEvent);
  latest.current = onEvent;
  holder.onEvent = (event) => latest.current?.(event);
  useEffect(() => {
    holder.acquire();
    return () => holder.release();
  }, [holder]);
  return createElement(Context.Provider, { value: holder }, children);
}

/**
 * The cart of the nearest `<CartProvider>`: the view (a frozen snapshot,
 * the same object until it changes), the sync state and the client's
 * methods (stable functions). Commands throw `CartError` `client_closed`
 * until the client is open (`ready`), and `unsupported_environment` on the
 * server; `flush`, `login`, `logout` and `checkout` wait for the client.
 */
export function useCart() {
  const holder = useContext(Context);
  if (holder === null) throw new Error("useCart() must be used inside <CartProvider>");
  const view = useSyncExternalStore(holder.subscribe, holder.view, serverView);
  const state = useSyncExternalStore(holder.subscribe, holder.status, serverState);
  const methods = useMemo(() => bind(holder), [holder]);
  return useMemo(() => {
    const ready = state.client !== null;
    return {
      view,
      ready,
      status: ready ? view.status : state.error ? "error" : "loading",
      pending: view.pending,
      error: state.error ?? view.lastError,
      client: state.client,
      ...methods,
    };
  }, [view, state, methods]);
}

const serverView = () => EMPTY_VIEW;
const serverState = () => CLOSED;

function bind(holder) {
  const command = (name) => (arg) => holder.client()[name](arg);
  const later = (name) => async (arg) => (await holder.ready())[name](arg);
  return {
    addItem: command("addItem"),
    setQuantity: command("setQuantity"),
    removeItem: command("removeItem"),
    applyCoupon: command("applyCoupon"),
    removeCoupon: command("removeCoupon"),
    selectShipping: command("selectShipping"),
    setDestination: command("setDestination"),
    clear: () => holder.client().clear(),
    flush: later("flush"),
    login: later("login"),
    logout: later("logout"),
    checkout: later("checkout"),
  };
}
