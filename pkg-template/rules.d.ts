export { CartError } from "./index.js";
export declare function ready(moduleOrPath?: string | URL | Response | BufferSource | WebAssembly.Module): Promise<unknown>;
/** Throws a CartError if the command (protocol v1 shape) is invalid on its own. */
export declare function validateCommand(command: unknown): void;
/** The command applied to the cart (version untouched), or a thrown CartError. */
export declare function applyCommand(cart: unknown, command: unknown): unknown;
/** The authority's decision on a batch: `{cart, results, records, events, conflict}`. */
export declare function applyBatch(cart: unknown, mutations: unknown[], records?: unknown): unknown;
/** Login merge: `{cart, report}`. */
export declare function mergeCarts(account: unknown, anonymous: unknown): unknown;
/** Pending mutations rebased onto a server cart: `{cart, reconciliations}`. */
export declare function rebasePending(server: unknown, pending: unknown[]): unknown;
