"""Person by person (issue 20, docs/notifications.md): a request reaches Dongguan's duty primary at
once, each backup after a wait, then the bureau's head, all before the deadline; an answer stops
the waves still to come; the people are frozen when the run starts; the jurisdiction chain above
still starts at the deadline and never asks the reporter.

Real parts: PostgreSQL, an SMTP server on 127.0.0.1 (aiosmtpd) counting what each person receives,
the playbook engine in-process, and the e-mail link followed over HTTP against a live server.
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, override

from coordination.notify import sending
from coordination.notify.lifecycle import State
from coordination.notify.models import Notification
from coordination.workflows.models import Acknowledgement, AckStatus, Escalation
from incidents.models import TimelineEntry
from tests.conftest import DONGGUAN, SHENZHEN
from tests.notify.test_pipeline import http

SCALE = 0.01  # the flood playbook's level III: a 1-hour deadline runs in 36 seconds


@pytest.fixture
def dongguan_bureau(officer_with, settings):
    """Dongguan's roster: the primary 张三 and two backups 李四, 王五; its head (a commander not on
    duty) 赵六; each with one e-mail address."""
    from coordination.duty.services import roster_ensure, shift_create
    from coordination.models import Jurisdiction

    settings.DEADLINE_SCALE = SCALE
    people = {}
    for username, name, role in (("dg-zhang", "张三", "operator"), ("dg-li", "李四", "operator"),
                                 ("dg-wang", "王五", "operator"), ("dg-zhao", "赵六", "commander")):
        user = officer_with(username, role=role, contacts=[("email", f"{username}@dg.example", 5)])
        user.first_name = name
        user.save(update_fields=["first_name"])
        people[username] = user
    roster, _ = roster_ensure(actor=None, jurisdiction=Jurisdiction.objects.get(code=DONGGUAN))
    now = timezone.now()
    shift_create(actor=None, roster=roster, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=11),
                 primary="dg-zhang", backups=["dg-li", "dg-wang"])
    return roster, people


def dongguan_ack(public_id) -> Acknowledgement:
    return Acknowledgement.objects.get(incident_id=public_id, jurisdiction_id=DONGGUAN, escalation_of__isnull=True)


def mailed(smtp, username) -> int:
    return len(smtp.to(f"{username}@dg.example"))


@pytest.mark.django_db(transaction=True)
def test_the_waves_go_one_after_the_other_and_an_answer_stops_the_rest(postgres, smtp, dongguan_bureau, flood,
                                                                        live_server, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    _, people = dongguan_bureau
    public_id = flood()
    ack = dongguan_ack(public_id)
    asked, window = ack.requested_at, ack.due_at - ack.requested_at
    assert window == timedelta(hours=1) * SCALE
    rows = {row.recipient.username: row for row in Notification.objects.filter(acknowledgement=ack)
            .select_related("recipient")}
    # Four waves, the deadline split evenly: 0, ¼, ½, ¾ of it; every one before the deadline.
    assert {name: row.not_before - asked for name, row in rows.items()} == {
        "dg-zhang": timedelta(0), "dg-li": window / 4, "dg-wang": window / 2, "dg-zhao": window * 3 / 4}
    assert [rows[name].rank for name in ("dg-zhang", "dg-li", "dg-wang", "dg-zhao")] == [0, 1, 2, 3]

    # The primary at once, nobody else.
    sending.send_due(now=asked + timedelta(seconds=1))
    assert [mailed(smtp, name) for name in ("dg-zhang", "dg-li", "dg-wang", "dg-zhao")] == [1, 0, 0, 0]
    # The first backup only once his wait is over.
    sending.send_due(now=asked + window / 4 - timedelta(seconds=1))
    assert mailed(smtp, "dg-li") == 0
    sending.send_due(now=asked + window / 4 + timedelta(seconds=1))
    assert [mailed(smtp, name) for name in ("dg-zhang", "dg-li", "dg-wang", "dg-zhao")] == [1, 1, 0, 0]

    # The backup acknowledges from his e-mail's link, over HTTP.
    link = smtp.link_in(smtp.to("dg-li@dg.example")[0])
    status, page = http(link, {"comment": "收到"})
    assert status == 200, page
    ack.refresh_from_db()
    assert ack.status == AckStatus.ACKNOWLEDGED and ack.acknowledged_by == "dg-li"

    # The second backup's and the head's waves come and go: nothing is sent to them.
    sending.send_due(now=asked + window)
    sending.send_due(now=asked + window * 2)
    assert [mailed(smtp, name) for name in ("dg-zhang", "dg-li", "dg-wang", "dg-zhao")] == [1, 1, 0, 0]
    assert {row.recipient.username: row.state for row in Notification.objects.filter(acknowledgement=ack)
            .select_related("recipient")} == {"dg-zhang": State.SENT, "dg-li": State.ACKNOWLEDGED,
                                              "dg-wang": State.CANCELLED, "dg-zhao": State.CANCELLED}

    # The timeline says who is reached at each wave, in the reader's language.
    entry = TimelineEntry.objects.get(incident__public_id=public_id, data__code="notify.waves")
    waves = entry.data["params"]["waves"]
    assert [(wave["code"], wave["params"]) for wave in waves] == [
        ("notify.wave_primary", {"person": "张三"}), ("notify.wave_backup", {"person": "李四", "minutes": 15}),
        ("notify.wave_backup", {"person": "王五", "minutes": 30}),
        ("notify.wave_head", {"people": ["赵六"], "minutes": 45})]
    assert "the backup 李四 15 minutes later" in entry.text
    with override("zh-hans"):
        assert gettext("the backup %(person)s %(minutes)s minutes later") % {"person": "李四", "minutes": 15} == \
            "15 分钟后通知备班 李四"
    with override("zh-hant"):
        assert "值班主班" in gettext("the duty primary %(person)s notified at once")


@pytest.mark.django_db
def test_a_roster_edited_after_the_run_started_does_not_change_its_waves(dongguan_bureau, flood):
    from coordination.duty.selectors import on_duty
    from coordination.duty.services import override_create
    from coordination.notify.services import notify_for_acknowledgement

    roster, people = dongguan_bureau
    public_id = flood()
    ack = dongguan_ack(public_id)
    # After the start: 王五 stands in for the primary 张三 from now on.
    now = timezone.now()
    override_create(actor=None, roster=roster, starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=2),
                    replaced="dg-zhang", substitute="dg-wang")
    assert [person.username for person in on_duty(roster, timezone.now())] == ["dg-wang", "dg-li"]

    # A second request of the same run, made after the edit, reaches people as frozen at the start.
    later = timezone.now()
    with transaction.atomic():
        again = Acknowledgement.objects.create(run=ack.run, step=None, incident=ack.incident,
                                               jurisdiction_id=DONGGUAN, level=ack.level, requested_at=later,
                                               due_at=later + (ack.due_at - ack.requested_at))
        notify_for_acknowledgement(again, now=later)
    order = [(row.recipient.username, row.not_before - later) for row in Notification.objects
             .filter(acknowledgement=again).select_related("recipient").order_by("not_before")]
    window = again.due_at - later
    assert order == [("dg-zhang", timedelta(0)), ("dg-li", window / 4), ("dg-wang", window / 2),
                     ("dg-zhao", window * 3 / 4)]


@pytest.mark.django_db
def test_the_playbook_s_person_waits_set_the_waves_and_never_pass_the_deadline(dongguan_bureau, flood, playbooks):
    from coordination.workflows.definitions import definition_validated

    playbook = next(p for p in playbooks.values() if "flood" in p.code)
    playbook.definition = definition_validated({**playbook.definition, "person_waits": {"III": 5, "I": 600}})
    playbook.save(update_fields=["definition"])
    ack = dongguan_ack(flood())
    assert ack.run.definition["person_waits"] == {"I": 600, "III": 5}
    offsets = sorted(row.not_before - ack.requested_at for row in Notification.objects.filter(acknowledgement=ack))
    step = timedelta(minutes=5) * SCALE
    assert offsets == [timedelta(0), step, step * 2, step * 3]
    # Level I's 10 hours would pass the 15-minute deadline: shortened to the even split.
    from coordination.notify.escalation import waves
    frozen = ack.run.chain["people"][DONGGUAN]
    at = ack.requested_at
    planned = waves(frozen, requested_at=at, due_at=at + timedelta(minutes=15), wait_minutes=600)
    assert [wave.offset for wave in planned][-1] < timedelta(minutes=15)
    assert [wave.kind for wave in planned] == ["primary", "backup", "backup", "head"]


@pytest.mark.django_db
def test_the_jurisdiction_chain_still_starts_at_the_deadline_and_never_at_the_reporter(dongguan_bureau, flood):
    from tests.workflows.conftest import drive

    public_id = flood()
    ack = dongguan_ack(public_id)
    assert all(row.not_before < ack.due_at for row in Notification.objects.filter(acknowledgement=ack))
    drive(ack.due_at - timedelta(seconds=1))
    assert not Escalation.objects.filter(acknowledgement=ack).exists()
    drive(ack.due_at + timedelta(seconds=1))
    assert [(e.stage, e.target, e.target_jurisdiction_id) for e in Escalation.objects.filter(acknowledgement=ack)] \
        == [(1, "duty_officers", DONGGUAN)]
    drive(ack.due_at + timedelta(hours=3))  # every escalation window past
    raised = [(e.target, e.target_jurisdiction_id) for e in Escalation.objects.filter(acknowledgement=ack)]
    assert ("circle_lead", SHENZHEN) not in raised and raised[-1][0] == "committee"
    assert not Acknowledgement.objects.filter(escalation_of=ack, jurisdiction_id=SHENZHEN).exists()
