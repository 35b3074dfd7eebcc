// One incident, live: when the stream says something about this incident, its status,
// timeline, workflow progress, acknowledgements, situation reports and mutual aid are asked
// for again (one request, each part swapped into its place), and the map redrawn.

import { debounce, incidentOf, onEvent, onResync, words } from './common.js';
import { createMap } from './map.js';

const root = document.getElementById('incident');
const mapElement = document.getElementById('map');
const view = mapElement ? createMap(mapElement, { labels: { exercise: words.exercise } }) : null;

const refreshParts = debounce(() => {
  window.htmx.ajax('GET', root.dataset.parts, { target: '#incident', swap: 'none' });
  if (view) view.reload();
}, 300);

onEvent((message) => {
  if (incidentOf(message) === root.dataset.id) refreshParts();
});

onResync(refreshParts);

// Who was reached (issue 20): its own fragment, asked for again when a notification.* event of
// this incident arrives (the message's data.incident names it; incidentOf reads it).
const refreshReached = debounce(() => {
  const part = document.getElementById('incident-reached');
  if (part && part.dataset.url) {
    window.htmx.ajax('GET', part.dataset.url, { target: '#incident-reached', swap: 'outerHTML' });
  }
}, 300);

onEvent((message) => {
  if (message.event.startsWith('notification.') && incidentOf(message) === root.dataset.id) refreshReached();
});
onResync(refreshReached);
