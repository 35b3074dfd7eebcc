"""The UI in a real browser: Debian's Chromium driven by Playwright against real server
processes (`manage.py serve`, and a Celery worker with beat in the services mode).

- The services mode (PostgreSQL and Redis): the server and the worker share this test's
  database, so the test sets the scene in the database and watches it in the browser: an
  operator in Shenzhen reports a flood whose area reaches into Dongguan; the Dongguan officer's
  open dashboard shows it without a reload and acknowledges it; a commander moves it along its
  lifecycle while Dongguan's open incident page follows; the language switch; a viewer.
- The embedded mode (SQLite, the in-process worker): a server of its own with a fresh data
  folder, as `scripts/run` starts it; the live feed and reporting, on both test passes.

Screenshots of the main screens in both languages go to screenshots/ (docs/ui.md, "Browser tests").
Without /usr/bin/chromium the tests are skipped, except under REQUIRE_SERVICES=1 (CI), where
that is a failure. No browser is ever downloaded.
"""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import DONGGUAN, REQUIRE_SERVICES, SHENZHEN
from tests.ui.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-default-apps"]
LIVE_TIMEOUT = 20_000  # ms: an event reaches an open page in well under a second; CI machines are slow
TITLE = "观澜河水位超警戒"


def _need(what: str, available: bool) -> None:
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} not available")


@pytest.fixture(scope="module")
def browser():
    _need(f"Chromium at {CHROMIUM} (Debian: apt-get install -y chromium fonts-wqy-microhei)",
          Path(CHROMIUM).is_file())
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; the ORM calls the tests
    # make between browser steps are plain synchronous ones all the same (Django's documented
    # switch for exactly this case).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


# --- server processes ------------------------------------------------------------------------------------


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    """A child process in a session of its own, logging to a file, killed with its children."""

    def __init__(self, name: str, args: list[str], env: dict):
        self.name = name
        self.log = Path(tempfile.mkstemp(prefix=f"ld-ui-{name}-", suffix=".log")[1])
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._log_file, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def output(self) -> str:
        return self.log.read_bytes()[-4000:].decode("utf-8", "replace")

    def wait_until(self, ready, *, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited before {what}:\n{self.output()}")
            if ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name}: no {what} within {timeout}s:\n{self.output()}")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self._log_file.close()
        if not os.environ.get("KEEP_PROCESS_LOGS"):
            self.log.unlink(missing_ok=True)


def _answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def base_env(**extra) -> dict:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTEST", "TEST_DATABASE", "DJANGO_"))}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", LOG_LEVEL="WARNING", DEBUG="0",
               # Static files straight from the apps: no collectstatic (and no manifest) needed.
               STATIC_MANIFEST="0", WHITENOISE_USE_FINDERS="1")
    env.update({key: str(value) for key, value in extra.items()})
    return env


def serve(env: dict) -> tuple[Process, str]:
    port = free_port()
    server = Process(f"server-{port}", [sys.executable, "manage.py", "serve", "--port", str(port)], env)
    base = f"http://127.0.0.1:{port}"
    server.wait_until(lambda: _answers(f"{base}/healthz"), timeout=60, what="an answer on /healthz")
    return server, base


def services_env(**extra) -> dict:
    """This test's PostgreSQL database and Redis, for the server and the worker."""
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    url = f"postgres://{db.get('USER') or 'postgres'}{password}@{db.get('HOST') or '127.0.0.1'}:" \
          f"{db.get('PORT') or 5432}/{db['NAME']}"
    return base_env(DATABASE_URL=url, REDIS_URL=settings.REDIS_URL, SECRET_KEY=settings.SECRET_KEY,
                    DATABASE_POOL_MIN_SIZE="1", DATABASE_POOL_MAX_SIZE="8", **extra)


@pytest.fixture
def services(transactional_db, postgres, redis_url, gba):
    """Start `manage.py serve` and `celery -A config worker -B` on this test's database; both
    are killed before pytest-django empties the database they hold connections to."""
    import redis

    from coordination.workflows.demo import load_playbooks
    from sharing.mutualaid.catalogue import load_catalogue
    from sharing.mutualaid.models import ResourceType

    load_playbooks()
    load_catalogue(ResourceType)
    redis.Redis.from_url(redis_url).flushdb()  # this test run's Redis database: no task of an earlier run
    started: list[Process] = []
    try:
        beat_schedule = Path(tempfile.mkdtemp(prefix="ld-ui-beat-")) / "schedule"
        worker = Process("worker", [
            sys.executable, "-m", "celery", "-A", "config", "worker", "-B", "-s", str(beat_schedule),
            "--pool", "threads", "--concurrency", "4", "-l", "info", "-n", f"ui-{free_port()}@%h",
            "--without-mingle", "--without-gossip",
        ], services_env(CELERY_LOG_LEVEL="INFO"))
        started.append(worker)
        worker.wait_until(lambda: b" ready." in worker.log.read_bytes(), timeout=60, what="ready")
        server, base = serve(services_env())
        started.append(server)
        yield base
    finally:
        for process in started:
            process.stop()


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """`manage.py serve` as scripts/run starts it: SQLite in a data folder of its own, the
    in-memory layers, Celery inside the server process; the demo cluster, three officers and an
    administrator."""
    data = tmp_path_factory.mktemp("embedded-data")
    env = base_env(DATA_DIR=str(data), DATABASE_URL=f"sqlite:///{data / 'liandong.sqlite3'}")
    env.pop("REDIS_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    for args in (["migrate", "--no-input", "-v", "0"], ["load_demo"],
                 ["create_officer", "sz-op", "--jurisdiction", SHENZHEN, "--role", "operator", "--password", PASSWORD],
                 ["create_officer", "dg-op", "--jurisdiction", DONGGUAN, "--role", "operator", "--password", PASSWORD],
                 ["create_officer", "sz-coord", "--jurisdiction", SHENZHEN, "--role", "coordinator",
                  "--password", PASSWORD],
                 ["createsuperuser", "--noinput", "--username", "admin", "--email", "admin@example.invalid"]):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT,
                       env={**env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD}, check=True, capture_output=True, timeout=300)
    server, base = serve(env)
    try:
        yield base
    finally:
        server.stop()


# --- the browser -----------------------------------------------------------------------------------------


def officer_page(browser, base: str, username: str, *, locale: str = "zh-CN"):
    """A browser context of its own (its own session) logged in as `username`."""
    context = browser.new_context(base_url=base, locale=locale, viewport={"width": 1440, "height": 1000},
                                  timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    return page


def wait_live(page) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=LIVE_TIMEOUT)


def mark_no_reload(page) -> None:
    """A flag that a reload or a navigation would wipe out."""
    page.evaluate("window.__noReload = true")


def assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__noReload === true"), "the page was reloaded"


def report_cross_border_flood(page, *, title: str = TITLE) -> str:
    """Fill the report form as an officer would (the map click places the point), then the exact
    point and radius; returns the new incident's id."""
    from playwright.sync_api import expect

    page.goto("/incidents/new/")
    page.fill("#id_title", title)
    page.select_option("#id_category", "natural_disaster")
    page.select_option("#id_type", "flood")
    page.get_by_label("Ⅱ级 · 重大").check()
    page.get_by_label("以位置为圆心的圆").check()
    page.locator("#map").click(position={"x": 300, "y": 250})
    expect(page.locator("#id_lat")).not_to_have_value("")
    page.fill("#id_lat", "22.72")
    page.fill("#id_lon", "114.02")
    page.fill("#id_radius_km", "9")
    page.fill("#id_injured", "3")
    page.fill("#id_description", "上游强降雨，观澜河深莞交界处水位超警戒。")
    page.click("#report-form button[type=submit]")
    page.wait_for_url(re.compile(r"/incidents/INC-\d{4}-\d+/$"))
    expect(page.locator("#incident-status")).to_contain_text("东莞市")
    return page.url.rstrip("/").rsplit("/", 1)[-1]


def shoot(page, name: str, language: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.wait_for_timeout(400)  # the map's fetches and the fonts
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{language}.png"), full_page=True)


def show_an_agreement_and_an_alert() -> None:
    from coordination.authentication import principal_for_user
    from coordination.models import Membership
    from incidents.alerts.intake import alert_import
    from incidents.alerts.senders import cap_sender_register
    from sharing.services import agreement_create

    agreement_create(actor=None, name="深圳—东莞资源共享", grantor=SHENZHEN, grantees=[DONGGUAN],
                     data_kinds=["resources", "sitreps"], level_at_least="III")
    commander = Membership.objects.select_related("user").get(jurisdiction_id=SHENZHEN, role="commander").user
    # Sent as Shenzhen's own system, under a sender registered to Shenzhen (as load_demo does).
    cap_sender_register(actor=None, pattern="*@shenzhen-gov.example", jurisdiction=SHENZHEN)
    document = (ROOT / "tests" / "alerts" / "data" / "pearl-river-delta-rain-forecast.xml").read_bytes().replace(
        b"forecast@prd-weather.example.org", b"forecast@shenzhen-gov.example")
    alert_import(actor=principal_for_user(commander), document=document)


# --- the services mode ----------------------------------------------------------------------------------


def test_officers_coordinate_a_cross_border_flood_live(browser, services, officer):
    from playwright.sync_api import expect

    from coordination.workflows.models import Acknowledgement, AckStatus
    from incidents.models import Incident

    for username, code, role in [("sz-op", SHENZHEN, "operator"), ("sz-cmd", SHENZHEN, "commander"),
                                 ("dg-op", DONGGUAN, "operator")]:
        officer(code, role, username=username)

    dongguan = officer_page(browser, services, "dg-op")
    wait_live(dongguan)
    expect(dongguan.locator("#owed")).to_contain_text("没有待确认事项")
    mark_no_reload(dongguan)

    # Shenzhen reports; the area reaches into Dongguan.
    shenzhen = officer_page(browser, services, "sz-op")
    public_id = report_cross_border_flood(shenzhen)
    incident = Incident.objects.get(public_id=public_id)
    assert sorted(incident.affected.values_list("jurisdiction_id", flat=True)) == [SHENZHEN, DONGGUAN]

    # Dongguan's open dashboard shows it without a reload: the feed, the counts, the map.
    expect(dongguan.locator("#feed")).to_contain_text(TITLE, timeout=LIVE_TIMEOUT)
    # The playbook's own events may arrive first; the report is one line of the feed, not the top one.
    expect(dongguan.locator("#feed li", has_text="报告事件")).to_contain_text(TITLE)
    expect(dongguan.locator("#summary .lvl-tile-II .count")).to_have_text("1", timeout=LIVE_TIMEOUT)
    expect(dongguan.locator("#map .map-pin-II")).to_have_count(1, timeout=LIVE_TIMEOUT)
    assert_not_reloaded(dongguan)

    # The dispatcher hands the report to the playbooks (the worker, as in production); the
    # playbook asks Dongguan to acknowledge; the request appears, counted down, and is answered.
    owed = dongguan.locator("#owed")
    expect(owed.get_by_role("button", name="确认收到")).to_be_visible(timeout=LIVE_TIMEOUT)
    expect(owed.locator("[data-kind=acknowledgement] .countdown")).to_contain_text("剩余")
    shoot(dongguan, "dashboard", "zh")
    owed.get_by_role("button", name="确认收到").click()
    expect(dongguan.locator("#owed")).to_contain_text("没有待确认事项", timeout=LIVE_TIMEOUT)
    ack = Acknowledgement.objects.get(incident_id=public_id, jurisdiction_id=DONGGUAN)
    assert ack.status == AckStatus.ACKNOWLEDGED and ack.acknowledged_by == "dg-op"
    expect(dongguan.locator("#feed")).to_contain_text("已确认", timeout=LIVE_TIMEOUT)
    assert_not_reloaded(dongguan)

    # A commander moves it along; Dongguan's open incident page follows without a reload.
    dongguan.goto(f"/incidents/{public_id}/")
    wait_live(dongguan)
    mark_no_reload(dongguan)
    commander = officer_page(browser, services, "sz-cmd")
    commander.goto(f"/incidents/{public_id}/")
    for status, label in [("verified", "已核实"), ("responding", "处置中")]:
        commander.locator(f"button[name=status][value={status}]").click()
        expect(commander.locator("#incident-status-value")).to_have_text(label)
        expect(dongguan.locator("#incident-status-value")).to_have_text(label, timeout=LIVE_TIMEOUT)
    expect(dongguan.locator("#incident-timeline")).to_contain_text("处置中")
    expect(dongguan.locator("#incident-coordination")).to_contain_text("已确认")
    assert_not_reloaded(dongguan)
    assert Incident.objects.get(public_id=public_id).status == "responding"
    shoot(commander, "incident", "zh")

    # The language switch, and the screens in both languages (with an agreement and an alert to show).
    show_an_agreement_and_an_alert()
    commander.get_by_role("button", name="English").click()
    expect(commander.locator("nav.main")).to_contain_text("Dashboard")
    expect(commander.locator("#incident-status-value")).to_have_text("Responding")
    shoot(commander, "incident", "en")
    for language, switch in [("en", None), ("zh", "简体")]:
        if switch:
            commander.get_by_role("button", name=switch).click()
        for name, path in [("dashboard-commander", "/"), ("incidents", "/incidents/?status=any"),
                           ("report", "/incidents/new/"), ("resources", "/resources/"), ("command", "/command/"),
                           ("agreements", "/agreements/"), ("alerts", "/alerts/")]:
            commander.goto(path)
            shoot(commander, name, language)
    expect(commander.locator("nav.main")).to_contain_text("值班总览")
    dongguan.get_by_role("button", name="English").click()
    dongguan.goto("/")
    wait_live(dongguan)
    shoot(dongguan, "dashboard", "en")


def test_a_viewer_has_no_write_controls_and_is_refused_anyway(browser, services, officer, reported):
    from coordination.workflows.models import Acknowledgement, AckStatus
    from tests.ui.conftest import cross_border_area

    officer(DONGGUAN, "viewer", username="dg-view")
    incident = reported(SHENZHEN, level="II", title=TITLE, affected_area=cross_border_area())
    deadline = time.monotonic() + 30
    while not Acknowledgement.objects.filter(jurisdiction_id=DONGGUAN).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    ack = Acknowledgement.objects.get(jurisdiction_id=DONGGUAN)

    viewer = officer_page(browser, services, "dg-view")
    wait_live(viewer)
    assert viewer.locator("#owed li[data-kind=acknowledgement]").count() == 1  # what Dongguan owes, seen ...
    assert viewer.locator("form[action$='/ack/']").count() == 0  # ... without a button
    assert viewer.locator("nav.main a[href='/incidents/new/']").count() == 0
    viewer.goto(f"/incidents/{incident.public_id}/")
    assert viewer.locator("main form").count() == 0
    assert viewer.locator("main button").count() == 0
    shoot(viewer, "incident-viewer", "zh")
    token = next(cookie["value"] for cookie in viewer.context.cookies() if cookie["name"] == "csrftoken")
    for path, form in [(f"/acknowledgements/{ack.id}/ack/", {}),
                       (f"/incidents/{incident.public_id}/updates/", {"text": "查看员不能写"})]:
        response = viewer.request.post(path, form=form, headers={"X-CSRFToken": token})
        assert response.status == 403, path
    assert Acknowledgement.objects.get(pk=ack.pk).status == AckStatus.PENDING


# --- the embedded mode -------------------------------------------------------------------------------------


def test_the_embedded_server_shows_a_report_live_on_a_neighbours_dashboard(browser, embedded):
    from playwright.sync_api import expect

    dongguan = officer_page(browser, embedded, "dg-op")
    wait_live(dongguan)
    mark_no_reload(dongguan)
    shenzhen = officer_page(browser, embedded, "sz-op")
    title = "深莞交界山体滑坡"
    report_cross_border_flood(shenzhen, title=title)
    expect(dongguan.locator("#feed")).to_contain_text(title, timeout=LIVE_TIMEOUT)
    expect(dongguan.locator("#summary .lvl-tile-II .count")).to_have_text("1", timeout=LIVE_TIMEOUT)
    assert_not_reloaded(dongguan)
    # The list and the language switch, in the embedded mode too.
    dongguan.goto("/incidents/")
    expect(dongguan.locator("#results")).to_contain_text(title)
    dongguan.get_by_role("button", name="English").click()
    expect(dongguan.locator("#results h2")).to_have_text("1 incident")


def watch_csp(page) -> list[str]:
    """What the page's Content-Security-Policy blocks, as the browser reports it: the
    `securitypolicyviolation` events of every document the page loads, and the console's
    "Refused to …" lines (for what is blocked before a script could listen)."""
    seen: list[str] = []
    page.context.add_init_script("""
        document.addEventListener('securitypolicyviolation', (e) => console.error(
            'CSP violation: ' + e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' at ' +
            e.sourceFile + ':' + e.lineNumber));
    """)
    page.on("console", lambda message: seen.append(f"{page.url}: {message.text}")
            if "CSP violation" in message.text or "Content Security Policy" in message.text else None)
    return seen


def test_no_page_breaks_its_content_security_policy(browser, embedded):
    """The pages, the API's docs and the admin under the policy (config.middleware): nothing
    they need is blocked, and they work: the map draws, the stream connects, Swagger UI reads
    the schema, the admin lists."""
    from playwright.sync_api import expect

    context = browser.new_context(base_url=embedded, locale="zh-CN", viewport={"width": 1440, "height": 1000},
                                  timezone_id="Asia/Shanghai")
    page = context.new_page()
    blocked = watch_csp(page)
    page.goto("/login/")
    page.fill("#id_username", "sz-coord")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    wait_live(page)  # the websocket: connect-src 'self'
    expect(page.locator("#map .leaflet-pane").first).to_be_attached()
    # A report inside Shenzhen (no neighbour sees it), for an incident's own page.
    page.goto("/incidents/new/")
    page.fill("#id_title", "CSP check: valve leak")
    page.select_option("#id_category", "accident")
    page.select_option("#id_type", "hazmat")
    page.locator("input[name=level][value=IV]").check()
    page.locator("input[name=area_kind][value=point]").check()
    page.fill("#id_lat", "22.65")
    page.fill("#id_lon", "114.12")
    page.click("#report-form button[type=submit]")
    page.wait_for_url(re.compile(r"/incidents/INC-\d{4}-\d+/$"))
    wait_live(page)
    for path in ("/", "/incidents/", "/resources/", "/command/", "/agreements/", "/alerts/"):
        page.goto(path)
        wait_live(page)
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Liandong", timeout=LIVE_TIMEOUT)
    page.goto("/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.goto("/admin/coordination/jurisdiction/")
    expect(page.locator("#result_list")).to_contain_text("440300")
    page.goto("/admin/coordination/jurisdiction/440300/change/")
    expect(page.locator("#jurisdiction_form")).to_be_visible()
    context.close()
    assert blocked == [], blocked
