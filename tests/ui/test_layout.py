"""The layout in a real browser (issue 19): Debian's Chromium driven by Playwright against a real
`manage.py serve` on this test's PostgreSQL database, at a 390×844 phone and a 1280×800 desktop.

- Phone: the header is one row (≤ 15 % of the screen) and its menu button opens the navigation;
  the inbox comes before the map; the wide tables are cards (no cell narrower than three
  characters, nothing wider than the screen); a destructive button takes two clicks.
- Desktop: the date fields show their whole value, the filters' choices are not cut off, the
  situation reports' table keeps the jurisdictions' names on one line.

Measured with getBoundingClientRect / scrollWidth in the page. Without /usr/bin/chromium the tests
are skipped, except under REQUIRE_SERVICES=1 (CI), where that is a failure (test_browser.py's
`browser` fixture). No browser is ever downloaded.
"""

import re

import pytest

from tests.conftest import DONGGUAN, SHENZHEN
from tests.ui.conftest import IN_DONGGUAN, PASSWORD, cross_border_area
from tests.ui.test_browser import SCREENSHOTS, browser, serve, services_env  # noqa: F401  (browser: the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
INCIDENTS = 20


@pytest.fixture
def site(transactional_db, postgres, redis_url, gba, officer, reported):
    """20 incidents (some across the border, some drills), an operator in Shenzhen with a contact
    method to remove, and a server on this database."""
    from coordination.people.services import contact_add

    for n in range(INCIDENTS):
        if n % 3 == 0:
            reported(title=f"观澜河水位超警戒 {n}", area=cross_border_area())
        elif n % 3 == 1:
            reported(DONGGUAN, title=f"Flooded underpass on the Dongguan side, lane {n}",
                     location=dict(IN_DONGGUAN), exercise=True)
        else:
            reported(title=f"山体滑坡 {n}", level="III")
    user = officer(SHENZHEN, "operator", username="layout-sz-op")
    contact_add(actor=None, officer=user, channel="email", address="duty-layout@example.org")
    server, base = serve(services_env())
    try:
        yield base
    finally:
        server.stop()


def login(browser, base: str, viewport: dict, *, locale: str = "zh-CN"):  # noqa: F811
    context = browser.new_context(base_url=base, locale=locale, viewport=viewport, timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.goto("/login/")
    page.fill("#id_username", "layout-sz-op")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    return page


# Every visible table cell narrower than three characters of its own font (a CJK character is
# one em wide; Latin ones are narrower, so this is the lenient measure), and the page's overflow.
NARROW_CELLS = """(root) => {
  const narrow = [];
  for (const cell of document.querySelectorAll(`${root} td, ${root} th`)) {
    const box = cell.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not shown
    const head = cell.closest('thead');
    if (head && head.getBoundingClientRect().height <= 1) continue;  // the cards' header row, for screen readers
    const em = parseFloat(getComputedStyle(cell).fontSize);
    if (box.width < 3 * em) narrow.push(`${Math.round(box.width)}px: ${cell.textContent.trim().slice(0, 30)}`);
  }
  return narrow;
}"""
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


# Date fields narrower than they need to show their whole value. Chromium clips a datetime-local
# field's parts without a scrollWidth to show it, so each field's natural width (width: auto) is
# measured and compared with its width as laid out; and none may stick out of its card.
# `squeeze`: first narrow them as the old sitrep form's grid did (the test's own premise).
TRUNCATED_DATES = """(squeeze) => {
  const cut = [];
  for (const input of document.querySelectorAll('main input[type=datetime-local]')) {
    if (input.offsetParent === null) continue;
    if (squeeze) { input.style.minWidth = '0'; input.style.maxWidth = '9rem'; }
    const laid = input.getBoundingClientRect();
    const saved = [input.style.width, input.style.minWidth, input.style.maxWidth];
    Object.assign(input.style, { width: 'auto', minWidth: '0', maxWidth: 'none' });
    const natural = input.getBoundingClientRect().width;
    [input.style.width, input.style.minWidth, input.style.maxWidth] = saved;
    const card = input.closest('.card, form').getBoundingClientRect();
    if (laid.width + 1 < natural || laid.right > card.right + 1) {
      cut.push(`${input.id}: ${Math.round(laid.width)} < ${Math.round(natural)}`);
    }
  }
  return cut;
}"""


def shoot(page, name: str) -> None:
    """A screenshot for docs/ui.md's readers and reviewers (screenshots/, not committed)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"layout-{name}.png"), full_page=False)


def test_a_phone_gets_a_compact_header_the_inbox_first_and_cards(browser, site):  # noqa: F811
    from playwright.sync_api import expect

    page = login(browser, site, PHONE)
    header = page.locator("header.top").bounding_box()
    assert header["height"] <= 0.15 * PHONE["height"], header
    nav = page.locator("nav.main")
    expect(nav).to_be_hidden()
    menu = page.locator("#menu-toggle")
    expect(menu).to_have_attribute("aria-expanded", "false")
    # The content starts right under the header (no navigation in between).
    assert page.locator("main").bounding_box()["y"] <= 0.15 * PHONE["height"]
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav).to_be_visible()
    expect(page.locator("header.top .clock")).to_be_visible()
    menu.click()
    expect(nav).to_be_hidden()

    shoot(page, "phone-dashboard")
    inbox = page.locator("#owed").bounding_box()
    map_box = page.locator("#map").bounding_box()
    assert inbox["y"] < map_box["y"], (inbox, map_box)

    page.goto("/incidents/?status=any")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(INCIDENTS)
    shoot(page, "phone-incidents")
    assert page.evaluate(NARROW_CELLS, "#results") == []
    assert page.evaluate(OVERFLOW) <= 0
    # A card names its values: the header cell's text before each one.
    label = page.evaluate("""() => getComputedStyle(document.querySelector('#results tbody td:nth-child(4)'),
                                                    '::before').content""")
    assert "状态" in label, label
    for path in ("/resources/", "/alerts/", "/agreements/", "/me/contact-methods/"):
        page.goto(path)
        shoot(page, "phone" + path.replace("/", "-").rstrip("-"))
        assert page.evaluate(NARROW_CELLS, "main") == [], path
        assert page.evaluate(OVERFLOW) <= 0, path


def test_a_destructive_button_takes_two_clicks(browser, site):  # noqa: F811
    from playwright.sync_api import expect

    page = login(browser, site, PHONE, locale="en-GB")
    page.goto("/me/contact-methods/")
    remove = page.locator("main button.danger")
    expect(remove).to_have_count(1)
    remove.click()
    # The first click only asks: nothing was sent, the button now says what the next one does.
    expect(remove).to_contain_text("Click again to confirm")
    expect(page.get_by_text("duty-layout@example.org")).to_be_visible()
    with page.expect_navigation():
        remove.click()
    expect(page.get_by_text("duty-layout@example.org")).to_have_count(0)


def test_a_desktop_shows_whole_dates_filters_and_names(browser, site):  # noqa: F811
    from playwright.sync_api import expect

    page = login(browser, site, DESKTOP, locale="en-GB")
    # The map's place names: none printed over another (Zhuhai and Macao were).
    labels = page.locator("#map .place-label")
    expect(labels.filter(has_text="Zhuhai")).to_have_count(1, timeout=15_000)
    expect(labels.filter(has_text="Macao")).to_have_count(1)
    page.locator("#map").scroll_into_view_if_needed()
    page.locator("#map").screenshot(path=str(SCREENSHOTS / "layout-desktop-map.png"))
    overlapping = """(unplaced) => {
      if (unplaced) {
        for (const label of document.querySelectorAll('#map .place-label')) {
          label.classList.remove('map-label-hidden');
          label.style.marginTop = '';
        }
      }
      const boxes = [...document.querySelectorAll('#map .place-label')]
        // Leaflet fades a replaced label out (opacity 0) for 200 ms before removing it.
        .filter((label) => label.offsetParent !== null && getComputedStyle(label).opacity !== '0')
        .map((label) => [label.textContent, label.getBoundingClientRect()]);
      const pairs = [];
      boxes.forEach(([a, p], i) => boxes.slice(i + 1).forEach(([b, q]) => {
        if (p.left < q.right && q.left < p.right && p.top < q.bottom && q.top < p.bottom) pairs.push(`${a} / ${b}`);
      }));
      return pairs;
    }"""
    assert page.evaluate(overlapping, False) == []
    assert labels.filter(has_text="Macao").first.is_visible()
    # The premise: where map.js did not place them, these labels do print over each other.
    assert page.evaluate(overlapping, True) != []
    # The filters: each select wide enough for the longest of its choices.
    page.goto("/incidents/")
    cut = page.evaluate("""() => {
      const canvas = document.createElement('canvas').getContext('2d');
      const cut = [];
      for (const select of document.querySelectorAll('#filters select')) {
        canvas.font = getComputedStyle(select).font;
        const widest = Math.max(...[...select.options].map((o) => canvas.measureText(o.text).width));
        if (widest + 24 > select.clientWidth) cut.push(`${select.id}: ${Math.round(widest)} > ${select.clientWidth}`);
      }
      return cut;
    }""")
    assert cut == []

    # Every date field on the pages that have them shows its whole value.
    # (a Shenzhen incident: the officer's own situation report form, its period in a narrow column)
    incident = page.locator("#results tbody a", has_text="山体滑坡").first.get_attribute("href")
    # The premise: squeezed as the sitrep form's two-column grid squeezed them, they are cut off.
    page.goto(incident)
    page.locator("#id_period_start").fill("2026-12-07T23:59")
    assert page.evaluate(TRUNCATED_DATES, True) != []
    squeeze = False
    for path in ("/incidents/new/", incident, "/agreements/"):
        page.goto(path)
        page.evaluate("() => document.querySelectorAll('main details').forEach((d) => { d.open = true; })")
        dates = page.locator("main input[type=datetime-local]:visible")
        count = dates.count()
        for n in range(count):
            dates.nth(n).fill("2026-12-07T23:59")
        truncated = page.evaluate(TRUNCATED_DATES, squeeze)
        assert truncated == [], path
        if path != "/agreements/":  # (an operator may not add agreements: no form there)
            assert count >= 1, path
