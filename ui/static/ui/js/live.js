// The live connection of every page: the stream (/ws/v1/stream/, the session cookie
// authenticates it), resumed with `since` = the last seq seen, so a dropped connection or a
// restarted server loses nothing; plus the header clock and the deadline countdowns.

import { formatMoment, now, say, span } from './common.js';

const statusElement = document.getElementById('live-status');
let lastSeq = Number(document.body.dataset.streamSince || 0);
let attempts = 0;
let watchdog = null;

function setState(state) {
  if (!statusElement) return;
  statusElement.dataset.state = state;
  statusElement.textContent = say(state);
}

function connect() {
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  const socket = new WebSocket(`${scheme}://${window.location.host}/ws/v1/stream/?since=${lastSeq}`);
  // The server sends a heartbeat every 25 s: silence for longer means a dead connection.
  const alive = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => socket.close(), 65000);
  };
  socket.addEventListener('open', alive);
  socket.addEventListener('message', (e) => {
    alive();
    const message = JSON.parse(e.data);
    if (message.type === 'hello') {
      attempts = 0;
      setState('live');
    } else if (message.type === 'event') {
      if (message.seq <= lastSeq) return;
      lastSeq = message.seq;
      document.dispatchEvent(new CustomEvent('ld:event', { detail: message }));
    } else if (message.type === 'error' && message.resume_from !== undefined) {
      lastSeq = Math.max(lastSeq, Number(message.resume_from));
      document.dispatchEvent(new CustomEvent('ld:resync'));
    }
  });
  socket.addEventListener('close', () => {
    clearTimeout(watchdog);
    setState('offline');
    attempts += 1;
    setTimeout(connect, Math.min(15000, 500 * 2 ** Math.min(attempts, 5)));
  });
}


function tick() {
  const current = now();
  const clock = document.getElementById('clock');
  if (clock) clock.textContent = formatMoment(new Date(current), { year: true, seconds: true });
  for (const element of document.querySelectorAll('[data-due]')) {
    const left = Date.parse(element.dataset.due) - current;
    const overdue = left < 0;
    element.classList.toggle('overdue', overdue);
    element.textContent = overdue ? say('overdue', { time: span(left) }) : say('left', { time: span(left) });
  }
}

connect();
tick();
setInterval(tick, 1000);
