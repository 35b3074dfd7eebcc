"""The visibility matrix (issue 5): every demo jurisdiction × role × data kind × path.

The table below says, by hand and from the rule in docs/api.md (not computed by the rule under test),
who sees each piece of a small world, and which sensitive fields each gets. Every path that
exists is asked the same question for every caller, and must answer exactly that:

- a piece is visible to the jurisdictions in `seen_by`, and to every coordinator of the
  cluster (all pieces here are owned inside GBA);
- a sensitive field is present only for the jurisdictions listed for it; for everyone else it
  is absent (not blank);
- what is not visible is a 404 on a detail path and missing from lists and the event log.

Adding a path: write a function `(world, caller, expectation) -> dict | None` (the piece as the
caller got it, or None when it did not get it), register it in PATHS with the kinds it
serves; the tests pick it up. Adding a piece: add a line to TABLE and build it in `world`.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.utils import timezone
from lxml import etree

from coordination.authentication import principal_for_token
from incidents.services import incident_report
from sharing import services as sharing_services
from sharing.eventlog import sequence_pending
from sharing.mutualaid.services import offers as aid_offers
from sharing.mutualaid.services import requests as aid_requests
from sharing.selectors import events_visible_to
from tests.conftest import (
    DONGGUAN,
    FOSHAN,
    GBA_CODES,
    GUANGZHOU,
    HONG_KONG,
    HUIZHOU,
    JIANGMEN,
    MACAO,
    SHENZHEN,
    ZHAOQING,
    ZHONGSHAN,
    ZHUHAI,
)
from tests.mutualaid.conftest import CENTROIDS, stock
from tests.mutualaid.support import fast_token

pytestmark = pytest.mark.django_db

GBA = frozenset(GBA_CODES)
CORE = frozenset({GUANGZHOU, SHENZHEN, HONG_KONG, MACAO})
ZHUHAI_NEIGHBOURS = frozenset({JIANGMEN, ZHONGSHAN, MACAO})
ROLES = ("viewer", "operator", "commander", "coordinator", "system")  # system: a city system, read scope


@dataclass(frozen=True)
class Expect:
    key: str
    kind: str  # incidents, resources (inventories, requests, offers), or agreements
    seen_by: frozenset[str]
    sensitive: dict[str, frozenset[str]] = field(default_factory=dict)  # field -> who gets it


# --- the table ---------------------------------------------------------------------------------------------

TABLE = [
    # The policy itself: agreements are read by their whole cluster.
    Expect("agreement_zh_zs", "agreements", GBA),
    # Stock crosses a border only under an agreement; contacts only where it shares them.
    Expect("inventory_zh", "inventories", frozenset({ZHUHAI, ZHONGSHAN}),
           {"contacts": frozenset({ZHUHAI, ZHONGSHAN})}),
    Expect("inventory_sz", "inventories", frozenset({SHENZHEN, DONGGUAN}), {"contacts": frozenset({SHENZHEN})}),
    Expect("inventory_zs", "inventories", frozenset({ZHONGSHAN}), {"contacts": frozenset({ZHONGSHAN})}),
    Expect("inventory_hk", "inventories", frozenset({HONG_KONG}), {"contacts": frozenset({HONG_KONG})}),
    # A request goes to Zhuhai's neighbours (level III); Zhongshan gets contacts by agreement.
    Expect("request_zh", "requests", frozenset({ZHUHAI}) | ZHUHAI_NEIGHBOURS,
           {"contacts": frozenset({ZHUHAI, ZHONGSHAN})}),
    # Level I: to the whole cluster. Shenzhen's agreement with Dongguan withholds contacts.
    Expect("request_sz", "requests", GBA, {"contacts": frozenset({SHENZHEN})}),
    # An offer is the offerer's, concerning the requester; the other neighbours asked do not see it.
    Expect("offer_zs", "offers", frozenset({ZHONGSHAN, ZHUHAI})),
    # Incidents under the cluster default: III to neighbours and core cities, I to all, IV to
    # no one else (but an agreement: Huizhou shares with Dongguan, contacts but not casualty details).
    Expect("incident_zh", "incidents", frozenset({ZHUHAI}) | ZHUHAI_NEIGHBOURS | CORE,
           {"contacts": frozenset({ZHUHAI}), "casualty_details": frozenset({ZHUHAI})}),
    Expect("incident_sz", "incidents", GBA,
           {"contacts": frozenset({SHENZHEN}), "casualty_details": frozenset({SHENZHEN})}),
    Expect("incident_hz", "incidents", frozenset({HUIZHOU, DONGGUAN}),
           {"contacts": frozenset({HUIZHOU, DONGGUAN}), "casualty_details": frozenset({HUIZHOU})}),
]

assert {FOSHAN, ZHAOQING} <= GBA  # (the jurisdictions that see little here are part of the matrix too)


# --- the world the table describes ---------------------------------------------------------------------------


@dataclass
class Caller:
    code: str
    role: str
    token: str

    @property
    def client(self):
        return client_for_token(self.token)

    @property
    def principal(self):
        return principal_for_token(self.token)


def client_for_token(token: str):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@dataclass
class World:
    ids: dict[str, object]
    callers: list[Caller]
    cache: dict = field(default_factory=dict)


def report(code: str, level: str, **extra):
    lat, lon = CENTROIDS[code]
    officer = principal_for_token(fast_token(code, role="operator"))
    return incident_report(actor=officer, data={
        "title": f"{level} in {code}", "category": "natural_disaster", "type": "flood", "level": level,
        "occurred_at": timezone.now() - timedelta(hours=1), "location": {"lat": lat, "lon": lon}, **extra,
    }).incident


@pytest.fixture
def world(gba, catalogue, django_capture_on_commit_callbacks) -> World:
    contact = [{"name": "duty office", "phone": "+86 000"}]
    with django_capture_on_commit_callbacks(execute=True):
        agreement = sharing_services.agreement_create(actor=None, grantor=ZHUHAI, grantees=[ZHONGSHAN],
                                                      data_kinds=["resources"], withheld_fields=[])
        sharing_services.agreement_create(actor=None, grantor=SHENZHEN, grantees=[DONGGUAN], data_kinds=["resources"])
        sharing_services.agreement_create(actor=None, grantor=HUIZHOU, grantees=[DONGGUAN], data_kinds=["incidents"],
                                          withheld_fields=["casualty_details"])
    ids: dict[str, object] = {"agreement_zh_zs": str(agreement.id)}
    for key, code, rtype in (("inventory_zh", ZHUHAI, "drainage_pump"), ("inventory_sz", SHENZHEN, "medical_team"),
                             ("inventory_zs", ZHONGSHAN, "drainage_pump"), ("inventory_hk", HONG_KONG, "ambulance")):
        ids[key] = stock(code, rtype, 10, contacts=contact).pk
    incidents = {
        "incident_zh": report(ZHUHAI, "III", contacts=contact, casualty_details=[{"name": "A"}]),
        "incident_sz": report(SHENZHEN, "I", contacts=contact, casualty_details=[{"name": "B"}]),
        "incident_hz": report(HUIZHOU, "IV", contacts=contact, casualty_details=[{"name": "C"}]),
    }
    ids.update({key: incident.public_id for key, incident in incidents.items()})
    soon = timezone.now() + timedelta(hours=4)
    zhuhai = principal_for_token(fast_token(ZHUHAI, role="commander"))
    request_zh = aid_requests.resource_request_create(actor=zhuhai, data={
        "incident": ids["incident_zh"], "resource_type": "drainage_pump", "quantity": 4, "needed_by": soon,
        "contacts": contact})
    request_sz = aid_requests.resource_request_create(
        actor=principal_for_token(fast_token(SHENZHEN, role="commander")),
        data={"incident": ids["incident_sz"], "resource_type": "medical_team", "quantity": 2, "needed_by": soon,
              "contacts": contact})
    offer = aid_offers.offer_create(actor=principal_for_token(fast_token(ZHONGSHAN, role="operator")),
                                request_id=request_zh.pk, data={"quantity": 3})
    ids.update(request_zh=request_zh.pk, request_sz=request_sz.pk, offer_zs=offer.pk)
    sequence_pending()
    callers = [Caller(code, role, fast_token(code, role=None if role == "system" else role,
                                             scopes=["read"] if role == "system" else None))
               for code in GBA_CODES for role in ROLES]
    return World(ids, callers)


# --- the paths ---------------------------------------------------------------------------------------------


def _detail(url: str, world: World, caller: Caller) -> dict | None:
    response = caller.client.get(url)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return response.json()


def _listed(url: str, key: str, world: World, caller: Caller, expect: Expect) -> dict | None:
    cache_key = (url, caller.code, caller.role)
    if cache_key not in world.cache:
        response = caller.client.get(url, {"page_size": 500})
        assert response.status_code == 200, response.content[:300]
        world.cache[cache_key] = {item[key]: item for item in response.json()["results"]}
    return world.cache[cache_key].get(world.ids[expect.key])


LIST_URLS = {"agreements": "/api/v1/sharing-agreements/", "inventories": "/api/v1/inventories/",
             "requests": "/api/v1/resource-requests/", "incidents": "/api/v1/incidents/"}


def api_list(world, caller, expect):
    return _listed(LIST_URLS[expect.kind], "id", world, caller, expect)


def api_detail(world, caller, expect):
    return _detail(f"{LIST_URLS[expect.kind]}{world.ids[expect.key]}/", world, caller)


def offer_in_request(world, caller, expect):
    """An offer as part of its request (GET /resource-requests/{id}/, and its offers/)."""
    request = _detail(f"/api/v1/resource-requests/{world.ids['request_zh']}/", world, caller)
    offers = {offer["id"]: offer for offer in (request or {}).get("offers", [])}
    return offers.get(world.ids[expect.key])


EVENT_OF = {"agreements": ("agreement.created", lambda data: data["id"]),
            "inventories": ("inventory.created", lambda data: data["id"]),
            "requests": ("resource_request.created", lambda data: data["id"]),
            "offers": ("resource_request.offered", lambda data: data["offer"]["id"]),
            "incidents": ("incident.created", lambda data: data["id"])}


def event_log(world, caller, expect):
    """GET /api/v1/events/ as the service reads it for the caller (sharing.selectors)."""
    cache_key = ("events", caller.code, caller.role)
    if cache_key not in world.cache:
        world.cache[cache_key] = events_visible_to(principal=caller.principal, since=0, limit=10_000)
    name, identify = EVENT_OF[expect.kind]
    for message in world.cache[cache_key]:
        if message["event"] == name and identify(message["data"]) == world.ids[expect.key]:
            return message["data"]
    return None


def edxl_rm(world, caller, expect):
    """The request's EDXL-RM thread; contacts show as the requester's AdditionalContactInformation."""
    response = caller.client.get(f"/api/v1/resource-requests/{world.ids[expect.key]}/edxl-rm/")
    if response.status_code == 404:
        return None
    ns = {"rmsg": "urn:oasis:names:tc:emergency:EDXL:RM:1.0:msg", "rm": "urn:oasis:names:tc:emergency:EDXL:RM:1.0"}
    first = etree.fromstring(response.content).find(".//rmsg:RequestResource", ns)
    return {"contacts": True} if first.find(".//rm:AdditionalContactInformation", ns) is not None else {}


Path = Callable[[World, Caller, Expect], dict | None]
PATHS: dict[str, tuple[Path, frozenset[str]]] = {
    "api-list": (api_list, frozenset({"agreements", "inventories", "requests", "incidents"})),
    "api-detail": (api_detail, frozenset({"agreements", "inventories", "requests", "incidents"})),
    "api-offers": (offer_in_request, frozenset({"offers"})),
    "event-log": (event_log, frozenset({"agreements", "inventories", "requests", "offers", "incidents"})),
    "edxl-rm": (edxl_rm, frozenset({"requests"})),
}


# --- the check ---------------------------------------------------------------------------------------------


def expected(expect: Expect, caller: Caller) -> tuple[bool, set[str]]:
    visible = caller.code in expect.seen_by or caller.role == "coordinator"
    fields = {name for name, whom in expect.sensitive.items() if caller.code in whom}
    return visible, fields


@pytest.mark.parametrize("path", sorted(PATHS))
def test_every_jurisdiction_and_role_sees_exactly_what_the_table_says(world, path):
    get, kinds = PATHS[path]
    wrong = []
    for expect in (e for e in TABLE if e.kind in kinds):
        for caller in world.callers:
            got = get(world, caller, expect)
            visible, fields = expected(expect, caller)
            if (got is not None) != visible:
                wrong.append(f"{expect.key} {caller.code}/{caller.role}: {'hidden' if visible else 'shown'}")
            elif got is not None and expect.sensitive:
                present = {name for name in expect.sensitive if name in got}
                if path == "edxl-rm":
                    fields &= {"contacts"}
                if present != fields:
                    wrong.append(f"{expect.key} {caller.code}/{caller.role}: sensitive {sorted(present)}, "
                                 f"expected {sorted(fields)}")
    assert not wrong, f"{len(wrong)} cells differ on {path}:\n" + "\n".join(wrong)


def test_the_table_covers_every_jurisdiction_role_and_kind():
    kinds = {expect.kind for expect in TABLE}
    assert kinds == {"agreements", "inventories", "requests", "offers", "incidents"}
    assert all(kinds & served for _, served in PATHS.values())
    for expect in TABLE:
        assert expect.seen_by <= GBA and all(whom <= expect.seen_by for whom in expect.sensitive.values())
