// Turns bench/run.mjs's results into target/bench/report.md and a chart (SVG, and PNG through a
// Chromium screenshot of the SVG).

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { closingNotes } from './notes.mjs';

const LIB_NAMES = {
  cometkit: 'cometkit',
  sockjs: 'sockjs-client',
  raw: 'raw WebSocket',
  socketio: 'socket.io-client',
  ckio: 'cometkit io()',
  null: 'hand-written framing (floor)',
};
const SERVER_NAMES = {
  rust: 'cometkit-server (Rust, release build)',
  npm: 'npm sockjs 0.3.24 (Node)',
  socketio: 'npm socket.io 4.8.4 (Node)',
};
const TRANSPORT_ORDER = ['websocket', 'xhr-streaming', 'eventsource', 'xhr-polling', 'jsonp-polling'];

// ---------------------------------------------------------------------------------------------
// Number formatting

const ok = (x) => typeof x === 'number' && Number.isFinite(x);
export function num(x, digits) {
  if (!ok(x)) return '–';
  const d = digits ?? (Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2);
  return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}
const spr = (a, digits) => (a?.spread ? `${num(a.spread[0], digits)}–${num(a.spread[1], digits)}` : '–');
const med = (a) => a?.median ?? null;
const ratio = (a, b) => (ok(a) && ok(b) && b !== 0 ? a / b : null);
const times = (r) => (ok(r) ? `${r.toFixed(2)}×` : '–');
const kb = (bytes) => (ok(bytes) ? `${(bytes / 1024).toFixed(1)} KB` : '–');
const mib = (bytes) => (ok(bytes) ? `${(bytes / 2 ** 20).toFixed(2)} MiB` : '–');
const sizeName = (s) => (s >= 1024 ? `${s / 1024} KiB` : `${s} B`);

// ---------------------------------------------------------------------------------------------
// Lookups

export function echoCell(echo, lib, server, transport) {
  return echo?.find((c) => c.lib === lib && c.server === server && c.transport === transport);
}
export function echoSize(cell, size) {
  return cell?.sizes.find((s) => s.size === size);
}
export function connectCell(connect, lib, server, mode) {
  return connect?.find((c) => c.lib === lib && c.server === server && c.mode === mode);
}

// ---------------------------------------------------------------------------------------------
// Markdown sections

function header(r) {
  const m = r.machine;
  const lines = [
    '# cometkit benchmark report',
    '',
    `Run ${m.date} on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), ${m.os}; ${m.chromium} headless `
      + `(Playwright ${m.versions['playwright-core']}), Node ${m.node}. cometkit ${m.commit ?? '?'}`
      + `${m.dirty ? ' with uncommitted changes' : ''}.`,
    `Peers: sockjs-client ${m.versions['sockjs-client']}, socket.io-client ${m.versions['socket.io-client']}; `
      + `servers: cometkit-server (release), npm sockjs ${m.versions.sockjs}, socket.io ${m.versions['socket.io']}.`,
    `Load average (1/5/15 min) before: ${m.loadavgBefore?.join(' / ')}, after: ${m.loadavgAfter?.join(' / ')}. `
      + 'Everything shares the same 2 cores (browser, servers, driver), and other work on the machine '
      + 'shows up as spread.',
    '',
    `Each figure is the **median of ${m.rounds} round${m.rounds > 1 ? 's' : ''}**; "spread" is the `
      + 'smallest and largest round. Rounds run one after another over the whole matrix (not back to back '
      + 'per cell), so a slow moment on the machine hits different cells in different rounds.'
      + (m.quick ? ' **Quick mode**: smaller counts, one round; not for comparisons.' : ''),
    '',
    `Times: build ${r.timings.build ?? 'skipped'} s, native ${r.timings.native ?? '–'} s, `
      + `browser and size measurements ${r.timings.measurements} s, whole run ${r.timings.total} s.`,
    '',
  ];
  return lines.join('\n');
}

function echoSection(r) {
  const echo = r.sections.echo;
  if (!echo) return '';
  const c = r.config;
  const out = [
    '## 1. Echo throughput and round trip',
    '',
    'One connection per cell and round, to the `/sockjs/echo` service of each server (both mount it with '
      + 'the 4096-byte streaming response limit of the SockJS protocol tests). On it, for each size: '
      + `sequential round trips (send one, wait for its echo; at most ${c.rttCapMs} ms of them), then a `
      + 'pipelined flood with a bounded window of unanswered messages (the same window for every client: '
      + `${c.sizes.map((s) => `${sizeName(s.size)}: ${s.count} messages, window ${s.window}`).join('; ')}; `
      + `at most ${c.floodCapMs} ms, after which the rate counts what came back in time), after an uncounted `
      + 'warm-up flood of a fifth as many messages, so that each client and the server run their hot path '
      + 'optimised when the measured flood starts (cold starts are in section 2). '
      + 'msgs/s counts echoed messages; MB/s is payload one way (the echo moves as much back). '
      + 'p50/p99 pool the round-trip samples of every round (n in the last column). '
      + 'The ceiling is the browser\'s own WebSocket on the same server\'s raw endpoint '
      + '(`/sockjs/echo/websocket`, no SockJS framing); a SockJS client can beat it, because the framed '
      + 'endpoint may answer several queued messages with one `a[...]` frame where the raw one sends a '
      + 'WebSocket message per echo. cometkit runs with `reconnect: false` and one '
      + 'forced transport, sockjs-client with `transports: [name]`. Ratios: msgs/s ÷ the ceiling\'s or '
      + 'sockjs-client\'s (above 1: cometkit faster); round trip p50 ÷ sockjs-client\'s (below 1: cometkit faster).',
    '',
  ];
  for (const server of ['rust', 'npm']) {
    out.push(`### Server: ${SERVER_NAMES[server]}`, '');
    out.push('| transport | size | client | msgs/s | spread | MB/s | RTT p50 ms | RTT p99 ms | ÷ ceiling | ÷ sockjs-client | RTT p50 ÷ sockjs-client | n RTT |');
    out.push('|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    const raw = echoCell(echo, 'raw', server, 'websocket');
    for (const t of TRANSPORT_ORDER) {
      for (const { size } of c.sizes) {
        const ceil = echoSize(raw, size);
        const sj = echoSize(echoCell(echo, 'sockjs', server, t), size);
        const rows = t === 'websocket' ? ['raw', 'cometkit', 'sockjs'] : ['cometkit', 'sockjs'];
        for (const lib of rows) {
          const cell = lib === 'raw' ? raw : echoCell(echo, lib, server, t);
          const s = echoSize(cell, size);
          if (!s) continue;
          const mps = med(s.msgsPerS);
          const note = [s.capped ? `capped ${s.capped}/${s.msgsPerS.rounds.length}` : '', ...(s.errors || []), ...(cell.errors || [])]
            .filter(Boolean).join('; ');
          const label = lib === 'raw' ? 'raw WebSocket (ceiling)' : LIB_NAMES[lib];
          out.push(`| ${t} | ${sizeName(size)} | ${lib === 'cometkit' ? `**${label}**` : label}${note ? ` (${note})` : ''} `
            + `| ${num(mps)} | ${spr(s.msgsPerS, 0)} | ${num(med(s.mbPerS))} | ${num(s.rttPooled?.p50 ?? med(s.p50))} `
            + `| ${num(s.rttPooled?.p99 ?? med(s.p99))} `
            + `| ${lib === 'raw' ? '1.00×' : times(ratio(mps, med(ceil?.msgsPerS)))} `
            + `| ${lib === 'cometkit' ? times(ratio(mps, med(sj?.msgsPerS))) : ''} `
            + `| ${lib === 'cometkit' ? times(ratio(s.rttPooled?.p50, sj?.rttPooled?.p50)) : ''} `
            + `| ${s.rttPooled?.n ?? '–'} |`);
        }
      }
    }
    out.push('');
  }
  const sio = echo.filter((x) => x.lib === 'socketio');
  const ckio = echo.filter((x) => x.lib === 'ckio');
  if (sio.length) {
    out.push(`### Socket.IO: cometkit's \`io()\` and socket.io-client against ${SERVER_NAMES.socketio}`, '');
    out.push('The same server, options and use for both (`transports: [name]`, `forceNew`, no reconnection; '
      + '`send` and the `message` event). Ratios: cometkit ÷ socket.io-client.', '');
    out.push('| transport | size | client | msgs/s | spread | MB/s | RTT p50 ms | RTT p99 ms | ÷ socket.io-client | RTT p50 ÷ socket.io-client | n RTT |');
    out.push('|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const cell of sio) {
      const mine = ckio.find((x) => x.transport === cell.transport);
      for (const s of cell.sizes) {
        const k = mine?.sizes.find((x) => x.size === s.size);
        const row = (label, x, ratios) => `| ${cell.transport} | ${sizeName(s.size)} | ${label} | ${num(med(x.msgsPerS))} | ${spr(x.msgsPerS, 0)} `
          + `| ${num(med(x.mbPerS))} | ${num(x.rttPooled?.p50)} | ${num(x.rttPooled?.p99)} | ${ratios} | ${x.rttPooled?.n ?? '–'} |`;
        if (k) {
          out.push(row('**cometkit io()**', k, `${times(ratio(med(k.msgsPerS), med(s.msgsPerS)))} | ${times(ratio(k.rttPooled?.p50, s.rttPooled?.p50))}`));
        }
        out.push(row('socket.io-client', s, ' | '));
      }
    }
    out.push('');
    out.push('Acknowledged emits (`emit(\'ack\', m, callback)`, 16 B, sequential; the server acknowledges with the argument): round trip p50 pooled over rounds.', '');
    out.push('| transport | cometkit io() ms | socket.io-client ms | cometkit ÷ socket.io-client | n |');
    out.push('|---|---:|---:|---:|---:|');
    for (const cell of sio) {
      const mine = ckio.find((x) => x.transport === cell.transport);
      const a = mine?.ack?.pooled?.p50;
      const b = cell.ack?.pooled?.p50;
      out.push(`| ${cell.transport} | ${num(a)} | ${num(b)} | ${times(ratio(a, b))} | ${mine?.ack?.pooled?.n ?? '–'} / ${cell.ack?.pooled?.n ?? '–'} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

function connectSection(r) {
  const conn = r.sections.connect?.cells;
  const cold = r.sections.connect?.coldStart;
  const fb = r.sections.fallback;
  if (!conn && !fb) return '';
  const out = ['## 2. Connect time and fallback', ''];
  if (conn) {
    out.push('Constructor to `open` (for SockJS clients that includes the `/info` request), median of the '
      + `per-round medians of ${r.config?.connects ?? '?'} sequential connects; each connection is closed before the next. `
      + '"auto" lets the client choose (the transport it chose is given).', '');
    out.push('| mode | server | cometkit ms | spread | sockjs-client ms | spread | cometkit ÷ sockjs-client | chosen (cometkit / sockjs-client) |');
    out.push('|---|---|---:|---:|---:|---:|---:|---|');
    for (const server of ['rust', 'npm']) {
      for (const mode of ['auto', ...TRANSPORT_ORDER]) {
        const a = connectCell(conn, 'cometkit', server, mode);
        const b = connectCell(conn, 'sockjs', server, mode);
        if (!a && !b) continue;
        const errs = [...(a?.errors || []), ...(b?.errors || [])];
        out.push(`| ${mode} | ${server === 'rust' ? 'Rust' : 'npm sockjs'} | ${num(med(a?.p50))} | ${spr(a?.p50)} `
          + `| ${num(med(b?.p50))} | ${spr(b?.p50)} | ${times(ratio(med(a?.p50), med(b?.p50)))} `
          + `| ${mode === 'auto' ? `${a?.used.join(', ')} / ${b?.used.join(', ')}` : ''}${errs.length ? ` errors: ${errs.join('; ')}` : ''} |`);
      }
      const raw = connectCell(conn, 'raw', server, 'websocket');
      if (raw) out.push(`| raw WebSocket (no /info) | ${server === 'rust' ? 'Rust' : 'npm sockjs'} | ${num(med(raw.p50))} | ${spr(raw.p50)} | | | | |`);
    }
    for (const mode of ['auto', 'websocket', 'polling']) {
      const s = connectCell(conn, 'socketio', 'socketio', mode);
      if (s) out.push(`| socket.io-client ${mode} | socket.io | ${num(med(s.p50))} | ${spr(s.p50)} | | | | ${s.used.join(', ')} |`);
    }
    out.push('');
  }
  const churn = r.sections.connect?.churn;
  if (churn) {
    const said = (x) => `${x?.done ?? 0}${x?.error ? ` then failed (${x.error})` : ''}`;
    const parts = Object.entries(churn).map(([t, v]) => `${t}: cometkit ${said(v.cometkit)}, sockjs-client ${said(v.sockjs)}`);
    const sockjsFailed = Object.values(churn).some((v) => v.sockjs?.error);
    out.push(`Churn: 7 connect/close cycles in a row on one page (Rust server), stopping at the first failure. `
      + `${parts.join('; ')}.`
      + (!sockjsFailed ? '' : ' A poll is a request the server holds open until it has data or its 25 s heartbeat; '
      + 'a closed sockjs-client session evidently leaves its last poll running (a JSONP `<script>` cannot be '
      + 'aborted at all; its XHR poll is not aborted either, by this result), and each such request holds one of the browser\'s 6 connections per host, so after 6 closed sessions the '
      + 'next `/info` waits for a free connection and times out (8 s, then 1002 "Cannot connect to server"). '
      + 'cometkit aborts its poll XHR and runs each JSONP poll in a hidden iframe whose removal cancels it.'), '');
  }
  if (cold) {
    const a = cold.cometkit;
    const b = cold.sockjs;
    out.push('Cold start (each round a fresh page; the pages above were warmed up with one connection first): '
      + 'navigation start to the library loaded and initialised (cometkit: `cometkit.js` imported, the wasm '
      + 'fetched, compiled and instantiated; sockjs-client: its script loaded and run), then the first '
      + 'connection in auto mode, on the Rust server. '
      + (cold.cometkitFull
        ? 'cometkit is the package a SockJS user imports, `cometkit/socket`; the last row loads the full build '
          + '(all eight capabilities) instead.'
        : 'cometkit is the full build.'), '');
    out.push('| | cometkit ms | spread | sockjs-client ms | spread | cometkit ÷ sockjs-client |');
    out.push('|---|---:|---:|---:|---:|---:|');
    out.push(`| library ready | ${num(med(a.ready))} | ${spr(a.ready)} | ${num(med(b.ready))} | ${spr(b.ready)} | ${times(ratio(med(a.ready), med(b.ready)))} |`);
    out.push(`| first connect | ${num(med(a.first))} | ${spr(a.first)} | ${num(med(b.first))} | ${spr(b.first)} | ${times(ratio(med(a.first), med(b.first)))} |`);
    const pre = cold.cometkitPreload;
    if (pre) {
      out.push(`| library ready, the page preloads the wasm | ${num(med(pre.ready))} | ${spr(pre.ready)} | ${num(med(b.ready))} | ${spr(b.ready)} | ${times(ratio(med(pre.ready), med(b.ready)))} |`);
    }
    const full = cold.cometkitFull;
    if (full) {
      out.push(`| library ready, full build | ${num(med(full.ready))} | ${spr(full.ready)} | ${num(med(b.ready))} | ${spr(b.ready)} | ${times(ratio(med(full.ready), med(b.ready)))} |`);
    }
    out.push('');
    if (pre) {
      out.push('"The page preloads the wasm": the same page with `<link rel="preload" href=".../cometkit_bg.wasm" '
        + 'as="fetch" type="application/wasm" crossorigin>` in its head (README, "Loading"), so the wasm is fetched '
        + 'while the modules load instead of after them.', '');
    }
  }
  if (fb) {
    out.push('### Fallback when WebSocket does not work', '');
    out.push('Both clients in auto mode with their defaults, against cometkit-server. "WebSocket off": the '
      + 'chaos mount\'s `ws=block` (`/info` says `websocket: false`, the URL answers 404). "Refused" and '
      + '"never answered": the page sends every WebSocket to a port nobody listens on (TCP reset) or to a '
      + 'listener that accepts and stays silent (a black-holing proxy); `/info` still says `websocket: true`. '
      + '"Cut": the chaos mount\'s `ws=kill&kill_after=100`, the WebSocket opens (`o` arrives) and its TCP '
      + 'connection is cut 100 ms later; cometkit (reconnect on, its default) demotes the transport and '
      + 'reconnects by itself; sockjs-client has no reconnection, so the page does what its application '
      + 'would have to: a new `SockJS` without websocket on `close`. For "cut" the time is from the loss '
      + 'being noticed to the first echo on the new session.', '');
    out.push('| scenario | cometkit ms | spread | → transport | sockjs-client ms | spread | → transport | cometkit ÷ sockjs-client |');
    out.push('|---|---:|---:|---|---:|---:|---|---:|');
    const ids = [...new Set(fb.map((x) => x.id))];
    for (const id of ids) {
      const a = fb.find((x) => x.id === id && x.lib === 'cometkit');
      const b = fb.find((x) => x.id === id && x.lib === 'sockjs');
      const v = (x) => (id === 'kill' ? x?.echoMs : x?.openMs);
      const errs = [...(a?.errors || []).map((e) => `cometkit: ${e}`), ...(b?.errors || []).map((e) => `sockjs-client: ${e}`)];
      out.push(`| ${a?.title ?? id}${errs.length ? ` (${errs.join('; ')})` : ''} | ${num(med(v(a)))} | ${spr(v(a))} | ${a?.used.join(', ')} `
        + `| ${num(med(v(b)))} | ${spr(v(b))} | ${b?.used.join(', ')} | ${times(ratio(med(v(a)), med(v(b))))} |`);
    }
    const ka = fb.find((x) => x.id === 'kill' && x.lib === 'cometkit');
    const kb2 = fb.find((x) => x.id === 'kill' && x.lib === 'sockjs');
    if (ka || kb2) {
      out.push('', `Cut, in detail: first open ${num(med(ka?.firstOpenMs))} / ${num(med(kb2?.firstOpenMs))} ms; `
        + `loss noticed to the new session open ${num(med(ka?.reopenMs))} / ${num(med(kb2?.reopenMs))} ms `
        + '(cometkit / sockjs-client).');
    }
    out.push('');
  }
  return out.join('\n');
}

function loopbackSection(r) {
  const lb = r.sections.loopback;
  if (!lb) return '';
  const out = [
    '## 3. Cost of the JS ↔ wasm boundary (no network)',
    '',
    'The `Socket` has no loopback transport, so the page replaces `window.WebSocket` (before any library '
      + 'loads) with an in-page SockJS echo server: it opens, sends `o`, and answers each payload `[...]` '
      + 'with the frame `a[...]`, each event in its own task (a `MessageChannel` post, as a browser '
      + 'delivers WebSocket events). Nothing leaves the page, so the time per message is the client\'s '
      + 'own cost: `send` (for cometkit: the string crosses into wasm, is queued, JSON-encoded and handed '
      + 'back to `WebSocket.send`) and the receive path (the frame crosses into wasm, is decoded, each '
      + 'message crosses back and is dispatched as a `MessageEvent`). The floor is a hand-written client '
      + 'that does only `JSON.stringify([m])` and `JSON.parse(frame.slice(1))`. "send()" times '
      + 'up to 1000 `send` calls in a row alone (512 KiB at most, within cometkit\'s queue bound).',
    '',
    '| client | size | msgs/s (pipelined, window 256) | spread | µs per message | overhead vs floor µs/msg | round trip µs (sequential, mean) | spread | send() µs |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  // µs per message of a row (null without a rate).
  const usOf = (x) => (ok(med(x?.msgsPerS)) ? 1e6 / med(x.msgsPerS) : null);
  // One table: for each size, a row per client in `libs`, the fifth column `compare(us, size)`
  // where the client is not `base`.
  const rows = (libs, bold, base, compare) => {
    for (const size of [...new Set(lb.map((x) => x.size))]) {
      const baseUs = usOf(lb.find((x) => x.lib === base && x.size === size));
      for (const lib of libs) {
        const x = lb.find((y) => y.lib === lib && y.size === size);
        if (!x) continue;
        const us = usOf(x);
        out.push(`| ${lib === bold[0] ? bold[1] : LIB_NAMES[lib]}${x.errors.length ? ` (${x.errors.join('; ')})` : ''} | ${sizeName(size)} `
          + `| ${num(med(x.msgsPerS))} | ${spr(x.msgsPerS, 0)} | ${num(us)} | ${lib === base ? '' : compare(us, baseUs)} `
          + `| ${num(med(x.rttUs))} | ${spr(x.rttUs)} `
          + `| ${num(med(x.sendUs))} |`);
      }
    }
    out.push('');
  };
  rows(['null', 'cometkit', 'sockjs'], ['cometkit', '**cometkit**'], 'null',
    (us, floorUs) => num(ok(us) && ok(floorUs) ? us - floorUs : null));
  // The Socket.IO clients on their own in-page server (hook sioloopback).
  if (lb.some((x) => x.lib === 'ckio' || x.lib === 'socketio')) {
    out.push(
      'The Socket.IO clients, each forced to the `websocket` transport, get the same treatment on an '
        + 'in-page Engine.IO v4 / Socket.IO v5 echo server: it sends the open packet, accepts the main '
        + 'namespace and sends every event packet `42[...]` back as it came. What is timed is `send(m)` '
        + '(an event `message`) and its `message` listener: for `io()`, the emit crosses into wasm, which '
        + 'frames it (the arguments stay a JavaScript string) and hands it to `WebSocket.send`; the echoed '
        + 'packet crosses in, and its arguments are parsed by the browser\'s `JSON.parse` on the way out.',
      '',
      '| client | size | msgs/s (pipelined, window 256) | spread | µs per message | ÷ socket.io-client µs | round trip µs (sequential, mean) | spread | send() µs |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    );
    rows(['socketio', 'ckio'], ['ckio', '**cometkit `io()`**'], 'socketio',
      (us, peerUs) => (ok(us) && ok(peerUs) ? `${(us / peerUs).toFixed(2)}×` : ''));
  }
  return out.join('\n');
}

function nativeSection(r) {
  const n = r.sections.native;
  if (!n) return '';
  const out = [
    '## 4. Native parsers (Rust, `cargo bench`)',
    '',
    '`benches/sse_parser.rs` and `benches/sockjs_codec.rs`: plain `std::time::Instant` timing, warm-up '
      + 'then 5 rounds of ~150 ms each (MB = 10^6 bytes of input). Built with the release profile the wasm '
      + 'package ships with (`opt-level = "z"`, LTO), natively on this machine: in the browser the same '
      + 'code runs as wasm, typically somewhat slower.',
    '',
    '| bench | case | MB/s | spread | items/s |',
    '|---|---|---:|---:|---:|',
  ];
  for (const b of n) {
    out.push(`| ${b.bench} | ${b.case} | ${num(b.mbps, 1)} | ${num(b.min, 1)}–${num(b.max, 1)} | ${num(b.items_per_s, 0)} |`);
  }
  out.push('');
  return out.join('\n');
}

function sizeSection(r) {
  const s = r.sections.size;
  if (!s) return '';
  const f = s.fresh.full;
  const out = [
    '## 5. Size',
    '',
    `This run's full build (all features, \`--target web\`, release, wasm-opt -Oz), measured as \`npm run size\` measures: `
      + `wasm ${kb(f.wasm)} (${kb(f.wasmGzip)} gzip -9), JS glue ${kb(f.js)} (${kb(f.jsGzip)} gzip), `
      + `**${kb(f.wasmGzip + f.jsGzip)} gzip in all**; `
      + s.fresh.peers.map((p) => `${p.name}: ${kb(p.raw)} minified, **${kb(p.gzip)} gzip**`).join('; ') + '.',
    '',
  ];
  if (s.table) {
    out.push(`The \`npm run size\` table (target/size/report.md, written ${s.tableDate}; \`BENCH_SIZE=run\` rebuilds it, `
      + 'which takes minutes: one release build per feature):', '', s.table.trim(), '');
  } else {
    out.push('No `npm run size` table yet (target/size/report.md): run `npm run size` or `BENCH_SIZE=run npm run bench`.', '');
  }
  return out.join('\n');
}

function memorySection(r) {
  const mem = r.sections.memory;
  if (!mem) return '';
  const out = [
    '## 6. Memory',
    '',
    'A fresh page per client; connections over websocket to cometkit-server. JS heap = V8\'s used heap '
      + '(`Runtime.getHeapUsage`) after forced garbage collections (`HeapProfiler.collectGarbage`, three '
      + 'times with pauses, so FinalizationRegistry callbacks run); wasm = the module\'s linear memory, which '
      + 'grows and never shrinks, so it shows the peak. Baseline after the library loaded and one connection '
      + `was made. Cycles: ${mem[0]?.cycles} × (connect, close, wait for \`close\`), 10 at a time; cometkit's `
      + 'page calls `free()` after each `close` event, as a tidy application does. Messages: '
      + `${mem[0]?.messages.toLocaleString('en-US')} × 16 B echoed on one connection, window 256.`,
    '',
    '| client | JS heap base | after cycles | Δ | after messages | Δ | wasm memory base | after cycles | after messages | cycles/s | msgs/s |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const m of mem) {
    const h0 = m.base?.heap?.used;
    const h1 = m.afterCycles?.heap?.used;
    const h2 = m.afterMessages?.heap?.used;
    const cyc = m.cycleRun && ok(m.cycleRun.ms) ? m.cycleRun.done / (m.cycleRun.ms / 1000) : null;
    const errs = [m.cycleRun?.error, m.cycleRun?.failed ? `${m.cycleRun.failed} cycles failed: ${m.cycleRun.firstError}` : null, m.messageRun?.error]
      .filter(Boolean);
    out.push(`| ${m.lib === 'cometkit' ? '**cometkit**' : LIB_NAMES[m.lib]}${errs.length ? ` (${errs.join('; ')})` : ''} | ${mib(h0)} | ${mib(h1)} `
      + `| ${ok(h1) && ok(h0) ? `${((h1 - h0) / 1024).toFixed(0)} KiB` : '–'} | ${mib(h2)} `
      + `| ${ok(h2) && ok(h1) ? `${((h2 - h1) / 1024).toFixed(0)} KiB` : '–'} `
      + `| ${m.base?.wasm ? mib(m.base.wasm) : '–'} | ${m.afterCycles?.wasm ? mib(m.afterCycles.wasm) : '–'} `
      + `| ${m.afterMessages?.wasm ? mib(m.afterMessages.wasm) : '–'} | ${num(cyc)} | ${num(m.messageRun?.msgsPerS)} |`);
  }
  out.push('');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Chart (SVG)

const COLORS = {
  'cometkit/rust': '#d9480f', 'cometkit/npm': '#ffa94d',
  'sockjs/rust': '#1864ab', 'sockjs/npm': '#74c0fc',
  'raw/rust': '#495057', 'raw/npm': '#adb5bd', socketio: '#2b8a3e',
};
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceTicks(max) {
  const step0 = max / 5;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((k) => k * mag).find((s) => s >= step0) ?? mag * 10;
  const ticks = [];
  for (let v = 0; v <= max * 1.0001 + step; v += step) {
    ticks.push(v);
    if (v >= max) break;
  }
  return ticks;
}

function fmtTick(v) {
  if (v >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  if (v >= 1) return `${+v.toFixed(1)}`;
  return `${+v.toPrecision(2)}`;
}

/** One grouped bar panel. `value(group, series)` gives a number or null. */
function panel({ x, y, w, h, title, subtitle, groups, series, value, log = false, lines = [] }) {
  const left = 56;
  const top = 44;
  const bottom = 44;
  const pw = w - left - 12;
  const ph = h - top - bottom;
  const vals = groups.flatMap((g) => series.map((s) => value(g, s))).concat(lines.map((l) => l.value)).filter((v) => ok(v) && v > 0);
  const parts = [`<g transform="translate(${x},${y})">`,
    `<rect width="${w}" height="${h}" fill="#fff" stroke="#dee2e6"/>`,
    `<text x="12" y="20" font-size="14" font-weight="600">${esc(title)}</text>`,
    subtitle ? `<text x="12" y="36" font-size="11" fill="#495057">${esc(subtitle)}</text>` : ''];
  if (!vals.length) {
    parts.push('<text x="20" y="80" font-size="12">no data</text></g>');
    return parts.join('');
  }
  let scaleY;
  let ticks;
  if (log) {
    const lo = 10 ** Math.floor(Math.log10(Math.min(...vals)));
    const hi = 10 ** Math.ceil(Math.log10(Math.max(...vals)));
    scaleY = (v) => top + ph - (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) * ph;
    ticks = [];
    for (let d = lo; d <= hi * 1.0001; d *= 10) for (const k of [1, 2, 5]) if (d * k <= hi * 1.0001) ticks.push(d * k);
  } else {
    ticks = niceTicks(Math.max(...vals));
    const hi = ticks.at(-1);
    scaleY = (v) => top + ph - (v / hi) * ph;
  }
  for (const t of ticks) {
    const ty = scaleY(t);
    parts.push(`<line x1="${left}" x2="${left + pw}" y1="${ty}" y2="${ty}" stroke="#f1f3f5"/>`,
      `<text x="${left - 4}" y="${ty + 4}" font-size="10" text-anchor="end" fill="#868e96">${fmtTick(t)}</text>`);
  }
  const gw = pw / groups.length;
  const bw = Math.min(22, (gw - 10) / series.length);
  groups.forEach((g, gi) => {
    const gx = left + gi * gw + (gw - bw * series.length) / 2;
    series.forEach((s, si) => {
      const v = value(g, s);
      if (!ok(v) || v <= 0) return;
      const by = scaleY(v);
      parts.push(`<rect x="${gx + si * bw}" y="${by}" width="${bw - 2}" height="${top + ph - by}" fill="${g.color ?? s.color}"><title>${esc(`${g.label} ${s.label}: ${fmtTick(v)}`)}</title></rect>`);
    });
    parts.push(`<text x="${left + gi * gw + gw / 2}" y="${top + ph + 14}" font-size="11" text-anchor="middle">${esc(g.label)}</text>`);
  });
  for (const l of lines) {
    if (!ok(l.value) || l.value <= 0) continue;
    const ly = scaleY(l.value);
    parts.push(`<line x1="${left}" x2="${left + pw}" y1="${ly}" y2="${ly}" stroke="${l.color}" stroke-dasharray="5 3"/>`,
      `<text x="${left + pw - 2}" y="${ly - 3}" font-size="10" text-anchor="end" fill="${l.color}">${esc(l.label)}</text>`);
  }
  // Legend.
  let lx = left;
  for (const s of series) {
    parts.push(`<rect x="${lx}" y="${h - 16}" width="10" height="10" fill="${s.color}"/>`,
      `<text x="${lx + 14}" y="${h - 7}" font-size="10">${esc(s.label)}</text>`);
    lx += 18 + s.label.length * 5.6;
  }
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + ph}" stroke="#adb5bd"/></g>`);
  return parts.join('');
}

function chart(r) {
  const W = 1520;
  const PH = 360;
  const PW = 740;
  const echo = r.sections.echo;
  const conn = r.sections.connect?.cells;
  const fb = r.sections.fallback;
  const lb = r.sections.loopback;
  const size = r.sections.size;
  const four = [
    { key: 'cometkit/rust', lib: 'cometkit', server: 'rust', label: 'cometkit · Rust server' },
    { key: 'sockjs/rust', lib: 'sockjs', server: 'rust', label: 'sockjs-client · Rust server' },
    { key: 'cometkit/npm', lib: 'cometkit', server: 'npm', label: 'cometkit · npm sockjs' },
    { key: 'sockjs/npm', lib: 'sockjs', server: 'npm', label: 'sockjs-client · npm sockjs' },
  ].map((s) => ({ ...s, color: COLORS[s.key] }));
  const tgroups = TRANSPORT_ORDER.map((t) => ({ id: t, label: t }));
  const panels = [];
  const rawLine = (server, size2, field) => {
    const s = echoSize(echoCell(echo, 'raw', server, 'websocket'), size2);
    return field === 'rtt' ? s?.rttPooled?.p50 : med(s?.msgsPerS);
  };
  panels.push(panel({
    x: 0, y: 0, w: PW, h: PH, title: 'Echo throughput, 1 KiB messages (msgs/s, log scale; higher is better)',
    subtitle: 'dashed: the browser\'s raw WebSocket on each server (the ceiling)', groups: tgroups, series: four, log: true,
    value: (g, s) => med(echoSize(echoCell(echo, s.lib, s.server, g.id), 1024)?.msgsPerS),
    lines: [{ label: 'raw WS · Rust', value: rawLine('rust', 1024), color: COLORS['raw/rust'] },
      { label: 'raw WS · npm', value: rawLine('npm', 1024), color: COLORS['raw/npm'] }],
  }));
  panels.push(panel({
    x: PW + 20, y: 0, w: PW, h: PH, title: 'Round trip p50, 16 B messages (ms, log scale; lower is better)',
    subtitle: 'sequential send → echo', groups: tgroups, series: four, log: true,
    value: (g, s) => echoSize(echoCell(echo, s.lib, s.server, g.id), 16)?.rttPooled?.p50,
    lines: [{ label: 'raw WS · Rust', value: rawLine('rust', 16, 'rtt'), color: COLORS['raw/rust'] }],
  }));
  panels.push(panel({
    x: 0, y: PH + 20, w: PW, h: PH, title: 'Connect time p50 (ms, constructor → open; lower is better)',
    subtitle: 'auto: the client picks the transport', groups: [{ id: 'auto', label: 'auto' }, ...tgroups], series: four,
    value: (g, s) => med(connectCell(conn, s.lib, s.server, g.id)?.p50),
  }));
  const two = four.slice(0, 2).map((s) => ({ ...s, label: s.lib === 'cometkit' ? 'cometkit' : 'sockjs-client' }));
  panels.push(panel({
    x: PW + 20, y: PH + 20, w: PW, h: PH, title: 'Fallback: time to a working session (ms; lower is better)',
    subtitle: 'Rust server; "cut": from the loss to the first echo on the new session',
    groups: [...new Set((fb || []).map((x) => x.id))].map((id) => ({ id, label: { baseline: 'ws works', 'ws-off': 'ws off', refused: 'refused', blackhole: 'no answer', kill: 'cut' }[id] ?? id })),
    series: two,
    value: (g, s) => {
      const x = fb?.find((y) => y.id === g.id && y.lib === s.lib);
      return med(g.id === 'kill' ? x?.echoMs : x?.openMs);
    },
  }));
  const lbSeries = [
    { lib: 'null', label: 'hand-written floor', color: COLORS['raw/rust'] },
    { lib: 'cometkit', label: 'cometkit', color: COLORS['cometkit/rust'] },
    { lib: 'sockjs', label: 'sockjs-client', color: COLORS['sockjs/rust'] },
    { lib: 'ckio', label: 'cometkit io()', color: COLORS['cometkit/npm'] },
    { lib: 'socketio', label: 'socket.io-client', color: COLORS.socketio },
  ].filter((x) => (lb || []).some((y) => y.lib === x.lib));
  panels.push(panel({
    x: 0, y: 2 * (PH + 20), w: PW, h: PH, title: 'Client cost per message, no network (µs; lower is better)',
    subtitle: 'in-page loopback WebSocket (SockJS or Socket.IO echo), pipelined echo (log scale)', series: lbSeries, log: true,
    groups: [...new Set((lb || []).map((x) => x.size))].map((s) => ({ id: s, label: sizeName(s) })),
    value: (g, s) => {
      const x = lb?.find((y) => y.lib === s.lib && y.size === g.id);
      return ok(med(x?.msgsPerS)) ? 1e6 / med(x.msgsPerS) : null;
    },
  }));
  const sizeRows = [];
  if (size) {
    const f = size.fresh.full;
    sizeRows.push({ id: 'cometkit (all features)', v: f.wasmGzip + f.jsGzip, color: COLORS['cometkit/rust'] });
    const socketRow = size.table?.split('\n').find((l) => l.startsWith('| socket |'));
    const m = socketRow && /\*\*([\d.]+) KB\*\*/.exec(socketRow);
    if (m) sizeRows.push({ id: 'cometkit (socket only)', v: Number(m[1]) * 1024, color: COLORS['cometkit/npm'] });
    for (const p of size.fresh.peers) sizeRows.push({ id: p.name, v: p.gzip, color: p.name.startsWith('sockjs') ? COLORS['sockjs/rust'] : COLORS.socketio });
  }
  panels.push(panel({
    x: PW + 20, y: 2 * (PH + 20), w: PW, h: PH, title: 'Size over the wire (KB gzip -9; lower is better)',
    subtitle: 'cometkit: wasm + JS glue; peers: minified bundle',
    groups: sizeRows.map((s) => ({ id: s.id, label: s.id.replace(/ \d+\.\d+\.\d+$/, ''), color: s.color })),
    series: [{ label: 'KB gzip', color: '#495057' }],
    value: (g) => (sizeRows.find((s) => s.id === g.id)?.v ?? 0) / 1024,
  }));
  const H = 3 * PH + 40 + 40;
  const m = r.machine;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif">`
    + `<rect width="${W}" height="${H}" fill="#f8f9fa"/>`
    + `<text x="10" y="${H - 14}" font-size="11" fill="#495057">${esc(`cometkit bench ${m.date} · ${m.chromium} · ${m.cpu}, ${m.cores} cores · median of ${m.rounds} round(s)`)}</text>`
    + `<g transform="translate(10,10)">${panels.join('')}</g></svg>\n`;
}

// ---------------------------------------------------------------------------------------------

export async function writeReport(results, out, browser) {
  const svg = chart(results);
  const svgFile = path.join(out, 'chart.svg');
  writeFileSync(svgFile, svg);
  let png = null;
  try {
    const page = await browser.newPage({ viewport: { width: 1540, height: 1200 } });
    await page.setContent(`<!doctype html><html><body style="margin:0;background:#fff">${svg}</body></html>`);
    png = path.join(out, 'chart.png');
    await page.locator('svg').screenshot({ path: png });
    await page.close();
  } catch (e) {
    console.error(`[bench] no PNG (the SVG is there): ${e.message}`);
    png = null;
  }
  const md = [
    header(results),
    `Chart: ${png ? '`chart.png` (and `chart.svg`)' : '`chart.svg`'} beside this file; raw data: \`results.json\`.`,
    '',
    echoSection(results),
    connectSection(results),
    loopbackSection(results),
    nativeSection(results),
    sizeSection(results),
    memorySection(results),
    closingNotes(results),
    results.pageErrors?.length ? `\nUncaught page errors during the run${results.pageErrors.some((e) => /_jp\./.test(e))
      ? ' (`_jp.… is not a function` is sockjs-client\'s: a JSONP poll that answers after its session closed '
        + 'calls a callback that is already gone)' : ''}:\n\n${results.pageErrors.map((e) => `- ${e}`).join('\n')}\n` : '',
  ].join('\n');
  const report = path.join(out, 'report.md');
  writeFileSync(report, md);
  return { report, svg: svgFile, png };
}
