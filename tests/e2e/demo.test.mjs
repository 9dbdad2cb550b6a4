// Drives the demo page (www/, ES modules from the --target web package in www/pkg) in
// headless Chromium against a cometkit-server started here, as a person would: connect the
// Socket, send and receive, force each transport, press each fault button and watch the
// fallback, upload a file, call JSONP and ping, stream events. Screenshots go to
// target/screenshots/ for a person to look at.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, screenshot, waitForText, textOf } from './harness.mjs';

const TRANSPORTS = [
  'websocket', 'xhr-streaming', 'xdr-streaming', 'eventsource',
  'xhr-polling', 'xdr-polling', 'jsonp-polling',
];

let server;
let browser;

before(async () => {
  server = await startServer({ www: 'www', port: 18110, name: 'e2e-demo' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A fresh page (and so fresh server-side keys) with the demo loaded and ready. */
async function openDemo() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 20_000 });
  assert.equal(await page.evaluate(() => document.body.dataset.ready), 'true',
    `the demo failed to load: ${await textOf(page, '#boot')}`);
  return {
    page,
    /** Closes the page, failing if any uncaught exception happened in it. */
    async close() {
      await context.close();
      assert.deepEqual(errors.map(String), [], 'uncaught exceptions in the page');
    },
  };
}

async function socketAvailable(page) {
  return page.evaluate(() => document.getElementById('sock-unavailable').hidden);
}

async function connectSocket(page, transport) {
  await page.selectOption('#sock-transport-pick', transport);
  await page.click('#sock-connect');
  await waitForText(page, '#sock-state', /^OPEN$/, 15_000);
}

/** Sends a unique message through the Socket panel and waits for its echo in the log. */
async function echoThroughSocket(page, label) {
  const message = `${label} ${Math.random().toString(36).slice(2, 8)}`;
  await page.fill('#sock-input', message);
  await page.click('#sock-send');
  await waitForText(page, '#sock-log', new RegExp(`← ${escape(message)}`), 15_000);
}

async function countLogLines(page, text) {
  return page.$$eval('#sock-log li', (items, t) => items.filter((li) => li.textContent.includes(t)).length, text);
}

function escape(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('demo page', () => {
  it('loads with every panel available', async () => {
    const { page, close } = await openDemo();
    const boot = await textOf(page, '#boot');
    for (const name of ['request', 'xdrRequest', 'corsSupport', 'jsonp', 'ping', 'openWebSocket',
      'openEventSource', 'Socket']) {
      assert.match(boot, new RegExp(`\\b${name}\\b`), `export ${name} missing from the build: ${boot}`);
    }
    const missing = await page.locator('.unavailable:visible').allTextContents();
    assert.deepEqual(missing, []);
    assert.match(await textOf(page, '#xdr-support'), /^(xhr|xdr|none)$/);
    await screenshot(page, 'demo-initial', { fullPage: true });
    await close();
  });

  it('Socket: auto negotiates WebSocket, echoes messages and charts round trips', async () => {
    const { page, close } = await openDemo();
    assert.ok(await socketAvailable(page), 'the build has no Socket export');
    await connectSocket(page, 'auto');
    assert.equal(await textOf(page, '#sock-transport'), 'websocket');
    await echoThroughSocket(page, 'hello');
    await echoThroughSocket(page, 'second');
    // One probe a second: the chart shows round trips once two have come back.
    await waitForText(page, '#sock-rtt', /^\d+(\.\d+)? ms$/, 10_000);
    await waitForText(page, '#sock-legend', /websocket/);
    await screenshot(page.locator('#socket'), 'socket-websocket');
    await page.click('#sock-disconnect');
    await waitForText(page, '#sock-state', /^CLOSED$/);
    await close();
  });

  it('Socket: every transport can be forced and carries messages', async () => {
    const { page, close } = await openDemo();
    assert.ok(await socketAvailable(page), 'the build has no Socket export');
    for (const transport of TRANSPORTS) {
      await connectSocket(page, transport);
      assert.equal(await textOf(page, '#sock-transport'), transport, `forced ${transport}`);
      await echoThroughSocket(page, `via ${transport}`);
      await page.click('#sock-disconnect');
      await waitForText(page, '#sock-state', /^CLOSED$/);
    }
    await screenshot(page.locator('#socket'), 'socket-forced-transports');
    await close();
  });

  it('Socket: the fault buttons make it fall back and reconnect', async () => {
    const { page, close } = await openDemo();
    assert.ok(await socketAvailable(page), 'the build has no Socket export');

    // Kill WebSockets: the open one is cut, WebSocket is demoted, a streaming transport takes over.
    await connectSocket(page, 'auto');
    assert.equal(await textOf(page, '#sock-transport'), 'websocket');
    await page.click('#fault-kill');
    await waitForText(page, '#fault-state', /ws=kill/);
    await waitForText(page, '#sock-transport', /^xhr-streaming$/, 20_000);
    await waitForText(page, '#sock-state', /^OPEN$/, 15_000);
    await echoThroughSocket(page, 'after kill');
    assert.match(await textOf(page, '#sock-history'), /websocket → xhr-streaming/);
    // The demo's server offers the resume extension: the session was taken back.
    assert.match(await textOf(page, '#sock-log'), /open on xhr-streaming \(session taken back/);
    await screenshot(page.locator('#socket'), 'socket-after-kill');

    // A healthy server again, and a new socket: WebSocket is back.
    await page.click('#fault-reset');
    await waitForText(page, '#fault-state', /ws=ok stream=ok/);
    await page.click('#sock-disconnect');
    await connectSocket(page, 'auto');
    assert.equal(await textOf(page, '#sock-transport'), 'websocket');

    // Block WebSocket: connections are cut and the server no longer offers WebSocket.
    await page.click('#fault-block');
    await waitForText(page, '#fault-state', /ws=block/);
    await waitForText(page, '#sock-transport', /^xhr-streaming$/, 20_000);
    await waitForText(page, '#sock-state', /^OPEN$/, 15_000);
    await echoThroughSocket(page, 'after block');
    await screenshot(page.locator('#socket'), 'socket-after-block');

    // Buffer streaming (WebSocket still blocked): streaming never opens, polling does.
    await page.click('#fault-buffer');
    await waitForText(page, '#fault-state', /stream=buffer/);
    await waitForText(page, '#sock-transport', /^xhr-polling$/, 30_000);
    await waitForText(page, '#sock-state', /^OPEN$/, 15_000);
    await echoThroughSocket(page, 'after buffer');
    await screenshot(page.locator('#socket'), 'socket-after-buffer');

    // A server restart: the session is lost, a new one opens, messages flow again.
    const restartsBefore = Number((await textOf(page, '#fault-state')).match(/restarts=(\d+)/)[1]);
    const lostBefore = await countLogLines(page, 'session lost');
    await page.click('#fault-restart');
    await waitForText(page, '#fault-state', new RegExp(`restarts=${restartsBefore + 1}\\b`));
    await page.waitForFunction(
      (n) => [...document.querySelectorAll('#sock-log li')].filter((li) => li.textContent.includes('session lost')).length > n,
      lostBefore, { timeout: 20_000 });
    await waitForText(page, '#sock-state', /^OPEN$/, 20_000);
    await echoThroughSocket(page, 'after restart');
    // The restarted server no longer knows the session: the page is told.
    assert.match(await textOf(page, '#sock-log'), /could not be taken back \(2011/);
    assert.match(await textOf(page, '#sock-history'), /xhr-streaming → xhr-polling/);
    await screenshot(page.locator('#socket'), 'socket-after-restart');
    await close();
  });

  it('XHR upload: progress reaches 100 % and cancel aborts', async () => {
    const { page, close } = await openDemo();
    const size = 6 * 1024 * 1024;
    await page.setInputFiles('#up-file', {
      name: 'demo-upload.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(size, 7),
    });
    await page.click('#up-start');
    await waitForText(page, '#up-result', /^Done/, 30_000);
    assert.match(await textOf(page, '#up-result'), new RegExp(`received ${size} bytes`));
    assert.equal(await page.locator('#up-progress').evaluate((p) => p.value), 100);
    assert.equal(await textOf(page, '#up-percent'), '100 %');
    await screenshot(page.locator('#upload'), 'upload-done');

    // Cancel right after starting: the request rejects with kind "abort".
    await page.setInputFiles('#up-file', []);
    await page.selectOption('#up-size', '64');
    await page.evaluate(() => {
      document.getElementById('up-start').click();
      document.getElementById('up-cancel').click();
    });
    await waitForText(page, '#up-result', /^Cancelled \(abort: /, 10_000);
    assert.equal(await page.locator('#up-cancel').isDisabled(), true);
    await close();
  });

  it('request builder shows status, headers and body, and reports failures by kind', async () => {
    const { page, close } = await openDemo();
    await page.selectOption('#rq-method', 'PUT');
    await page.fill('#rq-url', '/echo?from=e2e');
    await page.fill('#rq-headers', 'X-Demo: e2e-header\nContent-Type: text/plain');
    await page.fill('#rq-body', 'body from the builder');
    await page.click('#rq-send');
    await waitForText(page, '#rq-result', /200 OK/);
    const result = await textOf(page, '#rq-result');
    assert.match(result, /"method": "PUT"/);
    assert.match(result, /"x-demo": "e2e-header"/);
    assert.match(result, /"body": "body from the builder"/);
    assert.match(result, /content-type/); // the response headers table
    await screenshot(page.locator('#builder'), 'request-builder');

    await page.selectOption('#rq-method', 'GET');
    await page.fill('#rq-url', '/slow?ms=3000');
    await page.fill('#rq-timeout', '300');
    await page.click('#rq-send');
    await waitForText(page, '#rq-result', /timeout: /);

    await page.fill('#rq-url', '/status/404');
    await page.fill('#rq-timeout', '5000');
    await page.click('#rq-send');
    await waitForText(page, '#rq-result', /404/);
    assert.match(await textOf(page, '#rq-result'), /http: /);
    await close();
  });

  it('XDR-style request: GET and POST', async () => {
    const { page, close } = await openDemo();
    await page.click('#xdr-send');
    await waitForText(page, '#xdr-result', /200 OK/);
    assert.match(await textOf(page, '#xdr-result'), /"query": "via=xdr"/);
    await page.selectOption('#xdr-method', 'POST');
    await page.click('#xdr-send');
    await waitForText(page, '#xdr-result', /"body": "plain text body"/);
    await close();
  });

  it('JSONP and image ping', async () => {
    const { page, close } = await openDemo();
    await page.fill('#jp-q', 'from e2e');
    await page.click('#jp-send');
    await waitForText(page, '#jp-result', /called back/);
    assert.match(await textOf(page, '#jp-result'), /"q": "from e2e"/);
    await page.selectOption('#jp-mode', 'nocall');
    await page.click('#jp-send');
    await waitForText(page, '#jp-result', /^(protocol|timeout): /);
    await page.selectOption('#jp-mode', 'slow');
    await page.fill('#jp-timeout', '500');
    await page.click('#jp-send');
    await waitForText(page, '#jp-result', /^timeout: /, 5000);
    await screenshot(page.locator('#jsonp'), 'jsonp');

    await page.click('#pg-send');
    await waitForText(page, '#pg-result', /loaded: true/);
    assert.match(await textOf(page, '#pg-result'), /recorded 1 hit\b/);
    assert.match(await textOf(page, '#pg-result'), /event=clicked-ping/);
    await page.check('#pg-404');
    await page.click('#pg-send');
    await waitForText(page, '#pg-result', /loaded: false/);
    assert.match(await textOf(page, '#pg-result'), /recorded 2 hits/);
    await screenshot(page.locator('#ping'), 'ping');
    await close();
  });

  for (const [polyfill, label] of [['auto', 'native'], ['always', 'polyfill']]) {
    it(`EventSource (${label}): named events resume after the server ends the stream`, async () => {
      const { page, close } = await openDemo();
      await page.selectOption('#es-polyfill', polyfill);
      await page.fill('#es-every', '3');
      await page.click('#es-open');
      await waitForText(page, '#es-log', /tick #1: event 1/);
      await waitForText(page, '#es-log', /tock #2: event 2/);
      // The server ends the stream after 3 events; the source reconnects with Last-Event-ID 3.
      await waitForText(page, '#es-log', /resumed after #3: no event lost/, 15_000);
      await waitForText(page, '#es-log', /tock #4: event 4/);
      assert.doesNotMatch(await textOf(page, '#es-log'), /expected #/);
      assert.ok(Number(await textOf(page, '#es-connections')) >= 2);
      assert.match(await textOf(page, '#es-log'),
        polyfill === 'always' ? /XHR polyfill/ : /native EventSource/);
      await screenshot(page.locator('#sse'), `eventsource-${label}`);
      await page.click('#es-close');
      await waitForText(page, '#es-state', /^CLOSED$/);
      await close();
    });
  }

  it('WebSocket: echoes, and sees a dropped connection as 1006', async () => {
    const { page, close } = await openDemo();
    await page.click('#ws-open');
    await waitForText(page, '#ws-state', /^OPEN$/);
    await page.fill('#ws-input', 'hello websocket');
    await page.click('#ws-send');
    await waitForText(page, '#ws-log', /← hello websocket/);
    await page.click('#ws-drop');
    await waitForText(page, '#ws-log', /closed: 1006/);
    await waitForText(page, '#ws-state', /^CLOSED$/);
    await close();
  });

  it('everything at once, for the full-page screenshot', async () => {
    const { page, close } = await openDemo();
    if (await socketAvailable(page)) {
      await connectSocket(page, 'auto');
      await echoThroughSocket(page, 'hello from the screenshot');
      await waitForText(page, '#sock-rtt', /ms$/, 10_000);
    }
    await page.click('#rq-send');
    await page.click('#xdr-send');
    await page.click('#jp-send');
    await page.click('#pg-send');
    await page.click('#es-open');
    await page.click('#ws-open');
    await page.click('#up-start');
    await waitForText(page, '#up-result', /^Done/, 30_000);
    await waitForText(page, '#es-log', /tock #2/);
    await waitForText(page, '#pg-result', /loaded/);
    await screenshot(page, 'demo-full', { fullPage: true });
    await close();
  });
});
