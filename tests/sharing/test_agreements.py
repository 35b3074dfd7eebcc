"""Sharing agreements: coordinators manage them through the API and the admin; each change is
validated, audited, announced by one event, and changes what the visibility rule grants."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from coordination.models import AuditEntry, Cluster, Jurisdiction
from sharing import services
from sharing.events import validate_payload
from sharing.models import SharingAgreement
from sharing.visibility import SENSITIVE_FIELDS, Facts, Viewer, decide, grants_for
from tests.conftest import DONGGUAN, GBA_CODES, HONG_KONG, MACAO, SHENZHEN, ZHONGSHAN, ZHUHAI
from tests.mutualaid.support import client_for, events_named

pytestmark = pytest.mark.django_db

URL = "/api/v1/sharing-agreements/"


def terms(**overrides):
    return {"grantor": ZHUHAI, "grantees": [ZHONGSHAN], "data_kinds": ["resources"], **overrides}


def zhuhai_stock(level=""):
    return Facts(data_kind="resources", owner=ZHUHAI, cluster="GBA", level=level)


def nothing_written():
    return (not SharingAgreement.objects.exists() and not events_named("agreement.created")
            and not AuditEntry.objects.filter(action__startswith="agreement.").exists())


# --- creating ------------------------------------------------------------------------------------


def test_a_coordinator_creates_an_agreement_that_is_audited_announced_and_in_force(
        gba, django_capture_on_commit_callbacks):
    client = client_for(MACAO, role="coordinator")
    until = timezone.now() + timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, terms(valid_until=until.isoformat(), withheld_fields=["casualty_details"]),
                               format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["grantor"] == ZHUHAI and body["grantees"] == [ZHONGSHAN] and body["cluster"] == "GBA"
    assert body["in_force"] is True and body["withheld_fields"] == ["casualty_details"]
    assert body["name"]  # a name is made up when none is given

    (event,) = events_named("agreement.created")
    validate_payload(event.name, event.payload)
    assert event.payload["id"] == body["id"] and event.owner == ZHUHAI
    assert set(event.jurisdiction_codes) == set(GBA_CODES)  # the cluster reads its agreements
    audit = AuditEntry.objects.get(action="agreement.created")
    assert audit.object_id == body["id"] and audit.actor_jurisdiction == MACAO

    # The snapshot was reloaded on commit: Zhongshan now sees Zhuhai's stock, contacts included.
    decision = decide(Viewer(ZHONGSHAN, frozenset({"GBA"})), zhuhai_stock())
    assert decision and decision.withheld == {"casualty_details"} and decision.basis == f"agreement:{body['id']}"
    assert not decide(Viewer(DONGGUAN, frozenset({"GBA"})), zhuhai_stock())


def test_an_agreement_from_a_level_on_shares_levelled_data_only(gba, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.agreement_create(actor=None, **terms(level_at_least="III"))
    zhongshan = Viewer(ZHONGSHAN, frozenset({"GBA"}))
    assert decide(zhongshan, zhuhai_stock(level="III"))  # a request for a level III incident
    assert not decide(zhongshan, zhuhai_stock(level="IV"))
    assert not decide(zhongshan, zhuhai_stock())  # stock has no level: only an every-level grant opens it


def test_left_out_withheld_fields_means_every_sensitive_field_is_withheld(gba):
    response = client_for(MACAO, role="coordinator").post(URL, terms(), format="json")
    assert response.json()["withheld_fields"] == sorted(SENSITIVE_FIELDS)


def test_an_agreement_for_the_duration_of_an_emergency_is_in_force_only_then(gba):
    now = timezone.now()
    agreement = services.agreement_create(actor=None, **terms(valid_from=now + timedelta(hours=1),
                                                              valid_until=now + timedelta(days=2)))
    viewer = Viewer(ZHONGSHAN, frozenset({"GBA"}))
    bases = {f"agreement:{agreement.id}"}
    assert not bases & {g.basis for g in grants_for(viewer, "resources", now=now)}
    assert bases & {g.basis for g in grants_for(viewer, "resources", now=now + timedelta(hours=2))}
    assert not bases & {g.basis for g in grants_for(viewer, "resources", now=now + timedelta(days=3))}


@pytest.mark.parametrize("role, scopes", [("commander", None), ("operator", None), (None, None)])
def test_only_coordinators_write_agreements(gba, role, scopes):
    response = client_for(ZHUHAI, role=role, scopes=scopes).post(URL, terms(), format="json")
    assert response.status_code == 403
    assert nothing_written()


def test_a_coordinator_manages_only_its_own_clusters_agreements(gba):
    other = Cluster.objects.create(code="TST", name_zh="测试", name_en="Test")
    outsider = Jurisdiction.objects.create(code="990100", name_zh="外", name_en="Outside", level="prefecture")
    outsider.clusters.add(other)
    response = client_for("990100", role="coordinator").post(URL, terms(cluster="GBA"), format="json")
    assert response.status_code == 403
    assert nothing_written()


AN_HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"valid_from": "2026-08-02T00:00:00+08:00", "valid_until": "2026-08-01T00:00:00+08:00"}, "valid_until"),
        ({"valid_from": "2026-08-01T00:00:00+08:00", "valid_until": "2026-08-01T00:00:00+08:00"}, "valid_until"),
        ({"grantor": "999999"}, "grantor"),
        ({"grantees": [ZHONGSHAN, "999999"]}, "grantees"),
        ({"grantees": []}, "grantees"),
        ({"grantees": [ZHUHAI]}, "grantees"),
        ({"grantees": ZHONGSHAN}, "grantees"),
        ({"data_kinds": ["gossip"]}, "data_kinds"),
        ({"data_kinds": []}, "data_kinds"),
        ({"categories": ["weather"]}, "categories"),
        ({"withheld_fields": ["passport_numbers"]}, "withheld_fields"),
        ({"level_at_least": "V"}, "level_at_least"),
        ({"cluster": "NOPE"}, "cluster"),
        ({"cluster": "YRD"}, "grantor"),
        ({"valid_from": "next tuesday"}, "valid_from"),
        ({"name": "x" * 201}, "name"),
        ({"grantess": [ZHONGSHAN]}, "grantess"),  # a misspelt field is refused, not ignored
    ],
)
def test_bad_terms_are_a_400_naming_the_field_and_nothing_is_written(gba, overrides, field):
    response = client_for(MACAO, role="coordinator").post(URL, terms(**overrides), format="json")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"]
    assert nothing_written()


def test_the_database_refuses_reversed_dates_too(gba):
    from django.db import IntegrityError, transaction

    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        SharingAgreement.objects.create(name="x", cluster_id="GBA", grantor_id=ZHUHAI, data_kinds=["resources"],
                                        valid_from=now, valid_until=now - AN_HOUR)


def test_the_categories_are_the_incident_catalogues():
    from incidents.catalogue import Category

    assert set(services.CATEGORIES) == set(Category.values)


# --- changing and ending --------------------------------------------------------------------------


def test_a_patch_changes_the_terms_named_and_is_announced_once(gba, django_capture_on_commit_callbacks):
    agreement = services.agreement_create(actor=None, **terms())
    client = client_for(MACAO, role="coordinator")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(f"{URL}{agreement.id}/", {"grantees": [ZHONGSHAN, MACAO], "categories":
                                                           ["natural_disaster"]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["grantees"] == sorted([ZHONGSHAN, MACAO])
    assert response.json()["data_kinds"] == ["resources"]
    (event,) = events_named("agreement.updated")
    assert event.payload["categories"] == ["natural_disaster"]
    assert AuditEntry.objects.get(action="agreement.updated").detail["changed"] == ["categories", "grantees"]
    assert decide(Viewer(MACAO, frozenset({"GBA"})), Facts("resources", ZHUHAI, category="natural_disaster"))

    assert client.patch(f"{URL}{agreement.id}/", {"grantees": [MACAO, ZHONGSHAN]}, format="json").status_code == 200
    assert len(events_named("agreement.updated")) == 1  # nothing changed: nothing announced


def test_a_patch_that_reverses_the_dates_is_refused_whole(gba):
    agreement = services.agreement_create(actor=None, **terms(valid_from=timezone.now()))
    response = client_for(MACAO, role="coordinator").patch(
        f"{URL}{agreement.id}/", {"valid_until": (timezone.now() - timedelta(days=1)).isoformat(),
                                  "name": "renamed"}, format="json")
    assert response.status_code == 400 and "valid_until" in response.json()["errors"]
    agreement.refresh_from_db()
    assert agreement.valid_until is None and agreement.name != "renamed"
    assert not events_named("agreement.updated")


def test_deleting_deactivates_and_the_grant_ends(gba, django_capture_on_commit_callbacks):
    agreement = services.agreement_create(actor=None, **terms())
    viewer = Viewer(ZHONGSHAN, frozenset({"GBA"}))
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(MACAO, role="coordinator").delete(f"{URL}{agreement.id}/")
    assert response.status_code == 204
    agreement.refresh_from_db()
    assert agreement.is_active is False
    assert events_named("agreement.updated")[0].payload["is_active"] is False
    assert not decide(viewer, zhuhai_stock())
    assert client_for(ZHUHAI, role="viewer").get(f"{URL}{agreement.id}/").json()["in_force"] is False


# --- reading ---------------------------------------------------------------------------------------


def test_the_cluster_reads_its_agreements_and_others_do_not(gba):
    agreement = services.agreement_create(actor=None, **terms())
    assert client_for(DONGGUAN, role="viewer").get(f"{URL}{agreement.id}/").status_code == 200
    Cluster.objects.create(code="TST", name_zh="测试", name_en="Test")
    Jurisdiction.objects.create(code="990100", name_zh="外", name_en="Outside", level="prefecture").clusters.add("TST")
    outsider = client_for("990100")
    assert outsider.get(f"{URL}{agreement.id}/").status_code == 404
    assert outsider.get(URL).json()["count"] == 0
    assert client_for(ZHUHAI).get(f"{URL}not-a-uuid/").status_code == 404


def test_the_list_filters_and_takes_a_constant_number_of_queries(gba, django_assert_num_queries):
    services.agreement_create(actor=None, **terms())
    services.agreement_create(actor=None, **terms(grantor=SHENZHEN, grantees=[DONGGUAN, HONG_KONG],
                                                  data_kinds=["incidents", "sitreps"]))
    services.agreement_create(actor=None, **terms(grantor=SHENZHEN, grantees=[DONGGUAN], is_active=False))
    client = client_for(ZHONGSHAN, role="viewer")
    client.get(URL)
    for query in ("", "?page_size=1"):
        # count, page, grantees of the page
        with django_assert_num_queries(3):
            assert client.get(URL + query).status_code == 200
    assert client.get(URL).json()["count"] == 3
    assert client.get(URL + f"?grantee={DONGGUAN}").json()["count"] == 2
    assert client.get(URL + f"?grantor={SHENZHEN}&data_kind=sitreps").json()["count"] == 1
    assert client.get(URL + "?in_force=false").json()["count"] == 1
    assert client.get(URL + "?data_kind=gossip").status_code == 400


# --- the admin goes through the services ----------------------------------------------------------


@pytest.fixture
def admin_client(client, gba):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "pw-Secret-123")
    client.force_login(user)
    return client


def admin_form(**overrides):
    data = {"name": "", "cluster": "GBA", "grantor": ZHUHAI, "grantees": [ZHONGSHAN], "data_kinds": ["resources"],
            "level_at_least": "IV", "withheld_fields": ["contacts"], "is_active": "on",
            "valid_from_0": "", "valid_from_1": "", "valid_until_0": "", "valid_until_1": ""}
    data.update(overrides)
    return data


def test_the_admin_creates_through_the_service(admin_client):
    response = admin_client.post("/admin/sharing/sharingagreement/add/", admin_form())
    assert response.status_code == 302, response.content.decode()[:2000]
    agreement = SharingAgreement.objects.get()
    assert list(agreement.grantees.values_list("code", flat=True)) == [ZHONGSHAN]
    assert agreement.withheld_fields == ["contacts"]
    assert events_named("agreement.created") and AuditEntry.objects.filter(action="agreement.created").exists()


def test_the_admin_shows_reversed_dates_as_a_form_error(admin_client):
    response = admin_client.post("/admin/sharing/sharingagreement/add/", admin_form(
        valid_from_0="2026-08-02", valid_from_1="00:00:00", valid_until_0="2026-08-01", valid_until_1="00:00:00"))
    assert response.status_code == 200
    assert "valid_until" in response.context["adminform"].form.errors
    assert nothing_written()


def test_the_admin_deactivates_instead_of_deleting(admin_client):
    agreement = services.agreement_create(actor=None, **terms())
    response = admin_client.post("/admin/sharing/sharingagreement/", {
        "action": "deactivate", "_selected_action": [str(agreement.id)]})
    assert response.status_code == 302
    agreement.refresh_from_db()
    assert agreement.is_active is False
    assert admin_client.get(f"/admin/sharing/sharingagreement/{agreement.id}/delete/").status_code == 403
