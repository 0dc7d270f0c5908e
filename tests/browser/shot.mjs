// Scratch: opens the page at URL and saves a screenshot (development aid).
import { chromium } from 'playwright-core';
const [url, out, scheme = 'light'] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 720 }, colorScheme: scheme });
page.on('console', (m) => { if (m.type() === 'error') console.log('console:', m.text()); });
page.on('pageerror', (e) => console.log('pageerror:', e.message));
await page.goto(url);
await page.waitForSelector('body[data-ready="true"], #load-error:not([hidden])', { timeout: 15000 });
if (process.argv[6]) await page.keyboard.press(process.argv[6]);
await page.screenshot({ path: out });
console.log(await page.locator('.narration-text').textContent());
await browser.close();
