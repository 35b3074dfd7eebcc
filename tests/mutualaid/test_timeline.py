"""Mutual aid on the incident's timeline: each move an entry (incidents.services.
incident_timeline_record) by whoever acted, inside the move's own write: no second event."""

import pytest

from incidents.models import TimelineEntry
from sharing.models import Event
from tests.conftest import ZHONGSHAN, ZHUHAI

pytestmark = pytest.mark.django_db

URL = "/api/v1/resource-requests/"


def test_each_move_is_an_entry_by_whoever_acted_and_one_event(zhuhai_flood, as_):
    from tests.mutualaid.conftest import needed_by

    asked = as_(ZHUHAI).post(URL, {"incident": zhuhai_flood.public_id, "resource_type": "drainage_pump",
                                   "quantity": 4, "needed_by": needed_by()}, format="json")
    assert asked.status_code == 201, asked.json()
    request_id = asked.json()["id"]
    supplier = as_(ZHONGSHAN)
    assert supplier.post(f"{URL}{request_id}/offers/", {"quantity": 4}, format="json").status_code == 201

    entries = list(TimelineEntry.objects.filter(incident=zhuhai_flood, kind="mutual_aid").order_by("id"))
    assert [entry.author_jurisdiction for entry in entries] == [ZHUHAI, ZHONGSHAN]  # the supplier, as itself
    assert all(entry.data == {"resource_request": request_id} for entry in entries)
    assert "offers" in entries[1].text
    names = list(Event.objects.order_by("id").values_list("name", flat=True))
    assert names[-2:] == ["resource_request.created", "resource_request.offered"]
    assert "incident.update_added" not in names
    # The requester reads the supplier's entry on its incident's timeline.
    timeline = as_(ZHUHAI).get(f"/api/v1/incidents/{zhuhai_flood.public_id}/updates/").json()["results"]
    assert [item["kind"] for item in timeline[-2:]] == ["mutual_aid", "mutual_aid"]
