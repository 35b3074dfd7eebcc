"""Fixtures for the web UI: officers logged in with Django's test client (personas by
jurisdiction and role), incidents reported through the incidents service, and the playbook
engine run by hand so acknowledgements exist.

Browser tests (test_browser.py) start real server processes; their fixtures live there."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import SHENZHEN

PASSWORD = "pw-Secret-123"

# On coordination/demo/gba.json's approximate boundaries.
IN_SHENZHEN = {"lat": 22.60, "lon": 114.05}
NEAR_DONGGUAN_BORDER = {"lat": 22.72, "lon": 114.02}  # in Shenzhen, 9 km from Dongguan's boundary
IN_DONGGUAN = {"lat": 22.93, "lon": 113.88}
IN_BEIJING = {"lat": 39.90, "lon": 116.40}


@pytest.fixture
def officer(gba):
    """officer(jurisdiction, role) -> a user with a membership (a new one each call)."""
    from coordination.services import officer_create

    count = iter(range(1, 1000))

    def make(jurisdiction: str = SHENZHEN, role: str = "operator", *, username: str | None = None):
        name = username or f"ui-{role}-{jurisdiction}-{next(count)}"
        user, _ = officer_create(username=name, jurisdiction_code=jurisdiction, role=role, password=PASSWORD)
        return user

    return make


@pytest.fixture
def browse_as(officer):
    """browse_as(jurisdiction, role, language="zh-hans") -> a test client logged in as a new
    officer (its `user` and `principal` attached), asking for pages in that language."""
    from coordination.authentication import principal_for_user

    def make(jurisdiction: str = SHENZHEN, role: str = "operator", *, language: str = "zh-hans",
             enforce_csrf_checks: bool = False) -> Client:
        user = officer(jurisdiction, role)
        client = Client(enforce_csrf_checks=enforce_csrf_checks, HTTP_ACCEPT_LANGUAGE=language)
        client.force_login(user)
        client.user = user
        client.principal = principal_for_user(user)
        return client

    return make


def report_data(**overrides) -> dict:
    """A report as incidents.services takes it: a level II flood in Shenzhen."""
    data = {
        "title": "观澜河水位超警戒",
        "category": "natural_disaster",
        "type": "flood",
        "level": "II",
        "occurred_at": timezone.now() - timedelta(minutes=20),
        "location": dict(IN_SHENZHEN),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def reported(principal_for):
    """reported(jurisdiction=Shenzhen, **fields) -> an Incident reported by an operator there,
    its event numbered (as the dispatcher does after the commit) so the feed can show it."""
    from incidents.services import incident_report
    from sharing.eventlog import sequence_pending

    def make(jurisdiction: str = SHENZHEN, **fields):
        actor = principal_for(jurisdiction, role="operator")
        incident = incident_report(actor=actor, data=report_data(**fields)).incident
        sequence_pending()
        return incident

    return make


def cross_border_area() -> dict:
    """A circle around a point in Shenzhen that reaches into Dongguan."""
    return {"circle": {**NEAR_DONGGUAN_BORDER, "radius_m": 9000}}


@pytest.fixture
def playbooks(gba):
    from coordination.workflows.demo import load_playbooks

    return load_playbooks()


@pytest.fixture
def run_playbooks(playbooks, settings):
    """Hand the incident events written so far to the playbook engine and sweep until nothing
    is due (as the dispatcher and beat do in a deployment): acknowledgement requests exist after."""
    settings.WORKFLOW_SWEEP_GRACE_SECONDS = 0

    def run() -> None:
        from django.db import transaction

        from coordination.workflows.deadlines import sweep
        from coordination.workflows.triggers import INCIDENT_EVENTS, on_events
        from sharing.eventlog import sequence_pending
        from sharing.models import Event

        sequence_pending()
        with transaction.atomic():
            on_events(list(Event.objects.filter(seq__isnull=False, name__in=INCIDENT_EVENTS).order_by("seq")))
        now = timezone.now() + timedelta(seconds=30)
        for _ in range(20):
            counts = sweep(now=now, budget_seconds=60)
            if not any(counts.values()):
                break

    return run

