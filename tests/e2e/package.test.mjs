// Smoke tests of the packed npm package in a browser: the `npm pack`
// tarball installed in a scratch project, (1) bundled with Vite and (2)
// imported from a plain <script type="module"> page without any build.
// Both pages open a cart against the real server, add, flush, and check
// that errors arrive as CartError objects.
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

async function runPage(server) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(server.url + "/");
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

test("the packed package loads from a plain <script type=module> page, no bundler", async () => {
  const site = join(scratch, "plain");
  project(site);
  writeFileSync(join(site, "index.html"), `<!doctype html><meta charset="utf-8"><title>plain smoke</title><div id="out"></div><script type="module">${SCRIPT("./node_modules/cartsync/index.js")}</script>\n`);
  const server = await startServer({ db: join(scratch, "plain.db"), staticDir: site });
  await runPage(server);
});
