// Smoke tests of the packed npm package in a browser: the `npm pack`
// tarball installed in a scratch project and used with no configuration
// at all: (1) built with Vite, (2) served by Vite's dev server (which
// pre-bundles dependencies away from their wasm), (3) built with webpack 5,
// (4) imported from a plain <script type="module"> page without any build.
// Each page opens a cart against the real server, adds, flushes, and checks
// that errors arrive as CartError objects. A wasm download that fails is
// tried again by the next open().
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, WAIT, startServer, launchBrowser, tempDir } from "./helpers.mjs";

let scratch, tarball, browser;
before(async () => {
  scratch = tempDir();
  const name = execFileSync("npm", ["pack", "--silent", "--pack-destination", scratch], { cwd: join(ROOT, "pkg"), encoding: "utf8" }).trim();
  tarball = join(scratch, name);
  browser = await launchBrowser();
});

/** A scratch project with the tarball installed as a user would. */
function project(dir) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "smoke", private: true, type: "module" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", tarball], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
}

// What both pages run: open, add, flush, a refused command, the view.
const SCRIPT = (specifier) => `
import { CartClient, CartError } from ${JSON.stringify(specifier)};
const out = document.getElementById("out");
try {
  const cart = await CartClient.open({ endpoint: "/api/v1", namespace: "smoke" });
  cart.addItem({ sku: "mug-enamel", quantity: 2 });
  await cart.flush();
  let refused;
  try {
    cart.addItem({ sku: "mug-enamel", quantity: 0 });
  } catch (e) {
    refused = { isCartError: e instanceof CartError, isError: e instanceof Error, code: e.code };
  }
  out.dataset.result = JSON.stringify({ view: cart.view(), refused });
} catch (e) {
  out.dataset.result = JSON.stringify({ error: String(e && e.stack || e) });
}
`;

async function runPage(server, url = server.url) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(url + "/");
  const handle = await page.waitForSelector("#out[data-result]", { state: "attached", timeout: WAIT });
  const result = JSON.parse(await handle.getAttribute("data-result"));
  const token = JSON.parse(await page.evaluate(() => localStorage.getItem("smoke/cartsync:v1:token"))).token;
  await context.close();
  assert.deepEqual(errors, []);
  assert.equal(result.error, undefined, result.error);
  assert.deepEqual(result.view.lines.map((l) => [l.sku, l.quantity, l.name]), [["mug-enamel", 2, "Enamel Mug"]]);
  assert.equal(result.view.status, "synced");
  assert.equal(result.view.pending, 0);
  assert.deepEqual(result.refused, { isCartError: true, isError: true, code: "quantity_out_of_range" });
  const cart = await server.api("GET", `/carts/${token}`);
  assert.deepEqual(cart.body.lines.map((l) => [l.sku, l.quantity]), [["mug-enamel", 2]]);
}

test("the packed package bundled with Vite runs in Chromium against the server", async () => {
  const app = join(scratch, "vite-app");
  project(app);
  writeFileSync(join(app, "index.html"), `<!doctype html><meta charset="utf-8"><title>vite smoke</title><div id="out"></div><script type="module" src="/main.js"></script>\n`);
  writeFileSync(join(app, "main.js"), SCRIPT("cartsync"));
  const { build } = await import("vite");
  await build({ root: app, logLevel: "warn", build: { outDir: "dist", target: "es2022" } });
  const assets = readdirSync(join(app, "dist/assets"));
  assert.ok(assets.some((f) => f.endsWith(".wasm")), `Vite emitted the wasm module (${assets})`);

  const server = await startServer({ db: join(scratch, "vite.db"), staticDir: join(app, "dist") });
  await runPage(server);
});

test("the packed package runs under Vite's dev server with no configuration", async () => {
  const app = join(scratch, "vite-dev");
  project(app);
  writeFileSync(join(app, "index.html"), `<!doctype html><meta charset="utf-8"><title>vite dev</title><div id="out"></div><script type="module" src="/main.js"></script>\n`);
  writeFileSync(join(app, "main.js"), SCRIPT("cartsync"));
  const server = await startServer({ db: join(scratch, "vite-dev.db"), staticDir: app });
  const { createServer } = await import("vite");
  // Only the API is wired to the cart server; the package needs nothing.
  const dev = await createServer({
    root: app,
    logLevel: "warn",
    server: { host: "127.0.0.1", port: 0, strictPort: false, proxy: { "/api": server.url } },
  });
  await dev.listen();
  try {
    const url = dev.resolvedUrls.local[0].replace(/\/$/, "");
    await runPage(server, url);
    const optimized = readdirSync(join(app, "node_modules/.vite/deps"));
    assert.ok(optimized.some((f) => f.startsWith("cartsync")), `Vite pre-bundled the package (${optimized})`);
  } finally {
    await dev.close();
  }
});

test("the packed package bundled with webpack 5 runs in Chromium with no configuration", async () => {
  const app = join(scratch, "webpack-app");
  project(app);
  writeFileSync(join(app, "main.js"), SCRIPT("cartsync"));
  const { default: webpack } = await import("webpack");
  const stats = await new Promise((resolve, reject) =>
    webpack({ mode: "production", context: app, entry: "./main.js", output: { path: join(app, "dist") } }, (err, s) =>
      err ? reject(err) : resolve(s),
    ),
  );
  assert.ok(!stats.hasErrors(), stats.toString({ all: false, errors: true }));
  writeFileSync(join(app, "dist/index.html"), `<!doctype html><meta charset="utf-8"><title>webpack smoke</title><div id="out"></div><script src="main.js"></script>\n`);
  assert.ok(readdirSync(join(app, "dist")).some((f) => f.endsWith(".wasm")), "webpack emitted the wasm module");
  const server = await startServer({ db: join(scratch, "webpack.db"), staticDir: join(app, "dist") });
  await runPage(server);
});

test("a wasm download that failed is tried again by the next open()", async () => {
  const site = join(scratch, "retry");
  project(site);
  writeFileSync(
    join(site, "index.html"),
    `<!doctype html><meta charset="utf-8"><div id="out"></div><script type="module">
import { CartClient, CartError } from "./node_modules/cartsync/index.js";
const out = document.getElementById("out");
let first;
try { await CartClient.open({ endpoint: "/api/v1" }); first = "opened"; }
catch (e) { first = { isCartError: e instanceof CartError, code: e.code }; }
const cart = await CartClient.open({ endpoint: "/api/v1" });
cart.addItem({ sku: "mug-enamel" });
await cart.flush();
out.dataset.result = JSON.stringify({ first, pending: cart.view().pending });
</script>\n`,
  );
  const server = await startServer({ db: join(scratch, "retry.db"), staticDir: site });
  const context = await browser.newContext();
  const page = await context.newPage();
  let failed = 0;
  await page.route("**/*.wasm", (route) => (failed++ === 0 ? route.abort("internetdisconnected") : route.continue()));
  await page.goto(server.url + "/");
  const handle = await page.waitForSelector("#out[data-result]", { state: "attached", timeout: WAIT });
  const result = JSON.parse(await handle.getAttribute("data-result"));
  await context.close();
  assert.deepEqual(result, { first: { isCartError: true, code: "module_load_failed" }, pending: 0 });
});

test("the packed package loads from a plain <script type=module> page, no bundler", async () => {
  const site = join(scratch, "plain");
  project(site);
  writeFileSync(join(site, "index.html"), `<!doctype html><meta charset="utf-8"><title>plain smoke</title><div id="out"></div><script type="module">${SCRIPT("./node_modules/cartsync/index.js")}</script>\n`);
  const server = await startServer({ db: join(scratch, "plain.db"), staticDir: site });
  await runPage(server);
});
