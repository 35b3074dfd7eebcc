// The inbox on the dashboard (ui/templates/ui/fragments/owed.html), live: the dashboard's script
// asks the server for it again when the stream says something changed (htmx swaps it whole).
// Here: its count in the tab title and the menu, the meetings' "starts in" countdowns (the
// deadlines' are live.js's), a short tone when a new item arrives and a browser notification
// while the tab is in the background, each off unless the officer turns it on (remembered in
// this browser). The tone is made by the Web Audio API: no file.

import { now, span } from './common.js';

const STORE_KEY = 'liandong.inbox.sound';
const NOTIFY_KEY = 'liandong.inbox.notify';
const baseTitle = document.title;
const toggle = document.getElementById('inbox-sound');
const notifyToggle = document.getElementById('inbox-notify');
let known = null; // the keys of the items shown; null until the first look
let audio = null;

function inbox() {
  return document.getElementById('owed');
}

function stored(key) {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null; // storage refused (private mode): off, the default
  }
}

function store(key, value) {
  try {
    window.localStorage.setItem(key, value);
    return true;
  } catch {
    return false;
  }
}

function soundOn() {
  return stored(STORE_KEY) === 'on';
}

// Notifications need the browser's permission as well as the officer's choice.
function notifyOn() {
  return stored(NOTIFY_KEY) === 'on' && Boolean(window.Notification) && window.Notification.permission === 'granted';
}

function showNotifyToggle() {
  if (!notifyToggle || !window.Notification) return; // a browser without them: no button
  const blocked = window.Notification.permission === 'denied';
  const on = notifyOn();
  notifyToggle.hidden = false;
  notifyToggle.disabled = blocked;
  notifyToggle.setAttribute('aria-pressed', String(on));
  const words = notifyToggle.dataset;
  notifyToggle.textContent = blocked ? words.blocked : on ? words.on : words.off;
}

// One notification per new item (three at most), only while the officer looks elsewhere: on
// the page itself the item is marked and the tone says enough.
function notify(items) {
  if (!notifyOn() || !document.hidden) return;
  for (const item of items.slice(0, 3)) {
    const kind = item.querySelector('.inbox-kind');
    const asked = item.querySelector('.inbox-asked');
    new window.Notification(kind ? kind.textContent : baseTitle,
                            { body: asked ? asked.textContent : '', tag: item.dataset.inboxKey });
  }
}

function showToggle() {
  if (!toggle) return;
  const on = soundOn();
  toggle.hidden = false;
  toggle.setAttribute('aria-pressed', String(on));
  toggle.textContent = on ? toggle.dataset.on : toggle.dataset.off;
}

function context() {
  const Audio = window.AudioContext || window.webkitAudioContext;
  if (!Audio) return null;
  if (!audio) audio = new Audio();
  if (audio.state === 'suspended') audio.resume();
  return audio;
}

// Two short notes, soft at both ends (no click): heard, not startling.
export function tone() {
  const ctx = context();
  if (!ctx) return;
  const start = ctx.currentTime + 0.01;
  [[880, 0], [1175, 0.16]].forEach(([frequency, offset]) => {
    const oscillator = ctx.createOscillator();
    const gain = ctx.createGain();
    oscillator.type = 'sine';
    oscillator.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, start + offset);
    gain.gain.exponentialRampToValueAtTime(0.2, start + offset + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.14);
    oscillator.connect(gain).connect(ctx.destination);
    oscillator.start(start + offset);
    oscillator.stop(start + offset + 0.15);
  });
}

function showCount(count) {
  document.title = count > 0 ? `(${count}) ${baseTitle}` : baseTitle;
  const badge = document.getElementById('nav-inbox-count');
  if (badge) {
    badge.textContent = String(count);
    badge.hidden = count === 0;
  }
}

// After every swap of the inbox: count it, and mark (and sound) the items it did not have.
// A comment being written survives the refresh a stream event causes (the fragment is drawn
// anew, its fields empty): kept before the swap, put back (with the caret) after it.
let drafts = {};
let caret = null;

function keepDrafts(event) {
  const element = inbox();
  if (!element || event.detail?.target !== element) return;
  drafts = {};
  for (const field of element.querySelectorAll('textarea')) if (field.value) drafts[field.id] = field.value;
  const active = document.activeElement;
  caret = active && active.tagName === 'TEXTAREA' && drafts[active.id] !== undefined
    ? { id: active.id, start: active.selectionStart, end: active.selectionEnd } : null;
}

function restoreDrafts() {
  for (const [id, value] of Object.entries(drafts)) {
    const field = document.getElementById(id);
    if (field && !field.value) field.value = value;
  }
  const field = caret && document.getElementById(caret.id);
  if (field) {
    field.focus();
    field.setSelectionRange(caret.start, caret.end);
  }
  drafts = {};
  caret = null;
}

function look() {
  const element = inbox();
  if (!element) return;
  restoreDrafts();
  const items = [...element.querySelectorAll('[data-inbox-key]')];
  const keys = new Set(items.map((item) => item.dataset.inboxKey));
  const fresh = known === null ? [] : items.filter((item) => !known.has(item.dataset.inboxKey));
  known = keys;
  showCount(Number(element.dataset.inboxCount || items.length));
  for (const item of fresh) item.classList.add('fresh');
  if (fresh.length && soundOn()) tone();
  if (fresh.length) notify(fresh);
  tick();
}

// A meeting counts down to its start, then up from it ("Starts in 12:03", "Started 4:10 ago").
function tick() {
  const element = inbox();
  if (!element) return;
  const current = now();
  for (const countdown of element.querySelectorAll('[data-starts]')) {
    const left = Date.parse(countdown.dataset.starts) - current;
    const word = left >= 0 ? element.dataset.wordStarts : element.dataset.wordStarted;
    countdown.textContent = (word || '').replace('%(time)s', span(left));
  }
}

if (toggle) {
  toggle.addEventListener('click', () => {
    const on = !soundOn();
    if (!store(STORE_KEY, on ? 'on' : 'off')) return;
    showToggle();
    if (on) tone(); // what it will sound like; the click also lets the page play sound
  });
  showToggle();
}

if (notifyToggle && window.Notification) {
  notifyToggle.addEventListener('click', async () => {
    if (notifyOn()) {
      store(NOTIFY_KEY, 'off');
    } else {
      const permission = await window.Notification.requestPermission();
      store(NOTIFY_KEY, permission === 'granted' ? 'on' : 'off');
    }
    showNotifyToggle();
  });
  showNotifyToggle();
}

// A browser lets a page play sound after a gesture on it: the first click or key wakes the tone.
const wake = () => {
  if (soundOn()) context();
};
document.addEventListener('click', wake, { once: true });
document.addEventListener('keydown', wake, { once: true });

document.addEventListener('htmx:beforeSwap', keepDrafts);

// htmx replaces #owed whole (outerHTML): watch its parent for the new one.
const holder = inbox()?.parentElement;
if (holder) new MutationObserver(look).observe(holder, { childList: true });
look();
setInterval(tick, 1000);
