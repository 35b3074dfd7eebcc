"""A person on the escalation wave with no usable contact method holds no wave (issue 20): the next
person is reached at once in their place, the deadline is split between the waves that reach
someone, and the incident page's "who was reached" part says "X has no contact method" in the
reader's language. Real parts: PostgreSQL, an SMTP server on 127.0.0.1 counting what each
person receives, the playbook engine in-process."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from coordination.notify import sending
from coordination.notify.models import Notification
from incidents.models import TimelineEntry
from tests.conftest import DONGGUAN, SHENZHEN
from tests.notify.test_waves import SCALE, dongguan_ack, mailed


@pytest.fixture
def bureau_without_primary_contact(officer_with, settings):
    """Dongguan's roster: the primary 张三 with no contact method (his only one paused), the
    backups 李四 and 王五 by e-mail, and the head 赵六 with none at all."""
    from coordination.duty.services import roster_ensure, shift_create
    from coordination.models import Jurisdiction
    from coordination.people.models import ContactMethod

    settings.DEADLINE_SCALE = SCALE
    people = {}
    for username, name, role, contacts in (
            ("dg-zhang", "张三", "operator", [("email", "dg-zhang@dg.example", 5)]),
            ("dg-li", "李四", "operator", [("email", "dg-li@dg.example", 5)]),
            ("dg-wang", "王五", "operator", [("email", "dg-wang@dg.example", 5)]),
            ("dg-zhao", "赵六", "commander", [])):
        user = officer_with(username, role=role, contacts=contacts)
        user.first_name = name
        user.save(update_fields=["first_name"])
        people[username] = user
    ContactMethod.objects.filter(officer=people["dg-zhang"]).update(active=False)  # paused: not usable
    roster, _ = roster_ensure(actor=None, jurisdiction=Jurisdiction.objects.get(code=DONGGUAN))
    now = timezone.now()
    shift_create(actor=None, roster=roster, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=11),
                 primary="dg-zhang", backups=["dg-li", "dg-wang"])
    return people


@pytest.mark.django_db(transaction=True)
def test_the_next_person_takes_the_wave_of_one_with_no_contact_method(postgres, smtp, bureau_without_primary_contact,
                                                                       flood, make_officer):
    public_id = flood()
    ack = dongguan_ack(public_id)
    asked, window = ack.requested_at, ack.due_at - ack.requested_at
    rows = {row.recipient.username: row for row in Notification.objects.filter(acknowledgement=ack)
            .select_related("recipient")}
    # Only the two backups have rows: the first at once (the primary's wave), the deadline split in two.
    assert {name: row.not_before - asked for name, row in rows.items()} == {"dg-li": timedelta(0),
                                                                            "dg-wang": window / 2}
    sending.send_due(now=asked + timedelta(seconds=1))
    assert [mailed(smtp, name) for name in ("dg-zhang", "dg-li", "dg-wang")] == [0, 1, 0]

    notes = {entry.data["code"]: entry.data["params"] for entry in TimelineEntry.objects.filter(
        incident__public_id=public_id, data__code__in=["notify.no_contact", "notify.waves"])}
    assert notes["notify.no_contact"] == {"jurisdiction": DONGGUAN, "people": ["张三", "赵六"]}
    assert [part["code"] for part in notes["notify.waves"]["waves"]] == ["notify.wave_backup_first",
                                                                          "notify.wave_backup"]

    reader = make_officer("sz-reader", SHENZHEN, "commander")
    for language, words in (("zh-hans", "张三 没有联系方式：已立即改为通知下一位。"),
                            ("zh-hant", "张三 沒有聯絡方式"),
                            ("en", "张三 has no contact method: the next person was reached at once.")):
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        client.force_login(reader)
        html = client.get(f"/incidents/{public_id}/reached/").content.decode()
        text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
        assert words in text, (language, text)
        assert "赵六" in text and "李四" in text


@pytest.mark.django_db(transaction=True)
def test_nobody_reachable_is_said_by_name(postgres, smtp, officer_with, flood, make_officer, settings):
    from coordination.duty.services import roster_ensure, shift_create
    from coordination.models import Jurisdiction

    settings.DEADLINE_SCALE = SCALE
    officer_with("dg-alone", role="operator", contacts=[])
    roster, _ = roster_ensure(actor=None, jurisdiction=Jurisdiction.objects.get(code=DONGGUAN))
    now = timezone.now()
    shift_create(actor=None, roster=roster, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=11),
                 primary="dg-alone", backups=[])
    public_id = flood()
    assert not Notification.objects.filter(acknowledgement=dongguan_ack(public_id)).exists()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(make_officer("sz-reader", SHENZHEN, "commander"))
    text = " ".join(re.sub(r"<[^>]+>", " ", client.get(f"/incidents/{public_id}/reached/").content.decode()).split())
    assert "dg-alone has no contact method" in text and "Dongguan" in text
