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
    assert all(entry.data["resource_request"] == request_id for entry in entries)
    assert "offers" in entries[1].text
    names = list(Event.objects.order_by("id").values_list("name", flat=True))
    assert names[-2:] == ["resource_request.created", "resource_request.offered"]
    assert "incident.update_added" not in names
    # The requester reads the supplier's entry on its incident's timeline.
    timeline = as_(ZHUHAI).get(f"/api/v1/incidents/{zhuhai_flood.public_id}/updates/").json()["results"]
    assert [item["kind"] for item in timeline[-2:]] == ["mutual_aid", "mutual_aid"]


def test_an_entry_keeps_its_message_code_and_parameters_beside_its_english_text(zhuhai_flood, as_):
    """So that each reader writes it in its own language (sharing.mutualaid.timeline, ui/timeline.py);
    the English text, for API clients, is the sentence it always was."""
    from tests.mutualaid.conftest import needed_by

    due = needed_by()
    asked = as_(ZHUHAI).post(URL, {"incident": zhuhai_flood.public_id, "resource_type": "drainage_pump",
                                   "quantity": 4, "needed_by": due}, format="json")
    request_id = asked.json()["id"]
    assert as_(ZHUHAI).post(f"{URL}{request_id}/widen/", {}, format="json").status_code == 200
    offered = as_(ZHONGSHAN).post(f"{URL}{request_id}/offers/", {"quantity": 3}, format="json").json()
    assert as_(ZHUHAI).post(f"{URL}{request_id}/offers/{offered['id']}/accept/", {}, format="json").status_code == 200
    assert as_(ZHONGSHAN).post(f"{URL}{request_id}/dispatch/", {}, format="json").status_code == 200

    entries = list(TimelineEntry.objects.filter(incident=zhuhai_flood, kind="mutual_aid").order_by("id"))
    needed = asked.json()["needed_by"]
    assert [entry.data for entry in entries] == [
        {"resource_request": request_id, "code": "aid.requested", "params": {
            "requester": ZHUHAI, "quantity": 4, "unit": "set", "resource_type": "drainage_pump",
            "needed_by": entries[0].data["params"]["needed_by"]}},
        {"resource_request": request_id, "code": "aid.widened", "params": {"request": request_id, "cluster": "GBA"}},
        {"resource_request": request_id, "code": "aid.offered", "params": {
            "supplier": ZHONGSHAN, "quantity": 3, "unit": "set", "request": request_id}},
        {"resource_request": request_id, "code": "aid.accepted", "params": {
            "requester": ZHUHAI, "quantity": 3, "unit": "set", "supplier": ZHONGSHAN}},
        {"resource_request": request_id, "code": "aid.dispatched", "params": {
            "request": request_id, "quantity": 3, "unit": "set", "suppliers": [ZHONGSHAN]}},
    ]
    from datetime import datetime

    assert datetime.fromisoformat(entries[0].data["params"]["needed_by"]) == datetime.fromisoformat(needed)
    assert entries[0].text.startswith(f"{ZHUHAI} asks for mutual aid: 4 set of 排涝泵 (Drainage pump), needed by ")
    assert [entry.text for entry in entries[1:]] == [
        f"Mutual-aid request #{request_id} sent to the whole GBA.",
        f"{ZHONGSHAN} offers 3 set for mutual-aid request #{request_id}.",
        f"{ZHUHAI} accepts 3 set from {ZHONGSHAN}: committed.",
        f"Mutual aid #{request_id}: 3 set dispatched ({ZHONGSHAN}).",
    ]
