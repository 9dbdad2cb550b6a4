// Entry point of the demo page: loads the package built with `wasm-pack --target web` into
// ./pkg (by `npm start`), initialises its WebAssembly module and sets up every panel.
//
// The package is imported as a namespace, so a build without some capability (Cargo features)
// still loads: that panel says the export is missing instead of breaking the page.

import { $ } from './lib/ui.js';
import { setupSocket } from './panels/socket.js';
import { setupUpload, setupBuilder, setupXdr } from './panels/requests.js';
import { setupJsonp, setupPing } from './panels/beacons.js';
import { setupEventSource, setupWebSocket } from './panels/streams.js';
import { setupSocketIo } from './panels/socketio.js';

const PANELS = [
  ['socket', setupSocket],
  ['upload', setupUpload],
  ['builder', setupBuilder],
  ['xdr', setupXdr],
  ['jsonp', setupJsonp],
  ['ping', setupPing],
  ['sse', setupEventSource],
  ['ws', setupWebSocket],
  ['sio', setupSocketIo],
];

async function main() {
  const boot = $('boot');
  let ck;
  try {
    ck = await import('./pkg/cometkit.js');
    await ck.default();
  } catch (e) {
    boot.textContent = `Could not load ./pkg/cometkit.js (${e.message}). ` +
      'Build it with `npm start`, which runs wasm-pack --target web into www/pkg.';
    boot.className = 'unavailable';
    document.body.dataset.ready = 'failed';
    return;
  }
  for (const [id, setup] of PANELS) {
    try {
      setup(ck);
    } catch (e) {
      console.error(`panel ${id}:`, e);
      const note = document.createElement('p');
      note.className = 'unavailable';
      note.textContent = `This panel failed to start: ${e.message}`;
      $(id).querySelector('h2').after(note);
    }
  }
  const exported = Object.keys(ck).filter((name) => name !== 'default' && !name.startsWith('init'));
  boot.textContent = `Ready. Exports in this build: ${exported.sort().join(', ')}.`;
  document.body.dataset.ready = 'true';
}

main();
