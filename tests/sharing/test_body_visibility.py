"""An officer seated on a coordination body sees an incident escalated to the body (issue 19):
the visibility rule counts them among those concerned (sharing.visibility.addressed), whatever
the incident's level and whether or not their own jurisdiction would see it. Guangdong, the
province, is in no cluster: without the seat it sees nothing of Shenzhen's flood."""

from datetime import timedelta

import pytest
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


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


@pytest.mark.parametrize("level", ["II", "III"])
def test_a_committee_officer_opens_the_incident_escalated_to_the_committee(reported, run_playbooks,  # noqa: F811
                                                                          make_officer,
                                                                          level):
    from coordination.bodies import body_member_add
    from incidents.models import Incident

    incident = reported(SHENZHEN, level=level, title="观澜河水位超警戒", affected_area=cross_border_area())
    run_playbooks()
    member, outsider = make_officer("body-gd", GUANGDONG), make_officer("body-gd-2", GUANGDONG)
    body_member_add(body=COMMITTEE, username="body-gd")
    page = f"/incidents/{incident.public_id}/"
    # Before the escalation the seat opens nothing.
    assert _client(member).get(page).status_code == 404
    _escalate_to_the_committee(incident.public_id)
    # Lowered to level IV afterwards (Shenzhen's and Dongguan's alone by the cluster default):
    # the escalation still concerns the committee.
    Incident.objects.filter(pk=incident.pk).update(level="IV")
    for path in (page, f"{page}parts/", f"{page}map.json"):
        assert _client(member).get(path).status_code == 200, path
        assert _client(outsider).get(path).status_code == 404, path
