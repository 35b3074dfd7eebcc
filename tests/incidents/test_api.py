"""The incidents API as docs/api.md describes it, endpoint by endpoint."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from coordination.models import AuditEntry
from incidents.models import Incident
from tests.conftest import DONGGUAN, FOSHAN, SHENZHEN, ZHUHAI
from tests.incidents.conftest import IN_DONGGUAN, IN_ZHUHAI, SHENZHEN_DONGGUAN_AREA, report_body

pytestmark = pytest.mark.django_db

URL = "/api/v1/incidents/"


def detail(incident: dict) -> str:
    return f"{URL}{incident['id']}/"


# --- create ----------------------------------------------------------------------------------


def test_it_reports_an_incident_201_with_location_and_etag(api_as):
    response = api_as(SHENZHEN).post(URL, report_body(affected_area=SHENZHEN_DONGGUAN_AREA), format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["reporting_jurisdiction"] == SHENZHEN
    assert body["affected_jurisdictions"] == [SHENZHEN, DONGGUAN] and body["cross_border"] is True
    assert body["status"] == "reported" and body["version"] == 1
    assert response["ETag"] == '"1"'
    assert response["Location"].endswith(detail(body))


def test_a_report_with_a_used_external_id_answers_200_with_the_existing_incident_updated(api_as):
    client = api_as(SHENZHEN)
    first = client.post(URL, report_body(external_id="SZ-77"), format="json").json()
    again = client.post(URL, report_body(external_id="SZ-77", title="Chemical leak, two workers hurt",
                                         casualties={"injured": 2}), format="json")
    assert again.status_code == 200
    assert again.json()["id"] == first["id"] and again.json()["version"] == 2
    assert again.json()["casualties"]["injured"] == 2
    assert Incident.objects.count() == 1


def test_an_officer_reports_for_their_jurisdiction_and_is_named(api_as):
    body = api_as(DONGGUAN, role="operator").post(URL, report_body(location=IN_DONGGUAN), format="json").json()
    assert body["reporting_jurisdiction"] == DONGGUAN
    assert body["reported_by"] == {"kind": "officer", "name": body["reported_by"]["name"]}
    assert body["reported_by"]["name"].startswith("operator-")


@pytest.mark.parametrize("who", [dict(role="viewer"), dict(scopes=["read"])])
def test_viewers_and_read_only_clients_cannot_report(api_as, who):
    assert api_as(SHENZHEN, **who).post(URL, report_body(), format="json").status_code == 403


def test_without_credentials_it_is_401(anonymous):
    assert anonymous.get(URL).status_code == 401
    assert anonymous.post(URL, report_body(), format="json").status_code == 401


# --- detail ------------------------------------------------------------------------------------


def test_the_detail_has_an_etag_and_answers_304_to_a_matching_if_none_match(api_as, report):
    incident = report()
    client = api_as(SHENZHEN)
    response = client.get(detail(incident))
    assert response.status_code == 200 and response["ETag"] == '"1"'
    assert client.get(detail(incident), HTTP_IF_NONE_MATCH='"1"').status_code == 304


def test_an_unknown_or_malformed_id_is_a_404_problem(api_as):
    for path in (f"{URL}INC-2026-999999/", f"{URL}not-an-id/"):
        response = api_as(SHENZHEN).get(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"


def test_a_read_across_the_border_is_audited_and_ones_own_is_not(api_as, report):
    incident = report(affected_area=SHENZHEN_DONGGUAN_AREA)
    api_as(SHENZHEN).get(detail(incident))
    assert not AuditEntry.objects.filter(action="incident.viewed").exists()
    api_as(DONGGUAN).get(detail(incident))
    entry = AuditEntry.objects.get(action="incident.viewed")
    assert entry.actor_jurisdiction == DONGGUAN and entry.object_id == incident["id"]


# --- PATCH -------------------------------------------------------------------------------------


def test_patch_changes_and_bumps_the_version(api_as, report):
    incident = report()
    response = api_as(SHENZHEN).patch(detail(incident), {"level": "II", "casualties": {"deaths": 1}},
                                      format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200
    assert response.json()["level"] == "II" and response.json()["casualties"]["deaths"] == 1
    assert response["ETag"] == '"2"'


def test_patch_with_a_stale_if_match_is_409(api_as, report):
    incident = report()
    client = api_as(SHENZHEN)
    assert client.patch(detail(incident), {"title": "first"}, format="json", HTTP_IF_MATCH='"1"').status_code == 200
    response = client.patch(detail(incident), {"title": "second"}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 409 and response.json()["current_version"] == 2


def test_a_malformed_if_match_is_400_naming_it(api_as, report):
    incident = report()
    response = api_as(SHENZHEN).patch(detail(incident), {"title": "x"}, format="json", HTTP_IF_MATCH="yesterday")
    assert response.status_code == 400 and "If-Match" in response.json()["errors"]


def test_patch_by_others_is_404_when_hidden_and_403_when_visible(api_as, report):
    incident = report(level="IV", affected_area=SHENZHEN_DONGGUAN_AREA)
    assert api_as(DONGGUAN).patch(detail(incident), {"title": "x"}, format="json").status_code == 403
    assert api_as(FOSHAN).patch(detail(incident), {"title": "x"}, format="json").status_code == 404
    assert api_as(SHENZHEN, role="viewer").patch(detail(incident), {"title": "x"}, format="json").status_code == 403


def test_patch_cannot_change_the_external_id_or_the_exercise_flag(api_as, report):
    incident = report(external_id="keep")
    for field, value in (("external_id", "other"), ("exercise", True)):
        response = api_as(SHENZHEN).patch(detail(incident), {field: value}, format="json")
        assert response.status_code == 400 and field in response.json()["errors"]


def test_put_is_not_offered(api_as, report):
    incident = report()
    assert api_as(SHENZHEN).put(detail(incident), report_body(), format="json").status_code == 405


# --- timeline, transition, jurisdictions ------------------------------------------------------


def test_timeline_entries_are_posted_and_listed_in_order(api_as, report):
    incident = report(affected_area=SHENZHEN_DONGGUAN_AREA)
    response = api_as(DONGGUAN).post(f"{detail(incident)}updates/", {"text": "Border road closed",
                                                                      "figures": {"evacuated": 40}}, format="json")
    assert response.status_code == 201 and response.json()["figures"] == {"evacuated": 40}
    api_as(SHENZHEN, role="commander").post(f"{detail(incident)}transition/", {"status": "verified"}, format="json")
    timeline = api_as(DONGGUAN).get(f"{detail(incident)}updates/").json()["results"]
    assert [entry["kind"] for entry in timeline] == ["reported", "update", "status_changed"]
    assert timeline[2]["previous_status"] == "reported" and timeline[2]["status"] == "verified"


def test_transition_along_the_lifecycle_409_out_of_it_403_without_the_role(api_as, report):
    incident = report()
    commander = api_as(SHENZHEN, role="commander")
    response = commander.post(f"{detail(incident)}transition/", {"status": "verified"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "verified" and response["ETag"] == '"2"'
    response = commander.post(f"{detail(incident)}transition/", {"status": "closed"}, format="json")
    assert response.status_code == 409
    assert response.json()["allowed"] == ["cancelled", "responding"]
    operator = api_as(SHENZHEN, role="operator")
    assert operator.post(f"{detail(incident)}transition/", {"status": "responding"},
                         format="json").status_code == 403
    client = api_as(SHENZHEN, scopes=["incidents:write"])  # city systems with incidents:write may
    assert client.post(f"{detail(incident)}transition/", {"status": "responding"}, format="json").status_code == 200


def test_a_jurisdiction_is_added_by_hand(api_as, report):
    incident = report()
    response = api_as(SHENZHEN, role="operator").post(
        f"{detail(incident)}affected-jurisdictions/", {"jurisdiction": ZHUHAI}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["affected_jurisdictions_added_manually"] == [ZHUHAI]
    assert api_as(ZHUHAI).get(detail(incident)).status_code == 200  # now concerned, it sees it


# --- list --------------------------------------------------------------------------------------


def listed(client, query: str = "") -> list[str]:
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["results"]]


@pytest.fixture
def several(report, api_as):
    """Five incidents of Shenzhen, Dongguan and Zhuhai with different facts."""
    made = {
        "sz_hazmat": report(SHENZHEN, level="III", affected_area=SHENZHEN_DONGGUAN_AREA),
        "sz_flood": report(SHENZHEN, category="natural_disaster", type="flood", level="I"),
        "sz_drill": report(SHENZHEN, level="IV", exercise=True),
        "dg_fire": report(DONGGUAN, type="fire", level="II", location=IN_DONGGUAN),
        "zh_typhoon": report(ZHUHAI, category="natural_disaster", type="typhoon", level="II", location=IN_ZHUHAI),
    }
    api_as(SHENZHEN, role="commander").post(f"{detail(made['sz_flood'])}transition/", {"status": "verified"},
                                            format="json")
    return {name: incident["id"] for name, incident in made.items()}


@pytest.mark.parametrize("query, expected", [
    ("", ["sz_hazmat", "sz_drill", "dg_fire", "zh_typhoon", "sz_flood"]),
    ("category=natural_disaster", ["zh_typhoon", "sz_flood"]),
    ("type=fire", ["dg_fire"]),
    ("level=II", ["dg_fire", "zh_typhoon"]),
    ("level_at_least=II", ["dg_fire", "zh_typhoon", "sz_flood"]),
    ("level_at_least=I", ["sz_flood"]),
    ("status=verified", ["sz_flood"]),
    ("status=reported,verified", ["sz_hazmat", "sz_drill", "dg_fire", "zh_typhoon", "sz_flood"]),
    ("cross_border=true", ["sz_hazmat"]),
    ("cross_border=false", ["sz_drill", "dg_fire", "zh_typhoon", "sz_flood"]),
    ("jurisdiction=441900", ["sz_hazmat", "dg_fire"]),
    ("reporting_jurisdiction=440400", ["zh_typhoon"]),
    ("cluster=GBA", ["sz_hazmat", "sz_drill", "dg_fire", "zh_typhoon", "sz_flood"]),
    ("cluster=YRD", []),
    ("exercise=true", ["sz_drill"]),
    ("exercise=false", ["sz_hazmat", "dg_fire", "zh_typhoon", "sz_flood"]),
])
def test_the_list_filters(api_as, several, query, expected):
    assert listed(api_as(SHENZHEN), query) == [several[name] for name in expected]


def test_updated_since_returns_what_changed_since(api_as, several):
    client = api_as(SHENZHEN)
    since = timezone.now()
    client.patch(f"{URL}{several['sz_hazmat']}/", {"title": "Leak: update"}, format="json")
    assert listed(client, f"updated_since={since.isoformat().replace('+', '%2B')}") == [several["sz_hazmat"]]


def test_pages_follow_the_cursor_without_skipping_or_repeating(api_as, report):
    ids = [report(title=f"incident {n}")["id"] for n in range(7)]
    client = api_as(SHENZHEN)
    seen, url = [], f"{URL}?page_size=3"
    while url:
        page = client.get(url).json()
        seen += [item["id"] for item in page["results"]]
        url = page["next"]
        if url is not None and len(seen) == 3:
            # a change while paging moves that incident behind the cursor: it comes again at the end
            client.patch(f"{URL}{ids[0]}/", {"title": "changed"}, format="json")
    assert seen == ids + [ids[0]]


@pytest.mark.parametrize("query, field", [
    ("level_at_least=V", "level_at_least"), ("category=weather", "category"), ("status=done", "status"),
    ("cross_border=maybe", "cross_border"), ("jurisdiction=999999", "jurisdiction"), ("cluster=NOPE", "cluster"),
    ("updated_since=yesterday", "updated_since"), ("page_size=0", "page_size"), ("page_size=501", "page_size"),
    ("page_size=²", "page_size"),
    ("cursor=bm9wZQ", "cursor"), ("type=meteor", "type"), ("exercise=yes", "exercise"),
])
def test_bad_filters_are_400_naming_them(api_as, query, field):
    response = api_as(SHENZHEN).get(f"{URL}?{query}")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_a_list_page_takes_the_same_queries_whatever_its_size(api_as, report, django_assert_num_queries):
    for n in range(12):
        report(DONGGUAN if n % 2 else SHENZHEN, level="II",
               location=IN_DONGGUAN if n % 2 else report_body()["location"])
    client = api_as(SHENZHEN)
    client.get(URL)  # warm the token and registry caches: what is counted below is the page's own
    for size in (2, 12):
        # the page, its affected jurisdictions, the audit entry naming Dongguan's incidents
        with django_assert_num_queries(3):
            assert client.get(f"{URL}?page_size={size}").status_code == 200


def test_a_list_read_across_the_border_is_audited_once_naming_the_incidents(api_as, report):
    theirs = [report(DONGGUAN, level="II", location=IN_DONGGUAN)["id"] for _ in range(2)]
    report(SHENZHEN)
    api_as(SHENZHEN).get(URL)
    entry = AuditEntry.objects.get(action="incident.listed")
    assert sorted(entry.detail["ids"]) == sorted(theirs) and entry.actor_jurisdiction == SHENZHEN


def test_the_catalogue_is_served(api_as):
    response = api_as(SHENZHEN).get("/api/v1/incident-categories/")
    assert response.status_code == 200
    accident = next(c for c in response.json() if c["code"] == "accident")
    assert accident["name_zh"] == "事故灾难"
    hazmat = {"code": "hazmat", "name_zh": "危险化学品泄漏", "name_en": "Hazardous materials release"}
    assert hazmat in accident["types"]


def test_times_are_rendered_in_the_clusters_time_zone(api_as, report):
    occurred = (timezone.now() - timedelta(hours=1)).replace(microsecond=0)
    incident = report(occurred_at=occurred.isoformat())
    assert incident["occurred_at"] == occurred.astimezone(ZoneInfo("Asia/Shanghai")).isoformat()  # GBA's zone


def test_the_timeline_and_sitrep_lists_take_the_same_queries_whatever_their_size(
    api_as, report, django_assert_num_queries
):
    incident = report(affected_area=SHENZHEN_DONGGUAN_AREA)
    client, theirs = api_as(SHENZHEN), api_as(DONGGUAN)
    for n in range(6):
        client.post(f"{detail(incident)}updates/", {"text": f"update {n}"}, format="json")
        client.post(f"{detail(incident)}sitreps/", {"period_start": f"2026-01-0{n + 1}T08:00:00+08:00",
                                                    "period_end": f"2026-01-0{n + 1}T12:00:00+08:00"}, format="json")
    theirs.get(f"{detail(incident)}updates/")  # warm the caches
    for size in (2, 7):
        # the incident with its jurisdictions, the audit entry (Dongguan reads Shenzhen's), count, page
        with django_assert_num_queries(5):
            assert theirs.get(f"{detail(incident)}updates/?page_size={size}").status_code == 200
        with django_assert_num_queries(5):
            assert theirs.get(f"{detail(incident)}sitreps/?page_size={size}").status_code == 200
