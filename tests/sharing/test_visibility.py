"""The visibility rule of docs/api.md, and the agreement of its two forms (decide and visible_q)."""

import itertools
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from sharing.eventlog import Subject, emit_event, sequence_pending
from sharing.models import Event, SharingAgreement
from sharing.selectors import visible_events_q
from sharing.visibility import (
    SENSITIVE_FIELDS,
    Facts,
    Viewer,
    audience,
    decide,
    redact,
    sharing_changed,
)
from tests.conftest import (
    DONGGUAN,
    FOSHAN,
    GBA_CODES,
    GUANGZHOU,
    HONG_KONG,
    HUIZHOU,
    MACAO,
    SHENZHEN,
    ZHUHAI,
)

pytestmark = pytest.mark.django_db


def viewer(code, coordinator=False):
    return Viewer(code, frozenset({"GBA"}), coordinator)


def shenzhen_incident(level, *, jurisdictions=(), category="natural_disaster"):
    return Facts(data_kind="incidents", owner=SHENZHEN, cluster="GBA", jurisdictions=frozenset(jurisdictions),
                 level=level, category=category)


CORE = {GUANGZHOU, SHENZHEN, HONG_KONG, MACAO}
SZ_NEIGHBOURS = {DONGGUAN, HUIZHOU, HONG_KONG}


@pytest.mark.parametrize(
    "level, expected",
    [
        ("I", set(GBA_CODES)),
        ("II", set(GBA_CODES)),
        ("III", {SHENZHEN} | SZ_NEIGHBOURS | CORE),
        ("IV", {SHENZHEN}),
    ],
)
def test_the_cluster_default_by_level(gba, level, expected):
    seen = {code for code in GBA_CODES if decide(viewer(code), shenzhen_incident(level))}
    assert seen == expected


def test_affected_jurisdictions_see_whatever_the_level(gba):
    facts = shenzhen_incident("IV", jurisdictions=[SHENZHEN, DONGGUAN])
    assert decide(viewer(DONGGUAN), facts).basis == "concerned"
    assert not decide(viewer(ZHUHAI), facts)


def test_a_coordinator_sees_the_whole_cluster(gba):
    assert decide(viewer(ZHUHAI, coordinator=True), shenzhen_incident("IV"))
    outside = Viewer("110000", frozenset({"JJJ"}), True)
    assert not decide(outside, shenzhen_incident("IV"))


def test_only_the_owner_gets_sensitive_fields_by_default(gba):
    assert decide(viewer(SHENZHEN), shenzhen_incident("I")).withheld == frozenset()
    assert decide(viewer(ZHUHAI), shenzhen_incident("I")).withheld == SENSITIVE_FIELDS


def agreement(**kwargs):
    defaults = dict(name="SZ→ZH floods", cluster_id="GBA", grantor_id=SHENZHEN, data_kinds=["incidents"],
                    categories=["natural_disaster"], level_at_least="IV", withheld_fields=["contacts"])
    defaults.update(kwargs)
    grantees = defaults.pop("grantees", [ZHUHAI])
    item = SharingAgreement.objects.create(**defaults)
    item.grantees.set(grantees)
    sharing_changed()
    return item


def test_an_agreement_widens_per_category_and_level_and_lifts_withheld_fields(gba):
    agreement()
    assert decide(viewer(ZHUHAI), shenzhen_incident("IV")).withheld == frozenset({"contacts"})
    assert not decide(viewer(ZHUHAI), shenzhen_incident("IV", category="accident"))
    assert not decide(viewer(FOSHAN), shenzhen_incident("IV"))


def test_an_agreement_outside_its_validity_grants_nothing(gba):
    now = timezone.now()
    agreement(valid_from=now + timedelta(days=1))
    assert not decide(viewer(ZHUHAI), shenzhen_incident("IV"))
    SharingAgreement.objects.all().delete()
    agreement(valid_from=now - timedelta(days=2), valid_until=now - timedelta(days=1))
    assert not decide(viewer(ZHUHAI), shenzhen_incident("IV"))


def test_an_inactive_agreement_grants_nothing(gba):
    agreement(is_active=False)
    assert not decide(viewer(ZHUHAI), shenzhen_incident("IV"))


def test_redact_removes_fields_and_nested_fields():
    payload = {"title": "t", "contacts": ["+86"], "casualties": {"deaths": 1, "names": ["x"]}}
    assert redact(payload, {"contacts", "casualties.names"}) == {"title": "t", "casualties": {"deaths": 1}}
    assert "contacts" in payload  # the original is untouched


def test_audience_groups_viewers_by_what_they_may_see(gba):
    agreement(withheld_fields=[])
    groups = audience(shenzhen_incident("IV", jurisdictions=[DONGGUAN]))
    by_withheld = {group.withheld: group for group in groups}
    assert by_withheld[frozenset()].jurisdictions == {SHENZHEN, ZHUHAI}
    assert by_withheld[SENSITIVE_FIELDS].jurisdictions == {DONGGUAN}
    coordinator_only = set().union(*(group.coordinators_only for group in groups))
    assert coordinator_only == set(GBA_CODES) - {SHENZHEN, ZHUHAI, DONGGUAN}


def test_the_filter_form_agrees_with_decide_for_every_jurisdiction(gba):
    """visible_q (lists, the event log) and decide (single items, the stream) must never
    disagree: checked over owners × levels × categories × affected sets × viewers."""
    agreement(grantees=[ZHUHAI, FOSHAN])
    owners = [SHENZHEN, ZHUHAI, HONG_KONG]
    combos = list(itertools.product(owners, ["I", "II", "III", "IV"], ["natural_disaster", "accident"],
                                    [(), (DONGGUAN,)]))
    payload = {"id": "x", "name": "n", "cluster": "GBA", "grantor": SHENZHEN, "grantees": [], "data_kinds": [],
               "categories": [], "level_at_least": "IV", "valid_from": None, "valid_until": None,
               "withheld_fields": [], "is_active": True}
    with transaction.atomic():
        for owner, level, category, affected in combos:
            emit_event("agreement.created", payload=payload, subject=Subject(
                type="t", id=f"{owner}{level}{category}{affected}", cluster="GBA", owner=owner,
                jurisdictions=affected, level=level, category=category))
    sequence_pending()
    events = list(Event.objects.all())
    for code, coordinator in itertools.product(GBA_CODES, [False, True]):
        v = viewer(code, coordinator)
        by_filter = set(Event.objects.filter(visible_events_q(v)).values_list("pk", flat=True))
        by_decide = {
            e.pk for e in events
            if decide(v, Facts("incidents", e.owner, e.cluster, frozenset(e.jurisdiction_codes), e.level,
                               e.category))
        }
        assert by_filter == by_decide, (code, coordinator)


def test_data_without_a_level_crosses_a_border_only_by_an_agreement_open_to_every_level(gba):
    stock = Facts(data_kind="incidents", owner=SHENZHEN, cluster="GBA", level="")
    assert not decide(viewer(GUANGZHOU), stock)  # the I–II cluster default does not open it
    agreement(categories=[], level_at_least="II")
    assert not decide(viewer(ZHUHAI), stock)
    SharingAgreement.objects.all().delete()
    agreement(categories=[], level_at_least="IV")
    assert decide(viewer(ZHUHAI), stock)


def test_data_about_an_incident_comes_without_its_fields_to_whoever_may_not_see_the_incident(gba):
    """A mutual-aid request (Shenzhen's, sent to the whole cluster) about a level III incident:
    the request is seen by every jurisdiction it was sent to, the fields taken from the
    incident only by those that see the incident. Its owner too is held to that."""
    incident = shenzhen_incident("III")
    request = Facts(data_kind="resources", owner=SHENZHEN, cluster="GBA", jurisdictions=frozenset(GBA_CODES),
                    level="III", category="natural_disaster", about=incident,
                    about_fields=frozenset({"incident", "location"}))
    for code in GBA_CODES:
        decision = decide(viewer(code), request)
        assert decision, code
        assert ({"incident", "location"} <= decision.withheld) == (not decide(viewer(code), incident)), code
    offer = Facts(data_kind="resources", owner=ZHUHAI, cluster="GBA", jurisdictions=frozenset({SHENZHEN}),
                  about=incident, about_fields=frozenset({"incident"}))
    assert decide(viewer(ZHUHAI), offer).withheld == {"incident"}  # Zhuhai's own offer, not its incident
    assert decide(viewer(ZHUHAI, coordinator=True), offer).withheld == frozenset()


def test_the_fields_about_another_incident_travel_in_their_own_audience_group(gba):
    request = Facts(data_kind="resources", owner=SHENZHEN, cluster="GBA", jurisdictions=frozenset(GBA_CODES),
                    level="III", about=shenzhen_incident("III"), about_fields=frozenset({"incident"}))
    groups = {group.withheld: group.jurisdictions for group in audience(request)}
    assert groups[frozenset()] == {SHENZHEN}
    assert groups[SENSITIVE_FIELDS] == (SZ_NEIGHBOURS | CORE) - {SHENZHEN}
    assert groups[SENSITIVE_FIELDS | {"incident"}] == set(GBA_CODES) - SZ_NEIGHBOURS - CORE
