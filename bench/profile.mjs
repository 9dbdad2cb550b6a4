// CPU profile of the loopback page (no network): where one library's time per message goes.
//
//   node bench/profile.mjs [lib=cometkit] [size=16] [count=20000]
//
// Serves bench/www and the package at $BENCH_PKG (default target/bench/pkg; for function names
// build one without wasm-opt, see bench/README.md), starts cometkit-server (release) for /info,
// runs B.loopback under the CDP profiler in headless Chromium and prints the functions with the
// most self time. Loopback only: nothing leaves the machine.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import path from 'node:path';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { ROOT, freePort, launchBrowser } from '../tests/e2e/harness.mjs';

const [lib = 'cometkit', size = '16', count = '20000'] = process.argv.slice(2);
const PKG = path.resolve(process.env.BENCH_PKG || path.join(ROOT, 'target', 'bench', 'pkg'));
const WWW = path.join(ROOT, 'bench', 'www');
const vendor = { '/vendor/sockjs.min.js': path.join(ROOT, 'node_modules', 'sockjs-client', 'dist', 'sockjs.min.js') };
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };

const rustPort = await freePort(18130);
const server = spawn(path.join(ROOT, 'target', 'release', 'cometkit-server'), ['--host', '127.0.0.1', '--port', String(rustPort), '--www', 'www'], { cwd: ROOT, stdio: 'ignore' });
const pagePort = await freePort(18131);
const pages = createServer((req, res) => {
  const p = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  let file = vendor[p] || (p.startsWith('/pkg/') ? path.join(PKG, p.slice(5)) : path.join(WWW, p.slice(1)));
  if (p.includes('..') || !existsSync(file) || !statSync(file).isFile()) { res.writeHead(404); res.end(); return; }
  res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
  res.end(readFileSync(file));
}).listen(pagePort, '127.0.0.1');
let browser;
try {
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`http://127.0.0.1:${rustPort}/health`)).ok) break; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await launchBrowser();
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${pagePort}/bench.html?lib=${lib}&hook=loopback`);
  await page.waitForFunction(() => document.body.dataset.ready);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 50 });
  const arg = { url: `http://127.0.0.1:${rustPort}/sockjs/echo`, size: Number(size), count: Number(count), window: 256, rtt: 200 };
  await page.evaluate((a) => window.B.loopback({ ...a, count: 2000 }), arg);
  await cdp.send('Profiler.start');
  const res = await page.evaluate((a) => window.B.loopback(a), arg);
  const { profile } = await cdp.send('Profiler.stop');
  console.log(JSON.stringify(res));
  const dt = profile.timeDeltas;
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  profile.samples.forEach((id, i) => counts.set(id, (counts.get(id) || 0) + (dt[i] || 0)));
  let total = 0;
  for (const [id, us] of counts) {
    const n = byId.get(id);
    const f = n.callFrame;
    const key = `${f.functionName || '(anon)'} ${f.url.split('/').pop()}:${f.lineNumber}`;
    self.set(key, (self.get(key) || 0) + us);
    total += us;
  }
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 40);
  for (const [k, us] of top) console.log(`${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`);
} finally {
  if (browser) await browser.close();
  pages.close();
  server.kill();
}
