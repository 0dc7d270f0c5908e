// How large the diagram is drawn at 1280x720, lesson by lesson (a measurement,
// not a test: it prints). For each lesson (openbsd flavor), at the start, at the
// middle step and at the end (End key): the scale the SVG is shown at and how
// tall a card's title renders, in px, as the legibility test measures it.
//   node tests/browser/legibility.mjs        (after `cargo xtask test browser` built the site)

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer, CHROMIUM, CHROMIUM_ARGS } from './server.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const server = await startServer(ROOT);
const userDataDir = mkdtempSync(join(tmpdir(), 'pipelab-legibility-'));
const browser = await chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM,
  headless: true,
  args: CHROMIUM_ARGS,
  viewport: { width: 1280, height: 720 },
});

const measure = (page) => page.evaluate(() => {
  const svg = document.getElementById('diagram-svg');
  const title = svg.querySelector('.proc-title');
  const box = svg.viewBox.baseVal;
  return {
    position: document.getElementById('position').textContent,
    scale: svg.getScreenCTM().a,
    title: title ? title.getScreenCTM().a * parseFloat(getComputedStyle(title).fontSize) : 0,
    drawing: `${Math.round(box.width)}x${Math.round(box.height)}`,
    cells: svg.querySelectorAll('.obj').length,
  };
});

try {
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready="true"]');
  const lessons = await page.locator('#lesson option').evaluateAll((os) => os.map((o) => o.value));
  await page.close();
  for (const lesson of lessons.filter((l) => l !== 'sandbox')) {
    const p = await browser.newPage();
    await p.goto(`${server.url}?lesson=${lesson}&nc=openbsd`);
    await p.waitForSelector('body[data-ready="true"]');
    const end = Number((await p.locator('#position').textContent()).split(' / ')[1]);
    const rows = [['start', await measure(p)]];
    await p.locator('#timeline').fill(String(Math.floor(end / 2)));
    rows.push(['middle', await measure(p)]);
    await p.keyboard.press('End');
    rows.push(['end', await measure(p)]);
    for (const [at, m] of rows) {
      console.log(`${lesson.padEnd(16)} ${at.padEnd(6)} step ${m.position.padEnd(13)} scale ${m.scale.toFixed(3)}  title ${m.title.toFixed(2)} px  drawing ${m.drawing}  cells ${m.cells}`);
    }
    await p.close();
  }
} finally {
  await browser.close();
  server.process.kill();
  rmSync(userDataDir, { recursive: true, force: true });
}
