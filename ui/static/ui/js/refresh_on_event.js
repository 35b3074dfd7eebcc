// Boards with forms (mutual aid, joint command, alerts) are not redrawn under the officer's
// hands: a relevant stream event shows a notice with a button that reloads the page.

import { onEvent, onResync, say } from './common.js';

const prefixes = (document.currentScript?.dataset.prefixes
  || document.querySelector('script[data-prefixes]')?.dataset.prefixes || '').split(',').filter(Boolean);

function notice() {
  if (document.getElementById('changed-notice')) return;
  const box = document.createElement('div');
  box.id = 'changed-notice';
  box.className = 'messages';
  box.setAttribute('role', 'status');
  const line = document.createElement('li');
  line.textContent = `${say('changed')} `;
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = say('reload');
  button.addEventListener('click', () => window.location.reload());
  line.append(button);
  box.append(line);
  document.getElementById('main').prepend(box);
}

onEvent((message) => {
  if (prefixes.some((prefix) => message.event.startsWith(prefix))) notice();
});
onResync(notice);
