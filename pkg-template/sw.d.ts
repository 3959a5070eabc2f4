// cartsync/sw: the service-worker part (see sw.js and the README).
import type { OpenOptions } from "./types.js";
import type { WorkerFlushReport } from "./sw/cartsync.js";
export type { WorkerFlushReport };

/** The Background Sync tag pages register: `"cartsync-flush"`. */
export declare const SYNC_TAG: "cartsync-flush";

/**
 * Installs cartsync's `sync` and `message` handlers on the worker's scope
 * (call it when the worker script runs). `flush()` sends what the pages
 * left pending, unless a tab holds the flush lock.
 */
export declare function cartsyncWorker(
  options: OpenOptions,
  scope?: ServiceWorkerGlobalScope,
): { flush(): Promise<WorkerFlushReport> };
