// Shared by the browser tests: Chromium's settings and xtask's own static server
// (`xtask serve --no-build --port 0`), the server `cargo xtask serve` gives people.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

// Debian's Chromium; playwright-core downloads no browser of its own.
export const CHROMIUM = '/usr/bin/chromium';
// Without the networking flags Chromium keeps dialing out, and this machine's closed
// network refuses it, many times a second (shared/TOOLCHAIN.md).
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SERVER_START_MS = 15_000;

// What `xtask serve` serves: www/ with the wasm, JS and CSS minified (crates/xtask page.rs).
export function siteDir(root) {
  return process.env.PIPELAB_SITE ?? join(root, 'target/site');
}

export function startServer(root) {
  const xtask = process.env.PIPELAB_XTASK ?? join(root, 'target/debug/xtask');
  if (!existsSync(xtask)) {
    throw new Error(`no xtask binary at ${xtask}: run these tests with \`cargo xtask test browser\``);
  }
  if (!existsSync(join(siteDir(root), 'pkg/pipelab_web.js'))) {
    throw new Error('the site is not built: run these tests with `cargo xtask test browser`');
  }
  const child = spawn(xtask, ['serve', '--no-build', '--port', '0'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolvePromise, reject) => {
    let printed = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`xtask serve printed no URL within ${SERVER_START_MS} ms: ${printed}`));
    }, SERVER_START_MS);
    child.stdout.on('data', (chunk) => {
      printed += chunk;
      const url = printed.match(/http:\/\/127\.0\.0\.1:\d+\//);
      if (url) {
        clearTimeout(timer);
        resolvePromise({ process: child, url: url[0] });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`xtask serve exited (${code}) before serving: ${printed}`));
    });
  });
}
