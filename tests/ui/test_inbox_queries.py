"""What the inbox costs (issue 19): the same number of queries for one item of each kind or
three, on its fragment and on the dashboard, which reads it once (the menu's count and the
list are the same items)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import DONGGUAN, SHENZHEN
from tests.ui.conftest import cross_border_area

pytestmark = pytest.mark.django_db

# The tables each kind of the inbox reads (ui.inbox): read once per render, whatever the count.
INBOX_TABLES = ("workflows_acknowledgement", "alerts_alert", "workflows_task", "workflows_meeting",
                "mutualaid_offer", "mutualaid_resourcerequest", "workflows_steprun")


def owed(client):
    response = client.get("/fragments/owed/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return response.context["inbox"]


def kinds(items) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item.kind] = counts.get(item.kind, 0) + 1
    return counts


def queries(client, path: str, **headers) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path, **headers).status_code == 200
    return [query["sql"] for query in captured]


def reading(sql: list[str], table: str) -> int:
    """How many of the queries read rows of `table` (not a count or a chart's columns of it)."""
    return sum(1 for query in sql if query.startswith(f'SELECT "{table}"."id", '))


@pytest.fixture
def round_of_work(gba, reported, run_playbooks, browse_as):
    """round_of_work() adds one item of every kind: a flood Dongguan acknowledges (Shenzhen gets
    its alert draft to approve), a flood it does not (Dongguan owes the acknowledgement, a task,
    a meeting, a notice), a request Dongguan offers on (Shenzhen gets the offer to accept) and
    one it has not answered (Dongguan owes an answer)."""
    from coordination.workflows.models import Acknowledgement
    from sharing.mutualaid.catalogue import load_catalogue
    from sharing.mutualaid.models import ResourceType
    from sharing.mutualaid.services.inventories import inventory_upsert
    from sharing.mutualaid.services.requests import resource_request_create

    load_catalogue(ResourceType)
    inventory_upsert(actor=None, jurisdiction=DONGGUAN, data={"resource_type": "rescue_boat", "on_hand": 60})
    dongguan, shenzhen = browse_as(DONGGUAN, "commander"), browse_as(SHENZHEN, "commander")

    def add(n: int):
        answered = reported(SHENZHEN, level="II", title=f"观澜河水位超警戒 {n}", affected_area=cross_border_area())
        reported(SHENZHEN, level="II", title=f"深圳河水位超警戒 {n}", affected_area=cross_border_area())
        run_playbooks()
        ack = Acknowledgement.objects.get(incident_id=answered.public_id, jurisdiction_id=DONGGUAN, escalation_of=None)
        assert dongguan.post(f"/acknowledgements/{ack.pk}/ack/").status_code == 302
        run_playbooks()
        for offered in (True, False):
            request = resource_request_create(actor=shenzhen.principal, data={
                "incident": answered.public_id, "resource_type": "rescue_boat", "quantity": 4,
                "needed_by": timezone.now() + timedelta(hours=3)})
            if offered:
                assert dongguan.post(f"/resource-requests/{request.pk}/offer/", {"quantity": 1}).status_code == 302

    return add, dongguan, shenzhen


def test_the_inbox_costs_the_same_queries_for_one_item_of_each_kind_or_three(round_of_work):
    add, dongguan, shenzhen = round_of_work
    add(1)
    few = {}
    for name, client in (("dongguan", dongguan), ("shenzhen", shenzhen)):
        owed(client)  # the registry and time zones are read once per process
        few[name] = (kinds(owed(client)), len(queries(client, "/fragments/owed/", HTTP_HX_REQUEST="true")),
                     len(queries(client, "/")))
    assert {"acknowledgement", "task", "meeting", "notice", "request"} <= set(few["dongguan"][0]), few
    assert {"alert_approval", "offer"} <= set(few["shenzhen"][0]), few
    add(2)
    add(3)
    for name, client in (("dongguan", dongguan), ("shenzhen", shenzhen)):
        more = kinds(owed(client))
        grown = [kind for kind in ("acknowledgement", "notice", "request", "alert_approval", "offer")
                 if few[name][0].get(kind)]
        assert all(more[kind] > few[name][0][kind] for kind in grown), (name, few[name][0], more)
        fragment_queries = queries(client, "/fragments/owed/", HTTP_HX_REQUEST="true")
        page_queries = queries(client, "/")
        assert (len(fragment_queries), len(page_queries)) == few[name][1:], (name, few[name], len(fragment_queries),
                                                                             len(page_queries))
        # Session, user, membership, the bodies the officer sits on, then one (or two) per kind.
        assert len(fragment_queries) <= 15, "\n".join(q[:200] for q in fragment_queries)
        # The dashboard reads the inbox once: for its list and for the menu's count alike.
        for table in INBOX_TABLES:
            assert reading(page_queries, table) == reading(fragment_queries, table), (name, table)
