// The JavaScript half of `CartClient`: the browser's IO around the wasm
// `Core`. This file only carries things out — localStorage reads and
// writes, fetch with a timeout, the retry timer, storage events from other
// tabs, the Web Lock that lets one tab flush, listener dispatch. Every
// decision (what a command does, what to store and send, how to read an
// answer, when to retry, how to rebase) is the Rust core's: each input goes
// to a `Core` method, which answers with JSON `{actions}` or `{error}`.
//
// Self-contained (no imports) so the browser tests (tests/web.rs) can load
// it next to the test build of `Core`.

const OURS = "cartsync:v1:";
const USER_KEY = "cartsync:v1:user";
const CHECKOUT_KEY = "cartsync:v1:checkout";
const LEASE_KEY = "cartsync:v1:lease";
const LEASE_MS = 5000;
const MAX_DELAY = 2147483647;

/**
 * Errors thrown by cartsync are real `Error` objects with
 * `name === "CartError"` and a stable `code`. `CartError` recognises them by
 * name and code rather than by prototype, so `err instanceof CartError`
 * holds for every one, whichever copy of this module made it.
 */
export class CartError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "CartError";
    this.code = code;
  }

  static [Symbol.hasInstance](value) {
    return value instanceof Error && value.name === "CartError" && typeof value.code === "string";
  }
}

const cartError = (code, message) => new CartError(code, message);

const badRequest = (message) => cartError("bad_request", message);

/** JSON text of a caller's argument (`undefined` is `null`). */
function json(what, value) {
  try {
    return JSON.stringify(value === undefined ? null : value) ?? "null";
  } catch {
    throw badRequest(`${what}: the argument cannot be read as JSON`);
  }
}

/**
 * POSTs `body`; resolves to `{status, text, retryAfterMs}` and never
 * rejects: a network error, a timeout or an unreadable answer is
 * `status: 0`, which the core sorts with every other outcome.
 */
function exchange(fetchFn, url, headers, body, timeoutMs) {
  const controller = typeof AbortController === "function" ? new AbortController() : null;
  const timer = controller ? setTimeout(() => controller.abort(), timeoutMs) : null;
  const init = { method: "POST", headers, body };
  if (controller) init.signal = controller.signal;
  return Promise.resolve()
    .then(() => (fetchFn ?? globalThis.fetch)(url, init))
    .then(async (response) => {
      const text = await response.text();
      const retryAfter = Number(response.headers?.get?.("Retry-After") ?? NaN);
      return {
        status: response.status | 0,
        text: typeof text === "string" ? text : "",
        retryAfterMs: Number.isFinite(retryAfter) && retryAfter >= 0 ? Math.round(retryAfter * 1000) : -1,
      };
    })
    .catch(() => ({ status: 0, text: "", retryAfterMs: -1 }))
    .finally(() => {
      if (timer !== null) clearTimeout(timer);
    });
}

function seed() {
  const bytes = new Uint8Array(32);
  if (globalThis.crypto?.getRandomValues) {
    globalThis.crypto.getRandomValues(bytes);
  } else {
    // No Web Crypto: ids only need to be unique, not secret.
    for (let i = 0; i < bytes.length; i++) bytes[i] = (Math.random() * 256) | 0;
  }
  return bytes;
}

function optionalString(options, key) {
  const value = options[key];
  if (value !== undefined && value !== null && typeof value !== "string") {
    throw badRequest(`options: \`${key}\` is missing or has the wrong type`);
  }
  return value ?? undefined;
}

/**
 * The `CartClient` class over a `Core` factory: `newCore(timeoutMs, seed)`
 * makes a wasm `Core`, `ready()` resolves once the module is instantiated.
 */
export function defineCartClient(newCore, ready) {
  return class CartClient {
    #core;
    #storage;
    #prefix;
    #endpoint;
    #fetch;
    #timeoutMs;
    #listeners = new Map();
    #nextListener = 0;
    #queued = [];
    #dispatchScheduled = false;
    #waiters = [];
    #timer = null;
    #closed = false;
    #release = null;
    #lease = null;
    #unlisten = [];

    /** Restores the token, the last server cart and the outbox from localStorage. */
    static async open(options = {}) {
      await ready();
      return new CartClient(options);
    }

    constructor(options) {
      if (options === null || typeof options !== "object") throw badRequest("options: expected an object");
      if (typeof options.endpoint !== "string") {
        throw badRequest("options: `endpoint` is missing or has the wrong type");
      }
      const namespace = optionalString(options, "namespace") ?? "";
      const userToken = optionalString(options, "userToken");
      const timeout = options.requestTimeoutMs;
      if (timeout !== undefined && timeout !== null && !(Number.isSafeInteger(timeout) && timeout >= 0)) {
        throw badRequest("options: `requestTimeoutMs` is missing or has the wrong type");
      }
      try {
        this.#storage = globalThis.localStorage;
      } catch {
        this.#storage = null;
      }
      if (!this.#storage) throw cartError("storage_unavailable", "localStorage is not available");
      this.#prefix = namespace ? `${namespace}/` : "";
      this.#endpoint = options.endpoint.replace(/\/+$/, "");
      this.#fetch = typeof options.fetch === "function" ? options.fetch : undefined;
      if (userToken !== undefined && !this.#set(USER_KEY, userToken)) {
        throw cartError("storage_unavailable", "localStorage refused the write (quota?)");
      }
      this.#core = newCore(timeout ?? 0, seed());
      this.#timeoutMs = timeout || 15000;
      this.#load();
      this.#apply(this.#call("open"));
      this.#step("online", "", "", (globalThis.navigator?.onLine ?? true) ? 1 : 0);
      this.#listen();
      this.#takeFlushLock();
    }

    addItem(args) { return this.#issue("addItem", args); }
    setQuantity(args) { return this.#issue("setQuantity", args); }
    removeItem(args) { return this.#issue("removeItem", args); }
    applyCoupon(code) { return this.#issue("applyCoupon", code); }
    removeCoupon(code) { return this.#issue("removeCoupon", code); }
    selectShipping(option) { return this.#issue("selectShipping", option); }
    clear() { return this.#issue("clear", null); }

    /** `{lines, coupons, shippingOption, totals, version, pending, status, lastError}`. */
    view() {
      return JSON.parse(this.#call("view"));
    }

    /** Calls `listener(event)` for every event; returns the function that unsubscribes it. */
    subscribe(listener) {
      if (typeof listener !== "function") throw badRequest("subscribe(listener): expected a function");
      const id = ++this.#nextListener;
      this.#listeners.set(id, listener);
      return () => {
        this.#listeners.delete(id);
      };
    }

    /**
     * Resolves once nothing is pending; rejects with the `CartError` of the
     * attempt it starts if that fails, or at once when offline (nothing is
     * lost: the outbox stays). Sends at once if this tab leads, skipping
     * any backoff.
     */
    flush() {
      return new Promise((resolve, reject) => {
        const view = this.view();
        if (view.pending === 0) return resolve();
        if (view.status === "offline") {
          return reject(cartError("network_error", "the browser is offline; the changes wait in the outbox"));
        }
        this.#waiters.push({ resolve, reject, failuresAt: this.#failures() });
        this.#step("retry");
      });
    }

    /** Attaches this cart to the account of `userToken`; resolves to the merge report. */
    async login(userToken) {
      if (typeof userToken !== "string") throw badRequest("login(userToken): expected a string");
      await this.flush();
      let token = this.#call("token");
      if (!token) {
        const created = await this.#request("/carts", "{}", {}, undefined);
        token = this.#apply(this.#call("adoptCreated", "", created.text, created.status)).token;
      }
      const answer = await this.#request(`/carts/${token}/attach`, "{}", {}, userToken);
      const out = this.#check(this.#call("attached", "", answer.text, answer.status));
      // Stored before the actions run: the sends they start carry it.
      this.#set(USER_KEY, userToken);
      this.#run(out);
      const report = JSON.parse(answer.text).merge_report;
      this.#queue({ type: "merged", report });
      return report;
    }

    /** Starts a new anonymous cart (after sending what it can). */
    async logout() {
      try {
        await this.flush();
      } catch {
        // Offline: what is pending stays and goes to the new cart.
      }
      this.#remove(USER_KEY);
      this.#apply(this.#call("forget"));
    }

    /** Revalidates and orders the cart: `{ order }` or `{ problems, cart }`. */
    async checkout(options) {
      const text = json("checkout", options);
      await this.flush();
      const plan = this.#check(this.#call("checkoutPlan", "", text));
      const key = plan.key ?? this.#checkoutKey(plan.token, plan.version);
      const answer = await this.#request(plan.path, plan.body, { "Idempotency-Key": key }, undefined);
      const out = this.#apply(this.#call("checkedOut", plan.token, answer.text, answer.status));
      this.#remove(CHECKOUT_KEY);
      const body = JSON.parse(answer.text);
      return out.ordered ? { order: body.order } : { problems: body.problems, cart: this.view() };
    }

    /** Stops listening, releases the flush lock (another tab takes over) and cancels the retry timer. Storage is kept. */
    close() {
      this.#closed = true;
      for (const unlisten of this.#unlisten.splice(0)) unlisten();
      this.#release?.();
      this.#release = null;
      if (this.#timer !== null) clearTimeout(this.#timer);
      this.#timer = null;
    }

    #issue(op, arg) {
      this.#apply(this.#call("issue", op, json(op, arg)));
      return this.view();
    }

    /** Parses a core answer; throws its error. */
    #check(text) {
      const out = JSON.parse(text);
      if (out.error) throw cartError(out.error.code, out.error.message);
      return out;
    }

    #apply(text) {
      const out = this.#check(text);
      this.#run(out);
      return out;
    }

    /** One input to the core (see `Core::call` in src/client.rs for the operations). */
    #call(op, a = "", b = "", x = 0) {
      return this.#core.call(op, a, b, x, Date.now());
    }

    /** An input from outside (answers, timers, events): dropped once the client is closed. */
    #step(op, a, b, x) {
      if (!this.#closed) this.#apply(this.#call(op, a, b, x));
    }

    #failures() {
      return Number(this.#call("failures"));
    }

    /** Carries out the core's actions in order. Writes are synchronous: a command's mutation is stored before the command returns. */
    #run(out) {
      const sends = [];
      for (const action of out.actions ?? []) {
        switch (action.t) {
          case "set":
            if (!this.#set(action.k, action.v)) {
              this.#queue({
                type: "storageError",
                error: cartError("storage_unavailable", "localStorage refused the write (quota?)"),
              });
            }
            break;
          case "del":
            this.#remove(action.k);
            break;
          case "send":
            sends.push(action);
            break;
          case "timer":
            this.#schedule(action.at);
            break;
          case "change":
            this.#queue({ type: "change" });
            break;
          case "event":
            this.#queue(action.e);
            break;
        }
      }
      this.#settleWaiters();
      for (const send of sends) {
        // The user token is read at each send: a sign-in in another tab
        // must reach whichever tab sends.
        this.#request(send.path, send.body, {}, undefined).then((answer) =>
          this.#step("answer", `${answer.status} ${answer.retryAfterMs}`, answer.text, send.id),
        );
      }
    }

    #request(path, body, extra, userToken) {
      const user = userToken ?? this.#get(USER_KEY);
      const headers = { Accept: "application/json", "Content-Type": "application/json", ...extra };
      if (user) headers.Authorization = `Bearer ${user}`;
      return exchange(this.#fetch, this.#endpoint + path, headers, body, this.#timeoutMs);
    }

    /** Resolves `flush()` callers once nothing is pending; rejects those whose attempt failed. */
    #settleWaiters() {
      if (this.#waiters.length === 0) return;
      const view = this.view();
      if (view.pending === 0) {
        for (const w of this.#waiters.splice(0)) w.resolve();
        return;
      }
      if (!view.lastError) return;
      const failures = this.#failures();
      const error = cartError(view.lastError.code, view.lastError.message);
      this.#waiters = this.#waiters.filter((w) => {
        if (failures <= w.failuresAt) return true;
        w.reject(error);
        return false;
      });
    }

    #schedule(at) {
      if (this.#timer !== null) clearTimeout(this.#timer);
      const delay = Math.max(0, Math.min(at - Date.now(), MAX_DELAY));
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#step("timer");
      }, delay);
    }

    /** Queues an event for listeners; one dispatch per microtask, never in the middle of a state change. */
    #queue(event) {
      this.#queued.push(event);
      if (this.#dispatchScheduled) return;
      this.#dispatchScheduled = true;
      queueMicrotask(() => {
        this.#dispatchScheduled = false;
        const events = this.#queued.splice(0);
        const listeners = [...this.#listeners.values()];
        for (const event of events) {
          for (const listener of listeners) {
            try {
              listener(event);
            } catch {
              // A throwing listener must not stop the others.
            }
          }
        }
      });
    }

    /** Hands every stored entry of this namespace to the core (read now). */
    #load() {
      const storage = this.#storage;
      for (let i = 0; i < storage.length; i++) {
        const key = storage.key(i);
        if (key === null || !key.startsWith(this.#prefix + OURS)) continue;
        const value = storage.getItem(key);
        if (value !== null) this.#call("load", key.slice(this.#prefix.length), value);
      }
    }

    /** Storage events from other tabs, and online/offline. */
    #listen() {
      const on = (name, handler) => {
        globalThis.addEventListener?.(name, handler);
        this.#unlisten.push(() => globalThis.removeEventListener?.(name, handler));
      };
      on("storage", (event) => {
        const key = event.key;
        if (typeof key !== "string" || !key.startsWith(this.#prefix)) return;
        if (event.storageArea && event.storageArea !== this.#storage) return;
        const own = key.slice(this.#prefix.length);
        if (own === LEASE_KEY) {
          // The lease changed hands or was given up: look at once.
          this.#lease?.();
          return;
        }
        if (own === USER_KEY) {
          // New credentials from a sign-in in another tab: what waited on a
          // 401 can go now.
          this.#step("retry");
          return;
        }
        const value = this.#get(own);
        this.#step("storage", own, value ?? "", value === null ? 0 : 1);
      });
      on("online", () => this.#step("online", "", "", 1));
      on("offline", () => this.#step("online", "", "", 0));
    }

    /**
     * One tab sends at a time: the holder of a Web Lock, or, without Web
     * Locks, of a lease in storage (see `#leaseStorage`).
     */
    #takeFlushLock() {
      const granted = () => {
        this.#load();
        this.#step("lead");
      };
      const locks = globalThis.navigator?.locks;
      if (typeof locks?.request !== "function") return this.#leaseStorage(granted);
      locks
        .request(`cartsync-flush:${this.#prefix}`, () => {
          // Closed before the lock came (open and close in one task): give it back.
          if (this.#closed) return undefined;
          granted();
          return new Promise((resolve) => {
            this.#release = resolve;
          });
        })
        .catch(() => {});
    }

    /**
     * The lease: `"<tab id> <expiry ms>"` under LEASE_KEY, taken when free or
     * expired and renewed every LEASE_MS / 3 while this tab lives; given up
     * on `close()`, and otherwise expiring LEASE_MS after the tab went away.
     * Two tabs racing for a free lease may both send for a moment; the
     * authority's idempotency keeps that harmless.
     */
    #leaseStorage(granted) {
      const id = this.#call("newId");
      let leading = false;
      this.#lease = () => {
        if (this.#closed) return;
        const [holder, until] = (this.#get(LEASE_KEY) ?? "").split(" ");
        const now = Date.now();
        if (holder !== id && Number(until) > now) {
          if (leading) this.#step("follow");
          leading = false;
          return;
        }
        this.#set(LEASE_KEY, `${id} ${now + LEASE_MS}`);
        if (!leading) granted();
        leading = true;
      };
      this.#lease();
      const timer = setInterval(this.#lease, LEASE_MS / 3);
      this.#release = () => {
        clearInterval(timer);
        if (leading && this.#get(LEASE_KEY)?.startsWith(id)) this.#remove(LEASE_KEY);
      };
    }

    /** One idempotency key per checkout attempt (cart token and version), reused across its retries. */
    #checkoutKey(token, version) {
      const scope = `${token}@${version}:`;
      const stored = this.#get(CHECKOUT_KEY);
      if (stored?.startsWith(scope)) return stored.slice(scope.length);
      const key = this.#call("newId");
      this.#set(CHECKOUT_KEY, scope + key);
      return key;
    }

    #get(key) {
      try {
        return this.#storage.getItem(this.#prefix + key);
      } catch {
        return null;
      }
    }

    #set(key, value) {
      try {
        this.#storage.setItem(this.#prefix + key, value);
        return true;
      } catch {
        return false;
      }
    }

    #remove(key) {
      try {
        this.#storage.removeItem(this.#prefix + key);
      } catch {
        // Nothing to do: the key stays until the next write.
      }
    }
  };
}
