// The browser workloads. Each function runs in the page and returns
// numbers; run.mjs drives them through Playwright and aggregates.
import { CartClient, ready } from "cartsync";
import { ready as rulesReady, rebasePending } from "cartsync/rules";
import initLoro, { LoroDoc, LoroMap } from "loro-crdt";
import * as Y from "yjs";
import { FakeAuthority, lineView, sku } from "./fake-authority.js";

export async function setup() {
  await ready();
  await rulesReady();
  await initLoro();
  return { isolated: globalThis.crossOriginIsolated === true, resolutionUs: timerResolutionUs() };
}

/** The smallest step performance.now() shows, in µs. */
function timerResolutionUs() {
  let min = Infinity;
  for (let i = 0; i < 50; i++) {
    const a = performance.now();
    let b = performance.now();
    while (b === a) b = performance.now();
    min = Math.min(min, b - a);
  }
  return min * 1000;
}

export function summarize(us) {
  const s = [...us].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { n: s.length, p50: at(0.5), p99: at(0.99), min: s[0], max: s[s.length - 1], mean };
}

/** Op `i` of the workload: addItem then setQuantity on the same line, lines visited in a scattered order. */
function op(i, lines) {
  const line = ((i >> 1) * 7919) % lines;
  return { sku: sku(line), add: i % 2 === 0, quantity: 1 + (i % 3) };
}

function b64(bytes) {
  if (bytes.length <= 8192) return btoa(String.fromCharCode.apply(null, bytes));
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
  return btoa(s);
}

function check(cond, what) {
  if (!cond) throw new Error(`benchmark invariant broken: ${what}`);
}

function mutationKeys(prefix) {
  let n = 0;
  for (let k = 0; k < localStorage.length; k++) if (localStorage.key(k).startsWith(prefix)) n++;
  return n;
}

// Each implementation: prepare(lines) -> {run(i) (timed), after(i) (untimed), done()}.
/** The SDK workload on a package module (`cartsync`, or the comparison build `cartsync-b`). */
async function sdk(mod, lines) {
  const ns = `bench${lines}`;
  const fake = new FakeAuthority(lines);
  const client = await mod.CartClient.open({ endpoint: "/api/v1", fetch: fake.fetch, namespace: ns });
  client.addItem({ sku: sku(0), quantity: 1 });
  await client.flush();
  check(client.view().lines.length === lines, "the client's cart has all lines");
  const keyPrefix = `${ns}/cartsync:v1:m:`;
  let view;
  let probe = null;
  return {
    run(i) {
      const o = op(i, lines);
      view = o.add ? client.addItem({ sku: o.sku, quantity: 1 }) : client.setQuantity({ sku: o.sku, quantity: o.quantity });
    },
    async after() {
      check(view.lines.length === lines && view.pending === 1, "the view shows the mutation");
      check(mutationKeys(keyPrefix) === 1, "the mutation is in localStorage");
      await client.flush();
      // The acknowledgement changed the view (pending, status, totals):
      // the first view() after it builds a snapshot, the second reuses it.
      const t0 = performance.now();
      const fresh = client.view();
      const t1 = performance.now();
      client.view();
      const t2 = performance.now();
      // What the snapshot would cost as JSON.parse of its text, in the same page.
      const text = JSON.stringify(fresh);
      const t3 = performance.now();
      JSON.parse(text);
      const t4 = performance.now();
      probe = { changed: (t1 - t0) * 1000, unchanged: (t2 - t1) * 1000, parse: (t4 - t3) * 1000 };
    },
    /** Diagnostics of the last op: view() after a change, view() again, JSON.parse of the view's text. */
    probe: () => probe,
    done() {
      client.close();
      client.free?.();
    },
  };
}

/**
 * The floor: a bare `localStorage.setItem` of a mutation record like the
 * SDK's (made untimed beforehand), under a new key; removed again untimed,
 * as the SDK removes it once acknowledged.
 */
async function setItemBaseline(lines) {
  const record = (i) => {
    const o = op(i, lines);
    const command = o.add
      ? { type: "add_item", sku: o.sku, quantity: 1, options: {} }
      : { type: "set_quantity", sku: o.sku, options: {}, quantity: o.quantity };
    const id = crypto.randomUUID();
    const text = JSON.stringify({ mutation: { id, base_version: o.add ? null : 2, command }, created_at: Date.now() });
    return [`setitem/cartsync:v1:m:${id}`, text];
  };
  let next = record(0);
  return {
    run() {
      localStorage.setItem(next[0], next[1]);
    },
    after(i) {
      check(localStorage.getItem(next[0]) === next[1], "the record is in localStorage");
      localStorage.removeItem(next[0]);
      next = record(i + 1);
    },
    done() {},
  };
}

const IMPLS = {
  cartsync: (lines) => sdk({ CartClient }, lines),

  setItem: setItemBaseline,

  /** A second build of the package (BENCH_PKG_B), for A/B comparisons. */
  async "cartsync-b"(lines) {
    const mod = await import("cartsync-b");
    await mod.ready();
    return sdk(mod, lines);
  },

  async plain(lines) {
    const cart = { version: 1, lines: Array.from({ length: lines }, (_, i) => lineView(i)) };
    localStorage.setItem("plain:cart", JSON.stringify(cart));
    return {
      run(i) {
        const o = op(i, lines);
        const line = cart.lines.find((l) => l.sku === o.sku);
        line.quantity = o.add ? line.quantity + 1 : o.quantity;
        cart.version += 1;
        localStorage.setItem("plain:cart", JSON.stringify(cart));
      },
      after() {},
      done() {},
    };
  },

  async loro(lines) {
    const doc = new LoroDoc();
    const map = doc.getMap("lines");
    for (let i = 0; i < lines; i++) {
      const v = lineView(i);
      const m = map.setContainer(v.sku, new LoroMap());
      m.set("sku", v.sku);
      m.set("quantity", 1);
      m.set("name", v.name);
      m.set("unit_price", v.unit_price.amount);
      m.set("currency", "EUR");
      m.set("image", v.image);
    }
    doc.commit();
    localStorage.setItem("loro:snapshot", b64(doc.export({ mode: "snapshot" })));
    // Loro delivers subscribeLocalUpdates after the commit returns, so each
    // op exports its own update (from the version before it) and stores it.
    let since = doc.oplogVersion();
    return {
      run(i) {
        const o = op(i, lines);
        const m = map.get(o.sku);
        m.set("quantity", o.add ? m.get("quantity") + 1 : o.quantity);
        doc.commit();
        localStorage.setItem(`loro:u:${i}`, b64(doc.export({ mode: "update", from: since })));
        since = doc.oplogVersion();
      },
      after(i) {
        check(localStorage.getItem(`loro:u:${i}`) !== null, "loro's update is in localStorage");
      },
      done() {
        doc.free();
      },
    };
  },

  async yjs(lines) {
    const doc = new Y.Doc();
    const map = doc.getMap("lines");
    doc.transact(() => {
      for (let i = 0; i < lines; i++) {
        const v = lineView(i);
        const m = new Y.Map();
        map.set(v.sku, m);
        m.set("sku", v.sku);
        m.set("quantity", 1);
        m.set("name", v.name);
        m.set("unit_price", v.unit_price.amount);
        m.set("currency", "EUR");
        m.set("image", v.image);
      }
    });
    localStorage.setItem("yjs:snapshot", b64(Y.encodeStateAsUpdate(doc)));
    let n = 0;
    doc.on("update", (u) => localStorage.setItem(`yjs:u:${n++}`, b64(u)));
    return {
      run(i) {
        const o = op(i, lines);
        doc.transact(() => {
          const m = map.get(o.sku);
          m.set("quantity", o.add ? m.get("quantity") + 1 : o.quantity);
        });
      },
      after(i) {
        check(n === i + 1, "yjs persisted the op's update synchronously");
      },
      done() {
        doc.destroy();
      },
    };
  },
};

/**
 * The optimistic-mutation workload on one implementation: `warmup` then
 * `ops` timed operations, each until the state (the view) is updated and
 * the change is in localStorage. Returns per-op µs.
 */
export async function optimistic(impl, lines, ops, warmup) {
  localStorage.clear();
  const it = await IMPLS[impl](lines);
  const us = [];
  const probes = [];
  for (let i = 0; i < warmup + ops; i++) {
    const t0 = performance.now();
    it.run(i);
    const t1 = performance.now();
    if (i >= warmup) us.push((t1 - t0) * 1000);
    await it.after(i);
    if (i >= warmup && it.probe) probes.push(it.probe());
  }
  it.done();
  localStorage.clear();
  const probe = probes.length
    ? Object.fromEntries(["changed", "unchanged", "parse"].map((k) => [k, summarize(probes.map((p) => p[k]))]))
    : null;
  return { ...summarize(us), probe };
}

const uuid = () => crypto.randomUUID();

/**
 * Lets the flush lock's grant arrive before a client is closed: closing a
 * client right after open makes the later grant call a dropped closure
 * ("closure invoked recursively or after being dropped", an uncaught page
 * error; reproduced with open, addItem, close). Untimed.
 */
const settle = () => new Promise((r) => setTimeout(r, 50));

/** The core Cart wire shape (snake_case) with `lines` lines. */
function coreCart(lines, version) {
  return {
    version,
    owner: null,
    lines: Array.from({ length: lines }, (_, i) => ({ sku: sku(i), options: {}, quantity: 2 + (i % 5) })),
    coupons: [],
    shipping_option: null,
    updated_at: Date.now(),
  };
}

/**
 * rebasePending: `pending` mutations onto a server cart of `serverLines`
 * lines that all changed since the client's base. Most pending mutations
 * touch lines the server has; every tenth sets a line the server dropped
 * (reported back as a reconciliation).
 */
export function rebase(serverLines, pendingCount, reps) {
  const server = coreCart(serverLines, 50);
  const pending = Array.from({ length: pendingCount }, (_, i) => {
    const s = sku((i * 37) % serverLines);
    const command =
      i % 10 === 9
        ? { type: "set_quantity", sku: sku(serverLines + i), options: {}, quantity: 2 }
        : i % 3 === 0
          ? { type: "add_item", sku: s, quantity: 1, options: {} }
          : i % 3 === 1
            ? { type: "set_quantity", sku: s, options: {}, quantity: 1 + (i % 4) }
            : { type: "remove_item", sku: s, options: {} };
    return { id: uuid(), base_version: 40, command };
  });
  let out;
  for (let i = 0; i < 20; i++) out = rebasePending(server, pending);
  const us = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    out = rebasePending(server, pending);
    us.push((performance.now() - t0) * 1000);
  }
  return { ...summarize(us), lines: out.cart.lines.length, reconciliations: out.reconciliations.length };
}

/**
 * Writes what a client leaves in localStorage after syncing a cart of
 * `lines` lines and then queuing `pending` mutations offline: the client
 * writes it itself, so the format is exact. Returns the keys and values.
 */
export async function prepareStorage(lines, pending) {
  localStorage.clear();
  const ns = `open${lines}`;
  const fake = new FakeAuthority(lines);
  const client = await CartClient.open({ endpoint: "/api/v1", fetch: fake.fetch, namespace: ns });
  client.addItem({ sku: sku(0), quantity: 1 });
  await client.flush();
  fake.online = false;
  for (let i = 0; i < pending; i++) {
    const o = op(i, lines);
    if (o.add) client.addItem({ sku: o.sku, quantity: 1 });
    else client.setQuantity({ sku: o.sku, quantity: o.quantity });
  }
  check(client.view().pending === pending, "the mutations are pending");
  await settle();
  client.close();
  client.free?.();
  const saved = {};
  for (let k = 0; k < localStorage.length; k++) {
    const key = localStorage.key(k);
    saved[key] = localStorage.getItem(key);
  }
  localStorage.clear();
  return { ns, saved };
}

/** CartClient.open from that storage until its first view, `reps` times. */
export async function coldOpen(lines, pending, reps) {
  const { ns, saved } = await prepareStorage(lines, pending);
  const hang = () => new Promise(() => {});
  const us = [];
  let bytes = 0;
  for (const [k, v] of Object.entries(saved)) bytes += k.length + v.length;
  for (let r = 0; r < reps + 3; r++) {
    localStorage.clear();
    for (const [k, v] of Object.entries(saved)) localStorage.setItem(k, v);
    const t0 = performance.now();
    const client = await CartClient.open({ endpoint: "/api/v1", fetch: hang, namespace: ns });
    const view = client.view();
    const t1 = performance.now();
    check(view.pending === pending && view.lines.length === lines, "the restored view");
    if (r >= 3) us.push((t1 - t0) * 1000);
    await settle();
    client.close();
    client.free?.();
  }
  localStorage.clear();
  return { ...summarize(us), keys: Object.keys(saved).length, storageChars: bytes };
}
