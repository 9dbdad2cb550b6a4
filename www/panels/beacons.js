// The script- and image-based panels: JSONP and the image ping.

import { $, el, show, pre, errorText, busy, randomKey, unavailable } from '../lib/ui.js';

export function setupJsonp(ck) {
  if (typeof ck.jsonp !== 'function') return unavailable($('jsonp'), 'jsonp');
  $('jp-form').addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('jp-send'), async () => {
      const box = $('jp-result');
      const params = { q: $('jp-q').value };
      const mode = $('jp-mode').value;
      if (mode) params.mode = mode;
      if (mode === 'slow') params.ms = 3000;
      const started = performance.now();
      show(box, 'Calling…');
      try {
        const value = await ck.jsonp('/jsonp', { params, timeout: Number($('jp-timeout').value) || 0 });
        show(box,
          el('p', { class: 'ok' }, `The server called back after ${Math.round(performance.now() - started)} ms with:`),
          pre(value));
      } catch (e) {
        show(box, el('p', { class: 'error' }, errorText(e)));
      }
    });
  });
}

export function setupPing(ck) {
  if (typeof ck.ping !== 'function') return unavailable($('ping'), 'ping');
  // Hits are recorded by the server under this page's key.
  const key = randomKey('demo-');
  $('pg-form').addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('pg-send'), async () => {
      const box = $('pg-result');
      const params = { key, event: $('pg-event').value };
      if ($('pg-404').checked) params.mode = '404';
      show(box, 'Pinging…');
      try {
        const { loaded } = await ck.ping('/ping', params, { timeout: 5000 });
        const parts = [el('p', { class: loaded ? 'ok' : 'error' }, loaded
          ? 'loaded: true (an image came back)'
          : 'loaded: false (the server answered, but not with an image)')];
        if (typeof ck.request === 'function') {
          const hits = (await ck.request({ url: '/ping/hits', params: { key } })).data;
          parts.push(el('p', {}, `The server recorded ${hits.length} hit${hits.length === 1 ? '' : 's'} from this page; the last query:`),
            pre(hits[hits.length - 1] ?? ''));
        }
        show(box, ...parts);
      } catch (e) {
        show(box, el('p', { class: 'error' }, errorText(e)));
      }
    });
  });
}
