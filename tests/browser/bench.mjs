// The playground's performance figures, run by `cargo xtask bench-web` (a benchmark,
// not a test: it prints, it does not judge). Prints `name value unit` lines:
// sizes (raw and gzip), time to first render in headless Chromium, seeks to random
// steps of a 10,000-step run, and simulated steps per second, in wasm.

import { readdirSync, readFileSync, statSync, mkdtempSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer, siteDir, CHROMIUM, CHROMIUM_ARGS } from './server.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// What is served: www/ as xtask builds it, minified (see server.js `siteDir`).
const WWW = siteDir(ROOT);
const RUNS = 5;
const SEEKS = 20;

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

const say = (name, value, unit) => console.log(`${name} ${value} ${unit}`);

// What a browser downloads: every file of the site (the page imports every .js,
// .css, .html and the .wasm).
const served = files(WWW);
let total = 0;
for (const f of served) {
  const gz = gzipSync(readFileSync(f), { level: 9 }).length;
  total += gz;
  if (f.endsWith('.wasm')) {
    say('wasm_raw', statSync(f).size, 'bytes');
    say('wasm_gzip', gz, 'bytes');
  }
}
say('page_files', served.length, 'files');
say('page_gzip_total', total, 'bytes');
void relative;

const server = await startServer(ROOT);
const userDataDir = mkdtempSync(join(tmpdir(), 'pipelab-bench-'));
const browser = await chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM,
  headless: true,
  args: CHROMIUM_ARGS,
  viewport: { width: 1280, height: 720 },
});
try {
  const renders = [];
  for (let i = 0; i < RUNS; i++) {
    const page = await browser.newPage();
    await page.goto(`${server.url}?lesson=second-request&nc=textbook`);
    await page.waitForSelector('body[data-ready="true"]');
    renders.push(await page.evaluate(() => performance.getEntriesByName('pipelab-first-render')[0].startTime));
    await page.close();
  }
  renders.sort((a, b) => a - b);
  say('first_render_median', renders[Math.floor(RUNS / 2)].toFixed(0), 'ms');

  const page = await browser.newPage();
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready="true"]');
  const figures = await page.evaluate(async (seeks) => {
    const sim = await import('./pkg/pipelab_web.js');
    const loop = (n) => `for i in $(seq 1 ${n}); do echo $i; done`;
    const pg = sim.Playground.fromScripts([loop(10000)], 'openbsd', 0);
    const end = pg.end();
    let x = 12345;
    const times = [];
    for (let i = 0; i < seeks; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const target = x % end;
      pg.seek(end);
      const t = performance.now();
      pg.seek(target);
      times.push(performance.now() - t);
    }
    pg.free();
    times.sort((a, b) => a - b);
    const t = performance.now();
    const steps = sim.benchSteps([loop(100000)], 'openbsd', 100000);
    const secs = (performance.now() - t) / 1000;
    return { end, median: times[Math.floor(seeks / 2)], max: times[seeks - 1], stepsPerSecond: steps / secs };
  }, SEEKS);
  say('wasm_run_steps', figures.end, 'steps');
  say('wasm_seek_median', figures.median.toFixed(1), 'ms');
  say('wasm_seek_max', figures.max.toFixed(1), 'ms');
  say('wasm_steps_per_second', figures.stepsPerSecond.toFixed(0), 'steps/s');
} finally {
  await browser.close();
  server.process.kill();
  rmSync(userDataDir, { recursive: true, force: true });
}
