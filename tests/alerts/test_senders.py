"""The CAP sender registry (incidents.alerts.senders): each sender belongs to one jurisdiction,
which alone imports alerts under it; coordinators keep the registry through the API, the admin
and `manage.py register_cap_sender`; load_demo registers the demo cluster's senders."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from coordination.models import AuditEntry
from incidents.alerts.models import Alert, CapSender
from incidents.alerts.senders import SenderNotAllowed, cap_sender_register, sender_owners, sender_require
from tests.alerts.capdocs import cap_document, post_cap
from tests.conftest import GUANGZHOU, HONG_KONG, MACAO, SHENZHEN, ZHAOQING, ZHUHAI

pytestmark = pytest.mark.django_db

HK = "*@hk-gov.example"


def register(pattern: str, jurisdiction: str, **extra):
    return cap_sender_register(actor=None, pattern=pattern, jurisdiction=jurisdiction, **extra)


# --- the rule ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("sender", "owners"), [
    ("eoc@hk-gov.example", {HONG_KONG}),  # by pattern
    ("EOC@HK-Gov.Example", {HONG_KONG}),  # letter case does not count
    ("eoc@hk-gov.example.evil", set()),  # a pattern matches the whole sender
    ("warning@zhaoqing-gov.example", {ZHAOQING}),  # exact
    ("other@zhaoqing-gov.example", set()),
    ("nobody@unlisted.example", set()),
    (f"liandong:{MACAO}", {MACAO}),  # Liandong's own, whatever the registry says
    (f"LIANDONG:{SHENZHEN}", {SHENZHEN}),
])
def test_a_sender_belongs_to_the_jurisdiction_whose_registration_matches_it(gba, sender, owners):
    register(HK, HONG_KONG)
    register("warning@zhaoqing-gov.example", ZHAOQING)

    assert sender_owners(sender) == owners


def test_only_the_senders_own_jurisdiction_may_import_under_it(gba):
    register(HK, HONG_KONG)

    sender_require(jurisdiction=HONG_KONG, sender="eoc@hk-gov.example")
    for jurisdiction, sender in [(ZHAOQING, "eoc@hk-gov.example"), (HONG_KONG, "eoc@unlisted.example"),
                                 (HONG_KONG, f"liandong:{ZHAOQING}"), (ZHAOQING, f"liandong:{HONG_KONG}")]:
        with pytest.raises(SenderNotAllowed) as refused:
            sender_require(jurisdiction=jurisdiction, sender=sender)
        assert sender in refused.value.detail and refused.value.status == 403
    sender_require(jurisdiction=ZHAOQING, sender=f"liandong:{ZHAOQING}")


def test_a_sender_two_jurisdictions_registrations_match_belongs_to_neither(gba):
    """Overlaps that registering cannot see (neither pattern matches the other's text) fail safe."""
    register(HK, HONG_KONG)
    register("eoc@*.example", ZHAOQING)

    assert sender_owners("eoc@hk-gov.example") == {HONG_KONG, ZHAOQING}
    for jurisdiction in (HONG_KONG, ZHAOQING):
        with pytest.raises(SenderNotAllowed, match=f"{ZHAOQING}, {HONG_KONG}"):
            sender_require(jurisdiction=jurisdiction, sender="eoc@hk-gov.example")
    sender_require(jurisdiction=HONG_KONG, sender="duty@hk-gov.example")


# --- registering --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("pattern", "jurisdiction", "field"), [
    ("", HONG_KONG, "pattern"),
    ("eoc @hk-gov.example", HONG_KONG, "pattern"),  # CAP senders have no spaces
    ("a,b@hk-gov.example", HONG_KONG, "pattern"),  # nor commas
    ("liandong:810000", HONG_KONG, "pattern"),  # Liandong's own
    ("*", HONG_KONG, "pattern"),  # any sender at all
    ("*@*", HONG_KONG, "pattern"),
    ("x" * 256, HONG_KONG, "pattern"),
    (HK, "999999", "jurisdiction"),
])
def test_a_pattern_that_would_make_the_rule_moot_is_refused_naming_the_field(gba, pattern, jurisdiction, field):
    from config.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        register(pattern, jurisdiction)
    assert list(refused.value.errors) == [field]
    assert not CapSender.objects.exists()


@pytest.mark.parametrize("overlapping", [HK, "*@HK-GOV.EXAMPLE", "eoc@hk-gov.example", "*.example", "*-gov.example"])
def test_a_pattern_overlapping_another_jurisdictions_is_a_conflict(gba, overlapping):
    from config.errors import Conflict

    register(HK, HONG_KONG)
    with pytest.raises(Conflict) as refused:
        register(overlapping, ZHAOQING)
    assert refused.value.extra["registered_to"] == HONG_KONG and "pattern" in refused.value.errors
    assert list(CapSender.objects.values_list("jurisdiction_id", flat=True)) == [HONG_KONG]


def test_registering_again_changes_nothing_and_each_change_is_audited(gba):
    first, created = register("*@HK-gov.example ", HONG_KONG, note="HK EOC")
    again, created_again = register(HK, HONG_KONG)

    assert (created, created_again, first.pk, first.pattern) == (True, False, again.pk, HK)
    assert AuditEntry.objects.filter(action="cap_sender.registered").count() == 1


# --- importing -------------------------------------------------------------------------------------------


def test_a_refused_import_is_audited_and_answered_in_the_callers_language(api_as, gba):
    register(HK, HONG_KONG)
    client = api_as(ZHAOQING)
    document = cap_document("HK-1", sender="eoc@hk-gov.example")

    english = client.post("/api/v1/cap/", data=document, content_type="application/cap+xml",
                          HTTP_ACCEPT_LANGUAGE="en")
    chinese = client.post("/api/v1/cap/", data=document, content_type="application/cap+xml",
                          HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert (english.status_code, chinese.status_code) == (403, 403)
    assert english.json()["title"] == "CAP sender not allowed"
    assert chinese.json()["title"] == "不允许使用该 CAP 发送方"
    for answer in (english.json(), chinese.json()):
        assert answer["type"] == "/problems/cap-sender-not-allowed" and answer["sender"] == "eoc@hk-gov.example"
        assert "eoc@hk-gov.example" in answer["detail"]
    refusals = AuditEntry.objects.filter(action="alert.import_refused_sender")
    assert refusals.count() == 2 and refusals.first().detail["sender"] == "eoc@hk-gov.example"
    assert not Alert.objects.exists()


def test_a_sender_that_must_sign_is_recognised_in_any_letter_case(api_as, gba, settings):
    """CAP_REQUIRE_SIGNED_SENDERS matches senders as the registry does: an unsigned
    "EOC@HK-GOV.EXAMPLE" is no way around "*@hk-gov.example" having to sign."""
    register(HK, HONG_KONG)
    settings.CAP_REQUIRE_SIGNED_SENDERS = [HK]

    response = post_cap(api_as(HONG_KONG), cap_document("HK-2", sender="EOC@HK-GOV.EXAMPLE"))

    assert response.status_code == 400 and response.json()["code"] == "signature_required"


def test_an_unregistered_sender_is_imported_once_registered_and_refused_once_removed(api_as, gba):
    client = api_as(HONG_KONG)
    assert post_cap(client, cap_document("HK-3", sender="eoc@hk-gov.example")).status_code == 403
    registration, _ = register(HK, HONG_KONG)
    assert post_cap(client, cap_document("HK-3", sender="eoc@hk-gov.example")).status_code == 201

    call_command("register_cap_sender", HK, jurisdiction=HONG_KONG, remove=True, verbosity=0)

    assert post_cap(client, cap_document("HK-4", sender="eoc@hk-gov.example")).status_code == 403
    assert Alert.objects.filter(identifier="HK-3").exists()  # what was imported stays


# --- the API -----------------------------------------------------------------------------------------------


def test_coordinators_register_senders_for_their_clusters_jurisdictions(api_as, gba):
    coordinator = api_as(GUANGZHOU, role="coordinator")
    body = {"pattern": HK, "jurisdiction": HONG_KONG, "note": "HK EOC"}

    created = coordinator.post("/api/v1/cap-senders/", body, format="json")
    again = coordinator.post("/api/v1/cap-senders/", body, format="json")

    assert (created.status_code, again.status_code) == (201, 200)
    assert created.json()["pattern"] == HK and created.json()["jurisdiction"] == HONG_KONG
    assert created.json()["created_by"].startswith("coordinator-")
    listed = api_as(ZHUHAI, scopes=["read"]).get("/api/v1/cap-senders/").json()["results"]
    assert [(row["pattern"], row["jurisdiction"]) for row in listed] == [(HK, HONG_KONG)]
    assert api_as(ZHUHAI).get(f"/api/v1/cap-senders/?jurisdiction={ZHAOQING}").json()["results"] == []


@pytest.mark.parametrize("who", [{"role": "commander"}, {"role": "viewer"}, {}])  # {}: a system, every scope
def test_no_one_but_a_coordinator_registers_a_sender(api_as, gba, who):
    """A city system least of all: it would vouch for the senders it imports under."""
    response = api_as(ZHAOQING, **who).post("/api/v1/cap-senders/", {"pattern": HK, "jurisdiction": ZHAOQING},
                                             format="json")

    assert response.status_code == 403 and response["Content-Type"] == "application/problem+json"
    assert not CapSender.objects.exists()


def test_an_overlap_is_409_and_bad_input_400_naming_the_field(api_as, gba):
    coordinator = api_as(GUANGZHOU, role="coordinator")
    coordinator.post("/api/v1/cap-senders/", {"pattern": HK, "jurisdiction": HONG_KONG}, format="json")

    overlap = coordinator.post("/api/v1/cap-senders/", {"pattern": "eoc@hk-gov.example", "jurisdiction": ZHAOQING},
                               format="json")
    broad = coordinator.post("/api/v1/cap-senders/", {"pattern": "*", "jurisdiction": ZHAOQING}, format="json")
    unknown = coordinator.post("/api/v1/cap-senders/", {"pattern": "a@b.example", "jurisdiction": ZHAOQING,
                                                        "owner": ZHAOQING}, format="json")

    assert overlap.status_code == 409 and overlap.json()["registered_to"] == HONG_KONG
    assert broad.status_code == 400 and "pattern" in broad.json()["errors"]
    assert unknown.status_code == 400 and "owner" in unknown.json()["errors"]
    assert CapSender.objects.count() == 1


def test_a_coordinator_removes_a_registration_with_delete(api_as, gba):
    registration, _ = register(HK, HONG_KONG)
    path = f"/api/v1/cap-senders/{registration.pk}/"

    assert api_as(HONG_KONG).delete(path).status_code == 403  # the sender's own system may not
    assert api_as(GUANGZHOU, role="coordinator").delete(path).status_code == 204
    assert api_as(GUANGZHOU, role="coordinator").delete(path).status_code == 404
    assert not CapSender.objects.exists()
    assert AuditEntry.objects.filter(action="cap_sender.removed").count() == 1


def test_the_list_takes_a_constant_number_of_queries(api_as, gba, django_assert_num_queries):
    client = api_as(ZHUHAI)
    client.get("/api/v1/cap-senders/")  # warm the token and cluster caches
    for count in (2, 6):
        for n in range(count - CapSender.objects.count()):
            register(f"*@city-{count}-{n}.example", ZHUHAI)
        # count, page
        with django_assert_num_queries(2):
            response = client.get("/api/v1/cap-senders/")
        assert len(response.json()["results"]) == count


# --- the command, the admin, the demo -------------------------------------------------------------------


def test_the_command_registers_safely_twice_and_refuses_an_overlap(gba, capsys):
    call_command("register_cap_sender", HK, jurisdiction=HONG_KONG, note="HK EOC")
    call_command("register_cap_sender", HK, jurisdiction=HONG_KONG)
    with pytest.raises(CommandError, match="810000"):
        call_command("register_cap_sender", "eoc@hk-gov.example", jurisdiction=ZHAOQING)

    out = capsys.readouterr().out
    assert f"CAP sender {HK} registered to {HONG_KONG}." in out and "was already registered" in out
    assert list(CapSender.objects.values_list("pattern", "jurisdiction_id", "note")) == [(HK, HONG_KONG, "HK EOC")]


def test_the_admin_registers_and_removes_through_the_rule(client, gba):
    user = get_user_model().objects.create_superuser("root", "root@example.cn", "pw-Secret-123")
    client.force_login(user)

    added = client.post("/admin/alerts/capsender/add/", {"pattern": HK, "jurisdiction": HONG_KONG, "note": ""})
    overlap = client.post("/admin/alerts/capsender/add/", {"pattern": "*.example", "jurisdiction": ZHAOQING,
                                                            "note": ""})

    assert added.status_code == 302
    assert overlap.status_code == 200 and "810000" in overlap.context["adminform"].form.errors["pattern"][0]
    registration = CapSender.objects.get()
    assert AuditEntry.objects.filter(action="cap_sender.registered", object_id=str(registration.pk)).exists()
    assert client.post(f"/admin/alerts/capsender/{registration.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not CapSender.objects.exists()
    assert AuditEntry.objects.filter(action="cap_sender.removed").count() == 1


def test_load_demo_registers_the_demo_clusters_senders_and_is_safe_twice(gba):
    from coordination.demo import LoadSummary
    from incidents.alerts.demo import DEMO_SENDERS, load_demo_senders

    first, second = load_demo_senders(LoadSummary()), load_demo_senders(LoadSummary())

    assert first.created["CAP senders"] == len(DEMO_SENDERS) and "CAP senders" not in second.created
    assert sender_owners("eoc@hk-gov.example") == {HONG_KONG}
    # The senders of the sample documents (tests/alerts/data) belong to a GBA member each.
    assert sender_owners("warning@zhuhai-met.example.cn") == {ZHUHAI}
    assert sender_owners("forecast@prd-weather.example.org") == {GUANGZHOU}
