"""A request nobody in Dongguan answers escalates to the cluster committee: the officers seated on
it are reached (each in their own jurisdiction's language), and one of them acknowledges from the
message for the committee, in Dongguan's place."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client

from coordination.notify import sending
from coordination.notify.lifecycle import State
from coordination.notify.models import Notification
from coordination.workflows.models import Acknowledgement, AckStatus
from incidents.models import TimelineEntry
from tests.conftest import DONGGUAN, HONG_KONG
from tests.workflows.conftest import drive

COMMITTEE = "GBA-COMMITTEE"


@pytest.mark.django_db
def test_the_committee_is_reached_and_answers_from_the_message(smtp, officer_with, flood):
    from coordination.bodies import body_member_add

    member = officer_with("committee-hk", jurisdiction=HONG_KONG, role="commander",
                          contacts=[("email", "duty@hk.example", 5)])
    assert body_member_add(body=COMMITTEE, username=member.username)
    public_id = flood()  # Dongguan has nobody to reach: the request goes unanswered
    ack = Acknowledgement.objects.get(jurisdiction_id=DONGGUAN, escalation_of__isnull=True)
    assert not Notification.objects.exists()
    drive(ack.due_at + timedelta(seconds=2))  # stage 1: Dongguan's own duty officers
    drive(ack.due_at + timedelta(minutes=30, seconds=4))  # Shenzhen, its circle's lead, reported: the committee
    row = Notification.objects.get(recipient=member)
    assert (row.body_id, row.jurisdiction_id, row.reason, row.acknowledgement_id) == (
        COMMITTEE, None, "ack.in_place", ack.pk)
    notes = list(TimelineEntry.objects.filter(incident__public_id=public_id).values_list("data__code", flat=True))
    assert "notify.no_body_roster" in notes

    sending.send_due(now=row.not_before + timedelta(seconds=1))
    text = smtp.text(smtp.to("duty@hk.example")[0])
    assert "確認" in text and "东莞" in text  # Hong Kong reads Traditional Chinese (names are the registry's)
    link = smtp.link_in(smtp.messages[0])
    answer = Client().post(urlsplit(link).path, {"comment": "委员会已知悉"})
    assert answer.status_code == 200, answer.content.decode()
    ack.refresh_from_db()
    assert ack.status == AckStatus.ACKNOWLEDGED and ack.acknowledged_by == member.username
    row.refresh_from_db()
    assert row.state == State.ACKNOWLEDGED
