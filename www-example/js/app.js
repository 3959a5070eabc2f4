// Tidewater Supply Co.: the cartsync demo storefront. Plain ES modules, no
// build step. The cart lives in the cartsync package (served from
// vendor/cartsync/ by `make demo`); this file wires it to the page.
import { CartClient } from "../vendor/cartsync/index.js";
import { $, fill, h, plural, lineKey } from "./dom.js";
import { loadCatalog, renderCatalog } from "./catalog.js";
import { drawerContent } from "./cart.js";
import { orderContent } from "./order.js";
import { errorText, reconciliationText, rejectionText } from "./copy.js";
import { renderReport, reportIsEmpty, toast } from "./notices.js";

const API = "/api/v1";
/** The signed-in name (display only: the SDK keeps the user token). */
const USER_KEY = "tidewater:user";

const state = {
  cart: null,
  view: { lines: [], coupons: [], shippingOption: null, destination: null, shippingOptions: [], totals: null, pending: 0, status: "synced", lastError: null },
  catalog: new Map(),
  /** null | {phase: "busy"} | {phase: "problems", problems, view, busy} */
  checkout: null,
  drawerOpen: false,
  /** The drawer's own state: the destination form. */
  ui: { editingDestination: false, destinationError: null },
  /** The order in the confirmation dialog, followed until it settles. */
  order: null,
};

/** How often an order waiting for payment is read again. */
const ORDER_POLL_MS = 1500;

const nameOf = (sku) => state.catalog.get(sku)?.name ?? sku;

// ---- commands -------------------------------------------------------------

/** Runs a cart command; a refused command (invalid input) becomes a toast. */
function command(fn) {
  try {
    fn(state.cart);
    state.view = state.cart.view();
    render();
    return true;
  } catch (err) {
    toast(errorText(err), { kind: "error", type: "error" });
    render(); // puts back what the refused input showed
    return false;
  }
}

const act = {
  add: (product, options) => command((c) => c.addItem({ sku: product.sku, quantity: 1, options })),
  setQuantity: (line, q) =>
    command((c) => (q <= 0 ? c.removeItem({ sku: line.sku, options: line.options }) : c.setQuantity({ sku: line.sku, options: line.options, quantity: q }))),
  removeItem: (line) => command((c) => c.removeItem({ sku: line.sku, options: line.options })),
  applyCoupon: (code) => command((c) => c.applyCoupon(code)),
  removeCoupon: (code) => command((c) => c.removeCoupon(code)),
  selectShipping: (option) => command((c) => c.selectShipping(option)),
  setDestination: (destination) => {
    try {
      state.cart.setDestination(destination);
      state.ui = { editingDestination: false, destinationError: null };
    } catch (err) {
      state.ui = { editingDestination: true, destinationError: errorText(err) };
    }
    state.view = state.cart.view();
    render();
  },
  editDestination: () => {
    state.ui = { editingDestination: true, destinationError: null };
    render();
  },
  checkout: () => checkout(),
  confirm: () => checkout(),
  backToBag: () => {
    state.checkout = null;
    render();
  },
  closeDrawer: () => openDrawer(false),
};

/** Fixing a problem from the review panel returns to the bag. */
const reviewAct = {
  ...act,
  setQuantity: (line, q) => {
    state.checkout = null;
    act.setQuantity(line, q);
  },
  removeItem: (line) => {
    state.checkout = null;
    act.removeItem(line);
  },
};

async function checkout() {
  state.checkout = state.checkout?.phase === "problems" ? { ...state.checkout, busy: true } : { phase: "busy" };
  render();
  try {
    const result = await state.cart.checkout();
    if (result.order) {
      state.checkout = null;
      showOrder(result.order);
    } else {
      state.checkout = { phase: "problems", problems: result.problems, view: result.cart, busy: false };
    }
    refreshCatalog();
  } catch (err) {
    state.checkout = null;
    toast(errorText(err), { kind: "error", type: "checkout-error" });
  }
  state.view = state.cart.view();
  render();
}

function showOrder(order) {
  const dialog = $("#order-dialog");
  state.order = order;
  renderOrder();
  openDrawer(false);
  dialog.showModal();
  followOrder(order.id);
}

function renderOrder() {
  const dialog = $("#order-dialog");
  if (!state.order) return;
  fill($("#order-body"), orderContent(state.order, state.catalog, { onClose: () => dialog.close(), onSimulate: simulateBank }));
}

/** Reads the order again while it waits for payment and the dialog shows
 *  it: its status (paid, failed, expired) changes on the server. */
async function followOrder(id) {
  const dialog = $("#order-dialog");
  while (dialog.open && state.order?.id === id && state.order.status === "pending_payment") {
    await new Promise((resolve) => setTimeout(resolve, ORDER_POLL_MS));
    try {
      const res = await fetch(`${API}/orders/${encodeURIComponent(id)}`, { cache: "no-store" });
      if (!res.ok) continue;
      const { order } = await res.json();
      if (state.order?.id !== id) return;
      if (order.status !== state.order.status) {
        state.order = camelOrder(order);
        renderOrder();
        refreshCatalog();
      }
    } catch {
      // Offline for a moment: the next read tells.
    }
  }
}

/** `GET /orders/{id}` speaks the protocol (snake_case); the dialog reads the
 *  SDK's camelCase, as `checkout()` returns it. */
function camelOrder(value) {
  if (Array.isArray(value)) return value.map(camelOrder);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k === "options" ? k : k.replace(/_([a-z])/g, (_, c) => c.toUpperCase()), k === "options" ? v : camelOrder(v)]),
  );
}

/** The demo's bank (`--dev`): sends the transfer's signed callback. */
async function simulateBank(type) {
  const id = state.order?.id;
  if (!id) return;
  const res = await fetch(`${API}/admin/orders/${encodeURIComponent(id)}/transfer`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ type }),
  }).catch(() => null);
  if (!res?.ok) {
    toast(res?.status === 404 ? "Playing the bank needs the demo server (--dev)." : "The bank did not answer.", { kind: "warning", type: "bank" });
  }
}

// ---- account --------------------------------------------------------------

// The dev login only mints a token, so a request that got no answer (a
// dropped connection, an answer cut on the way back) or a 5xx is simply
// sent again, a few times, before the shopper is told.
async function devLogin(user) {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(`${API}/dev/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ user }),
      });
      const body = await res.json();
      if (res.status < 500 || attempt === 4) return { res, body };
    } catch (e) {
      if (attempt === 4) throw e;
    }
    await new Promise((r) => setTimeout(r, 200 * attempt));
  }
}

async function signIn(user) {
  const { res, body } = await devLogin(user);
  if (!res.ok) throw new Error(body.message ?? `sign-in failed (${res.status})`);
  const report = await state.cart.login(body.token);
  localStorage.setItem(USER_KEY, user);
  renderAccount();
  if (reportIsEmpty(report)) {
    toast(`Signed in as ${user}.`, { kind: "success", type: "signed-in" });
  } else {
    renderReport($("#report-body"), user, report, nameOf);
    $("#report-dialog").showModal();
  }
}

async function signOut() {
  await state.cart.logout();
  localStorage.removeItem(USER_KEY);
  state.view = state.cart.view();
  renderAccount();
  render();
  toast("Signed out. You're shopping as a guest.", { type: "signed-out" });
}

function renderAccount() {
  const user = localStorage.getItem(USER_KEY);
  fill(
    $("#account"),
    user
      ? [
          h("span", { class: "account__name", "data-testid": "account-name" }, `Hi, ${user}`),
          h("button", { type: "button", class: "link", "data-testid": "sign-out", onclick: () => signOut().catch((e) => toast(errorText(e), { kind: "error" })) }, "Sign out"),
        ]
      : h("button", { type: "button", class: "link", "data-testid": "sign-in", onclick: () => openLogin() }, "Sign in"),
  );
}

function openLogin() {
  $("#login-error").hidden = true;
  $("#login-dialog").showModal();
  $("#login-user").focus();
}

function wireLogin() {
  const dialog = $("#login-dialog");
  $("#login-cancel").addEventListener("click", () => dialog.close());
  $("#login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const user = $("#login-user").value.trim();
    const submit = $("#login-submit");
    submit.disabled = true;
    submit.textContent = "Signing in…";
    try {
      await signIn(user);
      dialog.close();
    } catch (err) {
      const error = $("#login-error");
      error.textContent = errorText(err);
      error.hidden = false;
    } finally {
      submit.disabled = false;
      submit.textContent = "Sign in";
    }
  });
  $("#report-close").addEventListener("click", () => $("#report-dialog").close());
  // Another tab signed in or out.
  window.addEventListener("storage", (e) => e.key === USER_KEY && renderAccount());
}

// ---- SDK events -------------------------------------------------------------

function onEvent(event) {
  switch (event.type) {
    case "rejected":
      toast(rejectionText(event, event.line ? nameOf(event.line.sku) : "Your change"), { kind: "warning", type: "rejected" });
      break;
    case "reconciled":
      for (const change of event.changes) toast(reconciliationText(change, nameOf), { type: "reconciled" });
      break;
    case "expired":
      toast("A change older than a week could not be sent and was dropped.", { kind: "warning", type: "expired" });
      break;
    case "cartReplaced":
      toast(`Your bag was replaced by the store: ${event.message}`, { kind: "warning", type: "cart-replaced" });
      break;
    case "storageError":
      toast("This browser isn't saving your bag (storage is full or disabled).", { kind: "error", type: "storage-error" });
      break;
    default:
      break;
  }
  state.view = state.cart.view();
  render();
}

// ---- rendering --------------------------------------------------------------

const STATUS_TEXT = {
  synced: () => "All changes saved",
  syncing: (v) => `Saving ${plural(v.pending, "change")}…`,
  offline: (v) => (v.pending ? `Offline · ${plural(v.pending, "change")} kept here` : "Offline"),
  error: (v) => (unreachable(v) ? "Can't reach the store · retrying" : `Sync problem: ${v.lastError?.message ?? "retrying"}`),
};

const unreachable = (v) => v.status === "error" && ["network_error", "timeout"].includes(v.lastError?.code);

function renderStatus(v) {
  const el = $("#sync-status");
  el.dataset.status = v.status;
  el.dataset.pending = String(v.pending);
  $(".sync__text", el).textContent = STATUS_TEXT[v.status]?.(v) ?? v.status;

  const badge = $("#pending-badge");
  badge.hidden = v.pending === 0;
  badge.textContent = String(v.pending);
  badge.dataset.count = String(v.pending);
  badge.setAttribute("aria-label", `${plural(v.pending, "change")} not yet synced`);
  $("#cart-count").textContent = String(v.lines.reduce((n, l) => n + l.quantity, 0));

  const banner = $("#offline-banner");
  const offline = v.status === "offline";
  banner.hidden = !(offline || unreachable(v));
  banner.dataset.kind = offline ? "offline" : "unreachable";
  $("#offline-text").textContent = offline
    ? "You're offline. Keep shopping: your bag is saved on this device and syncs when you're back."
    : "We can't reach the store right now. Your bag is saved on this device and syncs as soon as we can.";
  $("#retry-now").hidden = offline;
}

/** Re-renders the drawer. What the shopper is typing survives: the promo
 *  code field keeps its text, and a focused quantity input keeps focus and
 *  value, so a sync or a change from another tab never eats a keystroke. */
function renderDrawer() {
  const body = $("#drawer-body");
  const typed = [...body.querySelectorAll("[data-keep]")].map((el) => [el.dataset.keep, el.value]);
  const focused = document.activeElement?.closest?.("#drawer-body") ? document.activeElement : null;
  const keep = focused?.dataset.line ? { line: focused.dataset.line, value: focused.value } : null;
  const refocus = focused?.dataset.keep;
  fill(body, drawerContent({ view: state.view, catalog: state.catalog, checkout: state.checkout, act: state.checkout?.phase === "problems" ? reviewAct : act, ui: state.ui }));
  for (const [key, value] of typed) {
    const input = body.querySelector(`[data-keep="${CSS.escape(key)}"]`);
    if (input) input.value = value;
  }
  if (refocus) body.querySelector(`[data-keep="${CSS.escape(refocus)}"]`)?.focus();
  if (keep) {
    const input = body.querySelector(`input[data-line="${CSS.escape(keep.line)}"]`);
    if (input) {
      input.value = keep.value;
      input.focus();
    }
  }
}

function render() {
  renderStatus(state.view);
  renderDrawer();
}

function openDrawer(open) {
  state.drawerOpen = open;
  document.body.classList.toggle("drawer-open", open);
  $("#drawer").setAttribute("aria-hidden", String(!open));
  $("#open-cart").setAttribute("aria-expanded", String(open));
  $("#scrim").hidden = !open;
  if (!open && state.checkout?.phase === "problems") state.checkout = null;
  render();
}

async function refreshCatalog() {
  const data = await loadCatalog(API);
  if (!data.stale || !state.catalog.size) {
    state.catalog = new Map(data.products.map((p) => [p.sku, p]));
    renderCatalog($("#product-grid"), data, act.add);
    render();
  }
}

/** "Retry now" while the store is unreachable. `flush()` waits out the
 *  SDK's backoff (it rejects at once while the last attempt's error
 *  stands), and only coming back online retries immediately; so the button
 *  replays the browser's offline → online signal, which resets the backoff. */
function retryNow() {
  window.dispatchEvent(new Event("offline"));
  window.dispatchEvent(new Event("online"));
}

// ---- boot -------------------------------------------------------------------

/** The service worker (www-example/sw.js) that keeps the shop loadable
 *  offline. Registered once the page has loaded, so its precache never
 *  competes with the page's own downloads; a failure only costs offline
 *  loading, so it is logged, never thrown. */
function registerWorker() {
  if (!("serviceWorker" in navigator)) return;
  const register = () =>
    navigator.serviceWorker.register("/sw.js", { type: "module", scope: "/" }).catch((err) => console.warn("the offline worker was not registered:", err));
  if (document.readyState === "complete") register();
  else window.addEventListener("load", register, { once: true });
}

async function boot() {
  registerWorker();
  $("#open-cart").addEventListener("click", () => openDrawer(true));
  $("#close-cart").addEventListener("click", () => openDrawer(false));
  $("#scrim").addEventListener("click", () => openDrawer(false));
  document.addEventListener("keydown", (e) => e.key === "Escape" && state.drawerOpen && openDrawer(false));
  $("#retry-now").addEventListener("click", retryNow);
  wireLogin();
  renderAccount();

  const catalog = refreshCatalog();
  try {
    state.cart = await CartClient.open({ endpoint: API });
  } catch (err) {
    toast(`The bag could not be opened: ${errorText(err)}`, { kind: "error", type: "open-error", ms: 60000 });
    throw err;
  }
  state.cart.subscribe(onEvent);
  state.view = state.cart.view();
  await catalog;
  render();
  document.body.dataset.ready = "true";
  document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && refreshCatalog());
  // For the browser console: `tidewater.cart.view()`.
  window.tidewater = { cart: state.cart, lineKey };
}

boot();
