"""A small world for the attack suite, made through the public API: Shenzhen's private data
(a level IV incident inside the city with an update and a situation report, a draft alert,
stock, a mutual-aid request, a webhook subscription) and Zhuhai's shared data (a level III
cross-border typhoon with its playbook run, acknowledgements and escalations)."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from rest_framework.test import APIClient

from tests.conftest import SHENZHEN, ZHUHAI

INSIDE_SHENZHEN = {"lat": 22.65, "lon": 114.12}
PEARL_ESTUARY_WEST = {"type": "Polygon", "coordinates": [[
    [113.45, 22.12], [113.58, 22.12], [113.58, 22.45], [113.45, 22.45], [113.45, 22.12],
]]}
SECRET_TITLE = "Secret chlorine leak at the Yantian depot"
SECRET_DETAIL = "depot manager 138-0000-0000"


@dataclass
class World:
    owner_token: str
    ids: dict[str, list[str]] = field(default_factory=dict)  # resource path -> ids in it
    private: dict[str, str] = field(default_factory=dict)  # what only Shenzhen may see

    def add(self, resource: str, value) -> str:
        self.ids.setdefault(resource, []).append(str(value))
        return str(value)


def ok(response, *statuses):
    assert response.status_code in (statuses or (200, 201)), (response.status_code, response.content[:500])
    return response.json()


def build_world(credentials) -> World:
    from coordination.workflows.demo import load_playbooks
    from sharing.mutualaid.catalogue import load_catalogue
    from sharing.mutualaid.models import ResourceType
    from tests.workflows.conftest import deliver

    load_catalogue(ResourceType)
    load_playbooks()
    owner_token = credentials.token(SHENZHEN)
    shenzhen = APIClient()
    shenzhen.credentials(HTTP_AUTHORIZATION=f"Bearer {owner_token}")
    world = World(owner_token=owner_token)
    now = datetime.now(UTC)

    incident = ok(shenzhen.post("/api/v1/incidents/", {
        "title": SECRET_TITLE, "category": "accident", "type": "hazmat", "level": "IV",
        "occurred_at": (now - timedelta(hours=1)).isoformat(), "location": INSIDE_SHENZHEN,
        "description": SECRET_DETAIL}, format="json"))
    assert incident["affected_jurisdictions"] == [SHENZHEN], incident
    world.private["incident"] = world.add("incidents", incident["id"])
    ok(shenzhen.post(f"/api/v1/incidents/{incident['id']}/updates/", {"text": "valve closed"}, format="json"))
    ok(shenzhen.post(f"/api/v1/incidents/{incident['id']}/sitreps/", {"summary": "contained on site"},
                     format="json"), 200, 201, 400)
    draft = ok(shenzhen.post("/api/v1/alerts/", {"incident": incident["id"]}, format="json"))
    world.private["alert"] = world.add("alerts", draft["id"])
    stock = ok(shenzhen.post("/api/v1/inventories/", {"resource_type": "drainage_pump", "on_hand": 7},
                             format="json"))
    world.add("inventories", stock["id"])
    request = ok(shenzhen.post("/api/v1/resource-requests/", {
        "incident": incident["id"], "resource_type": "drainage_pump", "quantity": 2,
        "needed_by": (now + timedelta(hours=6)).isoformat(), "location": INSIDE_SHENZHEN}, format="json"))
    world.add("resource-requests", request["id"])
    hook = ok(shenzhen.post("/api/v1/webhook-subscriptions/", {"url": "http://127.0.0.1:9/hooks/shenzhen",
                                                               "events": ["incident.*"]}, format="json"))
    world.private["webhook-subscription"] = world.add("webhook-subscriptions", hook["id"])

    zhuhai = APIClient()
    zhuhai.credentials(HTTP_AUTHORIZATION=f"Bearer {credentials.token(ZHUHAI)}")
    typhoon = ok(zhuhai.post("/api/v1/incidents/", {
        "title": "Typhoon makes landfall at Zhuhai", "category": "natural_disaster", "type": "typhoon",
        "level": "III", "occurred_at": (now - timedelta(minutes=10)).isoformat(),
        "location": {"lat": 22.22, "lon": 113.50}, "affected_area": PEARL_ESTUARY_WEST}, format="json"))
    world.add("incidents", typhoon["id"])
    deliver()  # the engine starts the playbook run (as the dispatcher does)
    from coordination.workflows.deadlines import sweep

    sweep(now=datetime.now(UTC) + timedelta(days=1), budget_seconds=20)  # its deadlines pass: escalations
    for resource in ("workflow-runs", "acknowledgements", "escalations", "tasks", "joint-commands", "meetings"):
        for item in ok(zhuhai.get(f"/api/v1/{resource}/"))["results"]:
            world.add(resource, item["id"])
    return world
