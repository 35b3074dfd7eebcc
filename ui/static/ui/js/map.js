// The map (Leaflet, from our static files): the cluster's boundaries coloured by their most
// severe open incident, the incidents' markers and affected areas. No tiles unless the
// deployment sets MAP_TILE_URL: the boundaries alone make a usable map when stations are cut off.

import { lang } from './common.js';

const L = window.L;
const zh = lang.toLowerCase().startsWith('zh');
const css = getComputedStyle(document.documentElement);
const LEVEL_COLOURS = Object.fromEntries(['I', 'II', 'III', 'IV'].map((l) => [l, css.getPropertyValue(`--lvl-${l}`).trim()]));
const NUMERALS = zh ? { I: 'Ⅰ', II: 'Ⅱ', III: 'Ⅲ', IV: 'Ⅳ' } : { I: 'I', II: 'II', III: 'III', IV: 'IV' };

function text(tag, value, className) {
  const node = document.createElement(tag);
  node.textContent = value;
  if (className) node.className = className;
  return node;
}

function popup(incident, labels) {
  const box = document.createElement('div');
  const a = text('a', incident.title);
  a.href = incident.url;
  const head = document.createElement('div');
  head.append(text('span', incident.level_label, `lvl lvl-${incident.level}`), ' ');
  if (incident.exercise) head.append(text('span', labels.exercise, 'exercise'), ' ');
  box.append(head, a, text('div', `${incident.category} · ${incident.type}`, 'small'));
  return box;
}

function pin(incident, labels) {
  const classes = `map-pin map-pin-${incident.level}${incident.exercise ? ' is-exercise' : ''}`;
  const label = `${incident.level_label}${incident.exercise ? ` · ${labels.exercise}` : ''}: ${incident.title}`;
  return L.marker([incident.location.lat, incident.location.lon], {
    title: label,
    alt: label,
    keyboard: true,
    icon: L.divIcon({
      className: '',
      html: `<div class="${classes}" aria-hidden="true">${NUMERALS[incident.level]}</div>`
        + (incident.exercise ? `<span class="pin-tag" aria-hidden="true">${labels.exercise}</span>` : ''),
      iconSize: [30, 30],
    }),
  });
}

function area(incident) {
  const style = {
    color: LEVEL_COLOURS[incident.level], weight: 3, fillOpacity: 0.12, dashArray: incident.exercise ? '8 6' : null,
  };
  const shape = incident.area;
  if (!shape) return null;
  if (shape.circle) return L.circle([shape.circle.lat, shape.circle.lon], { ...style, radius: shape.circle.radius_m });
  return L.geoJSON(shape, { style: () => style });
}

// The ground an incident covers, computed from its data (a circle's bounds need no projection).
function extent(incident) {
  const shape = incident.area;
  if (shape && shape.circle) return L.latLng(shape.circle.lat, shape.circle.lon).toBounds(shape.circle.radius_m * 2);
  if (shape) return L.geoJSON(shape).getBounds();
  return L.latLng(incident.location.lat, incident.location.lon).toBounds(20000);
}

export function createMap(element, { labels = {} } = {}) {
  const map = L.map(element, { zoomSnap: 0.25, attributionControl: Boolean(element.dataset.tiles) });
  if (element.dataset.tiles) {
    L.tileLayer(element.dataset.tiles, { attribution: element.dataset.attribution || '', maxZoom: 18 }).addTo(map);
  }
  map.setView([22.6, 113.9], 8);
  // The report form starts at the officer's jurisdiction (a coordinator's: the cluster), issue 19.
  const start = element.dataset.start ? JSON.parse(element.dataset.start) : null;
  if (start) map.fitBounds(start, { padding: [10, 10], animate: false });
  const places = L.geoJSON(null, {
    style: () => ({ color: '#37474f', weight: 1.5, fillColor: '#cfd8dc', fillOpacity: 0.5 }),
  }).addTo(map);
  const incidents = L.layerGroup().addTo(map);
  let levels = {};
  let focusBounds = null;

  function placeName(feature) {
    const p = feature.properties;
    return zh ? p.name_zh : p.name_en;
  }

  function colour() {
    places.eachLayer((layer) => {
      const code = layer.feature.properties.code;
      const level = levels[code];
      const affected = focusBounds && focusBounds.affected.includes(code);
      layer.setStyle({
        fillColor: level ? LEVEL_COLOURS[level] : '#cfd8dc',
        fillOpacity: level ? 0.45 : 0.5,
        weight: affected ? 4 : 1.5,
        color: affected ? '#17202a' : '#37474f',
      });
      const levelText = level ? ` · ${labels.levels?.[level] || level}` : '';
      layer.unbindTooltip();
      layer.bindTooltip(`${placeName(layer.feature)}${levelText}`, { permanent: true, direction: 'center', className: 'place-label' });
    });
    placeLabels();
  }

  // Neighbours' names must not print over each other (Zhuhai and Macao, Shenzhen and Hong Kong at
  // the cluster's zoom): the labels are measured as drawn; a label that overlaps one already
  // placed moves down or up by its own height, and is hidden when no offset is free (zooming in
  // brings it back). Places with an open incident, then the larger ones, are placed first: the
  // small ones move.
  function placeLabels() {
    const labels = [];
    places.eachLayer((layer) => {
      const element = layer.getTooltip()?.getElement();
      if (!element) return;
      element.classList.remove('map-label-hidden');
      element.style.marginTop = '';
      const size = map.latLngToLayerPoint(layer.getBounds().getNorthEast())
        .subtract(map.latLngToLayerPoint(layer.getBounds().getSouthWest()));
      const rank = (levels[layer.feature.properties.code] ? 1e12 : 0) + Math.abs(size.x * size.y);
      labels.push({ element, rank });
    });
    labels.sort((a, b) => b.rank - a.rank);
    const taken = [];
    const overlaps = (box) => taken.some((other) => box.left < other.right && other.left < box.right
      && box.top < other.bottom && other.top < box.bottom);
    for (const { element } of labels) {
      const height = element.getBoundingClientRect().height;
      let placed = null;
      for (const shift of [0, height, -height, 2 * height, -2 * height]) {
        element.style.marginTop = `${shift}px`;
        const box = element.getBoundingClientRect();
        if (!overlaps(box)) {
          placed = box;
          break;
        }
      }
      if (placed) taken.push(placed);
      else {
        element.style.marginTop = '';
        element.classList.add('map-label-hidden');
      }
    }
  }
  map.on('zoomend resize', placeLabels);

  async function loadBoundaries() {
    const response = await fetch(element.dataset.boundaries, { credentials: 'same-origin' });
    if (!response.ok) return;
    places.addData(await response.json());
    const bounds = places.getBounds();
    if (bounds.isValid() && !element.dataset.focus && !start) map.fitBounds(bounds, { padding: [10, 10], animate: false });
    colour();
  }

  async function reload() {
    if (!element.dataset.incidents) return;
    const response = await fetch(element.dataset.incidents, { credentials: 'same-origin' });
    if (!response.ok) return;
    const layer = await response.json();
    labels.levels = layer.level_labels;
    levels = layer.levels;
    incidents.clearLayers();
    const focus = element.dataset.focus;
    for (const incident of layer.incidents) {
      const shape = area(incident);
      if (shape) shape.addTo(incidents);
      pin(incident, labels).bindPopup(() => popup(incident, labels)).addTo(incidents);
      if (focus && incident.id === focus) {
        focusBounds = { affected: incident.affected };
        map.fitBounds(extent(incident).pad(1.5), { animate: false, maxZoom: 11 });
      }
    }
    colour();
  }

  loadBoundaries().then(reload);
  return { map, reload, places };
}
