// The playground page in headless Chromium, as a learner's browser sees it.
//
// The page is served by xtask's own static server (`xtask serve --no-build --port 0`),
// not by a server written here: it is the server `cargo xtask serve` gives people, so
// these tests also check its MIME types and headers. Run through
// `cargo xtask test browser`, which builds www/pkg first and says where xtask is.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer, CHROMIUM, CHROMIUM_ARGS } from './server.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ARTIFACTS = process.env.PIPELAB_ARTIFACTS ?? join(ROOT, 'target/browser-artifacts');
const VIEWPORT = { width: 1280, height: 720 };
const PAGE_READY_MS = 15_000;

let server;
let browser;
let userDataDir;

before(async () => {
  server = await startServer(ROOT);
  userDataDir = mkdtempSync(join(tmpdir(), 'pipelab-chromium-'));
  // A persistent context is how Playwright takes a user-data-dir of our choosing:
  // a fresh, empty one per run.
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: VIEWPORT,
  });
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.process.kill();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

test('the footer shows the simulator version that the wasm module reports', async () => {
  const { page } = await openPage();
  const label = page.locator('#sim-version');
  assert.equal(await label.getAttribute('data-state'), 'ready');
  assert.equal(await label.textContent(), `pipelab-sim ${workspaceVersion()}`);
  assert.equal(await page.locator('#load-error').isVisible(), false);
  await page.close();
});

test('the page loads with no console errors, page errors or failed requests', async () => {
  const { page, problems } = await openPage();
  assert.deepEqual(problems, []);
  await page.close();
});

test('the wasm module is served as application/wasm, uncached', async () => {
  const wasmResponses = [];
  const { page } = await openPage({
    beforeLoad: (page) => page.on('response', (response) => {
      if (response.url().endsWith('.wasm')) wasmResponses.push(response);
    }),
  });
  assert.equal(wasmResponses.length, 1);
  const headers = wasmResponses[0].headers();
  // Anything else makes instantiateStreaming fail and wasm-bindgen fall back, slower.
  assert.equal(headers['content-type'], 'application/wasm');
  assert.equal(headers['cache-control'], 'no-store');
  await page.close();
});

for (const colorScheme of ['light', 'dark']) {
  test(`in the ${colorScheme} scheme every region fits a 1280x720 window without scrolling`, async () => {
    const { page } = await openPage({ colorScheme });
    const overflow = await page.evaluate(() => ({
      width: document.documentElement.scrollWidth - window.innerWidth,
      height: document.documentElement.scrollHeight - window.innerHeight,
    }));
    assert.deepEqual(overflow, { width: 0, height: 0 });
    for (const region of ['.controls', '.terminals', '.diagram', '.narration', '.trace', '#sim-version']) {
      const box = await page.locator(region).boundingBox();
      assert.ok(box && box.width > 0 && box.height > 0, `${region} is not laid out`);
      assert.ok(box.x >= 0 && box.y >= 0, `${region} starts off screen`);
      assert.ok(box.x + box.width <= VIEWPORT.width, `${region} overflows to the right`);
      assert.ok(box.y + box.height <= VIEWPORT.height, `${region} overflows below`);
    }
    // The playground takes the whole window: the footer is a thin line at its bottom.
    const footer = await page.locator('footer').boundingBox();
    assert.ok(Math.abs(footer.y + footer.height - VIEWPORT.height) < 1, `footer ends at ${footer.y + footer.height}`);
    assert.ok(footer.height < 60, `footer is ${footer.height} px tall`);
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const luminance = background.match(/\d+/g).slice(0, 3).reduce((sum, value) => sum + Number(value), 0) / 3;
    assert.ok(colorScheme === 'dark' ? luminance < 80 : luminance > 175, `${background} for ${colorScheme}`);
    await page.screenshot({ path: join(ARTIFACTS, `playground-${colorScheme}.png`) });
    await page.close();
  });
}

test('when the wasm cannot load, the page shows a visible error instead of going blank', async () => {
  const { page } = await openPage({
    beforeLoad: (page) => page.route('**/*.wasm', (route) => route.abort()),
  });
  const error = page.locator('#load-error');
  assert.equal(await error.isVisible(), true);
  assert.match(await error.textContent(), /The simulator did not load/);
  assert.equal(await page.locator('#sim-version').textContent(), 'simulator not loaded');
  await page.screenshot({ path: join(ARTIFACTS, 'load-error.png') });
  await page.close();
});

test('an error message from the loader is shown as text, never parsed as HTML', async () => {
  const message = '<img src=x id=injected> bad module';
  const { page } = await openPage({
    beforeLoad: (page) => page.route('**/pkg/pipelab_web.js', (route) => route.fulfill({
      contentType: 'text/javascript',
      body: `export default async function () { throw new Error(${JSON.stringify(message)}); }`,
    })),
  });
  assert.equal(await page.locator('#load-error-detail').textContent(), message);
  assert.equal(await page.locator('#injected').count(), 0);
  await page.close();
});

// Opens the page and waits until it has either loaded the simulator or given up.
// `problems` collects what a developer would see in red in the console.
async function openPage({ colorScheme = 'light', beforeLoad } = {}) {
  const page = await browser.newPage();
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
  await page.emulateMedia({ colorScheme });
  await beforeLoad?.(page);
  await page.goto(server.url);
  await page.waitForSelector('#sim-version:not([data-state="loading"])', { timeout: PAGE_READY_MS });
  return { page, problems };
}

// The version every crate inherits from the workspace, as the footer must show it.
function workspaceVersion() {
  const manifest = readFileSync(join(ROOT, 'Cargo.toml'), 'utf8');
  const version = manifest.match(/\[workspace\.package\][^[]*?\bversion\s*=\s*"([^"]+)"/);
  assert.ok(version, 'no [workspace.package] version in Cargo.toml');
  return version[1];
}
