// Shapes of the values cartsync hands to JavaScript. The client API is
// camelCase; the pure rules (`cartsync/rules`, Node) take and return
// protocol v1's snake_case objects (docs/protocol.md).

export interface Money { amount: number; currency: string }
export type Options = Record<string, string>;
export interface Coupon { code: string; state: "pending" | "applied" | "rejected"; reason?: string }
export interface Line {
  sku: string;
  options: Options;
  quantity: number;
  name?: string | null;
  unitPrice?: Money | null;
  image?: string | null;
}
export interface Totals { subtotal: Money; discount: Money; estimatedTotal: Money }
export interface CartView {
  lines: Line[];
  coupons: Coupon[];
  shippingOption: string | null;
  totals: Totals | null;
  version: number;
  pending: number;
  status: "synced" | "syncing" | "offline" | "error";
  lastError: { code: string; message: string } | null;
}
export interface LineKey { sku: string; options: Options }
export type CartEvent =
  | { type: "change" }
  | { type: "rejected"; mutationId: string; command: string; code: string; message: string; line: LineKey | null }
  | { type: "reconciled"; changes: Array<Record<string, unknown> & { kind: "restored" | "would_reject" | "coupon_pending" }> }
  | { type: "conflict"; serverVersion: number }
  | { type: "expired"; mutationId: string; command: string; createdAt: number }
  | { type: "merged"; report: MergeReport }
  | { type: "cartReplaced"; code: string; message: string }
  | { type: "storageError"; error: Error };
export interface MergeReport {
  summed: Array<{ sku: string; options: Options; account_quantity: number; anonymous_quantity: number; quantity: number; excess: number }>;
  added: Array<{ sku: string; options: Options; quantity: number }>;
  dropped: Array<{ sku: string; options: Options; quantity: number }>;
  coupons_pending: string[];
  coupons_dropped: string[];
  shipping_option: string | null;
}
export type CheckoutProblem =
  | { type: "price_changed"; sku: string; options: Options; old_price: Money | null; new_price: Money }
  | { type: "out_of_stock"; sku: string; options: Options; requested: number; available: number }
  | { type: "coupon_rejected"; code: string; reason: string }
  | { type: "total_changed"; expected: Money; actual: Money };
export interface Order {
  id: string;
  status: string;
  lines: Array<{ sku: string; options: Options; quantity: number; name: string; unit_price: Money }>;
  coupons: string[];
  shipping_option: string | null;
  totals: { subtotal: Money; discount: Money; estimated_total: Money };
  created_at: number;
}
export interface OpenOptions {
  /** The API base, e.g. "/api/v1". */
  endpoint: string;
  /** Prefix for storage keys (several carts on one origin). */
  namespace?: string;
  fetch?: typeof fetch;
  userToken?: string;
  requestTimeoutMs?: number;
}
