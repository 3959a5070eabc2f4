// The storefront's service worker: it keeps the shop loadable with no
// network. Registered by js/app.js as a module worker at scope "/".
//
// - install: precaches the app shell (the page, its stylesheet, every module
//   of js/, the images it shows, the manifest, and the cartsync package files
//   the page boots from, the wasm included) in a cache named after
//   SHELL_VERSION, all or nothing;
// - activate: deletes the shell caches of older versions and takes control of
//   open pages at once (skipWaiting + clients.claim), so the very first visit
//   is already covered;
// - navigations: network first; with no network, the cached page (any deep
//   link renders the shop, which reads the bag and catalog from localStorage);
// - static files of this origin: from the cache, refreshed in the background
//   (stale-while-revalidate), so a deploy reaches the next load;
// - /api/ and everything else: not touched (no respondWith), so the request
//   goes to the network as if there were no worker. API answers are never
//   cached: the cart's offline record is the SDK's, in localStorage.
//
// A module worker: only static imports, and every listener is registered
// synchronously at the top level. No top-level await and no import(): both
// stop a service worker from starting.

// cartsync/sw: the package's worker part sends the cart's pending mutations
// when no tab of the shop is open (Background Sync `cartsync-flush`), from
// the copy pages keep in IndexedDB. Its wasm is precached below, so it
// starts offline too.
import { cartsyncWorker } from "./vendor/cartsync/sw.js";
cartsyncWorker({ endpoint: "/api/v1" });

/** Bump when the file list or the package changes: the new worker installs
 *  a fresh cache, all at once (the glue and its wasm must match), and
 *  deletes the old one. Other edits reach the next load through the
 *  background refresh below. */
const SHELL_VERSION = "v1";
const CACHE_PREFIX = "tidewater-shell-";
const SHELL_CACHE = CACHE_PREFIX + SHELL_VERSION;

/** The page that renders the shop, served for every navigation offline. */
const PAGE = "/index.html";

/** What the page needs to boot offline. The package files are those the page
 *  loads: js/app.js imports vendor/cartsync/index.js, which imports the
 *  wasm-bindgen glue and errors.js and fetches the wasm next to the glue. */
const SHELL = [
  "/",
  PAGE,
  "/styles.css",
  "/manifest.webmanifest",
  "/js/app.js",
  "/js/cart.js",
  "/js/catalog.js",
  "/js/checkout.js",
  "/js/copy.js",
  "/js/delivery.js",
  "/js/dom.js",
  "/js/notices.js",
  "/js/order.js",
  "/vendor/cartsync/index.js",
  "/vendor/cartsync/errors.js",
  "/vendor/cartsync/sw.js",
  "/vendor/cartsync/sw/cartsync.js",
  "/vendor/cartsync/sw/cartsync_bg.wasm",
  "/vendor/cartsync/web/cartsync.js",
  "/vendor/cartsync/web/cartsync_bg.wasm",
  "/images/favicon.svg",
  "/images/icon-192.png",
  "/images/icon-512.png",
  "/images/icon-maskable-512.png",
  // The demo catalog's product illustrations (/images/<sku>.svg). A product
  // added later is cached the first time the page shows it.
  ...[
    "backpack-daypack", "beanie-rust", "blanket-wool", "bottle-steel", "candle-cedar", "cap-canvas",
    "gift-card-50", "hoodie-forest", "hoodie-grey", "jacket-rain", "lamp-desk", "last-one-vase",
    "mug-enamel", "notebook-a5", "pen-brass", "plant-pot", "poster-tides", "sneaker-white",
    "socks-stripe", "sticker-pack", "tee-black", "tee-navy", "tee-white", "tote-natural",
  ].map((sku) => `/images/${sku}.svg`),
];

/** Paths served from the cache: the shell, and any file under these folders. */
const STATIC_DIRS = ["/js/", "/vendor/", "/images/"];
const SHELL_PATHS = new Set(SHELL);

self.addEventListener("install", (event) => {
  // `reload`: straight from the server, never from the HTTP cache, so a new
  // version never precaches an old file.
  event.waitUntil(
    caches
      .open(SHELL_CACHE)
      .then((cache) => cache.addAll(SHELL.map((path) => new Request(path, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith(CACHE_PREFIX) && n !== SHELL_CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  // The API is the network's, always: no respondWith, nothing cached.
  if (url.pathname.startsWith("/api/")) return;
  if (request.mode === "navigate") {
    event.respondWith(navigate(event));
  } else if (SHELL_PATHS.has(url.pathname) || STATIC_DIRS.some((dir) => url.pathname.startsWith(dir))) {
    event.respondWith(staleWhileRevalidate(event));
  }
});

/** Network first; a fresh copy of the page replaces the cached one. Offline
 *  (the fetch rejects), the cached page, whatever the path or query. */
async function navigate(event) {
  const { request } = event;
  try {
    const response = await fetch(request);
    const path = new URL(request.url).pathname;
    if (response.status === 200 && (path === "/" || path === PAGE)) {
      // One page under both names, so every fallback serves the same copy.
      const copies = [response.clone(), response.clone()];
      event.waitUntil(caches.open(SHELL_CACHE).then((cache) => Promise.all([cache.put("/", copies[0]), cache.put(PAGE, copies[1])])).catch(() => {}));
    }
    return response;
  } catch (err) {
    const cached = (await caches.match(request, { ignoreSearch: true, cacheName: SHELL_CACHE })) ?? (await caches.match(PAGE, { cacheName: SHELL_CACHE }));
    if (cached) return cached;
    throw err;
  }
}

/** The cached copy at once, refreshed in the background; the network when
 *  nothing is cached yet. Only whole (200), same-origin answers are stored,
 *  and a store that fails (quota) never fails the answer. */
async function staleWhileRevalidate(event) {
  const { request } = event;
  const cache = await caches.open(SHELL_CACHE);
  const cached = await cache.match(request);
  // `no-cache`: a conditional request to the server (a 304 costs little),
  // so the HTTP cache's heuristic freshness never hides a deploy.
  const refresh = fetch(request, { cache: "no-cache" }).then((response) => {
    if (response.status === 200 && response.type === "basic") {
      event.waitUntil(cache.put(request, response.clone()).catch(() => {}));
    }
    return response;
  });
  if (cached) {
    // Offline the refresh fails; the cached copy has already answered.
    event.waitUntil(refresh.catch(() => {}));
    return cached;
  }
  return refresh;
}
