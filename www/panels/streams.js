// The raw streaming panels: EventSource (named events, resume after the server ends the
// stream) and WebSocket.

import { $, log, errorText, setPill, randomKey, unavailable } from '../lib/ui.js';

const ES_STATES = ['CONNECTING', 'OPEN', 'CLOSED'];
const ES_TONES = ['warn', 'ok', 'bad'];
const WS_STATES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'];
const WS_TONES = ['warn', 'ok', 'warn', 'bad'];

export function setupEventSource(ck) {
  if (typeof ck.openEventSource !== 'function') return unavailable($('sse'), 'openEventSource');
  const list = $('es-log');
  let source = null;
  let opens = 0;
  let lastId = null;
  let reconnecting = false;

  function render() {
    const state = source ? source.readyState : 2;
    setPill($('es-state'), ES_STATES[state] ?? String(state), ES_TONES[state]);
    $('es-open').disabled = Boolean(source);
    $('es-close').disabled = !source;
  }

  function onEvent(e) {
    const id = e.lastEventId;
    if (reconnecting && lastId !== null) {
      const expected = String(Number(lastId) + 1);
      log(list, id === expected
        ? `resumed after #${lastId}: no event lost`
        : `resumed at #${id}, expected #${expected}`, id === expected ? 'event' : 'error');
      reconnecting = false;
    }
    lastId = id;
    setPill($('es-last-id'), id || '–');
    log(list, `${e.type} #${id}: ${e.data}`, 'in');
  }

  function open(event) {
    event.preventDefault();
    if (source) return;
    const every = Math.max(1, Number($('es-every').value) || 4);
    const key = randomKey('demo-');
    const query = new URLSearchParams({
      named: '1', events: '1000', interval: '400', retry: '500', close_after: String(every), key,
    });
    try {
      source = ck.openEventSource(`/sse?${query}`, { polyfill: $('es-polyfill').value });
    } catch (e) {
      log(list, errorText(e), 'error');
      return;
    }
    opens = 0;
    lastId = null;
    reconnecting = false;
    setPill($('es-connections'), '0');
    log(list, `opening (${source.polyfilled ? 'XHR polyfill' : 'native EventSource'})`, 'event');
    source.addEventListener('open', () => {
      opens += 1;
      setPill($('es-connections'), String(opens));
      log(list, opens === 1 ? 'open' : `reopened (connection ${opens}), Last-Event-ID: ${lastId}`, 'event');
    });
    for (const type of ['tick', 'tock', 'message']) source.addEventListener(type, onEvent);
    source.addEventListener('error', (e) => {
      if (e.fatal) {
        log(list, `fatal error: ${e.error ? errorText(e.error) : 'the source closed'}`, 'error');
      } else {
        reconnecting = true;
        log(list, 'the server ended the stream; reconnecting…', 'event');
      }
    });
    render();
  }

  function close() {
    const s = source;
    if (!s) return;
    source = null;
    s.close();
    log(list, 'closed', 'event');
    setTimeout(() => s.free?.(), 0);
    render();
  }

  $('es-form').addEventListener('submit', open);
  $('es-close').addEventListener('click', close);
  setInterval(render, 200);
  render();
}

export function setupWebSocket(ck) {
  if (typeof ck.openWebSocket !== 'function') return unavailable($('ws'), 'openWebSocket');
  const list = $('ws-log');
  let ws = null;

  function render() {
    const state = ws ? ws.readyState : 3;
    setPill($('ws-state'), WS_STATES[state] ?? String(state), WS_TONES[state]);
    $('ws-open').disabled = Boolean(ws) && state < 2;
    for (const id of ['ws-send', 'ws-drop', 'ws-close']) $(id).disabled = state !== 1;
  }

  $('ws-open').addEventListener('click', () => {
    const old = ws;
    if (old) setTimeout(() => old.free(), 0);
    try {
      ws = ck.openWebSocket('/ws/echo');
    } catch (e) {
      ws = null;
      log(list, errorText(e), 'error');
      return;
    }
    const current = ws;
    log(list, `connecting to ${current.url}`, 'event');
    current.addEventListener('open', () => log(list, 'open', 'event'));
    current.addEventListener('message', (e) => log(list, `← ${e.data}`, 'in'));
    current.addEventListener('error', () => log(list, 'error', 'error'));
    current.addEventListener('close', (e) =>
      log(list, `closed: ${e.code} ${e.reason} (${e.wasClean ? 'clean' : 'not clean'})`, 'event'));
    render();
  });

  function sendText(text) {
    try {
      ws.send(text);
      log(list, `→ ${text}`, 'out');
    } catch (e) {
      log(list, errorText(e), 'error');
    }
  }

  $('ws-form').addEventListener('submit', (event) => {
    event.preventDefault();
    if (ws) sendText($('ws-input').value);
  });
  // The echo server drops the TCP connection on "bye": the socket sees 1006, not clean.
  $('ws-drop').addEventListener('click', () => ws && sendText('bye'));
  $('ws-close').addEventListener('click', () => {
    try {
      ws?.close(1000, 'closed from the demo');
    } catch (e) {
      log(list, errorText(e), 'error');
    }
  });
  setInterval(render, 200);
  render();
}
