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

// A moment as the server writes it (ui/dates.py, DATE_FORMATS), so that a line the script adds
// reads like the lines around it: "12月7日 10:01" / "2026年12月7日 10:01:48" in Chinese (both
// scripts: the browser's zh-HK order would be 7/12), "7 Dec, 10:01" / "7 Dec 2026, 10:01:48" in
// English (Django's "M": Sep, where Intl's en-GB writes Sept). Intl gives the numbers, in the
// cluster's time zone.
const zh = lang.toLowerCase().startsWith('zh');
const numbers = new Intl.DateTimeFormat('en-GB', {
  timeZone, year: 'numeric', month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit',
  second: '2-digit', hourCycle: 'h23',
});
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function formatMoment(moment, { year = false, seconds = false } = {}) {
  if (!(moment instanceof Date) || Number.isNaN(moment.getTime())) return '';
  const p = Object.fromEntries(numbers.formatToParts(moment).map((part) => [part.type, part.value]));
  const time = `${p.hour}:${p.minute}${seconds ? `:${p.second}` : ''}`;
  const day = Number(p.day);
  if (zh) return `${year ? `${p.year}年` : ''}${Number(p.month)}月${day}日 ${time}`;
  return `${day} ${MONTHS[Number(p.month) - 1]}${year ? ` ${p.year}` : ''}, ${time}`;
}

export function formatTime(iso) {
  return formatMoment(new Date(iso));
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
