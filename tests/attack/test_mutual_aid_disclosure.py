"""What a mutual-aid request tells about its incident, jurisdiction by jurisdiction.

A jurisdiction asked for help (a neighbour, or the whole cluster once the request is widened)
may not be one that sees the incident: a level III incident is seen by the reporter's
neighbours and the cluster's core cities, not by the rest of the cluster. Through the request
such a jurisdiction must learn nothing of the incident (its title, description, id or
location) on any path: the API (list, detail, EDXL-RM export), the event log, the stream, a
webhook, and the web UI (the mutual-aid board, the live feed). One that does see the incident
still gets the request's reference to it. The judge is the visibility rule itself
(sharing.visibility.decide on the incident's facts), not a list written here.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.attack.conftest import tally
from tests.conftest import DONGGUAN, GBA_CODES, SHENZHEN

pytestmark = [pytest.mark.attack, pytest.mark.django_db]

SECRET_TITLE = "Secret chlorine leak at the Yantian depot"
SECRET_DETAIL = "depot manager 138-0000-0000"
SECRET_PLACE = {"lat": 22.6531, "lon": 114.1187}  # inside Shenzhen; digits found nowhere else
NAMED_PLACE = {"name": "Yantian port gate 3", "lat": 22.58, "lon": 114.27}
URL = "/api/v1/resource-requests/"


def ok(response, *statuses):
    assert response.status_code in (statuses or (200, 201)), (response.status_code, response.content[:400])
    return response


@pytest.fixture
def world(api_as, make_officer, settings):
    """Shenzhen's level III incident; two requests for it (one naming no place, one naming
    its own), each widened to the whole cluster; Dongguan's offer. Every GBA jurisdiction has a
    webhook subscription, a viewer's token and a viewer's web session."""
    from django.db import transaction

    from sharing.eventlog import sequence_pending
    from sharing.models import Event
    from sharing.mutualaid.catalogue import load_catalogue
    from sharing.mutualaid.models import ResourceType
    from sharing.stream.routes import route_events
    from sharing.webhooks.services import deliveries_create

    settings.WEBHOOK_ALLOW_PRIVATE = True
    load_catalogue(ResourceType)
    for code in GBA_CODES:
        ok(api_as(code).post("/api/v1/webhook-subscriptions/", {"url": f"http://127.0.0.1:9/hooks/{code}",
                                                                "events": ["resource_request.*"]}, format="json"))
    shenzhen, dongguan = api_as(SHENZHEN), api_as(DONGGUAN)
    incident = ok(shenzhen.post("/api/v1/incidents/", {
        "title": SECRET_TITLE, "description": SECRET_DETAIL, "category": "accident", "type": "hazmat",
        "level": "III", "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(), "location": SECRET_PLACE,
    }, format="json")).json()
    # A neighbour holds some, so each request goes to the neighbours first and is then widened.
    ok(dongguan.post("/api/v1/inventories/", {"resource_type": "drainage_pump", "on_hand": 5}, format="json"))
    needed_by = (timezone.now() + timedelta(hours=6)).isoformat()
    requests = []
    for place in (None, NAMED_PLACE):
        body = {"incident": incident["id"], "resource_type": "drainage_pump", "quantity": 2, "needed_by": needed_by,
                **({"location": place} if place else {})}
        created = ok(shenzhen.post(URL, body, format="json")).json()
        assert created["reach"] == "neighbours", created
        ok(shenzhen.post(f"{URL}{created['id']}/widen/"))
        requests.append(created["id"])
    ok(dongguan.post(f"{URL}{requests[0]}/offers/", {"quantity": 1}, format="json"))
    # As the dispatcher does: number the events, route each (the stream's messages), and
    # write the webhook deliveries from the routes.
    sequence_pending()
    with transaction.atomic():
        deliveries_create(routes=route_events(list(Event.objects.filter(seq__isnull=False).order_by("seq"))))
    viewers = {code: api_as(code, role="viewer") for code in GBA_CODES}
    browsers = {}
    for code in GBA_CODES:
        browsers[code] = Client()
        browsers[code].force_login(make_officer(f"aid-viewer-{code}", code, "viewer"))
    return incident, requests, viewers, browsers


def sees_incident(code: str, incident: dict) -> bool:
    from coordination.registry import registry
    from incidents.models import Incident
    from incidents.selectors import incident_facts
    from sharing.visibility import Viewer, decide

    row = Incident.objects.get(public_id=incident["id"])
    facts = incident_facts(row, affected=incident["affected_jurisdictions"])
    return bool(decide(Viewer(code, registry().clusters_of.get(code, frozenset())), facts))


def what_each_path_gives(code: str, requests: list[int], viewer, browser) -> dict[str, str]:
    """Everything the jurisdiction's callers get on every path, as text."""
    from sharing.models import Event
    from sharing.stream.routes import route_event
    from sharing.webhooks.models import Delivery

    texts = {
        "API list": ok(viewer.get(URL)).content.decode(),
        "event log": ok(viewer.get("/api/v1/events/", {"since": 0, "limit": 1000})).content.decode(),
        "web board": ok(browser.get("/resources/")).content.decode(),
        "web feed": ok(browser.get("/fragments/feed/")).content.decode(),
        "webhook": "\n".join(Delivery.objects.filter(subscription__client__jurisdiction_id=code)
                             .values_list("body", flat=True)),
        "stream": "\n".join(filter(None, (
            route_event(event, prev=event.seq - 1).text_for(code)
            for event in Event.objects.filter(subject_type__in=["resource_request", "offer"]).order_by("seq")))),
    }
    for request_id in requests:
        texts[f"API detail {request_id}"] = ok(viewer.get(f"{URL}{request_id}/"), 200, 404).content.decode()
        texts[f"EDXL-RM {request_id}"] = ok(viewer.get(f"{URL}{request_id}/edxl-rm/"), 200, 404).content.decode()
    return texts


def test_a_request_tells_a_jurisdiction_nothing_of_an_incident_it_may_not_see(world):
    incident, requests, viewers, browsers = world
    secrets = [SECRET_TITLE, SECRET_DETAIL, incident["id"], str(SECRET_PLACE["lat"]), str(SECRET_PLACE["lon"])]
    failures, cases, hidden_from, shown_to = [], 0, [], []
    for code in GBA_CODES:
        texts = what_each_path_gives(code, requests, viewers[code], browsers[code])
        if sees_incident(code, incident):
            shown_to.append(code)
            continue
        hidden_from.append(code)
        for path, text in texts.items():
            cases += 1
            leaked = [secret for secret in secrets if secret in text]
            if leaked:
                failures.append((code, path, leaked))
        # Each path did carry the requests to it (so the absence above says something).
        reached = {"API list": f'"id":{requests[0]},', "event log": "resource_request.widened",
                   "web board": f'id="request-{requests[0]}"', "webhook": "resource_request.widened",
                   "stream": "resource_request.widened", f"EDXL-RM {requests[0]}": "RequestResource"}
        for path, mark in reached.items():
            cases += 1
            if mark not in texts[path]:
                failures.append((code, path, "did not carry the request"))
        # The request itself still reaches it, with the place its requester named.
        detail = viewers[code].get(f"{URL}{requests[1]}/").json()
        cases += 1
        if detail.get("location") != NAMED_PLACE or "incident" in detail:
            failures.append((code, "the named place", detail.get("location"), detail.get("incident")))
    # The level III incident is hidden from part of the cluster the requests went to, shown to the rest.
    assert hidden_from and shown_to, (hidden_from, shown_to)
    tally("mutual aid: what a request tells of its incident", cases=cases, failures=len(failures))
    assert failures == [], failures


def test_a_jurisdiction_that_sees_the_incident_still_gets_the_requests_reference_to_it(world):
    incident, requests, viewers, _ = world
    failures, cases = [], 0
    for code in GBA_CODES:
        if not sees_incident(code, incident):
            continue
        unnamed, named = (viewers[code].get(f"{URL}{request_id}/").json() for request_id in requests)
        cases += 1
        if unnamed.get("incident") != incident["id"] or named.get("incident") != incident["id"]:
            failures.append((code, "incident", unnamed.get("incident"), named.get("incident")))
        # No place named: the incident's location is where the resources go.
        if (unnamed.get("location", {}).get("lat"), unnamed.get("location", {}).get("lon")) != (
                SECRET_PLACE["lat"], SECRET_PLACE["lon"]):
            failures.append((code, "location", unnamed.get("location")))
    tally("mutual aid: what a request tells of its incident", cases=cases, failures=len(failures))
    assert cases and failures == [], failures
