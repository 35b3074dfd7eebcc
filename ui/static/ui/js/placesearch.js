// The report form's place search (issue 19): a combobox over the cluster's jurisdictions and
// depots (ui/views/places.py), matched by substring in any of their names (Chinese, English),
// and kept by the keyboard: ↓/↑ move through the list, Enter takes the one marked, Escape closes.
// No library and nothing from the network but our own endpoint. Pure parts are exported for
// the Node test (tests/ui/test_report_form.py).

export const MAX_SHOWN = 12;

const fold = (value) => String(value || '').normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();

// The places whose names hold the query; those starting with it first, then in their order.
export function matchPlaces(places, query) {
  const wanted = fold(query);
  if (!wanted) return [];
  const scored = [];
  places.forEach((place, index) => {
    const names = place.names.map(fold);
    if (!names.some((name) => name.includes(wanted))) return;
    scored.push({ place, index, starts: names.some((name) => name.startsWith(wanted)) ? 0 : 1 });
  });
  scored.sort((a, b) => a.starts - b.starts || a.index - b.index);
  return scored.slice(0, MAX_SHOWN).map((item) => item.place);
}

// `fn` called once `wait` ms after the last call (the preview asks once the officer pauses).
export function debounce(fn, wait, timers = globalThis) {
  let timer = null;
  return (...args) => {
    if (timer !== null) timers.clearTimeout(timer);
    timer = timers.setTimeout(() => {
      timer = null;
      fn(...args);
    }, wait);
  };
}

// The combobox: `input` (role=combobox), `list` (role=listbox), `load()` resolving to the
// places, `choose(place)` when one is taken.
export function placeSearch({ input, list, load, choose, documentRef = globalThis.document }) {
  let places = null;
  let shown = [];
  let active = -1;

  function close() {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  }

  function mark(index) {
    active = index;
    [...list.children].forEach((option, i) => option.setAttribute('aria-selected', String(i === index)));
    if (index >= 0) input.setAttribute('aria-activedescendant', `place-option-${index}`);
    else input.removeAttribute('aria-activedescendant');
  }

  function render() {
    list.replaceChildren();
    shown.forEach((place, index) => {
      const option = documentRef.createElement('li');
      option.id = `place-option-${index}`;
      option.setAttribute('role', 'option');
      option.setAttribute('aria-selected', 'false');
      option.textContent = `${place.name} · ${place.kind_label}`;
      // mousedown, not click: the input keeps focus, so its blur does not close the list first.
      option.addEventListener('mousedown', (event) => {
        event.preventDefault();
        take(index);
      });
      list.append(option);
    });
    list.hidden = shown.length === 0;
    input.setAttribute('aria-expanded', String(shown.length > 0));
    mark(-1);
  }

  function take(index) {
    const place = shown[index];
    if (!place) return;
    input.value = place.name;
    close();
    choose(place);
  }

  async function update() {
    if (places === null) places = await load();
    shown = matchPlaces(places, input.value);
    render();
  }

  input.addEventListener('input', () => update());
  input.addEventListener('blur', () => close());
  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      if (list.hidden) {
        update();
        return;
      }
      const step = event.key === 'ArrowDown' ? 1 : -1;
      mark((active + step + shown.length) % shown.length);
    } else if (event.key === 'Enter') {
      // Enter in the search never sends the report.
      event.preventDefault();
      if (!list.hidden) take(active >= 0 ? active : 0);
    } else if (event.key === 'Escape') {
      if (!list.hidden) event.preventDefault();
      close();
    }
  });
  return { update, close, get shown() { return shown; }, get active() { return active; } };
}
