// The incident list, live: an incident event refreshes the results with the filters shown.

import { debounce, onEvent, onResync } from './common.js';

const refreshResults = debounce(() => {
  const results = document.getElementById('results');
  if (results) window.htmx.ajax('GET', results.dataset.refresh, { target: '#results', swap: 'outerHTML' });
}, 500);

onEvent((message) => {
  if (message.event.startsWith('incident.')) refreshResults();
});
onResync(refreshResults);
