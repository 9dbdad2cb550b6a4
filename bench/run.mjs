// `npm run bench`: cometkit against its peers in headless Chromium, plus native parser benches,
// the size table and memory figures. Writes target/bench/report.md, target/bench/results.json,
// target/bench/chart.svg and target/bench/chart.png.
//
//   node bench/run.mjs [--quick]
//   node bench/run.mjs --report-only     (report and chart again from results.json)
//
// Environment:
//   BENCH_QUICK=1          one round, smaller counts (a smoke run)
//   BENCH_ROUNDS=N         rounds per measurement (default 3; the report gives the median)
//   BENCH_ONLY=a,b         sections to run: native,echo,connect,fallback,loopback,memory,size
//   BENCH_LIBS=a,b         echo cells and loopback rows of these libraries only:
//                          raw,null,cometkit,sockjs,socketio,ckio
//   BENCH_PROFILE=DIR      a Chromium CPU profile of each echo cell and loopback row, written to
//                          DIR as <lib>-<server>-<transport>.cpuprofile or loopback-<lib>-<size>.cpuprofile,
//                          each with a self-time summary (.txt)
//   BENCH_SKIP_BUILD=1     use the builds already in target/ (release server, target/bench/pkg)
//   BENCH_PKG=DIR          another --target web package of cometkit (with BENCH_SKIP_BUILD=1);
//                          its socket/ and socketio/ subfolders are used when present
//
// Pages load what a user of each client imports: the `socket` package (`cometkit/socket`) for
// `Socket`, the `socketio` package for `io()`; the cold start also times the full build.
//   COMETKIT_SERVER_BIN=P  another cometkit-server binary (default: target/release/cometkit-server)
//   BENCH_SIZE=run         run scripts/size.sh (all single-feature builds, minutes) instead of
//                          reusing target/size/report.md
//
// Everything listens on 127.0.0.1 (ports 18120-18125 when free): the page server (this
// process), cometkit-server (release build), the npm sockjs server, a socket.io server, a
// listener that never answers (black-holed WebSockets) and a port nobody listens on (refused
// WebSockets). All of it, and Chromium, is stopped at the end, on failure and on Ctrl-C.

import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { ROOT, freePort, launchBrowser } from '../tests/e2e/harness.mjs';
import { writeReport } from './report.mjs';

// Files of packages in node_modules (some packages' `exports` hide their dist/ and package.json).
const nodeModule = (file) => path.join(ROOT, 'node_modules', file);
const versionOf = (mod) => JSON.parse(readFileSync(nodeModule(`${mod}/package.json`), 'utf8')).version;
const OUT = path.join(ROOT, 'target', 'bench');
const LOGS = path.join(OUT, 'logs');
const PKG = process.env.BENCH_PKG ? path.resolve(process.env.BENCH_PKG) : path.join(OUT, 'pkg');
const WWW = path.join(ROOT, 'bench', 'www');
const CARGO_ENV = { ...process.env, PATH: `${path.join(os.homedir(), '.cargo', 'bin')}:${process.env.PATH}` };

const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS || (QUICK ? 1 : 3)));
const ONLY = new Set((process.env.BENCH_ONLY || '').split(',').map((s) => s.trim()).filter(Boolean));
const want = (section) => ONLY.size === 0 || ONLY.has(section);
const HARD_LIMIT_MS = 12 * 60_000; // the whole run, builds included; a runaway is killed

export const TRANSPORTS = ['websocket', 'xhr-streaming', 'eventsource', 'xhr-polling', 'jsonp-polling'];
const scale = (n) => (QUICK ? Math.max(2, Math.round(n / 4)) : n);
export const SIZES = [
  { size: 16, count: scale(1000), window: 256, rtt: scale(30) },
  { size: 1024, count: scale(500), window: 256, rtt: scale(30) },
  { size: 65536, count: scale(24), window: 8, rtt: scale(12) },
];
const RTT_CAP_MS = 250;
const FLOOD_CAP_MS = 1000;

const log = (...a) => console.log(`[bench ${((Date.now() - T0) / 1000).toFixed(0).padStart(3)}s]`, ...a);
const T0 = Date.now();

// ---------------------------------------------------------------------------------------------
// Processes and servers (all stopped by cleanup())

const children = new Set();
const closers = [];

function run(cmd, args, { name, timeoutMs = 15 * 60_000, env = CARGO_ENV } = {}) {
  mkdirSync(LOGS, { recursive: true });
  const logFile = path.join(LOGS, `${name}.log`);
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(p);
    const out = createWriteStream(logFile);
    let text = '';
    p.stdout.on('data', (d) => { text += d; out.write(d); });
    p.stderr.on('data', (d) => out.write(d));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.once('error', (e) => { clearTimeout(timer); children.delete(p); reject(e); });
    p.once('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(p);
      out.end();
      if (code === 0) resolve(text);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? code}); see ${logFile}`));
    });
  });
}

async function waitHealthy(url, child, name, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited (${child.signalCode ?? child.exitCode}); see ${LOGS}/${name}.log`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`${name} did not answer ${url} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function service(name, cmd, args, port, health) {
  mkdirSync(LOGS, { recursive: true });
  const out = createWriteStream(path.join(LOGS, `${name}.log`));
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  child.once('exit', () => children.delete(child));
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(`${url}${health}`, child, name);
  return url;
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await gone;
  clearTimeout(timer);
}

let cleaning = null;
function cleanup() {
  cleaning ??= (async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    await Promise.all([...children].map(stopChild));
  })();
  return cleaning;
}
process.once('exit', () => { for (const c of children) c.kill('SIGKILL'); });
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => { cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143)); });
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm', '.svg': 'image/svg+xml' };

/** The bench pages, the wasm package and the peers' browser bundles, from this process. */
function pageServer(port) {
  const vendor = {
    '/vendor/sockjs.min.js': nodeModule('sockjs-client/dist/sockjs.min.js'),
    '/vendor/socket.io.min.js': nodeModule('socket.io-client/dist/socket.io.min.js'),
  };
  const server = createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    let file = vendor[p];
    if (!file && p.startsWith('/pkg/')) file = path.join(PKG, p.slice(5));
    else if (!file) file = path.join(WWW, p.slice(1));
    const inside = file === vendor[p] || file.startsWith(PKG + path.sep) || file.startsWith(WWW + path.sep);
    if (!inside || p.includes('..') || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-store' });
    let body = readFileSync(file);
    const q = new URL(req.url, 'http://x').searchParams;
    if (p === '/bench.html' && q.get('preload') === '1') {
      // As README's "Loading" section advises a page: the wasm is fetched beside the modules,
      // not after them.
      const sub = ['socket', 'socketio'].includes(q.get('build')) ? `${q.get('build')}/` : '';
      body = body.toString('utf8').replace('<head>',
        `<head>\n  <link rel="preload" href="/pkg/${sub}cometkit_bg.wasm" as="fetch" type="application/wasm" crossorigin>`);
    }
    res.end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      closers.push(() => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }));
      resolve(`http://127.0.0.1:${port}`);
    });
  });
}

/** A TCP listener that accepts and never answers: a black-holed WebSocket handshake. */
function silentListener(port) {
  const sockets = new Set();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      closers.push(() => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }));
      resolve(port);
    });
  });
}

/** Resolves when nothing accepts on `port` (a refused connection), else throws. */
function checkRefused(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); reject(new Error(`port ${port} accepts connections`)); });
    s.once('error', () => resolve(port));
  });
}

// ---------------------------------------------------------------------------------------------
// Statistics

export function median(xs) {
  const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
export function spread(xs) {
  const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
  return s.length ? [Math.min(...s), Math.max(...s)] : null;
}
const agg = (xs) => ({ median: median(xs), spread: spread(xs), rounds: xs });
function pooled(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const pct = (p) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] : null);
  return { n: s.length, p50: pct(0.5), p99: pct(0.99) };
}

// ---------------------------------------------------------------------------------------------
// Browser pages

let browser;
const pageErrors = [];

// The single-capability package each cometkit client loads, when the package has it.
const SUBPATH = { cometkit: 'socket', ckio: 'socketio' };
const subpathOf = (lib) => (existsSync(path.join(PKG, SUBPATH[lib] ?? '-', 'cometkit_bg.wasm')) ? SUBPATH[lib] : null);

// `full`: a cometkit page loads the full build even when its subpath package exists.
async function openPage(pageUrl, lib, hook = 'none', extra = '', full = false) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${lib}/${hook}: ${e}`));
  const sub = full ? null : subpathOf(lib);
  await page.goto(`${pageUrl}/bench.html?lib=${lib}&hook=${hook}${sub ? `&build=${sub}` : ''}${extra}`, { timeout: 20_000 });
  await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 20_000 });
  const ready = await page.evaluate(() => document.body.dataset.ready);
  if (ready !== 'true') throw new Error(`bench page ${lib}/${hook} failed: ${await page.textContent('#status')}`);
  return { page, context, close: () => context.close().catch(() => {}) };
}

// page.evaluate with an outer bound, so a wedged page cannot stall the run.
async function call(page, fn, arg, ms = 60_000) {
  let timer;
  const bound = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${fn} took over ${ms} ms`)), ms); });
  try {
    return await Promise.race([page.evaluate(([f, a]) => window.B[f](a), [fn, arg]), bound]);
  } catch (e) {
    return { error: String(e.message || e) };
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Sections

async function nativeBenches() {
  log('native parser benches (cargo bench, release profile as shipped: opt-level z, LTO)');
  const args = ['bench', '-q', '-p', 'cometkit', '--no-default-features', '--features', 'eventsource,socket',
    '--bench', 'sse_parser', '--bench', 'sockjs_codec'];
  if (QUICK) args.push('--', '--quick');
  const text = await run('cargo', args, { name: 'native-benches', timeoutMs: 10 * 60_000 });
  return text.split('\n').filter((l) => l.startsWith('BENCH ')).map((l) => JSON.parse(l.slice(6)));
}

const PROFILE_DIR = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : null;

async function startProfile(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
  return cdp;
}

// Writes the profile and its top self-time functions (a summary to read without DevTools).
async function stopProfile(cdp, name) {
  const { profile } = await cdp.send('Profiler.stop');
  await cdp.detach().catch(() => {});
  mkdirSync(PROFILE_DIR, { recursive: true });
  writeFileSync(path.join(PROFILE_DIR, `${name}.cpuprofile`), JSON.stringify(profile));
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const dt = profile.timeDeltas || [];
  (profile.samples || []).forEach((id, i) => {
    const f = byId.get(id).callFrame;
    const key = `${f.functionName || '(anonymous)'} ${path.basename(f.url || '')}:${f.lineNumber + 1}:${f.columnNumber + 1}`;
    self.set(key, (self.get(key) || 0) + (dt[i] || 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0) || 1;
  const lines = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 60)
    .map(([k, us]) => `${(us / 1000).toFixed(1).padStart(9)} ms ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`);
  writeFileSync(path.join(PROFILE_DIR, `${name}.txt`), `${lines.join('\n')}\n`);
}

const LIBS = new Set((process.env.BENCH_LIBS || '').split(',').map((s) => s.trim()).filter(Boolean));

async function echoSection(pageUrl, servers, sio) {
  const libs = ['raw', 'cometkit', 'sockjs', 'socketio', 'ckio'].filter((l) => LIBS.size === 0 || LIBS.has(l));
  const pages = {};
  for (const lib of libs) pages[lib] = await openPage(pageUrl, lib);
  const cells = [];
  for (const srv of servers) {
    cells.push({ lib: 'raw', server: srv.id, url: srv.echo, transport: 'websocket' });
    for (const t of TRANSPORTS) {
      cells.push({ lib: 'cometkit', server: srv.id, url: srv.echo, transport: t });
      cells.push({ lib: 'sockjs', server: srv.id, url: srv.echo, transport: t });
    }
  }
  for (const t of ['websocket', 'polling']) {
    cells.push({ lib: 'ckio', server: 'socketio', url: sio, transport: t });
    cells.push({ lib: 'socketio', server: 'socketio', url: sio, transport: t });
  }
  const results = cells.filter((c) => libs.includes(c.lib)).map((c) => ({ ...c, runs: [] }));
  for (let r = 0; r < ROUNDS; r++) {
    const t = Date.now();
    for (const cell of results) {
      const profiler = PROFILE_DIR ? await startProfile(pages[cell.lib].page) : null;
      const res = await call(pages[cell.lib].page, 'echo', {
        url: cell.url, transport: cell.transport, sizes: SIZES, rttCapMs: RTT_CAP_MS, floodCapMs: FLOOD_CAP_MS,
      }, 90_000);
      if (profiler) await stopProfile(profiler, `${cell.lib}-${cell.server}-${cell.transport}`);
      cell.runs.push(res);
      if (res.error) log(`echo ${cell.lib}@${cell.server} ${cell.transport}: ${res.error}`);
    }
    log(`echo round ${r + 1}/${ROUNDS} done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  for (const p of Object.values(pages)) await p.close();
  return results.map((cell) => {
    const sizes = SIZES.map(({ size }) => {
      const per = cell.runs.map((run) => run.sizes?.find((s) => s.size === size)).filter(Boolean);
      return {
        size,
        msgsPerS: agg(per.map((s) => s.tput.msgsPerS)),
        mbPerS: agg(per.map((s) => s.tput.mbPerS)),
        p50: agg(per.map((s) => s.rtt.p50)),
        p99: agg(per.map((s) => s.rtt.p99)),
        rttPooled: pooled(per.flatMap((s) => s.rtt.samples || [])),
        capped: per.filter((s) => s.tput.capped).length,
        counts: per.map((s) => s.tput.got),
        errors: per.map((s) => s.tput.error || s.rtt.error).filter(Boolean),
      };
    });
    const acks = cell.runs.map((run) => run.ack).filter(Boolean);
    return {
      lib: cell.lib, server: cell.server, transport: cell.transport,
      ack: acks.length ? { p50: agg(acks.map((a) => a.p50)), pooled: pooled(acks.flatMap((a) => a.samples || [])) } : undefined,
      used: [...new Set(cell.runs.map((r) => r.transport).filter(Boolean))],
      errors: cell.runs.map((r) => r.error).filter(Boolean),
      sizes,
    };
  });
}

const CONNECTS = QUICK ? 2 : 4;

async function connectSection(pageUrl, servers, sio) {
  const n = CONNECTS;
  const pages = {};
  for (const lib of ['raw', 'cometkit', 'sockjs', 'socketio']) {
    pages[lib] = await openPage(pageUrl, lib);
    const url = lib === 'socketio' ? sio : servers[0].echo;
    await call(pages[lib].page, 'connect', { url, transport: null, n: 1 }); // warm-up, not counted
  }
  // Cold start: a fresh page, the library loaded and initialised, then its first connection.
  // `cometkitPreload`: the same page with the wasm preloaded by a <link> in its head;
  // `cometkitFull`: the full build (every capability) instead of the `socket` package.
  const cold = { cometkit: { ready: [], first: [] }, cometkitPreload: { ready: [], first: [] }, sockjs: { ready: [], first: [] } };
  if (subpathOf('cometkit')) cold.cometkitFull = { ready: [], first: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const key of Object.keys(cold)) {
      const lib = key === 'sockjs' ? 'sockjs' : 'cometkit';
      const p = await openPage(pageUrl, lib, 'none', key === 'cometkitPreload' ? '&preload=1' : '', key === 'cometkitFull');
      const info = await call(p.page, 'info');
      const first = await call(p.page, 'connect', { url: servers[0].echo, transport: null, n: 1 });
      cold[key].ready.push(info.readyAt);
      cold[key].first.push(first.p50);
      await p.close();
    }
  }
  const cells = [];
  for (const srv of servers) {
    cells.push({ lib: 'raw', server: srv.id, url: srv.echo, mode: 'websocket' });
    for (const mode of ['auto', ...TRANSPORTS]) {
      for (const lib of ['cometkit', 'sockjs']) cells.push({ lib, server: srv.id, url: srv.echo, mode });
    }
  }
  for (const mode of ['auto', 'websocket', 'polling']) cells.push({ lib: 'socketio', server: 'socketio', url: sio, mode });
  for (const c of cells) c.runs = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of cells) {
      // A poll that sockjs-client leaves behind on close stays open on the server and holds one
      // of the browser's 6 connections per host for ~25 s (see the churn test below): polling
      // cells get a fresh page (and so connection pool) each time, for both clients.
      const fresh = c.mode.endsWith('polling') ? await openPage(pageUrl, c.lib) : null;
      const res = await call((fresh ?? pages[c.lib]).page, 'connect', {
        url: c.url, transport: c.mode === 'auto' ? null : c.mode, n,
      });
      await fresh?.close();
      c.runs.push(res);
      if (res.error) log(`connect ${c.lib}@${c.server} ${c.mode}: ${res.error}`);
    }
  }
  // Churn: 7 connect/close cycles in a row on a polling transport, stopping at the first failure.
  const churn = {};
  for (const transport of ['xhr-polling', 'jsonp-polling']) {
    churn[transport] = {};
    for (const lib of ['cometkit', 'sockjs']) {
      const p = await openPage(pageUrl, lib);
      const res = await call(p.page, 'connect', { url: servers[0].echo, transport, n: 7 });
      churn[transport][lib] = { done: res.n ?? 0, error: res.error ?? null };
      await p.close();
    }
  }
  for (const p of Object.values(pages)) await p.close();
  const coldStart = Object.fromEntries(Object.entries(cold).map(([lib, v]) => [lib, { ready: agg(v.ready), first: agg(v.first) }]));
  return { coldStart, churn, cells: cells.map((c) => ({
    lib: c.lib, server: c.server, mode: c.mode,
    p50: agg(c.runs.map((x) => x.p50)),
    p99: agg(c.runs.map((x) => x.p99)),
    closeMs: agg(c.runs.map((x) => x.closeMs)),
    used: [...new Set(c.runs.flatMap((x) => x.transports || []))],
    errors: c.runs.map((x) => x.error).filter(Boolean),
  })) };
}

async function chaosSet(rust, key, query) {
  const res = await fetch(`${rust}/chaos/${key}/set?${query}`, { method: 'POST' });
  if (!res.ok) throw new Error(`chaos set ${key} ${query}: ${res.status} ${await res.text()}`);
}

async function fallbackSection(pageUrl, rust, silentPort, refusedPort) {
  const pages = {};
  for (const lib of ['cometkit', 'sockjs']) {
    pages[lib] = await openPage(pageUrl, lib, 'redirect');
    await call(pages[lib].page, 'fallback', { url: `${rust}/sockjs/echo` }); // warm-up, not counted
  }
  const scenarios = [
    { id: 'baseline', title: 'WebSocket works (auto mode, for reference)' },
    { id: 'ws-off', title: 'server has WebSocket off (/info websocket:false)' },
    { id: 'refused', title: 'WebSocket connection refused (TCP reset)' },
    { id: 'blackhole', title: 'WebSocket handshake never answered' },
    { id: 'kill', title: 'WebSocket opens, then is cut 100 ms later' },
  ];
  const rows = [];
  for (const s of scenarios) for (const lib of ['cometkit', 'sockjs']) rows.push({ ...s, lib, runs: [] });
  for (let r = 0; r < ROUNDS; r++) {
    for (const row of rows) {
      const key = `bench-${row.id}-${row.lib}-${r}-${process.pid}`;
      let arg = { url: `${rust}/sockjs/echo` };
      if (row.id === 'ws-off') {
        await chaosSet(rust, key, 'ws=block');
        arg = { url: `${rust}/chaos/${key}/echo` };
      } else if (row.id === 'kill') {
        await chaosSet(rust, key, 'ws=kill&kill_after=100');
        arg = { url: `${rust}/chaos/${key}/echo`, kill: true };
      } else if (row.id === 'refused') {
        arg.redirect = `ws://127.0.0.1:${refusedPort}`;
      } else if (row.id === 'blackhole') {
        arg.redirect = `ws://127.0.0.1:${silentPort}`;
      }
      const res = await call(pages[row.lib].page, 'fallback', arg);
      row.runs.push(res);
      if (res.error) log(`fallback ${row.lib} ${row.id}: ${res.error}`);
    }
  }
  for (const p of Object.values(pages)) await p.close();
  return rows.map((row) => ({
    id: row.id, title: row.title, lib: row.lib,
    openMs: agg(row.runs.map((x) => x.openMs)),
    firstOpenMs: agg(row.runs.map((x) => x.firstOpenMs)),
    reopenMs: agg(row.runs.map((x) => x.reopenMs)),
    echoMs: agg(row.runs.map((x) => x.echoMs)),
    used: [...new Set(row.runs.map((x) => x.transport).filter(Boolean))],
    errors: row.runs.map((x) => x.error).filter(Boolean),
  }));
}

async function loopbackSection(pageUrl, rust) {
  // The SockJS clients on an in-page SockJS echo server; the Socket.IO clients on an in-page
  // Socket.IO echo server (bench/www/bench.js, LOOPBACK_SERVERS).
  const hooks = { null: 'loopback', cometkit: 'loopback', sockjs: 'loopback', socketio: 'sioloopback', ckio: 'sioloopback' };
  const libs = Object.keys(hooks).filter((l) => LIBS.size === 0 || LIBS.has(l));
  const pages = {};
  for (const lib of libs) pages[lib] = await openPage(pageUrl, lib, hooks[lib]);
  const cases = [
    { size: 16, count: scale(20000), window: 256, rtt: scale(2000) },
    { size: 1024, count: scale(10000), window: 256, rtt: scale(1000) },
    { size: 65536, count: scale(400), window: 8, rtt: scale(100) },
  ];
  const rows = [];
  for (const c of cases) for (const lib of libs) rows.push({ lib, ...c, runs: [] });
  for (let r = 0; r < ROUNDS; r++) {
    for (const row of rows) {
      const profiler = PROFILE_DIR ? await startProfile(pages[row.lib].page) : null;
      const res = await call(pages[row.lib].page, 'loopback', {
        // The Socket.IO clients only need a URL that parses: the in-page server answers.
        url: hooks[row.lib] === 'loopback' ? `${rust}/sockjs/echo` : rust,
        size: row.size, count: row.count, window: row.window, rtt: row.rtt,
      });
      if (profiler) await stopProfile(profiler, `loopback-${row.lib}-${row.size}`);
      row.runs.push(res);
      if (res.error) log(`loopback ${row.lib} ${row.size}: ${res.error}`);
    }
  }
  for (const p of Object.values(pages)) await p.close();
  return rows.map((row) => ({
    lib: row.lib, size: row.size, count: row.count, window: row.window,
    msgsPerS: agg(row.runs.map((x) => x.tput?.msgsPerS)),
    rttUs: agg(row.runs.map((x) => x.rtt?.meanUs)),
    sendUs: agg(row.runs.map((x) => x.sendUs)),
    errors: row.runs.map((x) => x.error || x.tput?.error || x.rtt?.error).filter(Boolean),
  }));
}

async function heap(cdp) {
  for (let i = 0; i < 3; i++) {
    await cdp.send('HeapProfiler.collectGarbage');
    await new Promise((r) => setTimeout(r, 150)); // FinalizationRegistry callbacks run after GC
  }
  const { usedSize, totalSize } = await cdp.send('Runtime.getHeapUsage');
  return { used: usedSize, total: totalSize };
}

async function memorySection(pageUrl, rust) {
  const cycles = QUICK ? 100 : 1000;
  const messages = QUICK ? 10_000 : 100_000;
  const out = [];
  for (const lib of ['cometkit', 'sockjs']) {
    const p = await openPage(pageUrl, lib);
    const cdp = await p.context.newCDPSession(p.page);
    await cdp.send('HeapProfiler.enable');
    const wasm = () => p.page.evaluate(() => window.B.wasmBytes());
    const row = { lib, cycles, messages };
    // One warm-up connection so lazily created things (JIT code, caches) count in the baseline.
    await call(p.page, 'cycles', { url: `${rust}/sockjs/echo`, transport: 'websocket', n: 1 });
    row.base = { heap: await heap(cdp), wasm: await wasm() };
    const t0 = Date.now();
    row.cycleRun = await call(p.page, 'cycles', { url: `${rust}/sockjs/echo`, transport: 'websocket', n: cycles, concurrency: 10 }, 180_000);
    row.afterCycles = { heap: await heap(cdp), wasm: await wasm() };
    row.messageRun = await call(p.page, 'messages', { url: `${rust}/sockjs/echo`, transport: 'websocket', size: 16, count: messages, window: 256 }, 180_000);
    row.afterMessages = { heap: await heap(cdp), wasm: await wasm() };
    row.seconds = (Date.now() - t0) / 1000;
    if (row.cycleRun.error || row.cycleRun.failed) log(`memory ${lib} cycles: ${JSON.stringify(row.cycleRun)}`);
    if (row.messageRun.error) log(`memory ${lib} messages: ${row.messageRun.error}`);
    await cdp.detach().catch(() => {});
    await p.close();
    out.push(row);
  }
  return out;
}

/** The full build's size, measured from target/bench/pkg as scripts/size.sh measures it. */
function packageSize() {
  const wasm = readFileSync(path.join(PKG, 'cometkit_bg.wasm'));
  let js = readFileSync(path.join(PKG, 'cometkit.js'));
  const snippets = path.join(PKG, 'snippets');
  if (existsSync(snippets)) {
    const files = execFileSync('find', [snippets, '-name', '*.js', '-type', 'f']).toString().split('\n').filter(Boolean).sort();
    js = Buffer.concat([js, ...files.map((f) => readFileSync(f))]);
  }
  const gz = (b) => gzipSync(b, { level: 9 }).length;
  const peer = (mod, file) => {
    const b = readFileSync(nodeModule(`${mod}/${file}`));
    return { name: `${mod} ${versionOf(mod)}`, raw: b.length, gzip: gz(b) };
  };
  return {
    full: { wasm: wasm.length, wasmGzip: gz(wasm), js: js.length, jsGzip: gz(js) },
    peers: [peer('sockjs-client', 'dist/sockjs.min.js'), peer('socket.io-client', 'dist/socket.io.min.js'),
      peer('engine.io-client', 'dist/engine.io.min.js')],
  };
}

async function sizeSection() {
  const report = path.join(ROOT, 'target', 'size', 'report.md');
  if (process.env.BENCH_SIZE === 'run') {
    log('size: scripts/size.sh (every single-feature build)');
    await run('bash', ['scripts/size.sh'], { name: 'size', timeoutMs: 20 * 60_000 });
  }
  const fresh = packageSize();
  if (!existsSync(report)) return { fresh, table: null, tableDate: null };
  return { fresh, table: readFileSync(report, 'utf8'), tableDate: statSync(report).mtime.toISOString() };
}

// ---------------------------------------------------------------------------------------------
// Main

function machine(browserVersion) {
  const cpus = os.cpus();
  const git = (...args) => { try { return execFileSync('git', args, { cwd: ROOT }).toString().trim(); } catch { return null; } };
  return {
    date: new Date().toISOString(),
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    node: process.version,
    chromium: browserVersion,
    loadavg: os.loadavg().map((x) => +x.toFixed(2)),
    commit: git('rev-parse', '--short', 'HEAD'),
    dirty: (git('status', '--porcelain', '--untracked-files=no') || '').length > 0,
    versions: Object.fromEntries(['sockjs-client', 'sockjs', 'socket.io', 'socket.io-client', 'playwright-core']
      .map((m) => [m, versionOf(m)])),
    rounds: ROUNDS,
    quick: QUICK,
  };
}

/** The newest modification time (ms) of the files that make the wasm package. */
function newestSource() {
  const files = execFileSync('find', ['src', 'js', 'protocol/src', 'protocol/Cargo.toml', 'Cargo.toml', 'Cargo.lock',
    'scripts/release.sh', 'scripts/package.mjs', '-type', 'f'], { cwd: ROOT })
    .toString().split('\n').filter(Boolean);
  return Math.max(...files.map((f) => statSync(path.join(ROOT, f)).mtimeMs));
}

async function build() {
  log('bootstrap + builds (release cometkit-server, wasm package for --target web, native benches)');
  await run('bash', ['scripts/bootstrap.sh'], { name: 'bootstrap' });
  await run('cargo', ['build', '--release', '-q', '-p', 'cometkit-server'], { name: 'build-server' });
  const wasmFiles = ['', 'socket', 'socketio'].map((d) => path.join(OUT, 'pkg', d, 'cometkit_bg.wasm'));
  const newest = newestSource();
  if (wasmFiles.some((f) => !existsSync(f) || statSync(f).mtimeMs < newest)) {
    // The release package exactly as shipped: scripts/release.sh (toolchain, `js` feature) and
    // scripts/package.mjs (snippet class re-exports, minified JS).
    // Then the two single-capability packages the pages load (`cometkit/socket`,
    // `cometkit/socketio`), into its subfolders.
    await run('bash', ['-c', 'source scripts/wasm-opt.sh && source scripts/release.sh && '
      + 'release_package web target/bench/pkg --no-pack -- ${JS_FEATURE:+--features $JS_FEATURE} && '
      + 'for f in socket socketio; do release_package web target/bench/pkg/$f --no-pack -- '
      + '--no-default-features --features "$f${JS_FEATURE:+ $JS_FEATURE}"; done'], { name: 'build-wasm' });
  } else {
    log('wasm package up to date (target/bench/pkg is newer than its sources: src/, js/, protocol/, the manifests and the release scripts)');
  }
  if (want('native')) {
    await run('cargo', ['bench', '--no-run', '-q', '-p', 'cometkit', '--no-default-features', '--features',
      'eventsource,socket', '--bench', 'sse_parser', '--bench', 'sockjs_codec'], { name: 'build-native-benches' });
  }
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  const hard = setTimeout(() => {
    console.error(`[bench] over ${HARD_LIMIT_MS / 60_000} minutes: stopping`);
    cleanup().finally(() => process.exit(1));
  }, HARD_LIMIT_MS);
  hard.unref();

  const results = { sections: {}, timings: {} };
  const timed = async (name, fn) => {
    const t = Date.now();
    const r = await fn();
    results.timings[name] = +((Date.now() - t) / 1000).toFixed(1);
    return r;
  };

  if (process.env.BENCH_SKIP_BUILD !== '1') await timed('build', build);
  if (!existsSync(path.join(PKG, 'cometkit_bg.wasm'))) throw new Error(`${PKG} is missing: run without BENCH_SKIP_BUILD`);
  const loadBefore = os.loadavg().map((x) => +x.toFixed(2));
  // Native benches first, while nothing else of ours is running.
  if (want('native')) results.sections.native = await timed('native', nativeBenches);

  const measureStart = Date.now();
  const ports = {};
  for (const [name, preferred] of [['page', 18120], ['rust', 18121], ['npm', 18122], ['sio', 18123], ['silent', 18124], ['refused', 18125]]) {
    ports[name] = await freePort(preferred);
  }
  const pageUrl = await pageServer(ports.page);
  const rustBin = process.env.COMETKIT_SERVER_BIN || path.join(ROOT, 'target', 'release', 'cometkit-server');
  const rust = await service('cometkit-server', rustBin, ['--host', '127.0.0.1', '--port', String(ports.rust), '--www', WWW], ports.rust, '/health');
  const npm = await service('sockjs-node', process.execPath, [path.join(ROOT, 'tests', 'interop', 'sockjs-node-server.js'), String(ports.npm)], ports.npm, '/health');
  const sio = await service('socketio', process.execPath, [path.join(ROOT, 'bench', 'socketio-server.cjs'), String(ports.sio)], ports.sio, '/health');
  await silentListener(ports.silent);
  await checkRefused(ports.refused);
  log(`servers: page ${pageUrl}, cometkit-server ${rust}, npm sockjs ${npm}, socket.io ${sio}`);

  browser = await launchBrowser();
  closers.push(() => browser.close());
  const servers = [
    { id: 'rust', echo: `${rust}/sockjs/echo` },
    { id: 'npm', echo: `${npm}/sockjs/echo` },
  ];
  results.machine = machine(`Chromium ${browser.version()}`);
  results.machine.loadavgBefore = loadBefore;
  results.config = { sizes: SIZES, transports: TRANSPORTS, rttCapMs: RTT_CAP_MS, floodCapMs: FLOOD_CAP_MS, connects: CONNECTS };

  if (want('echo')) results.sections.echo = await timed('echo', () => echoSection(pageUrl, servers, sio));
  if (want('connect')) results.sections.connect = await timed('connect', () => connectSection(pageUrl, servers, sio));
  if (want('fallback')) results.sections.fallback = await timed('fallback', () => fallbackSection(pageUrl, rust, ports.silent, ports.refused));
  if (want('loopback')) results.sections.loopback = await timed('loopback', () => loopbackSection(pageUrl, rust));
  if (want('memory')) results.sections.memory = await timed('memory', () => memorySection(pageUrl, rust));
  if (want('size')) results.sections.size = await timed('size', sizeSection);
  results.timings.measurements = +((Date.now() - measureStart) / 1000).toFixed(1);
  results.timings.total = +((Date.now() - T0) / 1000).toFixed(1);
  results.machine.loadavgAfter = os.loadavg().map((x) => +x.toFixed(2));
  results.pageErrors = pageErrors;

  writeFileSync(path.join(OUT, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);
  const files = await writeReport(results, OUT, browser);
  log(`report: ${files.report}`);
  log(`chart:  ${files.png ?? files.svg}`);
  log(`results: ${path.join(OUT, 'results.json')}`);
  if (pageErrors.length) log(`uncaught page errors:\n  ${pageErrors.join('\n  ')}`);
  log(`done in ${results.timings.total} s (measurements ${results.timings.measurements} s)`);
}

/** `--report-only`: rewrites the report and chart from target/bench/results.json. */
async function reportOnly() {
  const results = JSON.parse(readFileSync(path.join(OUT, 'results.json'), 'utf8'));
  browser = await launchBrowser();
  closers.push(() => browser.close());
  const files = await writeReport(results, OUT, browser);
  log(`report: ${files.report}`);
  log(`chart:  ${files.png ?? files.svg}`);
}

(process.argv.includes('--report-only') ? reportOnly() : main())
  .then(() => cleanup())
  .catch(async (e) => {
    console.error('[bench] failed:', e);
    await cleanup();
    process.exitCode = 1;
  });
