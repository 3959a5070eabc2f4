// The view `cartsync/react` and `cartsync/vue` show before the client is
// open, and on the server: an empty bag, frozen (one shape for both).
const list = Object.freeze([]);

export const EMPTY_VIEW = Object.freeze({
  lines: list,
  coupons: list,
  shippingOption: null,
  destination: null,
  shippingOptions: list,
  totals: null,
  version: 0,
  pending: 0,
  status: "syncing",
  lastError: null,
});
