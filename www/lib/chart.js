// A live line chart of round-trip times, coloured by the transport that carried each sample,
// with a marker wherever the transport changed. Plain canvas, redrawn on every sample.

/** One colour per transport, so a fallback shows as a change of colour. */
export const TRANSPORT_COLORS = {
  websocket: '#2f5bd3',
  'xhr-streaming': '#1b7f4b',
  'xdr-streaming': '#59a77a',
  eventsource: '#7a3fb8',
  'xhr-polling': '#c2700a',
  'xdr-polling': '#dfa03f',
  'jsonp-polling': '#b42318',
};
const OTHER_COLOR = '#667085';
const MAX_SAMPLES = 60;
const PAD = { left: 44, right: 10, top: 10, bottom: 22 };

export class LatencyChart {
  /** @param {HTMLCanvasElement} canvas @param {HTMLElement} legend */
  constructor(canvas, legend) {
    this.canvas = canvas;
    this.legend = legend;
    this.samples = []; // { ms, transport }
    this.seen = new Set();
    // Draw at the screen's pixel density for crisp lines.
    const ratio = window.devicePixelRatio || 1;
    this.width = canvas.width;
    this.height = canvas.height;
    canvas.width = this.width * ratio;
    canvas.height = this.height * ratio;
    this.ctx = canvas.getContext('2d');
    this.ctx.scale(ratio, ratio);
    this.draw();
  }

  /** Adds a round trip of `ms` milliseconds carried by `transport`. */
  add(ms, transport) {
    this.samples.push({ ms, transport });
    if (this.samples.length > MAX_SAMPLES) this.samples.shift();
    if (!this.seen.has(transport)) {
      this.seen.add(transport);
      this.renderLegend();
    }
    this.draw();
  }

  renderLegend() {
    this.legend.replaceChildren(...[...this.seen].map((name) => {
      const item = document.createElement('span');
      item.style.setProperty('--swatch', TRANSPORT_COLORS[name] || OTHER_COLOR);
      item.textContent = name;
      return item;
    }));
  }

  draw() {
    const { ctx, width, height, samples } = this;
    const plotW = width - PAD.left - PAD.right;
    const plotH = height - PAD.top - PAD.bottom;
    ctx.clearRect(0, 0, width, height);
    ctx.font = '11px system-ui, sans-serif';

    const top = niceCeiling(Math.max(5, ...samples.map((s) => s.ms)));
    const x = (i) => PAD.left + (plotW * i) / (MAX_SAMPLES - 1);
    const y = (ms) => PAD.top + plotH * (1 - Math.min(ms, top) / top);

    // Horizontal grid with millisecond labels.
    ctx.strokeStyle = '#e6e9ef';
    ctx.fillStyle = '#667085';
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (let k = 0; k <= 5; k++) {
      const ms = (top * k) / 5;
      const gy = Math.round(y(ms)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(PAD.left, gy);
      ctx.lineTo(width - PAD.right, gy);
      ctx.stroke();
      ctx.fillText(`${formatMs(ms)} ms`, PAD.left - 4, gy);
    }
    ctx.textAlign = 'left';
    ctx.textBaseline = 'alphabetic';
    if (samples.length === 0) {
      ctx.fillText('Connect to see round trips (two probes a second).', PAD.left + 8, PAD.top + 20);
      return;
    }
    ctx.fillText(samples.length === 1 ? 'first round trip' : `last ${samples.length} round trips`, PAD.left, height - 6);

    // Transport changes: a dashed vertical line labelled with the new transport (labels on
    // three staggered rows, so changes close together stay readable).
    ctx.setLineDash([3, 3]);
    let change = 0;
    for (let i = 1; i < samples.length; i++) {
      if (samples[i].transport === samples[i - 1].transport) continue;
      const row = change++ % 3;
      const mx = Math.round(x(i)) + 0.5;
      ctx.strokeStyle = colorOf(samples[i].transport);
      ctx.beginPath();
      ctx.moveTo(mx, PAD.top);
      ctx.lineTo(mx, PAD.top + plotH);
      ctx.stroke();
      ctx.fillStyle = colorOf(samples[i].transport);
      ctx.fillText(samples[i].transport, Math.min(mx + 3, width - PAD.right - 80), PAD.top + 10 + 13 * row);
    }
    ctx.setLineDash([]);

    // The line, each segment in the colour of the sample it leads to.
    ctx.lineWidth = 2;
    for (let i = 1; i < samples.length; i++) {
      ctx.strokeStyle = colorOf(samples[i].transport);
      ctx.beginPath();
      ctx.moveTo(x(i - 1), y(samples[i - 1].ms));
      ctx.lineTo(x(i), y(samples[i].ms));
      ctx.stroke();
    }
    for (let i = 0; i < samples.length; i++) {
      ctx.fillStyle = colorOf(samples[i].transport);
      ctx.beginPath();
      ctx.arc(x(i), y(samples[i].ms), 2.5, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
}

function colorOf(transport) {
  return TRANSPORT_COLORS[transport] || OTHER_COLOR;
}

/** The smallest of 1, 2, 5 × 10^n at least `v`, for a tidy axis. */
function niceCeiling(v) {
  const power = 10 ** Math.floor(Math.log10(v));
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= v) return step * power;
  }
  return 10 * power;
}

function formatMs(ms) {
  return ms >= 10 ? String(Math.round(ms)) : ms.toFixed(1).replace(/\.0$/, '');
}
