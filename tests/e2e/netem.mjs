// Faults on the wire for end-to-end tests: a network namespace with a veth
// pair into it, Linux `tc netem` on both ends (delay with jitter, loss,
// duplication, reordering, corruption), Chromium started inside the
// namespace, and a chaos proxy on the host end of the pair that resets
// connections and cuts answers off after the server committed. Needs root
// (CI and the machines of this kind run as root); everything is removed
// when the test file ends, whatever happened.
import { execFileSync } from "node:child_process";
import { writeFileSync, chmodSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";

const cleanups = [];
after(async () => {
  for (const fn of cleanups.reverse()) await Promise.resolve().then(fn).catch(() => {});
});

const ip = (...args) => execFileSync("ip", args, { stdio: ["ignore", "pipe", "pipe"] });
const tc = (...args) => execFileSync("tc", args, { stdio: ["ignore", "pipe", "pipe"] });

/**
 * A namespace `cs14-<pid>` joined to the host by a veth pair: the host end
 * is 169.254.214.1/30, the namespace end .2 (link-local: never routed
 * anywhere). `netem` is applied on both ends' egress. Returns the host
 * address, the namespace name and a Chromium wrapper that runs inside it.
 */
export function netns({ netem, fallback = { loss: 3, duplicate: 2, rate: "8mbit" } }) {
  const id = process.pid % 100000;
  const ns = `cs14-${id}`;
  const host = `vh${id}`;
  const peer = `vn${id}`;
  try { ip("netns", "del", ns); } catch {}
  ip("netns", "add", ns);
  cleanups.push(() => { try { ip("netns", "del", ns); } catch {} });
  ip("link", "add", host, "type", "veth", "peer", "name", peer);
  cleanups.push(() => { try { ip("link", "del", host); } catch {} });
  ip("link", "set", peer, "netns", ns);
  ip("addr", "add", "169.254.214.1/30", "dev", host);
  ip("link", "set", host, "up");
  ip("netns", "exec", ns, "ip", "addr", "add", "169.254.214.2/30", "dev", peer);
  ip("netns", "exec", ns, "ip", "link", "set", peer, "up");
  ip("netns", "exec", ns, "ip", "link", "set", "lo", "up");
  // `tc netem` where the kernel has it (sch_netem). Kernels built without
  // it (this machine kind's: CONFIG_NET_SCH_NETEM is not set, "Specified
  // qdisc kind is unknown") get the same kinds of fault from what they do
  // have: nftables drops and duplicates packets at random on the veth
  // (both directions), tbf limits the rate (queueing delay and jitter), and
  // the chaos proxy adds per-chunk delay with jitter. Reordering and
  // corruption need netem; TCP hides both from the application anyway.
  let kind = "netem";
  try {
    const rule = netem.split(" ");
    tc("qdisc", "add", "dev", host, "root", "netem", ...rule);
    ip("netns", "exec", ns, "tc", "qdisc", "add", "dev", peer, "root", "netem", ...rule);
  } catch {
    kind = "nftables+tbf";
    const table = `cs14_${id}`;
    execFileSync("nft", ["-f", "-"], {
      input: `table netdev ${table} {
  chain in { type filter hook ingress device "${host}" priority 0; numgen random mod 100 < ${fallback.loss} counter drop; }
  chain out {
    type filter hook egress device "${host}" priority 0;
    numgen random mod 100 < ${fallback.loss} counter drop;
    numgen random mod 100 < ${fallback.duplicate} counter dup to "${host}";
  }
}
`,
    });
    cleanups.push(() => { try { execFileSync("nft", ["delete", "table", "netdev", table]); } catch {} });
    for (const [where, dev] of [[[], host], [["netns", "exec", ns], peer]]) {
      const args = ["tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", fallback.rate, "burst", "32kbit", "latency", "200ms"];
      if (where.length) ip(...where, ...args);
      else tc(...args.slice(1));
    }
  }
  const dir = mkdtempSync(join(tmpdir(), "cartsync-netem-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const chromium = join(dir, "chromium-in-netns");
  writeFileSync(chromium, `#!/bin/sh\nexec ip netns exec ${ns} /usr/bin/chromium "$@"\n`);
  chmodSync(chromium, 0o755);
  /** netem's own counters (packets sent, dropped, duplicated…), both ends. */
  const stats = () => ({
    host: String(tc("-s", "qdisc", "show", "dev", host)),
    namespace: String(ip("netns", "exec", ns, "tc", "-s", "qdisc", "show", "dev", peer)),
    nft: kind === "netem" ? "" : String(execFileSync("nft", ["list", "table", "netdev", `cs14_${id}`])),
  });
  return { ns, kind, hostAddress: "169.254.214.1", chromium, stats };
}

/** A small seeded generator (xorshift32), so a failing run replays. */
export function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 2 ** 32;
  };
}

/**
 * A TCP proxy from `listen` (host:port) to `upstream` (host:port). Only
 * requests to the cart API (`/api/v1/carts…`) are touched: with
 * probability `reset` the connection is reset before the request is
 * forwarded (nothing reached the server), with probability `cut` the
 * request is forwarded and the connection reset as soon as the answer
 * starts (the server committed; the client never hears). The first request
 * whose request line matches `cutFirst` has its answer cut whatever the
 * dice say. Counts by kind.
 */
export async function chaosProxy({ listen, upstream, reset, cut, seed, jitterMs = 0, cutFirst = null }) {
  const random = rng(seed);
  let firstCut = false;
  const counts = { api_requests: 0, reset_before_request: 0, answer_cut_after_commit: 0, passed: 0, first_cut: 0 };
  const sockets = new Set();
  const server = net.createServer((client) => {
    sockets.add(client);
    const up = net.connect(upstream.port, upstream.host);
    sockets.add(up);
    let cutNext = false;
    const kill = () => {
      client.resetAndDestroy();
      up.destroy();
    };
    // Per-direction delay with jitter, order kept (a chain of timers).
    const lanes = { up: Promise.resolve(), down: Promise.resolve() };
    const later = (lane, fn) => {
      if (!jitterMs) return fn();
      const wait = Math.floor(random() * 2 * jitterMs);
      lanes[lane] = lanes[lane].then(() => new Promise((res) => setTimeout(() => { fn(); res(); }, wait)));
    };
    client.on("data", (chunk) => {
      const head = chunk.subarray(0, 32).toString("latin1");
      const line = chunk.subarray(0, 200).toString("latin1").split("\r\n")[0];
      if (/^(GET|POST|PUT) \/api\/v1\/carts/.test(head)) {
        counts.api_requests += 1;
        const roll = random();
        if (cutFirst && !firstCut && cutFirst.test(line)) {
          firstCut = true;
          counts.first_cut = 1;
          cutNext = true;
          return later("up", () => up.writable && up.write(chunk));
        }
        if (roll < reset) {
          counts.reset_before_request += 1;
          return kill();
        }
        if (roll < reset + cut) cutNext = true;
        else counts.passed += 1;
      }
      later("up", () => up.writable && up.write(chunk));
    });
    up.on("data", (chunk) => {
      if (cutNext && chunk.subarray(0, 9).toString("latin1") === "HTTP/1.1 ") {
        counts.answer_cut_after_commit += 1;
        return kill();
      }
      later("down", () => client.writable && client.write(chunk));
    });
    client.on("end", () => later("up", () => up.end()));
    up.on("end", () => later("down", () => client.end()));
    for (const s of [client, up]) {
      s.on("error", () => kill());
      s.on("close", () => sockets.delete(s));
    }
  });
  await new Promise((res) => server.listen(listen.port, listen.host, res));
  const stop = async () => {
    for (const s of sockets) s.destroy();
    await new Promise((res) => server.close(res));
  };
  cleanups.push(stop);
  return { port: server.address().port, counts, stop };
}
