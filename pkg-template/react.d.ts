// `cartsync/react`: `<CartProvider>` opens one `CartClient`; `useCart()`
// reads it (useSyncExternalStore over the client's stable snapshots).
import type { ReactNode } from "react";
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

export type CartProviderProps = OpenOptions & {
  children?: ReactNode;
  /** Every event the client emits (`rejected`, `merged`, `reconciled`...). */
  onEvent?: (event: CartEvent) => void;
};

/**
 * Opens one `CartClient` for its subtree (StrictMode's double mount
 * included) and closes it when unmounted; changing an option opens a new
 * one. Nothing opens on the server.
 *
 * ```tsx
 * <CartProvider endpoint="/api/v1"><Bag /></CartProvider>
 * ```
 */
export declare function CartProvider(props: CartProviderProps): ReactNode;

/** `"loading"` until the client is open (and always on the server). */
export type CartStatus = SyncStatus | "loading";

export interface UseCart {
  /** A frozen snapshot: the same object until something changes. */
  view: CartView;
  /** Whether the client is open (commands throw `client_closed` before). */
  ready: boolean;
  status: CartStatus;
  /** Mutations the server has not acknowledged yet. */
  pending: number;
  /** Why the client could not open, else the view's `lastError`. */
  error: { code: string; message: string } | null;
  /** The open client, for anything else (`token()`...); `null` before. */
  client: CartClient | null;
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
 * The cart of the nearest `<CartProvider>`; its methods are stable.
 *
 * ```tsx
 * const { view, pending, addItem } = useCart();
 * ```
 */
export declare function useCart(): UseCart;
