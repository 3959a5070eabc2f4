import type { CartEvent, CartView, OpenOptions, Options } from "./types.js";
import type { CheckoutProblem } from "./types/v1/CheckoutProblem.js";
import type { MergeReport } from "./types/v1/MergeReport.js";
import type { Order } from "./types/v1/Order.js";
export type * from "./types.js";

/** An error thrown by cartsync: `name === "CartError"` and a stable `code`. */
export declare class CartError extends Error {
  constructor(code: string, message: string);
  readonly code: string;
}

/** Loads the wasm module (done for you by `CartClient.open`). */
export declare function ready(moduleOrPath?: string | URL | Response | BufferSource | WebAssembly.Module): Promise<unknown>;

export declare class CartClient {
  private constructor(core: unknown);
  static open(options: OpenOptions): Promise<CartClient>;
  addItem(args: { sku: string; quantity?: number; options?: Options }): CartView;
  setQuantity(args: { sku: string; options?: Options; quantity: number }): CartView;
  removeItem(args: { sku: string; options?: Options }): CartView;
  applyCoupon(code: string): CartView;
  removeCoupon(code: string): CartView;
  selectShipping(option: string): CartView;
  clear(): CartView;
  view(): CartView;
  subscribe(listener: (event: CartEvent) => void): () => void;
  flush(): Promise<void>;
  login(userToken: string): Promise<MergeReport>;
  logout(): Promise<void>;
  checkout(options?: { idempotencyKey?: string }): Promise<{ order: Order } | { problems: CheckoutProblem[]; cart: CartView }>;
  close(): void;
}
