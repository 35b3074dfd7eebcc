// Reporting an incident: the types follow the category, and the place is drawn on the map
// (a point, a circle around it, or a polygon) or typed in; the fields are what is sent, so
// the form works with the keyboard alone for a point or a circle.

import { createMap } from './map.js';
import { debounce, placeSearch } from './placesearch.js';

const L = window.L;
const form = document.getElementById('report-form');
const typeCategory = JSON.parse(document.getElementById('ld-type-category').textContent);
const field = (name) => form.elements.namedItem(name);

// An invalid submit comes back with the summary at the top: it takes focus (the template's
// autofocus; again here for a browser that gives autofocus only to controls).
document.querySelector('.error-summary')?.focus();

// --- the types of the chosen category --------------------------------------------------------
function narrowTypes() {
  const category = field('category').value;
  const select = field('type');
  for (const option of select.options) {
    const fits = typeCategory[option.value] === category;
    option.hidden = !fits;
    option.disabled = !fits;
  }
  for (const group of select.querySelectorAll('optgroup')) {
    group.hidden = ![...group.children].some((option) => !option.disabled);
  }
  if (select.selectedOptions[0]?.disabled) {
    const first = [...select.options].find((option) => !option.disabled);
    if (first) select.value = first.value;
  }
}
field('category').addEventListener('change', narrowTypes);
narrowTypes();

// --- the place -------------------------------------------------------------------------------
const view = createMap(document.getElementById('map'));
const drawn = L.layerGroup().addTo(view.map);
let vertices = [];
let finished = false;
try {
  vertices = JSON.parse(field('polygon').value || '[]').map(([lon, lat]) => [lat, lon]);
  finished = vertices.length >= 3;
} catch {
  vertices = [];
}

const kind = () => form.querySelector('input[name="area_kind"]:checked')?.value || 'point';
const number = (name) => Number.parseFloat(field(name).value);
const round = (value) => Math.round(value * 100000) / 100000;

function draw() {
  drawn.clearLayers();
  const lat = number('lat');
  const lon = number('lon');
  const hasPoint = Number.isFinite(lat) && Number.isFinite(lon);
  if (hasPoint) L.circleMarker([lat, lon], { radius: 7, color: '#17202a', weight: 3, fillOpacity: 0.9 }).addTo(drawn);
  if (kind() === 'circle' && hasPoint && number('radius_km') > 0) {
    L.circle([lat, lon], { radius: number('radius_km') * 1000, color: '#0b5394', weight: 3, fillOpacity: 0.15 }).addTo(drawn);
  }
  if (kind() === 'polygon' && vertices.length) {
    const shape = finished ? L.polygon(vertices) : L.polyline(vertices, { dashArray: '6 4' });
    shape.setStyle({ color: '#0b5394', weight: 3 }).addTo(drawn);
    for (const vertex of vertices) L.circleMarker(vertex, { radius: 4, color: '#0b5394' }).addTo(drawn);
  }
  document.getElementById('polygon-tools').hidden = kind() !== 'polygon';
  document.getElementById('polygon-count').textContent = kind() === 'polygon' ? `${vertices.length}` : '';
  field('radius_km').closest('.field').hidden = kind() !== 'circle';
  askPreview();
}

// --- which jurisdictions the area reaches (the server's rule: ui/views/places.py) -------------
const preview = document.getElementById('affected-preview');
let asked = 0;

async function showPreview() {
  if (!field('lat').value || !field('lon').value) {
    preview.textContent = '';
    return;
  }
  const ticket = ++asked;
  const body = new FormData();
  for (const name of ['csrfmiddlewaretoken', 'lat', 'lon', 'radius_km', 'polygon']) body.append(name, field(name).value);
  body.append('area_kind', kind());
  preview.classList.remove('is-invalid');
  preview.textContent = preview.dataset.wait;
  let answer;
  try {
    const response = await fetch(preview.dataset.url, {
      method: 'POST', body, credentials: 'same-origin', headers: { 'X-CSRFToken': field('csrfmiddlewaretoken').value },
    });
    answer = await response.json();
  } catch {
    answer = null;
  }
  if (ticket !== asked) return; // a newer question is on its way
  if (!answer) {
    preview.textContent = '';
    return;
  }
  preview.classList.toggle('is-invalid', !answer.ok);
  preview.textContent = answer.ok ? answer.text : answer.errors.join(' ');
}
const askPreview = debounce(showPreview, 350);

function storePolygon() {
  field('polygon').value = finished ? JSON.stringify(vertices.map(([lat, lon]) => [round(lon), round(lat)])) : '';
}

view.map.on('click', (e) => {
  if (kind() === 'polygon') {
    if (finished) {
      vertices = [];
      finished = false;
    }
    vertices.push([e.latlng.lat, e.latlng.lng]);
    storePolygon();
  } else {
    field('lat').value = round(e.latlng.lat);
    field('lon').value = round(e.latlng.lng);
  }
  draw();
});

document.getElementById('polygon-finish').addEventListener('click', () => {
  if (vertices.length < 3) return;
  finished = true;
  if (!field('lat').value || !field('lon').value) {
    // Without a location of its own, the incident is placed at the polygon's middle.
    field('lat').value = round(vertices.reduce((sum, [lat]) => sum + lat, 0) / vertices.length);
    field('lon').value = round(vertices.reduce((sum, [, lon]) => sum + lon, 0) / vertices.length);
  }
  storePolygon();
  draw();
});

document.getElementById('polygon-clear').addEventListener('click', () => {
  vertices = [];
  finished = false;
  storePolygon();
  draw();
});

// --- the place search ------------------------------------------------------------------------
const search = document.getElementById('place-search');
placeSearch({
  input: document.getElementById('place-query'),
  list: document.getElementById('place-options'),
  load: async () => {
    const response = await fetch(search.dataset.url, { credentials: 'same-origin' });
    return response.ok ? (await response.json()).places : [];
  },
  choose: (place) => {
    if (place.bounds) view.map.fitBounds(place.bounds, { padding: [10, 10], animate: false });
    else view.map.setView([place.lat, place.lon], 13, { animate: false });
    field('lat').value = round(place.lat);
    field('lon').value = round(place.lon);
    draw();
  },
});

for (const name of ['lat', 'lon', 'radius_km']) field(name).addEventListener('input', draw);
for (const radio of form.querySelectorAll('input[name="area_kind"]')) radio.addEventListener('change', draw);
draw();
