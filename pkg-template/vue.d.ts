// `cartsync/vue`: `useCart(options)` (a client of the component's own) or
// `provideCart(options)` + `useCart()` (one client for a subtree).
import type { ComputedRef, ShallowRef } from "vue";
import type { CartClient } from "./index.js";
import type {
  AddItemArgs,
  CartEvent,
  CartView,
  CheckoutOptions,
  CheckoutResult,
  MergeReport,
  OpenOptions,
  RemoveItemArgs,
  SetDestinationArgs,
  SetQuantityArgs,
  SyncStatus,
} from "./types.js";

/** The view before the client is open, and on the server: an empty bag. */
export declare const EMPTY_VIEW: CartView;

export type UseCartOptions = OpenOptions & {
  /** Every event the client emits (`rejected`, `merged`, `reconciled`...). */
  onEvent?: (event: CartEvent) => void;
};

/** `"loading"` until the client is open (and always on the server). */
export type CartStatus = SyncStatus | "loading";

export interface UseCart {
  /** The client's snapshot, replaced (never mutated) when something changes. */
  view: Readonly<ShallowRef<CartView>>;
  /** The open client (`token()`...), `null` before it opens. */
  client: Readonly<ShallowRef<CartClient | null>>;
  /** Whether the client is open (commands throw `client_closed` before). */
  ready: ComputedRef<boolean>;
  status: ComputedRef<CartStatus>;
  /** Mutations the server has not acknowledged yet. */
  pending: ComputedRef<number>;
  /** Why the client could not open, else the view's `lastError`. */
  error: ComputedRef<{ code: string; message: string } | null>;
  addItem(args: AddItemArgs): CartView;
  setQuantity(args: SetQuantityArgs): CartView;
  removeItem(args: RemoveItemArgs): CartView;
  applyCoupon(code: string): CartView;
  removeCoupon(code: string): CartView;
  selectShipping(option: string): CartView;
  setDestination(args: SetDestinationArgs): CartView;
  clear(): CartView;
  /** These wait for the client to open; on the server they reject with `unsupported_environment`. */
  flush(): Promise<void>;
  login(userToken: string): Promise<MergeReport>;
  logout(): Promise<void>;
  checkout(options?: CheckoutOptions): Promise<CheckoutResult>;
}

/**
 * Opens a cart for this component and its descendants (opened on mount,
 * closed on unmount; nothing opens on the server).
 */
export declare function provideCart(options: UseCartOptions): UseCart;

/**
 * With options: a cart of this component's own. Without: the one an
 * ancestor provided with `provideCart`.
 *
 * ```ts
 * const { view, pending, addItem } = useCart({ endpoint: "/api/v1" });
 * ```
 */
export declare function useCart(options?: UseCartOptions): UseCart;
