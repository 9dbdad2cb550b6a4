// Small DOM helpers shared by the panels.

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

const MAX_LOG_LINES = 300;

/** Appends a timestamped line to a log list (`cls`: in, out, event or error), keeping it
 * scrolled to the bottom and at most MAX_LOG_LINES long. */
export function log(list, text, cls = '') {
  const item = document.createElement('li');
  if (cls) item.className = cls;
  const time = document.createElement('time');
  time.textContent = new Date().toLocaleTimeString([], { hour12: false });
  item.append(time, text);
  list.append(item);
  while (list.childElementCount > MAX_LOG_LINES) list.firstElementChild.remove();
  list.scrollTop = list.scrollHeight;
}

/** `kind: message` for cometkit errors (every error the package throws has a `kind`). */
export function errorText(e) {
  if (e && typeof e === 'object' && typeof e.kind === 'string') return `${e.kind}: ${e.message}`;
  return String(e && e.message ? e.message : e);
}

/** Sets a status pill's text and tone (ok, warn, bad or none). */
export function setPill(el, text, tone = '') {
  el.textContent = text;
  el.className = tone ? `pill ${tone}` : 'pill';
}

/** Creates an element with attributes and children (strings become text). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** Replaces a result box's content. */
export function show(box, ...children) {
  box.replaceChildren(...children);
}

/** A `<pre>` with JSON (pretty-printed) or text. */
export function pre(value) {
  return el('pre', {}, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
}

/** 1.5 MB, 12.0 KB, 300 B. */
export function formatBytes(n) {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${n} B`;
}

/** A short random id for per-page keys on the server. */
export function randomKey(prefix) {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Marks a panel as unavailable in this build and disables its controls. */
export function unavailable(section, what) {
  const note = el('p', { class: 'unavailable' },
    `This build of the package has no ${what} export.`);
  section.querySelector('h2').after(note);
  for (const control of section.querySelectorAll('button, input, select, textarea')) {
    control.disabled = true;
  }
}

/** Runs `fn` with `button` disabled, re-enabling it afterwards. */
export async function busy(button, fn) {
  button.disabled = true;
  try {
    return await fn();
  } finally {
    button.disabled = false;
  }
}
