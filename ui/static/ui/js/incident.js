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

// Who was reached (issue 20): its own fragment, again on a notification.* event of this incident.
const refreshReached = debounce(() => {
  const part = document.getElementById('incident-reached');
  if (part) window.htmx.ajax('GET', part.dataset.url, { target: part, swap: 'outerHTML' });
}, 300);
onEvent((m) => { if (m.event.startsWith('notification.') && incidentOf(m) === root.dataset.id) refreshReached(); });
onResync(refreshReached);
