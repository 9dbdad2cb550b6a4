// The Vite app of tests/vite-app (built into target/vite-app by `vite build`) in headless
// Chromium: it imports the bundler package like an application does, and every check it runs
// against the server must pass.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT, startServer, launchBrowser, screenshot } from './harness.mjs';

const DIST = path.join(ROOT, 'target', 'vite-app');
const EXPECTED_CHECKS = [
  'corsSupport', 'request', 'request error kind', 'xdrRequest', 'jsonp', 'ping', 'openWebSocket',
  'openEventSource', 'Socket', 'Socket from cometkit/socket', 'request from cometkit/xhr',
];

let server;
let browser;

before(async () => {
  assert.ok(existsSync(path.join(DIST, 'index.html')),
    'target/vite-app is missing: run `npx vite build --config tests/vite-app/vite.config.mjs`');
  server = await startServer({ www: DIST, port: 18110, name: 'e2e-vite' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the Vite-built app runs every export against the server', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => document.body.dataset.done, null, { timeout: 60_000 });
  await screenshot(page, 'vite-app');
  const results = await page.$$eval('#results li', (items) =>
    items.map((li) => ({ check: li.dataset.check, ok: li.dataset.ok === 'true', text: li.textContent })));
  assert.deepEqual(results.map((r) => r.check), EXPECTED_CHECKS);
  const failed = results.filter((r) => !r.ok).map((r) => r.text);
  assert.deepEqual(failed, [], 'failed checks');
  assert.equal(await page.evaluate(() => document.body.dataset.done), 'passed');
  // The wasm came from the bundle's own hashed assets, not from pkg/: one for the full build,
  // one each for the cometkit/socket and cometkit/xhr subpaths.
  const wasm = await page.evaluate(() =>
    performance.getEntriesByType('resource').map((r) => r.name).filter((n) => n.endsWith('.wasm')));
  assert.equal(new Set(wasm).size, 3, wasm.join(' '));
  for (const url of wasm) assert.match(url, /\/assets\/cometkit_bg-[\w-]+\.wasm$/);
  assert.deepEqual(errors, []);
  await page.close();
});
