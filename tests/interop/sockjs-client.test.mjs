// The official sockjs-client 1.6.1 (from node_modules) in headless Chromium against
// cometkit-server's SockJS endpoints, every transport forced one at a time.
//
//   node --test tests/interop/sockjs-client.test.mjs
//
// Without COMETKIT_SERVER_URL it builds (`cargo build -p cometkit-server`, a no-op when fresh)
// and starts target/debug/cometkit-server on a free 127.0.0.1 port, and stops it at the end.
// With COMETKIT_SERVER_URL=http://127.0.0.1:PORT it uses that running server instead.
//
// Two page origins: "cross-origin" serves the page from a small node server on another port;
// "same-origin" has the started server serve it from target/interop/www (its `--www`; with
// COMETKIT_SERVER_URL that part is skipped unless the server already serves
// /sockjs-client-page.html). A page Playwright made up itself would not do: Chromium's Local
// Network Access checks then block its WebSockets to 127.0.0.1. The server's iframe page loads
// sockjs from `Options::sockjs_url`, a CDN address by default: Playwright answers that one URL
// with the local sockjs.min.js, so the iframe transports run offline. Every other
// non-127.0.0.1 request is refused. Logs and the www copy go to target/interop/.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { existsSync, mkdirSync, readFileSync, writeFileSync, createWriteStream } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LOG_DIR = join(ROOT, 'target', 'interop');
const WWW_DIR = join(LOG_DIR, 'www');
const SERVER_BIN = join(ROOT, 'target', 'debug', 'cometkit-server');
const PAGE = readFileSync(join(ROOT, 'tests', 'interop', 'sockjs-client-page.html'));
const SOCKJS_JS = readFileSync(require.resolve('sockjs-client/dist/sockjs.min.js'));
const SOCKJS_VERSION = require('sockjs-client/package.json').version;

const CASE_MS = 10_000; // in-page bound for one connection
const TEST_MS = 20_000; // node:test bound for one case (page.evaluate included)

// Every transport sockjs-client 1.6.1 has, in its own preference order.
const TRANSPORTS = [
  'websocket', 'xhr-streaming', 'xdr-streaming', 'eventsource', 'iframe-eventsource',
  'htmlfile', 'iframe-htmlfile', 'xhr-polling', 'xdr-polling', 'iframe-xhr-polling',
  'jsonp-polling',
];

// Why sockjs-client will not offer a transport in Chromium from this page (null: it will).
function unavailable(transport, sameOrigin) {
  if (transport.startsWith('xdr-')) return 'XDomainRequest exists only in IE 8-10';
  if (transport === 'htmlfile' && !sameOrigin) return 'htmlfile is enabled only same-origin';
  return null;
}

// Every BMP code point except the surrogates (a Rust String cannot hold a lone one).
const ALL_BMP = (() => {
  const units = [];
  for (let c = 0; c <= 0xffff; c++) if (c < 0xd800 || c > 0xdfff) units.push(c);
  let s = '';
  for (let i = 0; i < units.length; i += 4096) s += String.fromCharCode(...units.slice(i, i + 4096));
  return s;
})();

const MESSAGES = [
  'a',
  'héllo "q" \'s\' \\ \\\\ \\u0041 \u2028 \u2029 \u200c\u200d \ufeff \ufff0 \uffff 100% %41 %%',
  '</script><script>alert(1)</script> <!-- ]]> & + = ? # ;',
  '\u0000\u0001\u0008\t\n\u000b\f\r\u001b\u001f\u007f\u0080\u009f\u00ad',
  '😀 𝄞 👩‍👩‍👧 🇯🇵',
  'o', 'h', 'c[3000,"Go away!"]', 'a["x"]', '["not","a","frame"]', '{"json":true}',
  '',
  'x'.repeat(5000), // larger than the server's 4096-byte response limit on its own
  ALL_BMP,
  ...Array.from({ length: 30 }, (_, i) => `seq-${i}`),
  'b',
];

let serverUrl; // e.g. http://127.0.0.1:41234 (no trailing slash)
let serverProc = null;
let pageServer = null;
let pageServerUrl;
let browser = null;
let context = null;
let page = null;
let cdnUrl = null; // sockjs_url of the server's iframe page, when not on 127.0.0.1
let sameOriginSkip = null; // why the same-origin cases cannot run, if they cannot
const pageErrors = [];
const requests = []; // every URL the page and its iframes requested

// The receiving request of each streaming transport, which the server must end once it has
// written response_limit (4096) bytes; the client then opens another on the same session.
const STREAMING = {
  'xhr-streaming': 'xhr_streaming', eventsource: 'eventsource', 'iframe-eventsource': 'eventsource',
  htmlfile: 'htmlfile', 'iframe-htmlfile': 'htmlfile',
};

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function run(cmd, args, opts, ms) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), ms);
    p.once('error', (e) => { clearTimeout(timer); reject(e); });
    p.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? code}):\n${out.slice(-4000)}`));
    });
  });
}

async function get(url, ms = 2000) {
  const res = await fetch(url, { signal: AbortSignal.timeout(ms) });
  return { status: res.status, text: await res.text() };
}

async function startServer() {
  const env = { ...process.env, PATH: `${join(homedir(), '.cargo', 'bin')}:${process.env.PATH}` };
  await run('cargo', ['build', '-p', 'cometkit-server'], { cwd: ROOT, env }, 15 * 60_000);
  assert.ok(existsSync(SERVER_BIN), `${SERVER_BIN} missing after cargo build`);
  const port = await freePort();
  mkdirSync(WWW_DIR, { recursive: true });
  writeFileSync(join(WWW_DIR, 'sockjs-client-page.html'), PAGE);
  writeFileSync(join(WWW_DIR, 'sockjs.min.js'), SOCKJS_JS);
  const log = createWriteStream(join(LOG_DIR, 'sockjs-client-server.log'));
  serverProc = spawn(SERVER_BIN, ['--host', '127.0.0.1', '--port', String(port), '--www', WWW_DIR], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
  });
  serverProc.stdout.pipe(log);
  serverProc.stderr.pipe(log);
  let exited = null;
  serverProc.once('exit', (code, signal) => { exited = signal ?? code; });
  serverUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited !== null) throw new Error(`cometkit-server exited (${exited}); see ${LOG_DIR}`);
    try {
      if ((await get(`${serverUrl}/sockjs/echo/info`, 500)).status === 200) return;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error('cometkit-server did not answer within 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stopServer() {
  const p = serverProc;
  serverProc = null;
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGINT'); // graceful shutdown
  const timer = setTimeout(() => p.kill('SIGKILL'), 3000);
  await gone;
  clearTimeout(timer);
}

// Last resort if the runner dies between before() and after().
process.once('exit', () => { if (serverProc && serverProc.exitCode === null) serverProc.kill('SIGKILL'); });

function startPageServer() {
  return new Promise((resolve, reject) => {
    pageServer = createServer((req, res) => {
      const path = new URL(req.url, 'http://x').pathname;
      if (path === '/sockjs-client-page.html') {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
        res.end(PAGE);
      } else if (path === '/sockjs.min.js') {
        res.writeHead(200, { 'Content-Type': 'application/javascript; charset=utf-8' });
        res.end(SOCKJS_JS);
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('not found');
      }
    });
    pageServer.once('error', reject);
    pageServer.listen(0, '127.0.0.1', () => {
      pageServerUrl = `http://127.0.0.1:${pageServer.address().port}`;
      resolve();
    });
  });
}

function isLocal(url) {
  return url.hostname === '127.0.0.1';
}

async function startBrowser() {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
    ],
    timeout: 30_000,
  });
  context = await browser.newContext();
  await context.route((url) => !isLocal(url), (route) => {
    if (cdnUrl && route.request().url() === cdnUrl) {
      return route.fulfill({ status: 200, contentType: 'application/javascript', body: SOCKJS_JS });
    }
    return route.abort('blockedbyclient');
  });
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('request', (req) => requests.push(req.url()));
}

async function open(pageUrl) {
  await page.goto(pageUrl, { timeout: 10_000 });
  const version = await page.evaluate(() => window.SockJS && window.SockJS.version);
  assert.equal(version, SOCKJS_VERSION, 'sockjs-client did not load in the page');
}

function runCase(path, transports, messages, sequential = false) {
  return page.evaluate((c) => window.runCase(c), {
    url: `${serverUrl}${path}`, transports, messages, sequential, timeoutMs: CASE_MS,
  });
}

// A short account of how `got` differs from `want`, instead of a diff of 200 KB strings.
function describeMismatch(want, got) {
  const lines = [`sent ${want.length} messages, got ${got.length} back`];
  for (let i = 0; i < Math.max(want.length, got.length) && lines.length < 6; i++) {
    if (want[i] === got[i]) continue;
    if (got[i] === undefined) { lines.push(`#${i}: missing`); continue; }
    if (want[i] === undefined) { lines.push(`#${i}: extra ${JSON.stringify(got[i].slice(0, 60))}`); continue; }
    let j = 0;
    while (j < want[i].length && want[i][j] === got[i][j]) j++;
    const hex = (s) => (s === undefined ? 'end' : `U+${s.charCodeAt(0).toString(16).padStart(4, '0')}`);
    lines.push(`#${i} (length ${want[i].length} vs ${got[i].length}): first difference at ${j}, ` +
      `sent ${hex(want[i][j])} got ${hex(got[i][j])}`);
  }
  return lines.join('\n  ');
}

function summary(r) {
  const { got, ...rest } = r;
  return JSON.stringify({ ...rest, received: got.length });
}

function assertUnavailable(r, why) {
  assert.equal(r.timedOut, false, `timed out: ${summary(r)}`);
  assert.equal(r.opened, false, `opened although ${why}: ${summary(r)}`);
  assert.equal(r.code, 2000, `expected 2000 "All transports failed": ${summary(r)}`);
  assert.equal(r.reason, 'All transports failed');
}

function assertEcho(r, transport, sent = MESSAGES) {
  assert.equal(r.timedOut, false, `timed out: ${summary(r)}\n  ${describeMismatch(sent, r.got)}`);
  assert.equal(r.opened, true, `never opened: ${summary(r)}`);
  if (transport) assert.equal(r.transport, transport, 'opened on another transport');
  assert.ok(r.got.length === sent.length && r.got.every((m, i) => m === sent[i]),
    describeMismatch(sent, r.got));
  assert.deepEqual([r.code, r.reason, r.wasClean], [1000, 'done', true], summary(r));
}

async function jsessionid() {
  const cookies = await context.cookies(serverUrl);
  return cookies.find((c) => c.name === 'JSESSIONID')?.value ?? null;
}

// Runs one case; page errors raised meanwhile fail it.
async function checked(fn) {
  const before = pageErrors.length;
  await fn();
  assert.deepEqual(pageErrors.slice(before), [], 'uncaught errors in the page');
}

describe(`sockjs-client ${SOCKJS_VERSION} in Chromium against cometkit-server`, () => {
  before(async () => {
    mkdirSync(LOG_DIR, { recursive: true });
    if (process.env.COMETKIT_SERVER_URL) {
      serverUrl = process.env.COMETKIT_SERVER_URL.replace(/\/+$/, '');
      assert.equal(new URL(serverUrl).hostname, '127.0.0.1', 'COMETKIT_SERVER_URL must be on 127.0.0.1');
      assert.equal((await get(`${serverUrl}/sockjs/echo/info`)).status, 200, 'no SockJS at COMETKIT_SERVER_URL');
    } else {
      await startServer();
    }
    const samePage = await get(`${serverUrl}/sockjs-client-page.html`).catch(() => ({ status: 0 }));
    if (samePage.status !== 200) {
      sameOriginSkip = 'COMETKIT_SERVER_URL does not serve /sockjs-client-page.html (start the ' +
        'server with --www holding it, or let the test start its own)';
    }
    const iframe = (await get(`${serverUrl}/sockjs/echo/iframe.html`)).text;
    const src = /<script src="([^"]+)"/.exec(iframe)?.[1];
    assert.ok(src, 'no <script src> in the server\'s iframe.html');
    const url = new URL(src, `${serverUrl}/sockjs/echo/iframe.html`);
    if (!isLocal(url)) cdnUrl = url.href;
    await startPageServer();
    await startBrowser();
  }, { timeout: 16 * 60_000 });

  after(async () => {
    await browser?.close().catch(() => {});
    if (pageServer) {
      const closed = new Promise((r) => pageServer.close(() => r()));
      pageServer.closeAllConnections();
      await closed;
    }
    await stopServer();
  });

  for (const sameOrigin of [false, true]) {
    describe(sameOrigin ? 'same-origin page' : 'cross-origin page', () => {
      before(async () => {
        if (sameOrigin && sameOriginSkip) return;
        await open(`${sameOrigin ? serverUrl : pageServerUrl}/sockjs-client-page.html`);
      });

      // node:test wants skips decided inside the test; this wraps each case body.
      const body = (fn) => (t) => (sameOrigin && sameOriginSkip ? t.skip(sameOriginSkip) : checked(fn));

      for (const transport of TRANSPORTS) {
        const why = unavailable(transport, sameOrigin);
        // The title says what is asserted: the behaviour, or that the client refuses the transport.
        const title = (endpoint, expect = '') => (why
          ? `${endpoint} over ${transport}: not offered, ${why} (2000 "All transports failed")`
          : `${endpoint} over ${transport}${expect}`);

        test(title('/sockjs/echo'), { timeout: TEST_MS }, body(async () => {
          const r = await runCase('/sockjs/echo', [transport], MESSAGES);
          if (why) {
            assertUnavailable(r, why);
            if (transport.startsWith('xdr-')) assert.equal(r.xdr, false, 'Chromium has XDomainRequest?');
            return;
          }
          assertEcho(r, transport);
        }));

        if (STREAMING[transport] && !why) {
          // 12 round trips of 1000 bytes: the server must end the stream at 4096 bytes and the
          // client reopen it mid-session without losing or reordering a message.
          test(title('/sockjs/echo', ': stream renewed at the response limit'),
            { timeout: TEST_MS }, body(async () => {
              const sent = Array.from({ length: 12 }, (_, i) => `${i}`.padEnd(1000, '.'));
              const first = requests.length;
              const r = await runCase('/sockjs/echo', [transport], sent, true);
              assertEcho(r, transport, sent);
              const streams = requests.slice(first).filter((u) => new URL(u).pathname
                .match(/^\/sockjs\/echo\/[^/]+\/[^/]+\/([a-z_]+)$/)?.[1] === STREAMING[transport]);
              assert.ok(streams.length >= 3,
                `${streams.length} ${STREAMING[transport]} request(s) for 12 KB: not renewed every 4096 bytes`);
            }));
        }

        test(title('/sockjs/close', ': 3000 "Go away!"'), { timeout: TEST_MS }, body(async () => {
          const r = await runCase('/sockjs/close', [transport], []);
          if (why) return assertUnavailable(r, why);
          assert.equal(r.timedOut, false, `timed out: ${summary(r)}`);
          assert.equal(r.opened, true, `never opened: ${summary(r)}`);
          assert.equal(r.transport, transport);
          assert.deepEqual([r.code, r.reason, r.wasClean, r.got], [3000, 'Go away!', true, []], summary(r));
        }));

        // The server sets JSESSIONID on every non-WebSocket transport answer; the browser keeps
        // it when the request carried credentials. sockjs-client opens EventSource without
        // withCredentials, so cross-origin that answer's cookie is dropped.
        const credentialed = transport !== 'websocket' && (sameOrigin || transport !== 'eventsource');
        test(title('/sockjs/cookie_needed_echo', credentialed ? ', JSESSIONID stored' : ''),
          { timeout: TEST_MS }, body(async () => {
            await context.clearCookies();
            const r = await runCase('/sockjs/cookie_needed_echo', [transport], MESSAGES);
            if (why) return assertUnavailable(r, why);
            assertEcho(r, transport);
            if (credentialed) assert.equal(await jsessionid(), 'dummy', 'no JSESSIONID cookie stored');
          }));
      }

      test('/sockjs/disabled_websocket_echo, any transport: not websocket',
        { timeout: TEST_MS }, body(async () => {
          const r = await runCase('/sockjs/disabled_websocket_echo', null, MESSAGES);
          assertEcho(r, null);
          assert.ok(r.transport && r.transport !== 'websocket', `opened on ${r.transport}`);
        }));

      test('/sockjs/disabled_websocket_echo, websocket forced: all transports fail',
        { timeout: TEST_MS }, body(async () => {
          const r = await runCase('/sockjs/disabled_websocket_echo', ['websocket'], MESSAGES);
          assertUnavailable(r, 'the server says websocket: false');
        }));
    });
  }
});
