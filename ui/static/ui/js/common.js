// What every page script shares: the page's words (rendered by the server in the officer's
// language), its language and time zone, the server's clock, and a way to hear the stream.

const body = document.body;

function json(id) {
  const element = document.getElementById(id);
  return element ? JSON.parse(element.textContent) : {};
}

export const words = json('ld-words');
export const lang = body.dataset.lang || document.documentElement.lang;
export const timeZone = body.dataset.tz || undefined;

// The browser's clock may be wrong; deadlines are counted on the server's.
const serverNow = Date.parse(body.dataset.serverNow || '');
export const clockSkew = Number.isNaN(serverNow) ? 0 : serverNow - Date.now();
export function now() {
  return Date.now() + clockSkew;
}

export function say(key, values = {}) {
  return (words[key] || key).replace(/%\((\w+)\)s/g, (_, name) => String(values[name] ?? ''));
}

export function formatTime(iso) {
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return '';
  return new Intl.DateTimeFormat(lang, {
    timeZone, month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).format(moment);
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// Every event the stream delivers to this page (live.js), as {seq, event, at, cluster, data}.
export function onEvent(listener) {
  document.addEventListener('ld:event', (e) => listener(e.detail));
}

// The stream could not replay what was missed (too long away): the page must read it all again.
export function onResync(listener) {
  document.addEventListener('ld:resync', () => listener());
}

// Ask htmx to fetch a part of the page again (its hx-get, hx-trigger="ld:refresh").
export function refresh(...ids) {
  for (const id of ids) {
    const element = document.getElementById(id);
    if (element && window.htmx) window.htmx.trigger(element, 'ld:refresh');
  }
}

// The incident an event is about, if any (incident.* carry it as `id`, the others as `incident`).
export function incidentOf(message) {
  const data = message.data || {};
  if (message.event.startsWith('incident.')) return data.id || null;
  return data.incident || null;
}
