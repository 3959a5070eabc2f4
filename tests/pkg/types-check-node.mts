// Compiled with `tsc --noEmit` under `moduleResolution: nodenext` against
// the packed package (scripts/pkg-smoke.sh): what a Node user (a backend, or
// server-side rendering) imports from "cartsync" is declared as it is at
// run time: the rules, CartClient and CartError.
import { CartClient, CartError, applyBatch, mergeCarts, ready, type v1 } from "cartsync";

export async function ssr(): Promise<string> {
  await ready();
  try {
    await CartClient.open({ endpoint: "/api/v1" });
    return "opened";
  } catch (e) {
    return e instanceof CartError ? e.code : "unknown";
  }
}

export function backend(account: v1.Cart, anonymous: v1.Cart): v1.MergeReport {
  const decided: v1.BatchDecision = applyBatch(account, [], {});
  console.log(decided.cart.version);
  return mergeCarts(account, anonymous).report;
}
