// Drives the example Rust front-end (examples/chat, Leptos; built into target/example-chat by
// scripts/build-example.sh) in headless Chromium against a cometkit-server started here:
// a chat message typed and echoed back through the broadcast Socket, an upload whose progress
// reaches 100 % with the server's answer, and the SSE feed showing events.
// Every wait is on page state and bounded. Screenshots go to target/screenshots/.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, screenshot, waitForText, textOf } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({ www: 'target/example-chat', port: 18112, name: 'e2e-example-chat' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A fresh page with the example's wasm started. */
async function openExample() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 30_000 });
  assert.equal(await page.evaluate(() => document.body.dataset.ready), 'true',
    `the example failed to start: ${await textOf(page, '#boot-error')}`);
  return {
    page,
    async close() {
      await context.close();
      assert.deepEqual(errors.map(String), [], 'errors in the page');
    },
  };
}

describe('example front-end (examples/chat)', () => {
  it('chat: a typed message comes back through the broadcast Socket', async () => {
    const { page, close } = await openExample();
    await waitForText(page, '#chat-status', /^open \(websocket\)$/, 15_000);
    // Sent through the SocketSender used as a Sink when the session opened.
    await waitForText(page, '#chat-log', /guest-\d+ joined/, 10_000);

    const message = `hello ${Math.random().toString(36).slice(2, 8)}`;
    await page.fill('#chat-input', message);
    await page.click('#chat-send');
    await page.waitForFunction(
      (m) => [...document.querySelectorAll('#chat-log li.message')].some((li) => li.textContent.endsWith(`: ${m}`)),
      message, { timeout: 10_000, polling: 50 });
    assert.equal(await page.inputValue('#chat-input'), '', 'the input is cleared once sent');
    await screenshot(page.locator('#chat'), 'example-chat');

    await page.click('#chat-leave');
    await waitForText(page, '#chat-status', /^closed \(1000 left the chat\)$/);
    assert.ok(await page.isDisabled('#chat-send'), 'no sending once closed');
    await close();
  });

  it('chat: two pages talk to each other', async () => {
    const a = await openExample();
    const b = await openExample();
    await waitForText(a.page, '#chat-status', /^open/, 15_000);
    await waitForText(b.page, '#chat-status', /^open/, 15_000);
    const message = `from a ${Math.random().toString(36).slice(2, 8)}`;
    await a.page.fill('#chat-input', message);
    await a.page.click('#chat-send');
    await waitForText(b.page, '#chat-log', new RegExp(message), 10_000);
    await a.close();
    await b.close();
  });

  it('upload: progress reaches 100 % and the server answers with the size', async () => {
    const { page, close } = await openExample();
    const size = 8 * 1024 * 1024;
    await page.setInputFiles('#upload-file', {
      name: 'data.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(size, 7),
    });
    await page.click('#upload-send');
    await waitForText(page, '#upload-answer', /\S/, 30_000);
    const answer = JSON.parse(await textOf(page, '#upload-answer'));
    // multipart/form-data: the file plus the part's headers and boundaries.
    assert.ok(answer.received > size && answer.received < size + 1024, `server answer ${JSON.stringify(answer)}`);
    assert.equal(await textOf(page, '#upload-percent'), '100%');
    assert.equal(await page.evaluate(() => document.getElementById('upload-bar').value), 100);
    assert.equal(await textOf(page, '#upload-bytes'), `${answer.received} of ${answer.received} bytes`);
    assert.ok(!(await page.isDisabled('#upload-send')), 'ready for another upload');
    await screenshot(page.locator('#upload'), 'example-upload');
    await close();
  });

  it('upload: without a file it says so', async () => {
    const { page, close } = await openExample();
    await page.click('#upload-send');
    await waitForText(page, '#upload-answer', /^error: choose a file first$/);
    await close();
  });

  it('feed: SSE events appear, newest first', async () => {
    const { page, close } = await openExample();
    await waitForText(page, '#feed-status', /^open$/, 10_000);
    await page.waitForFunction(() => document.querySelectorAll('#feed-log li').length >= 2, null,
      { timeout: 10_000, polling: 50 });
    const items = await page.locator('#feed-log li').allTextContents();
    const ids = items.map((text) => {
      const m = /^#(\d+): event (\d+)$/.exec(text);
      assert.ok(m && m[1] === m[2], `unexpected feed item ${JSON.stringify(text)}`);
      return Number(m[1]);
    });
    // One connection from the start: ids n, n-1, ..., 1.
    assert.deepEqual(ids, ids.map((_, i) => ids.length - i));
    await screenshot(page.locator('#feed'), 'example-feed');
    await close();
  });
});
