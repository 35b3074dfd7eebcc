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

function pad(n) {
  return String(n).padStart(2, '0');
}

// A length of time as a countdown shows it: "1:02:03", "4:05" (the sign is the caller's).
export function span(ms) {
  const seconds = Math.floor(Math.abs(ms) / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
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

// --- on every page (common.js is loaded by live.js on each one) ----------------------------------

// The phone's menu (ui.css, "Phone"): the header is one row; the button opens the rest of the
// header and the navigation. Without this script the button stays hidden and everything shows.
function setUpMenu() {
  const header = document.getElementById('top');
  const button = document.getElementById('menu-toggle');
  if (!header || !button || header.dataset.menu) return;
  header.dataset.menu = 'closed';
  button.hidden = false;
  button.addEventListener('click', () => {
    const open = button.getAttribute('aria-expanded') !== 'true';
    button.setAttribute('aria-expanded', String(open));
    header.dataset.menu = open ? 'open' : 'closed';
  });
}

// The header's count of what we owe follows the menu's (inbox.js keeps that one up to date).
function mirrorInboxCount() {
  const source = document.getElementById('nav-inbox-count');
  const copy = document.getElementById('top-inbox-count');
  if (!source || !copy) return;
  const sync = () => {
    copy.textContent = source.textContent;
    copy.hidden = source.hidden;
  };
  new MutationObserver(sync).observe(source, { childList: true, characterData: true, subtree: true, attributes: true });
  sync();
}

// Destructive buttons (class "danger", or data-confirm) take two clicks: the first one turns the
// button into "Click again to confirm" for a few seconds; only the second submits. A button
// inside a <details> is exempt: opening the details was the first step (the closing form).
const CONFIRM_MS = 6000;

function confirmText(button) {
  return button.dataset.confirm || document.getElementById('top')?.dataset.confirmText || '?';
}

function disarm(button) {
  if (button.dataset.armed !== 'true') return;
  button.dataset.armed = 'false';
  button.textContent = button.dataset.label;
}

function guardDestructive(event) {
  const button = event.target.closest?.('button.danger, button[data-confirm]');
  if (!button || button.disabled || button.closest('details')) return;
  if (button.dataset.armed === 'true') {
    disarm(button);  // the second click goes through
    return;
  }
  event.preventDefault();
  event.stopImmediatePropagation();
  button.dataset.label = button.textContent;
  button.dataset.armed = 'true';
  button.textContent = `${button.dataset.label.trim()} · ${confirmText(button)}`;
  setTimeout(() => disarm(button), CONFIRM_MS);
}

// (Only in a page: the scripts' tests import these modules under Node with a stub window.)
if (typeof window !== 'undefined' && typeof window.addEventListener === 'function' && !window.__ldPageSetUp) {
  window.__ldPageSetUp = true;
  // Capture on the window: before htmx's and the form's own handlers see the click.
  window.addEventListener('click', guardDestructive, true);
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', () => { setUpMenu(); mirrorInboxCount(); });
  } else {
    setUpMenu();
    mirrorInboxCount();
  }
}
