// What the shop says about events the SDK reports, in the shopper's words.
// Codes are cartsync's stable error codes (docs/protocol.md).
import { shippingReason } from "./delivery.js";

const COUPON_REASONS = {
  expired: "this code has expired",
  minimum_not_met: "your bag doesn't reach this code's minimum yet",
  unknown_coupon: "this isn't a code we know",
};

export const couponReason = (reason) => COUPON_REASONS[reason] ?? reason ?? "not accepted";

const REJECTIONS = {
  unknown_sku: "is no longer sold",
  quantity_out_of_range: "can be ordered 1 to 999 at a time",
  too_many_lines: "doesn't fit: a bag holds at most 100 different items",
  too_many_coupons: "doesn't fit: a bag takes at most 10 codes",
  invalid_coupon_code: "isn't a valid code",
  unknown_shipping_option: "isn't a delivery option we offer",
  shipping_option_unavailable: "can't take your bag as it is now",
  invalid_destination: "isn't an address we can deliver to",
  idempotency_key_reused: "was sent twice with different content",
};

/** "Studio Vase could not be added: is no longer sold". */
export function rejectionText(event, name) {
  const verb = {
    add_item: "could not be added",
    set_quantity: "could not be changed",
    remove_item: "could not be removed",
    apply_coupon: "could not be applied",
    remove_coupon: "could not be removed",
    select_shipping: "could not be selected",
    set_destination: "could not be saved",
    clear: "could not be cleared",
  }[event.command] ?? "was not accepted";
  return `${name} ${verb}: ${REJECTIONS[event.code] ?? event.message}.`;
}

/** One sentence per reconciliation (the SDK's `reconciled` event). */
export function reconciliationText(change, nameOf) {
  switch (change.kind) {
    case "restored":
      return `${nameOf(change.sku)} was removed elsewhere; we kept your choice of ${change.quantity}.`;
    case "would_reject":
      return `A change no longer applies: ${change.error?.message ?? "the bag changed elsewhere"}.`;
    case "coupon_pending":
      return `Code ${change.code} will be checked again against your updated bag.`;
    case "shipping_unavailable":
      return `Your delivery option ${change.option} ${shippingReason(change.cause, nameOf)}. Choose another before you check out.`;
    default:
      return "Your bag was updated from another tab or device.";
  }
}

/** Error codes thrown by cart calls, for a toast. */
export function errorText(err) {
  switch (err?.code) {
    case "network_error":
    case "timeout":
      return "We can't reach the store right now. Your bag is saved on this device; try again in a moment.";
    case "cart_empty":
      return "Your bag is empty.";
    case "cart_closed":
      return "This bag was already ordered. We've started a fresh one.";
    case "no_cart":
      return "Your bag hasn't reached the store yet. Try again once it has synced.";
    case "quantity_out_of_range":
      return "Quantities go from 1 to 999.";
    case "invalid_coupon_code":
      return "That doesn't look like a promo code.";
    case "invalid_destination":
      return /postal_code/.test(err.message ?? "")
        ? "That postal code doesn't match the country."
        : "Please choose a country.";
    case "shipping_option_unavailable":
      return `That delivery option can't take your bag: ${(err.message ?? "").replace(/^.*cannot take this cart: /, "")}.`;
    case "payment_unavailable":
      return "Your order is placed, but the payment service didn't answer. Check out again to see how to pay.";
    case "unauthorized":
      return "Your sign-in has expired. Please sign in again.";
    default:
      return err?.message ?? String(err);
  }
}
