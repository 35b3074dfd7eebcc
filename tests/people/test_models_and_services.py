"""Contact methods through the services: who may write them, their order, duplicates, limits,
the audit (without addresses or secrets), quiet hours; and the plan the pipeline reads."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from config.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from coordination.models import AuditEntry
from coordination.people import contract, selectors, services
from coordination.people.models import Channel, ContactMethod
from tests.conftest import HONG_KONG, SHENZHEN

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def me(sz_officer, principal_for):
    """The officer and their principal, as the API builds it."""
    from coordination.authentication import principal_for_user

    return sz_officer, principal_for_user(sz_officer).with_ip("127.0.0.1")


def test_adding_in_order_and_numbers_in_the_officers_region(me, make_officer):
    user, principal = me
    first = services.contact_add(actor=principal, officer=user, channel="email", address="duty@sz.example")
    second = services.contact_add(actor=principal, officer=user, channel="sms", address="138 0013 8000",
                                  wait_minutes=10)
    assert (first.position, second.position) == (0, 1) and second.address == "+8613800138000"
    hk = make_officer("hk-duty", HONG_KONG)
    assert services.contact_add(actor=None, officer=hk, channel="sms", address="5123 4567").address == "+85251234567"
    with pytest.raises(Conflict):
        services.contact_add(actor=principal, officer=user, channel="sms", address="+8613800138000")
    with pytest.raises(ValidationFailed) as caught:
        services.contact_add(actor=principal, officer=user, channel="email", address="nope")
    assert list(caught.value.errors) == ["address"]


def test_only_the_officer_themself_writes(me, principal_for):
    user, principal = me
    method = services.contact_add(actor=principal, officer=user, channel="email", address="duty@sz.example")
    commander = principal_for(SHENZHEN, role="commander")
    with pytest.raises(PermissionDenied):
        services.contact_add(actor=commander, officer=user, channel="email", address="other@sz.example")
    with pytest.raises(PermissionDenied):
        services.contact_update(actor=commander, contact=method, label="x")
    with pytest.raises(PermissionDenied):
        services.contact_remove(actor=commander, contact=method)
    with pytest.raises(PermissionDenied):
        services.policy_set(actor=commander, officer=user, quiet_start=None, quiet_end=None)
    with pytest.raises(NotFound):
        services.contact_get(actor=commander, contact_id=method.pk)
    with pytest.raises(PermissionDenied):
        services.contact_add(actor=principal_for(SHENZHEN, scopes=["read"]), officer=user, channel="email",
                             address="x@sz.example")


def test_update_remove_reorder_keep_positions_dense(me):
    user, principal = me
    a, b, c = (services.contact_add(actor=principal, officer=user, channel="email", address=f"{n}@sz.example")
               for n in "abc")
    services.contacts_reorder(actor=principal, officer=user, ids=[c.pk, a.pk, b.pk])
    assert [m.pk for m in selectors.contact_methods_of(user)] == [c.pk, a.pk, b.pk]
    with pytest.raises(ValidationFailed):
        services.contacts_reorder(actor=principal, officer=user, ids=[c.pk, a.pk])  # not all of them
    with pytest.raises(ValidationFailed):
        services.contacts_reorder(actor=principal, officer=user, ids=[c.pk, a.pk, a.pk])
    services.contact_remove(actor=principal, contact=ContactMethod.objects.get(pk=c.pk))
    assert list(ContactMethod.objects.filter(officer=user).order_by("position").values_list("pk", "position")) == [
        (a.pk, 0), (b.pk, 1)]
    services.contact_update(actor=principal, contact=ContactMethod.objects.get(pk=b.pk), active=False, label="night")
    assert [m.pk for m in selectors.contact_methods_of(user)] == [a.pk]  # the pipeline skips a paused one
    with pytest.raises(ValidationFailed) as caught:
        services.contact_update(actor=principal, contact=a, channel="sms")
    assert list(caught.value.errors) == ["channel"]


def test_a_robot_secret_is_kept_and_never_audited(me):
    user, principal = me
    method = services.contact_add(actor=principal, officer=user, channel="dingtalk",
                                  address="https://oapi.dingtalk.com/robot/send?access_token=tok-123",
                                  secret="SECtopsecret")
    assert ContactMethod.objects.get(pk=method.pk).secret == "SECtopsecret"
    services.contact_update(actor=principal, contact=method, secret="SECnewsecret")
    written = " ".join(str(entry.detail) for entry in AuditEntry.objects.filter(action__startswith="contacts."))
    assert AuditEntry.objects.filter(action="contacts.added").count() == 1
    assert "secret" in written  # the name of what changed
    assert "SECtopsecret" not in written and "SECnewsecret" not in written and "tok-123" not in written


def test_at_most_so_many_methods(me):
    user, principal = me
    for n in range(contract.MAX_METHODS):
        services.contact_add(actor=principal, officer=user, channel="email", address=f"n{n}@sz.example")
    with pytest.raises(ValidationFailed):
        services.contact_add(actor=principal, officer=user, channel="email", address="one-more@sz.example")


def test_the_plan_follows_order_and_waits(me):
    user, principal = me
    services.contact_add(actor=principal, officer=user, channel="sms", address="+8613800138000", wait_minutes=3)
    services.contact_add(actor=principal, officer=user, channel="email", address="duty@sz.example", wait_minutes=10)
    services.contact_add(actor=principal, officer=user, channel="wecom",
                         address="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1")
    at = datetime(2026, 7, 1, 14, 0, tzinfo=SHANGHAI)
    plan = selectors.notification_plan(user, urgent=False, at=at)
    assert [(s.channel, s.not_before_offset) for s in plan] == [
        ("sms", timedelta(0)), ("email", timedelta(minutes=3)), ("wecom", timedelta(minutes=13))]
    assert plan[0].address == "+8613800138000"


def test_quiet_hours_hold_back_only_what_is_not_urgent(me):
    user, principal = me
    services.contact_add(actor=principal, officer=user, channel="sms", address="+8613800138000", wait_minutes=5)
    services.contact_add(actor=principal, officer=user, channel="email", address="duty@sz.example")
    services.policy_set(actor=principal, officer=user, quiet_start=time(22, 0), quiet_end=time(7, 0))
    assert selectors.policy_of(user).zone.key == "Asia/Shanghai"  # the cluster's, by default
    night = datetime(2026, 7, 1, 23, 30, tzinfo=SHANGHAI)
    urgent = selectors.notification_plan(user, urgent=True, at=night)
    assert [s.not_before_offset for s in urgent] == [timedelta(0), timedelta(minutes=5)]
    held = selectors.notification_plan(user, urgent=False, at=night)
    assert [night + s.not_before_offset for s in held] == [datetime(2026, 7, 2, 7, 0, tzinfo=SHANGHAI),
                                                           datetime(2026, 7, 2, 7, 5, tzinfo=SHANGHAI)]
    # Just before the quiet hours: the first goes now, the second would fall in them and waits.
    services.contact_update(actor=principal, contact=selectors.contact_methods_of(user)[0], wait_minutes=30)
    evening = datetime(2026, 7, 1, 21, 45, tzinfo=SHANGHAI)
    offsets = [s.not_before_offset for s in selectors.notification_plan(user, urgent=False, at=evening)]
    assert offsets == [timedelta(0), timedelta(hours=9, minutes=15)]
    # The officer's own zone: 22:00–07:00 in Hong Kong is the same hours; in London it is not.
    services.policy_set(actor=principal, officer=user, quiet_start=time(22, 0), quiet_end=time(7, 0),
                        time_zone="Europe/London")
    assert selectors.notification_plan(user, urgent=False, at=night)[0].not_before_offset == timedelta(0)


def test_quiet_hours_are_both_or_neither(me):
    user, principal = me
    with pytest.raises(ValidationFailed) as caught:
        services.policy_set(actor=principal, officer=user, quiet_start=time(22, 0), quiet_end=None)
    assert list(caught.value.errors) == ["quiet_end"]
    with pytest.raises(ValidationFailed):
        services.policy_set(actor=principal, officer=user, quiet_start=time(8, 0), quiet_end=time(8, 0))
    with pytest.raises(ValidationFailed) as caught:
        services.policy_set(actor=principal, officer=user, quiet_start=time(8, 0), quiet_end=time(9, 0),
                            time_zone="Mars/Olympus")
    assert list(caught.value.errors) == ["time_zone"]
    services.policy_set(actor=principal, officer=user, quiet_start=time(12, 0), quiet_end=time(14, 0))
    lunch = datetime(2026, 7, 1, 12, 30, tzinfo=SHANGHAI)
    services.contact_add(actor=principal, officer=user, channel="email", address="duty@sz.example")
    assert selectors.notification_plan(user, urgent=False, at=lunch)[0].not_before_offset == timedelta(minutes=90)
    assert AuditEntry.objects.filter(action="notification_policy.set").count() == 1


def test_channels_are_kept_as_declared():
    assert Channel.values == ["email", "sms", "wecom", "dingtalk", "feishu", "webpush"]
