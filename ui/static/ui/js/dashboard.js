// The dashboard, live: a stream event adds its line to the feed at once, and asks the server
// again (a moment later, once for a burst) for the parts it changes: counts, what we owe,
// charts and the map. The server applies the visibility rule to each of them.

import { debounce, onEvent, onResync, refresh, words } from './common.js';
import { feedLine } from './feed.js';
import { createMap } from './map.js';

const mapElement = document.getElementById('map');
const cluster = mapElement ? createMap(mapElement, { labels: { exercise: words.exercise } }) : null;
const feed = document.getElementById('feed');
const FEED_LENGTH = 50;

const refreshAll = debounce(() => {
  refresh('summary', 'owed', 'charts');
  if (cluster) cluster.reload();
}, 400);

onEvent((message) => {
  if (feed) {
    feed.querySelector('[data-empty]')?.remove();
    feed.prepend(feedLine(message));
    while (feed.children.length > FEED_LENGTH) feed.lastElementChild.remove();
  }
  refreshAll();
});

onResync(() => window.location.reload());
