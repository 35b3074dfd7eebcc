"""The two data kinds whose audience the rule fixes itself (sharing.models.PublicationKind):
public alerts, for anyone (the sensitive fields withheld); drafts, for their owner alone. Both
forms of the rule (decide, visible_q) and the fan-out plan (audience) agree on them."""

import itertools

import pytest
from django.db import transaction

from coordination.models import Jurisdiction
from coordination.registry import registry
from sharing.eventlog import Subject, emit_event, sequence_pending
from sharing.models import SUBJECT_DATA_KINDS, Event, SharingAgreement
from sharing.selectors import visible_events_q
from sharing.visibility import SENSITIVE_FIELDS, Facts, Viewer, audience, decide, sharing_changed
from tests.conftest import DONGGUAN, FOSHAN, HUIZHOU, SHENZHEN, ZHUHAI

pytestmark = pytest.mark.django_db

GUANGDONG = "440000"  # registered, a member of no cluster


def viewer(code, coordinator=False):
    return Viewer(code, registry().clusters_of.get(code, frozenset()), coordinator)


def facts(kind, level="IV", jurisdictions=(), owner=SHENZHEN):
    return Facts(data_kind=kind, owner=owner, cluster="GBA", jurisdictions=frozenset(jurisdictions), level=level,
                 category="accident")


def registered() -> list[str]:
    return sorted(Jurisdiction.objects.values_list("code", flat=True))


def share_incidents(grantee: str, withheld: list[str]):
    agreement = SharingAgreement.objects.create(name="SZ shares", cluster_id="GBA", grantor_id=SHENZHEN,
                                                data_kinds=["incidents"], withheld_fields=withheld)
    agreement.grantees.set([grantee])
    sharing_changed()


def test_a_public_alert_is_for_every_registered_jurisdiction_as_for_a_stranger(gba):
    public = facts("public_alerts", level="IV")
    assert GUANGDONG in registered()
    for code in registered():
        decision = decide(viewer(code), public)
        assert decision, code
        assert decision.withheld == (frozenset() if code == SHENZHEN else SENSITIVE_FIELDS), code
    assert decide(viewer(ZHUHAI), public).basis == "public"


def test_what_shares_incidents_shares_public_alerts_too(gba):
    share_incidents(ZHUHAI, withheld=[])
    assert decide(viewer(ZHUHAI), facts("public_alerts")).withheld == frozenset()
    assert decide(viewer(FOSHAN), facts("public_alerts")).withheld == SENSITIVE_FIELDS


def test_a_draft_is_seen_by_its_owner_alone(gba):
    share_incidents(ZHUHAI, withheld=[])
    draft = facts("drafts", level="I", jurisdictions=[SHENZHEN, DONGGUAN])
    seen = {code for code, coordinator in itertools.product(registered(), [False, True])
            if decide(viewer(code, coordinator), draft)}
    assert seen == {SHENZHEN}


@pytest.mark.parametrize("kind, level", [("public_alerts", "IV"), ("public_alerts", "I"), ("drafts", "I"),
                                         ("incidents", "III")])
def test_the_fan_out_plan_agrees_with_decide_for_every_registered_jurisdiction(gba, kind, level):
    share_incidents(ZHUHAI, withheld=["casualty_details"])
    subject = facts(kind, level=level, jurisdictions=[DONGGUAN])
    planned = {}
    for group in audience(subject):
        planned |= {code: (group.withheld, False) for code in group.jurisdictions}
        planned |= {code: (group.withheld, True) for code in group.coordinators_only}
    decided = {}
    for code in registered():
        plain = decide(viewer(code), subject)
        as_coordinator = decide(viewer(code, True), subject)
        if plain:
            decided[code] = (plain.withheld, False)
        elif as_coordinator:
            decided[code] = (as_coordinator.withheld, True)
    assert planned == decided
    if kind == "public_alerts":
        assert set(planned) == set(registered())


def test_the_filter_form_agrees_with_decide_for_every_data_kind(gba):
    share_incidents(HUIZHOU, withheld=[])
    payload = {"id": "x", "name": "n", "cluster": "GBA", "grantor": SHENZHEN, "grantees": [], "data_kinds": [],
               "categories": [], "level_at_least": "IV", "valid_from": None, "valid_until": None,
               "withheld_fields": [], "is_active": True}
    with transaction.atomic():
        for kind, owner, level, affected in itertools.product(SUBJECT_DATA_KINDS, [SHENZHEN, ZHUHAI],
                                                              ["I", "III", "IV"], [(), (DONGGUAN,)]):
            emit_event("agreement.created", payload=payload, subject=Subject(
                type="t", id=f"{kind}{owner}{level}{affected}", cluster="GBA", owner=owner, jurisdictions=affected,
                level=level, category="accident", data_kind=kind))
    sequence_pending()
    events = list(Event.objects.all())
    for code, coordinator in itertools.product(registered(), [False, True]):
        v = viewer(code, coordinator)
        by_filter = set(Event.objects.filter(visible_events_q(v)).values_list("pk", flat=True))
        by_decide = {event.pk for event in events if decide(v, Facts(
            data_kind=event.data_kind, owner=event.owner, cluster=event.cluster,
            jurisdictions=frozenset(event.jurisdiction_codes), level=event.level, category=event.category))}
        assert by_filter == by_decide, (code, coordinator)
