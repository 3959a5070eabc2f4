// cartsync/sw: the service-worker part of cartsync, for a shop to serve
// from its own origin (or import into its existing module worker).
//
//   import { cartsyncWorker } from "cartsync/sw";
//   cartsyncWorker({ endpoint: "/api/v1" });
//
// Pages copy their pending mutations to IndexedDB after localStorage; this
// worker sends that copy when no tab does: on Background Sync
// (`cartsync-flush`, which pages register when something is stuck), when
// a page asks (`postMessage({type: "cartsync-flush"})`), and where the
// browser has no Background Sync, whenever the worker starts. The sending
// itself is Rust (`flushPending`): the same engine as the pages, the same
// mutation ids and base versions, the same flush lock.
//
// Listeners are added synchronously when the worker script runs (a
// service worker may not add them later), and the module is instantiated
// lazily inside each event: a worker may not `await` at its top level.
import init, { flushPending } from "./sw/cartsync.js";

/** The Background Sync tag pages register. */
export const SYNC_TAG = "cartsync-flush";

const WASM_URL = new URL("./sw/cartsync_bg.wasm", import.meta.url).href;
let loading;

// A worker's own fetch() does not go through its cache handler: offline,
// the module comes from Cache Storage when the shop precached it.
function load() {
  loading ??= caches
    .match(WASM_URL)
    .catch(() => undefined)
    .then((cached) => init({ module_or_path: cached ?? WASM_URL }))
    .catch((e) => {
      loading = undefined;
      throw e;
    });
  return loading;
}

/**
 * Installs the cartsync handlers on `scope` (the worker's global scope).
 * `options` are those of `CartClient.open` (`endpoint`, `namespace`,
 * `requestTimeoutMs`). Returns `flush()`, which resolves to
 * `{busy, requests, acknowledged, rejected, remaining}` and rejects when a
 * send failed with something still pending.
 */
export function cartsyncWorker(options, scope = self) {
  const flush = async () => {
    await load();
    return flushPending(options);
  };
  scope.addEventListener("sync", (event) => {
    // A rejection makes the browser retry later.
    if (event.tag === SYNC_TAG) event.waitUntil(flush());
  });
  scope.addEventListener("message", (event) => {
    if (event.data?.type === SYNC_TAG) event.waitUntil(flush().catch(() => {}));
  });
  if (!("sync" in (scope.registration ?? {}))) {
    // No Background Sync (Firefox, Safari, WebViews): try at every start.
    flush().catch(() => {});
  }
  return { flush };
}
