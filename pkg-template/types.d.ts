// Shapes of the values cartsync hands to JavaScript.
//
// Protocol v1's wire types (snake_case: what the server sends, what the
// rules in `cartsync/rules` take and return, and the merge report, order
// and checkout problems the client passes through) are generated from the
// Rust types by ts-rs into types/v1/ (`cargo test -p cartsync-core
// --features ts`; `make test` fails when they are stale). The client's own
// camelCase view and events, written by the binding's src/convert/api.rs,
// are declared here; the browser and package tests read them as declared.
import type { Money } from "./types/v1/Money.js";
import type { Coupon } from "./types/v1/Coupon.js";
import type { MergeReport } from "./types/v1/MergeReport.js";
import type { Reconciliation } from "./types/v1/Reconciliation.js";
/** Protocol v1 wire types, generated from the Rust types. */
export type * as v1 from "./types/v1/index.js";

export type Options = Record<string, string>;
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
  | { type: "reconciled"; changes: Reconciliation[] }
  | { type: "conflict"; serverVersion: number }
  | { type: "expired"; mutationId: string; command: string; createdAt: number }
  | { type: "merged"; report: MergeReport }
  | { type: "cartReplaced"; code: string; message: string }
  | { type: "storageError"; error: Error };
export interface OpenOptions {
  /** The API base, e.g. "/api/v1". */
  endpoint: string;
  /** Prefix for storage keys (several carts on one origin). */
  namespace?: string;
  fetch?: typeof fetch;
  userToken?: string;
  requestTimeoutMs?: number;
}
