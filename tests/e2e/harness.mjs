// Shared by the Playwright tests: starts cometkit-server on a free loopback port, launches
// Debian's Chromium through playwright-core, and small helpers to wait on page text.

import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SCREENSHOTS = path.join(ROOT, 'target', 'screenshots');
const LOGS = path.join(ROOT, 'target', 'test-logs');

/** `preferred` if nothing listens on it, else a port the OS picks. */
export async function freePort(preferred) {
  const tryListen = (port) => new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(null));
    probe.listen(port, '127.0.0.1', () => {
      const { port: got } = probe.address();
      probe.close(() => resolve(got));
    });
  });
  return (preferred && (await tryListen(preferred))) || (await tryListen(0));
}

/**
 * Starts cometkit-server serving `www` (relative to the repository) on 127.0.0.1, and resolves
 * once `/health` answers. `stop()` ends it; it is also killed if this process exits first.
 */
export async function startServer({ www, port = 18110, name = 'e2e' }) {
  const bin = process.env.COMETKIT_SERVER_BIN || path.join(ROOT, 'target', 'debug', 'cometkit-server');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run cargo build -p cometkit-server`);
  const chosen = await freePort(port);
  mkdirSync(LOGS, { recursive: true });
  const logFile = path.join(LOGS, `${name}-server.log`);
  const out = createWriteStream(logFile);
  const child = spawn(bin, ['--host', '127.0.0.1', '--port', String(chosen), '--www', path.resolve(ROOT, www)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  let exited = null;
  child.once('exit', (code, signal) => { exited = { code, signal }; });
  // The server must not outlive the tests, whatever ends them.
  const killOnExit = () => child.kill('SIGKILL');
  const killOnSignal = (signal) => {
    child.kill('SIGKILL');
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', killOnExit);
  process.once('SIGINT', killOnSignal);
  process.once('SIGTERM', killOnSignal);

  const url = `http://127.0.0.1:${chosen}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exited) throw new Error(`cometkit-server exited (${JSON.stringify(exited)}); see ${logFile}`);
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`cometkit-server did not answer on ${url} within 20 s; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    async stop() {
      process.removeListener('exit', killOnExit);
      process.removeListener('SIGINT', killOnSignal);
      process.removeListener('SIGTERM', killOnSignal);
      if (exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/** Headless Chromium from /usr/bin (or $CHROMIUM), with the flags this machine needs. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    timeout: 30_000,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** Saves a screenshot of `target` (a page or locator) as target/screenshots/<name>.png. */
export async function screenshot(target, name, options = {}) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await target.screenshot({ path: file, ...options });
  return file;
}

/** Waits until the text of `selector` matches `pattern`; resolves with that text. */
export async function waitForText(page, selector, pattern, timeout = 10_000) {
  try {
    await page.waitForFunction(
      ([sel, source, flags]) => new RegExp(source, flags).test(document.querySelector(sel)?.textContent ?? ''),
      [selector, pattern.source, pattern.flags],
      { timeout, polling: 50 },
    );
  } catch (e) {
    const now = await page.locator(selector).textContent().catch(() => '(missing)');
    throw new Error(`${selector} did not match ${pattern} within ${timeout} ms; it reads: ${now}`, { cause: e });
  }
  return page.locator(selector).textContent();
}

/** The text of `selector`. */
export async function textOf(page, selector) {
  return (await page.locator(selector).textContent()) ?? '';
}
