"""What is addressed to a coordination body, recorded where the visibility rule reads it (issues
18 and 19): an escalation to the cluster committee writes "incident X is addressed to body B"
(sharing.models.AddressedToBody) in its own transaction, and the rule reads the row itself; no
layer above hooks into it. From then on an officer seated on the body finds the incident in
their lists (the web UI's incident list, the dashboard's map, GET /api/v1/incidents/), not only
on its page, and the request escalated to the body is asked of the body by an event that names
it (`acknowledgement.requested` with `for_body`).

The scenario of tests/sharing/test_body_visibility.py: Shenzhen's flood reaching into Dongguan,
Dongguan silent until the chain reaches the committee; Guangdong, the province, is in no
cluster and sees nothing of it without the seat."""

from datetime import timedelta
from importlib import import_module

import pytest
from django.apps import apps
from django.test import Client

from tests.conftest import DONGGUAN, SHENZHEN
from tests.ui.conftest import (  # noqa: F401  (fixtures)
    cross_border_area,
    playbooks,
    reported,
    run_playbooks,
)

pytestmark = pytest.mark.django_db

COMMITTEE = "GBA-COMMITTEE"
GUANGDONG = "440000"


def _escalate_to_the_committee(public_id: str) -> None:
    """Dongguan stays silent past its deadline and the next window: the chain reaches the committee."""
    from coordination.workflows.deadlines import sweep
    from coordination.workflows.models import Acknowledgement, Escalation

    ack = Acknowledgement.objects.get(incident_id=public_id, jurisdiction_id=DONGGUAN, escalation_of=None)
    for at in (ack.due_at + timedelta(seconds=2), ack.due_at + timedelta(hours=3)):
        for _ in range(10):
            if not any(sweep(now=at, budget_seconds=60).values()):
                break
    assert Escalation.objects.filter(acknowledgement=ack, target_body_id=COMMITTEE).exists()


@pytest.fixture
def escalated(reported, run_playbooks, make_officer):  # noqa: F811
    """Shenzhen's level-III flood escalated to the committee, then lowered to level IV (its
    owner's and Dongguan's alone by the cluster default); a Guangdong officer seated on the
    committee and one who is not."""
    from coordination.bodies import body_member_add
    from incidents.models import Incident

    incident = reported(SHENZHEN, level="III", title="观澜河水位超警戒", affected_area=cross_border_area())
    run_playbooks()
    member, outsider = make_officer("body-gd", GUANGDONG), make_officer("body-gd-2", GUANGDONG)
    body_member_add(body=COMMITTEE, username="body-gd")
    _escalate_to_the_committee(incident.public_id)
    Incident.objects.filter(pk=incident.pk).update(level="IV")
    return incident, member, outsider


def _browser(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def _api(user):
    from rest_framework.test import APIClient

    from coordination.services import officer_token_issue

    raw, _ = officer_token_issue(username=user.username, password="pw-Secret-123", ip="127.0.0.1")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_the_escalation_records_the_body_where_the_rule_reads_it(escalated):
    import sharing.visibility
    from coordination.workflows.models import Escalation
    from sharing.models import AddressedToBody

    incident, _, _ = escalated
    first = Escalation.objects.filter(incident_id=incident.public_id, target_body_id=COMMITTEE).earliest("raised_at")
    (row,) = AddressedToBody.objects.filter(incident=incident.public_id)
    assert (row.body_id, row.since) == (COMMITTEE, first.raised_at)
    # No hook: nothing registers a lookup with the rule any more.
    assert not hasattr(sharing.visibility, "register_bodies_addressed")
    assert sharing.visibility.bodies_addressed([incident.public_id, "INC-0000-000000"]) == {
        incident.public_id: frozenset({COMMITTEE})}


def test_a_committee_officer_finds_the_escalated_incident_in_the_lists(escalated):
    incident, member, outsider = escalated
    listed = _api(member).get("/api/v1/incidents/").json()["results"]
    assert [item["id"] for item in listed] == [incident.public_id]
    # As the concerned see it: the sensitive fields are withheld from a non-owner.
    assert "contacts" not in listed[0]
    assert _api(outsider).get("/api/v1/incidents/").json()["results"] == []

    page = _browser(member).get("/incidents/").content.decode()
    assert incident.public_id in page and "观澜河水位超警戒" in page
    assert incident.public_id not in _browser(outsider).get("/incidents/").content.decode()
    # The dashboard's map and its counts too.
    mapped = _browser(member).get("/map/incidents.json").json()
    assert incident.public_id in str(mapped)
    assert incident.public_id not in str(_browser(outsider).get("/map/incidents.json").json())


def test_the_request_escalated_to_the_body_is_asked_of_it_by_an_event_naming_it(escalated):
    from sharing.events import validate_payload
    from sharing.models import Event
    from sharing.selectors import event_bodies

    incident, _, _ = escalated
    asked = [event for event in Event.objects.filter(name="acknowledgement.requested").order_by("id")
             if event.payload["incident"] == incident.public_id and event.payload.get("for_body")]
    assert len(asked) == 1
    (event,) = asked
    validate_payload(event.name, event.payload)
    assert event.payload["jurisdiction"] == DONGGUAN and event.payload["for_body"] == COMMITTEE
    assert event_bodies(event) == {COMMITTEE}
    # The first request, to Dongguan itself, names no body.
    plain = Event.objects.filter(name="acknowledgement.requested", payload__jurisdiction=DONGGUAN,
                                 payload__incident=incident.public_id).order_by("id").first()
    assert "for_body" not in plain.payload


def test_the_migration_records_what_was_escalated_before(escalated):
    from sharing.models import AddressedToBody

    incident, member, _ = escalated
    AddressedToBody.objects.all().delete()
    assert _api(member).get("/api/v1/incidents/").json()["results"] == []
    import_module("coordination.workflows.migrations.0004_addressed_to_body").fill(apps, None)
    assert list(AddressedToBody.objects.values_list("incident", "body_id")) == [(incident.public_id, COMMITTEE)]
    assert [item["id"] for item in _api(member).get("/api/v1/incidents/").json()["results"]] == [incident.public_id]


def test_the_members_feed_says_which_body_is_asked(escalated):
    from django.urls import reverse

    from coordination.models import CoordinationBody
    from sharing.eventlog import sequence_pending

    _, member, outsider = escalated
    sequence_pending()
    name = CoordinationBody.objects.get(code=COMMITTEE).name_zh
    page = _browser(member).get(reverse("ui:feed")).content.decode()
    assert f'<span class="tag">{name}</span>' in page
    assert name not in _browser(outsider).get(reverse("ui:feed")).content.decode()
