"""The notification pipeline end to end, with real parts: PostgreSQL, a real SMTP server on
127.0.0.1 (aiosmtpd), the playbook engine in-process, and the acknowledgement link followed
over HTTP against a live server.

Shenzhen reports a flood that crosses into Dongguan; the cross-border flood playbook asks
Dongguan to acknowledge; Dongguan's duty officers are reached by e-mail; the link in the
message acknowledges for Dongguan as the person, once.
"""

import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from coordination.notify import sending
from coordination.notify.lifecycle import State
from coordination.notify.models import Notification
from coordination.workflows.models import Acknowledgement, AckStatus
from tests.conftest import DONGGUAN, SHENZHEN


def http(url: str, data: dict | None = None) -> tuple[int, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def rows(**filters) -> list[Notification]:
    return list(Notification.objects.filter(**filters).order_by("rank", "position"))


@pytest.mark.django_db(transaction=True)
def test_an_email_link_acknowledges_once_as_the_person(postgres, smtp, on_duty_in_dongguan, flood, live_server,
                                                       settings):
    settings.PUBLIC_BASE_URL = live_server.url
    primary, backup = on_duty_in_dongguan
    public_id = flood()
    ack = Acknowledgement.objects.get(incident_id=public_id, jurisdiction_id=DONGGUAN)
    written = rows(acknowledgement=ack)
    # The outbox: every channel of each person on duty, written with the request; the primary's
    # SMS waits for her plan's 5 minutes, the rest is due now.
    assert [(row.recipient_id, row.rank, row.channel, row.state) for row in written] == [
        (primary.pk, 0, "email", State.QUEUED), (primary.pk, 0, "sms", State.QUEUED),
        (backup.pk, 1, "email", State.QUEUED)]
    assert written[1].not_before - written[0].not_before == timedelta(minutes=5)

    # Person by person: the backup's wave comes later (docs/notifications.md).
    assert written[2].not_before > written[0].not_before
    assert sending.send_due()["sent"] == 1
    assert len(smtp.messages) == 1
    message = smtp.to("primary@dg.example")[0]
    text = smtp.text(message)
    assert public_id in message["Subject"] and public_id in text
    assert "深圳" in text and "东莞" in text  # Dongguan reads Simplified Chinese
    link = smtp.link_in(message)
    assert link.startswith(live_server.url + "/ack/")
    sent = Notification.objects.get(recipient=primary, channel="email")
    assert sent.state == State.SENT and sent.provider_id == message["Message-ID"].strip()

    # GET changes nothing but "opened": the request is still pending, the page has one form.
    status, page = http(link)
    assert status == 200 and public_id in page and page.count("<form method=\"post\" class=\"ack\"") == 1
    ack.refresh_from_db()
    assert ack.status == AckStatus.PENDING
    sent.refresh_from_db()
    assert sent.state == State.SENT and sent.opened_at is not None

    # POST acknowledges, as the person, for Dongguan, with the comment.
    status, page = http(link, {"comment": "收到，已启动IV级响应"})
    assert status == 200, page
    ack.refresh_from_db()
    assert ack.status == AckStatus.ACKNOWLEDGED
    assert ack.acknowledged_by == primary.username and ack.comment == "收到，已启动IV级响应"
    sent.refresh_from_db()
    assert sent.state == State.ACKNOWLEDGED and sent.acknowledged_at is not None
    # What was still queued for the request is not sent any more.
    assert Notification.objects.get(recipient=primary, channel="sms").state == State.CANCELLED

    # A second POST says the link was used, and changes nothing.
    status, page = http(link, {"comment": "again"})
    assert status == 410 and "已使用" in page
    ack.refresh_from_db()
    assert ack.comment == "收到，已启动IV级响应"
    # The backup's wave is never sent.
    assert Notification.objects.get(recipient=backup, channel="email").state == State.CANCELLED


@pytest.mark.django_db(transaction=True)
def test_a_forged_or_altered_link_is_refused(postgres, smtp, on_duty_in_dongguan, flood, live_server, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    flood()
    sending.send_due()
    link = smtp.link_in(smtp.messages[0])
    token = link.rstrip("/").rsplit("/", 1)[1]
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    status, _ = http(f"{live_server.url}/ack/{forged}/", {"comment": ""})
    assert status == 404
    assert Acknowledgement.objects.get(jurisdiction_id=DONGGUAN).status == AckStatus.PENDING


@pytest.mark.django_db
def test_a_permanent_failure_moves_to_the_next_channel_at_once(smtp, officer_with, flood, settings):
    settings.SMS_PROVIDER = ""  # no SMS provider: a permanent "not_configured"
    person = officer_with("dg-night", role="commander",
                          contacts=[("sms", "+8613800138001", 10), ("email", "night@dg.example", 10)])
    flood()  # Dongguan has no roster: its commanders and operators are reached
    sms, mail = rows(recipient=person)
    assert mail.not_before - sms.not_before == timedelta(minutes=10)
    sending.send_due()
    sms.refresh_from_db()
    mail.refresh_from_db()
    assert sms.state == State.FAILED and sms.error_code == "not_configured" and sms.failed_at
    assert mail.state == State.QUEUED and mail.not_before <= timezone.now()  # due at once, not in 10 minutes
    sending.send_due()  # what the send task requested for it does
    mail.refresh_from_db()
    assert mail.state == State.SENT
    assert len(smtp.to("night@dg.example")) == 1


@pytest.mark.django_db
def test_a_transient_failure_is_retried_after_a_backoff_then_fails_over(smtp, officer_with, flood, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 2
    person = officer_with("dg-busy", role="operator",
                          contacts=[("email", "full@dg.example", 30), ("email", "other@dg.example", 30)])
    flood()
    first, second = rows(recipient=person)
    # A server answering 4xx: transient.
    settings.EMAIL_PORT = _closed_port()
    sending.send_due()
    first.refresh_from_db()
    assert first.state == State.QUEUED and first.attempts == 1 and first.error_code
    assert first.not_before > timezone.now()
    sending.send_due(now=first.not_before + timedelta(seconds=1))
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == State.FAILED and first.attempts == 2
    assert second.not_before <= timezone.now()  # the next channel is due at once


def _closed_port() -> int:
    from tests.notify.conftest import free_port

    return free_port()  # nothing listens there: the connection is refused


@pytest.mark.django_db
def test_a_refused_mailbox_fails_over_to_the_next_channel(smtp, officer_with, flood):
    person = officer_with("dg-gone", role="operator",
                          contacts=[("email", "gone@dg.example", 30), ("email", "here@dg.example", 30)])
    smtp.refuse = {"gone@dg.example"}
    flood()
    sending.send_due()
    sending.send_due()
    first, second = rows(recipient=person)
    assert first.state == State.FAILED and first.error_code == "smtp_recipient_refused"
    assert second.state == State.SENT
    assert [m["To"] for m in smtp.messages] == ["here@dg.example"]


@pytest.mark.django_db
def test_a_lease_that_expired_is_not_sent_again_through_a_provider_that_does_not_deduplicate(
        smtp, officer_with, flood):
    person = officer_with("dg-crash", role="operator",
                          contacts=[("email", "crash@dg.example", 30), ("email", "next@dg.example", 30)])
    flood()
    first, second = rows(recipient=person)
    # A worker claims the row, starts handing it to the SMTP server, and dies before it records anything.
    claimed = sending.claim(ids=[first.pk])
    assert [row.pk for row in claimed] == [first.pk]
    assert sending.mark_handed(claimed[0])
    later = timezone.now() + sending.lease() + timedelta(seconds=1)
    sending.send_due(now=later)
    sending.send_due(now=later)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == State.FAILED and first.error_code == sending.OUTCOME_UNKNOWN
    assert second.state == State.SENT
    assert [m["To"] for m in smtp.messages] == ["next@dg.example"]  # never the first again


@pytest.mark.django_db
def test_rows_a_dead_worker_claimed_but_never_handed_over_are_sent_once(smtp, officer_with, flood):
    people = [officer_with(f"dg-q{n}", role="operator", contacts=[("email", f"q{n}@dg.example", 30)])
              for n in range(3)]
    flood()
    claimed = sending.claim()  # a batch claimed; the worker dies before handing any of it over
    assert len(claimed) == len(people)
    assert sending.send_due()["sent"] == 0  # still leased: nobody else takes them
    later = timezone.now() + sending.lease() + timedelta(seconds=1)
    assert sending.send_due(now=later)["sent"] == len(people)
    assert Notification.objects.filter(state=State.SENT, attempts=2).count() == len(people)
    assert sorted(m["To"] for m in smtp.messages) == sorted(f"q{n}@dg.example" for n in range(3))


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_row_once(postgres, smtp, officer_with, flood):
    people = [officer_with(f"dg-{n}", role="operator", contacts=[("email", f"p{n}@dg.example", 30)])
              for n in range(12)]
    flood()
    assert Notification.objects.filter(state=State.QUEUED).count() == len(people)
    start = threading.Barrier(3)
    errors = []

    def sweeper():
        try:
            start.wait()
            for _ in range(5):
                sending.send_due(limit=3)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweeper) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert Notification.objects.filter(state=State.SENT, attempts=1).count() == len(people)
    ids = [m["Message-ID"] for m in smtp.messages]
    assert len(ids) == len(set(ids)) == len(people)


@pytest.mark.django_db(transaction=True)
def test_the_outbox_rows_roll_back_with_the_request(postgres, on_duty_in_dongguan, flood):
    from coordination.notify.services import notify_for_acknowledgement

    flood()
    ack = Acknowledgement.objects.get(jurisdiction_id=DONGGUAN)
    Notification.objects.all().delete()
    with pytest.raises(RuntimeError, match="rolled back"):
        with transaction.atomic():
            notify_for_acknowledgement(ack)
            assert Notification.objects.count() == 3
            raise RuntimeError("rolled back")
    assert Notification.objects.count() == 0
    with pytest.raises(RuntimeError, match="outbox"):
        notify_for_acknowledgement(ack)  # outside a transaction: refused


@pytest.mark.django_db
def test_nobody_on_duty_reaches_commanders_and_operators_and_says_so(officer_with, flood):
    from incidents.models import TimelineEntry

    commander = officer_with("dg-cmd", role="commander", contacts=[("email", "cmd@dg.example", 5)])
    operator = officer_with("dg-op", role="operator", contacts=[("email", "op@dg.example", 5)])
    officer_with("dg-viewer", role="viewer", contacts=[("email", "viewer@dg.example", 5)])
    officer_with("dg-nocontact", role="operator")
    public_id = flood()
    assert {row.recipient_id for row in rows()} == {commander.pk, operator.pk}
    notes = [entry.data.get("code") for entry in TimelineEntry.objects.filter(incident__public_id=public_id)]
    assert "notify.no_roster" in notes


@pytest.mark.django_db
def test_a_requests_rows_written_again_are_not_written_twice(on_duty_in_dongguan, flood):
    """The outbox keeps one row per request, person and channel (the idempotency key): writing a
    request's rows again (its step done a second time) adds none and changes none, on PostgreSQL
    through the COPY path as elsewhere through bulk_create (services._insert_new)."""
    from coordination.notify.services import notify_for_acknowledgement

    primary, backup = on_duty_in_dongguan
    public_id = flood()
    ack = Acknowledgement.objects.get(incident_id=public_id, jurisdiction_id=DONGGUAN)

    def written():
        return [(row.pk, row.recipient_id, row.channel, row.address, row.params, row.not_before, row.state)
                for row in rows(acknowledgement=ack)]

    first = written()
    # What the rows were written with reads back as it was given: the JSON parameters, the
    # moments, the addresses.
    assert [(recipient, channel, state) for _, recipient, channel, _, _, _, state in first] == [
        (primary.pk, "email", State.QUEUED), (primary.pk, "sms", State.QUEUED), (backup.pk, "email", State.QUEUED)]
    assert first[0][3] == "primary@dg.example" and first[0][4]["asker"] == SHENZHEN
    assert first[1][5] - first[0][5] == timedelta(minutes=5)
    with transaction.atomic():
        notify_for_acknowledgement(ack)
    assert written() == first


@pytest.mark.django_db
def test_messages_sent_together_are_recorded_each_with_its_own_outcome_and_event(smtp, officer_with, flood,
                                                                                   settings):
    """send_together: a chunk of rows handed to the SMTP server at once (NOTIFY_SEND_THREADS), each
    recorded as what came back for it: the accepted ones sent with their own Message-ID and a
    notification.sent event each, the refused one failed with its next channel made due."""
    from sharing.models import Event

    settings.NOTIFY_SEND_THREADS = 4
    people = [officer_with(f"dg-t{n}", role="operator", contacts=[("email", f"t{n}@dg.example", 30),
                                                                   ("email", f"t{n}b@dg.example", 30)])
              for n in range(6)]
    smtp.refuse = {"t3@dg.example"}
    flood()
    claimed = sending.claim()
    assert len(claimed) == len(people)  # the first channel of each
    outcomes = sending.send_together(claimed[:4]) + sending.send_together(claimed[4:])
    assert sorted(outcomes) == ["failed"] + ["sent"] * 5
    sent = Notification.objects.filter(state=State.SENT)
    assert sorted(row.address for row in sent) == sorted(f"t{n}@dg.example" for n in range(6) if n != 3)
    received = {m["To"]: m["Message-ID"].strip() for m in smtp.messages}
    for row in sent:
        assert row.provider_id == received[row.address] and row.sent_at >= row.handed_at
        assert row.lease_until is None and row.error_code == ""
    events = Event.objects.filter(name="notification.sent")
    assert sorted(event.payload["id"] for event in events) == sorted(str(row.pk) for row in sent)
    refused = Notification.objects.get(address="t3@dg.example")
    assert refused.state == State.FAILED and refused.error_code == "smtp_recipient_refused"
    following = Notification.objects.get(address="t3b@dg.example")
    assert following.state == State.QUEUED and following.not_before <= timezone.now()


@pytest.mark.django_db
def test_a_worker_whose_claim_passed_to_another_hands_nothing_over(smtp, officer_with, flood):
    people = [officer_with(f"dg-s{n}", role="operator", contacts=[("email", f"s{n}@dg.example", 30)])
              for n in range(3)]
    flood()
    slow = sending.claim()  # this worker stalls longer than its lease ...
    later = timezone.now() + sending.lease() + timedelta(seconds=1)
    assert sending.send_due(now=later)["sent"] == len(people)  # ... and another sends the rows
    assert sending.send_together(slow) == ["lost"] * len(people)  # the first one then hands nothing over
    assert len(smtp.messages) == len(people)
    assert Notification.objects.filter(state=State.SENT, attempts=2).count() == len(people)


@pytest.mark.django_db
def test_a_worker_records_sent_only_the_rows_it_still_holds(smtp, officer_with, flood):
    """The claim of one row passed to another worker while this one's messages were with their
    providers: the other rows are recorded sent with their events, that one is left as the other
    worker left it (here failed, outcome unknown: e-mail does not deduplicate)."""
    from sharing.models import Event

    people = [officer_with(f"dg-r{n}", role="operator", contacts=[("email", f"r{n}@dg.example", 30)])
              for n in range(3)]
    flood()
    claimed = sending.claim()
    assert len(claimed) == len(people) and sending.mark_handed(claimed) == {row.pk for row in claimed}
    taken = claimed[0]
    later = timezone.now() + sending.lease() + timedelta(seconds=1)
    assert sending.claim(ids=[taken.pk], now=later) == []  # the other worker settles it ...
    sending._record_sent([(row, f"<{row.pk}@test>", timezone.now()) for row in claimed])  # ... then this one answers
    taken.refresh_from_db()
    assert taken.state == State.FAILED and taken.error_code == sending.OUTCOME_UNKNOWN
    recorded = Notification.objects.filter(state=State.SENT)
    assert sorted(row.pk for row in recorded) == sorted(row.pk for row in claimed[1:])
    assert all(row.provider_id == f"<{row.pk}@test>" for row in recorded)
    events = Event.objects.filter(name="notification.sent")
    assert sorted(event.payload["id"] for event in events) == sorted(str(row.pk) for row in claimed[1:])
