// The Socket panel: connect with a transport picker, watch readyState and the transport live,
// exchange messages with an echo endpoint, chart round trips, and break the server on purpose
// (the /chaos/<key>/ fault-injection endpoints) to watch fallback and reconnection.

import { $, log, errorText, setPill, randomKey } from '../lib/ui.js';
import { LatencyChart } from '../lib/chart.js';

const STATE_NAMES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'];
const STATE_TONES = ['warn', 'ok', 'warn', 'bad'];
/** Latency probes are echo messages with this prefix; they feed the chart, not the log. */
const PROBE = '__rtt__ ';
const PROBE_EVERY_MS = 500;
const STATUS_EVERY_MS = 100;

export function setupSocket(ck) {
  const section = $('socket');
  // The chaos key is this page's own server-side fault state.
  const key = randomKey('demo-');
  const base = new URL(`/chaos/${key}/`, location.href);
  const url = new URL('echo', base).href;
  $('sock-url').textContent = new URL(url).pathname;

  if (typeof ck.Socket !== 'function') {
    $('sock-unavailable').hidden = false;
    for (const c of section.querySelectorAll('button, input, select')) c.disabled = true;
    return;
  }

  const logList = $('sock-log');
  const chart = new LatencyChart($('sock-chart'), $('sock-legend'));
  let socket = null;
  let shownTransport = null;
  let history = [];
  let probeSeq = 0;
  const probes = new Map(); // probe number -> performance.now() when sent

  function connect(event) {
    event.preventDefault();
    disconnect();
    const pick = $('sock-transport-pick').value;
    const options = pick === 'auto' ? {} : { transports: [pick] };
    try {
      socket = new ck.Socket(url, options);
    } catch (e) {
      log(logList, `cannot connect: ${errorText(e)}`, 'error');
      return;
    }
    history = [];
    shownTransport = null;
    log(logList, `connecting to ${new URL(url).pathname} (${pick === 'auto' ? 'any transport' : `only ${pick}`})`, 'event');
    listen(socket);
    render();
  }

  function listen(s) {
    const current = () => s === socket;
    s.addEventListener('open', () => {
      if (!current()) return;
      const how = s.recovered ? ' (session taken back: nothing lost)' : '';
      log(logList, `open on ${transportOf(s) || 'a transport'}${how}`, 'event');
    });
    s.addEventListener('message', (e) => {
      if (!current()) return;
      const data = String(e.data);
      if (data.startsWith(PROBE)) {
        const sentAt = probes.get(Number(data.slice(PROBE.length)));
        if (sentAt !== undefined) {
          const ms = performance.now() - sentAt;
          chart.add(ms, transportOf(s) || 'unknown');
          setPill($('sock-rtt'), `${ms.toFixed(1)} ms`);
        }
        return;
      }
      log(logList, `← ${data}`, 'in');
    });
    s.addEventListener('close', (e) => {
      if (!current()) return;
      log(logList, `closed: ${e.code} ${e.reason || ''} (${e.wasClean ? 'clean' : 'not clean'})`, 'event');
      render();
    });
    s.addEventListener('error', (e) => {
      if (current()) log(logList, `error: ${e.error ? errorText(e.error) : 'unknown'}`, 'error');
    });
    s.addEventListener('transport', (e) => {
      if (current()) log(logList, `trying ${e.transport}`, 'event');
    });
    s.addEventListener('resumefailed', (e) => {
      if (!current()) return;
      const n = e.unconfirmed.length;
      log(logList, `session could not be taken back (${e.code} ${e.reason}); ${n} sent message${n === 1 ? '' : 's'} unconfirmed; going on with a fresh one`, 'error');
    });
    s.addEventListener('reconnecting', (e) => {
      if (!current()) return;
      const next = e.attempt > 0 ? `retry ${e.attempt} in ${e.delay} ms` : 'moving to the next transport';
      log(logList, `session lost (${e.code} ${e.reason}): ${next}`, 'event');
    });
  }

  function disconnect() {
    const s = socket;
    if (!s) return;
    socket = null;
    try {
      s.close();
    } catch (e) {
      log(logList, `close: ${errorText(e)}`, 'error');
    }
    log(logList, 'disconnected', 'event');
    // Free it after the close event was delivered, outside any of its callbacks.
    setTimeout(() => s.free?.(), 500);
    render();
  }

  function send(event) {
    event.preventDefault();
    const text = $('sock-input').value;
    if (!socket) return;
    try {
      socket.send(text);
      log(logList, `→ ${text}`, 'out');
    } catch (e) {
      log(logList, `send: ${errorText(e)}`, 'error');
    }
  }

  function probe() {
    if (!socket || socket.readyState !== 1) return;
    const n = ++probeSeq;
    probes.set(n, performance.now());
    probes.delete(n - 30); // an unanswered probe (lost with a session) is forgotten
    try {
      socket.send(PROBE + n);
    } catch {
      probes.delete(n);
    }
  }

  /** Mirrors the socket's live state into the page. */
  function render() {
    const state = socket ? socket.readyState : 3;
    setPill($('sock-state'), STATE_NAMES[state] ?? String(state), STATE_TONES[state]);
    const transport = socket && state !== 3 ? transportOf(socket) : null;
    setPill($('sock-transport'), transport || 'none', transport ? 'ok' : '');
    if (transport && transport !== shownTransport) {
      history.push(transport);
      $('sock-history').textContent = history.join(' → ');
    }
    shownTransport = transport || shownTransport;
    $('sock-connect').disabled = false;
    $('sock-disconnect').disabled = !socket;
    $('sock-send').disabled = !socket || state === 3;
  }

  /** Calls a chaos control endpoint; with `restart`, then cuts every connection. */
  async function fault(button, query, restart) {
    button.disabled = true;
    try {
      let state = query ? await control(`set?${query}`) : null;
      if (restart) state = await control('restart');
      $('fault-state').textContent =
        `ws=${state.ws} stream=${state.stream} restarts=${state.restarts} killed=${state.killed}`;
      log(logList, `server: ${button.textContent.toLowerCase()}`, 'event');
    } catch (e) {
      log(logList, `fault control failed: ${errorText(e)}`, 'error');
    } finally {
      button.disabled = false;
    }
  }

  async function control(path) {
    const target = new URL(path, base).href;
    if (typeof ck.request === 'function') {
      return (await ck.request({ url: target, method: 'POST', timeout: 5000 })).data;
    }
    const res = await fetch(target, { method: 'POST' });
    return res.json();
  }

  $('sock-connect-form').addEventListener('submit', connect);
  $('sock-disconnect').addEventListener('click', disconnect);
  $('sock-send-form').addEventListener('submit', send);
  $('fault-block').addEventListener('click', (e) => fault(e.target, 'ws=block', true));
  $('fault-kill').addEventListener('click', (e) => fault(e.target, 'ws=kill', false));
  $('fault-buffer').addEventListener('click', (e) => fault(e.target, 'stream=buffer', true));
  $('fault-restart').addEventListener('click', (e) => fault(e.target, '', true));
  $('fault-reset').addEventListener('click', (e) => fault(e.target, 'ws=ok&stream=ok&cors=on', false));
  setInterval(render, STATUS_EVERY_MS);
  setInterval(probe, PROBE_EVERY_MS);
  render();
}

/** The transport name a socket reports (null before one is chosen). */
function transportOf(s) {
  const t = s.transport;
  return typeof t === 'string' && t ? t : null;
}
