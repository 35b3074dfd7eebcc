"""GET /api/v1/events/?since=&limit= (docs/api.md, "Event log")."""

import pytest

from sharing.eventlog import newest_seq, sequence_pending
from tests.conftest import DONGGUAN, SHENZHEN, ZHUHAI
from tests.stream.conftest import emit_incidents

pytestmark = pytest.mark.django_db


def emitted(n=1, **kwargs) -> None:
    emit_incidents(n, **kwargs)
    sequence_pending()


def test_it_lists_the_events_after_since_that_the_caller_may_see_oldest_first(api_as):
    emitted(2, owner=SHENZHEN, concerned=[DONGGUAN], level="III")
    emitted(1, owner=SHENZHEN, level="IV")  # Dongguan may not see it
    emitted(1, owner=DONGGUAN, level="IV")
    response = api_as(DONGGUAN).get("/api/v1/events/?since=0")
    assert response.status_code == 200
    body = response.json()
    assert [m["seq"] for m in body["results"]] == [1, 2, 4]
    first = body["results"][0]
    assert set(first) == {"type", "seq", "event", "at", "cluster", "data"}
    assert (first["type"], first["event"], first["cluster"]) == ("event", "incident.created", "GBA")
    assert (body["next_since"], body["next"]) == (4, None)


def test_it_withholds_sensitive_fields_from_other_jurisdictions(api_as):
    emitted(1, owner=SHENZHEN, concerned=[DONGGUAN], level="II")
    seen = api_as(DONGGUAN).get("/api/v1/events/").json()["results"][0]["data"]
    own = api_as(SHENZHEN).get("/api/v1/events/").json()["results"][0]["data"]
    assert "casualty_details" not in seen and "contacts" not in seen
    assert own["casualty_details"] and own["contacts"]


def test_it_pages_with_limit_and_next(api_as):
    emitted(5, owner=SHENZHEN, level="I")
    client = api_as(ZHUHAI)
    first = client.get("/api/v1/events/?since=0&limit=2").json()
    assert [m["seq"] for m in first["results"]] == [1, 2]
    assert first["next_since"] == 2 and first["next"].endswith("/api/v1/events/?since=2&limit=2")
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()
    assert [m["seq"] for m in second["results"] + third["results"]] == [3, 4, 5]
    assert third["next"] is None and third["next_since"] == 5


def test_next_since_moves_past_events_the_caller_may_not_see(api_as):
    emitted(3, owner=SHENZHEN, level="IV")
    body = api_as(ZHUHAI).get("/api/v1/events/?since=0").json()
    assert body["results"] == [] and body["next_since"] == newest_seq() == 3


def test_a_cursor_ahead_of_the_log_stays_where_it_is(api_as):
    emitted(1, owner=SHENZHEN, level="I")
    body = api_as(ZHUHAI).get("/api/v1/events/?since=50").json()
    assert (body["results"], body["next_since"]) == ([], 50)


@pytest.mark.parametrize("query,field", [
    ("since=-1", "since"), ("since=abc", "since"), ("since=1.5", "since"), ("limit=0", "limit"),
    ("limit=1001", "limit"), ("limit=many", "limit"), (f"since={2**70}", "since"),
])
def test_bad_parameters_are_problem_details_naming_the_field(api_as, query, field):
    response = api_as(DONGGUAN).get(f"/api/v1/events/?{query}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"]


def test_it_needs_credentials(anonymous, gba):
    response = anonymous.get("/api/v1/events/")
    assert response.status_code == 401


def test_it_needs_the_read_scope(api_as):
    assert api_as(DONGGUAN, scopes=["ack"]).get("/api/v1/events/").status_code == 403


def test_the_number_of_queries_does_not_grow_with_the_page(api_as, django_assert_num_queries):
    emitted(30, owner=SHENZHEN, level="I")
    client = api_as(DONGGUAN)
    client.get("/api/v1/events/?limit=1")  # token and sharing snapshot cached by the process
    for limit in (1, 30):
        # the newest seq, then the page of events
        with django_assert_num_queries(2):
            assert len(client.get(f"/api/v1/events/?limit={limit}").json()["results"]) == limit
