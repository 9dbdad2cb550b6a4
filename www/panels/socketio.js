// The Socket.IO panel: `io(url)` against any socket.io 4.x server (the tests' fixture, which
// `npm start` runs on 127.0.0.1:18096, answers every button): chat with acks and their
// round trip, the transport shown live, and a cut to watch reconnection and recovery.

import { $, log, errorText, setPill, unavailable } from '../lib/ui.js';

export function setupSocketIo(ck) {
  if (typeof ck.io !== 'function') return unavailable($('sio'), 'io');
  const list = $('sio-log');
  let socket = null;

  function render() {
    const on = Boolean(socket && socket.connected);
    setPill($('sio-state'), on ? 'connected' : socket ? 'connecting' : 'disconnected', on ? 'ok' : socket ? 'warn' : 'bad');
    setPill($('sio-transport'), (socket && socket.io.transport) || '–');
    $('sio-connect').disabled = Boolean(socket);
    for (const id of ['sio-send', 'sio-cut', 'sio-disconnect']) $(id).disabled = !on;
  }

  $('sio-connect').addEventListener('click', () => {
    try {
      socket = ck.io($('sio-url').value, { forceNew: true, transports: $('sio-transports').value.split(',') });
    } catch (e) {
      log(list, errorText(e), 'error');
      socket = null;
      return render();
    }
    socket.on('connect', () => {
      log(list, `connect ${socket.id}${socket.recovered ? ' (session recovered)' : ''}`, 'event');
      render();
    });
    socket.on('connect_error', (e) => log(list, `connect_error: ${e.message}`, 'error'));
    socket.on('disconnect', (reason) => {
      log(list, `disconnect: ${reason}`, 'event');
      render();
    });
    socket.io.on('open', render);
    socket.io.on('upgrade', (t) => {
      log(list, `upgraded to ${t}`, 'event');
      render();
    });
    socket.io.on('reconnect_attempt', (n) => log(list, `reconnect attempt ${n}`, 'event'));
    socket.onAny((event, ...args) => log(list, `${event} ${JSON.stringify(args)}`, 'in'));
    render();
  });

  $('sio-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = $('sio-input').value;
    const start = performance.now();
    try {
      const answer = await socket.timeout(5000).emitWithAck('echo', text);
      log(list, `ack ${JSON.stringify(answer)} in ${(performance.now() - start).toFixed(1)} ms`, 'out');
    } catch (err) {
      log(list, errorText(err), 'error');
    }
  });

  $('sio-cut').addEventListener('click', () => socket.emit('cut', 2));
  $('sio-disconnect').addEventListener('click', () => {
    socket.io.free();
    socket = null;
    log(list, 'closed', 'event');
    render();
  });
  render();
}
