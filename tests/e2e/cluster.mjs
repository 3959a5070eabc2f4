// The several-instance deployment for end-to-end tests: cartsync-server
// instances on one PostgreSQL database (a fresh one per test file, dropped
// at the end) and one Redis (a key prefix per file), nginx in front
// (scripts/nginx-conf.sh), and a replicated PostgreSQL pair for failover
// (scripts/pg-pair.sh). Everything started here is stopped when the test
// file ends, whatever happened.
import { spawn, execFileSync } from "node:child_process";
import { writeFileSync, mkdtempSync, chmodSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import { join } from "node:path";
import { after } from "node:test";
import { randomUUID } from "node:crypto";
import { ROOT, STATIC_DIR, WAIT, serverBinary } from "./helpers.mjs";

export const PG = process.env.CARTSYNC_TEST_POSTGRES ?? "postgres://root@127.0.0.1:5432/test";
export const REDIS = process.env.CARTSYNC_TEST_REDIS ?? "redis://127.0.0.1:6379/0";

const cleanups = [];
after(async () => {
  for (const fn of cleanups.reverse()) await Promise.resolve().then(fn).catch(() => {});
});
const children = new Set();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

/** A temp directory removed after everything of this file stopped (so a
 *  cluster's data directory outlives its processes). */
function ownTempDir() {
  const dir = mkdtempSync(join(tmpdir(), "cartsync-e2e-cluster-"));
  cleanups.unshift(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A free port on 127.0.0.1. */
export async function freePort() {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** A fresh database on the test PostgreSQL, dropped when the file ends. */
export function createDatabase() {
  const name = `cartsync_e2e_${process.pid}_${randomUUID().slice(0, 8)}`;
  execFileSync("psql", [PG, "-qc", `CREATE DATABASE ${name}`]);
  cleanups.push(() => execFileSync("psql", [PG, "-qc", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]));
  return PG.replace(/\/[^/?]+(\?|$)/, `/${name}$1`);
}

/** A Redis key prefix of this file's own. */
export function redisPrefix() {
  return `cartsync-e2e:${randomUUID()}:`;
}

/** Every key on the test Redis gone, as an operator's FLUSHALL does. */
export function redisFlushAll() {
  execFileSync("redis-cli", ["-u", REDIS, "FLUSHALL"]);
}

/** An object with the same calls as helpers.mjs's servers: `url`, `api()`. */
function endpoint(url) {
  return {
    url,
    async api(method, path, body, headers = {}) {
      const res = await fetch(`${url}/api/v1${path}`, {
        method,
        headers: { "content-type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
  };
}

/** One cartsync-server instance on `database` with the Redis cache. */
export async function startInstance({ database, prefix, name, port = 0 }) {
  const args = [
    "--listen", `127.0.0.1:${port}`,
    "--database", database,
    "--cache", REDIS,
    "--cache-prefix", prefix,
    "--instance", name,
    "--store-timeout-ms", "1000",
    "--static-dir", STATIC_DIR,
    "--dev",
    "--secret", "e2e-secret",
  ];
  const child = spawn(serverBinary(), args, {
    env: { ...process.env, RUST_LOG: "info", NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let log = "";
  const exited = new Promise((res) => child.once("exit", (code, signal) => res({ code, signal })));
  exited.then(() => children.delete(child));
  const address = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${name} did not start in ${WAIT} ms:\n${log}`)), WAIT);
    const read = (chunk) => {
      log += String(chunk).replace(/\x1b\[[0-9;]*m/g, "");
      const m = /listening listen=(127\.0\.0\.1:\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        res(m[1]);
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.once("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`${name} exited (${code}) before listening:\n${log}`));
    });
  });
  const instance = {
    ...endpoint(`http://${address}`),
    name,
    address,
    log: () => log,
    async kill() {
      child.kill("SIGKILL");
      return exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
  cleanups.push(() => instance.stop());
  return instance;
}

/** nginx on a free port in front of `instances`; resolves once it answers. */
export async function startBalancer(instances) {
  const dir = ownTempDir();
  const port = await freePort();
  const conf = execFileSync(join(ROOT, "scripts/nginx-conf.sh"), [dir, `127.0.0.1:${port}`, ...instances.map((i) => i.address)]);
  writeFileSync(join(dir, "nginx.conf"), conf);
  const child = spawn("/usr/sbin/nginx", ["-p", dir, "-c", join(dir, "nginx.conf")], { stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let log = "";
  child.stderr.on("data", (c) => (log += c));
  const exited = new Promise((res) => child.once("exit", res));
  cleanups.push(async () => {
    child.kill("SIGQUIT");
    await exited;
  });
  const balancer = { ...endpoint(`http://127.0.0.1:${port}`), port };
  const deadline = Date.now() + WAIT;
  for (;;) {
    try {
      if ((await fetch(`${balancer.url}/healthz`)).ok) return balancer;
    } catch {}
    if (Date.now() > deadline) throw new Error(`nginx did not answer on ${port}:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Three instances on one fresh database and Redis prefix, behind nginx. */
export async function startCluster({ database = createDatabase() } = {}) {
  const prefix = redisPrefix();
  const instances = [];
  for (const name of ["e2e-a", "e2e-b", "e2e-c"]) instances.push(await startInstance({ database, prefix, name }));
  const balancer = await startBalancer(instances);
  return { database, prefix, instances, balancer };
}

/** A primary and a synchronous standby (scripts/pg-pair.sh), stopped and
 *  removed when the file ends. `url` names both with
 *  target_session_attrs=read-write. */
export function startPgPair() {
  const parent = ownTempDir();
  chmodSync(parent, 0o755);
  const dir = join(parent, "pair");
  const script = join(ROOT, "scripts/pg-pair.sh");
  const [primary, standby] = String(execFileSync(script, ["start", dir])).trim().split(" ").map(Number);
  cleanups.push(() => execFileSync(script, ["stop", dir]));
  return {
    url: `postgres://postgres@127.0.0.1:${primary},127.0.0.1:${standby}/cartsync?target_session_attrs=read-write`,
    killPrimary: () => execFileSync(script, ["kill-primary", dir]),
    promote: () => execFileSync(script, ["promote", dir]),
  };
}
