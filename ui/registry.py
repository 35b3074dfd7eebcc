"""Registry facts every page needs (jurisdiction names, the officer's cluster; the names of
coordination bodies and playbooks that timeline entries mention), read through the registry's
selectors and kept per process for REGISTRY_CACHE_SECONDS: they change when an administrator
edits the registry, not while an officer works."""

import threading
import time
from dataclasses import dataclass

from django.conf import settings

from coordination.models import Cluster, CoordinationBody
from coordination.principals import Principal
from coordination.selectors import jurisdiction_list
from coordination.workflows.models import Playbook
from sharing.mutualaid.catalogue import units
from sharing.mutualaid.selectors import resource_type_list
from ui.labels import _zh


@dataclass(frozen=True)
class Place:
    code: str
    name_zh: str
    name_en: str
    clusters: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.name_zh if _zh() else self.name_en


@dataclass(frozen=True)
class ClusterInfo:
    code: str
    name_zh: str
    name_en: str
    time_zone: str

    @property
    def name(self) -> str:
        return self.name_zh if _zh() else self.name_en


_lock = threading.Lock()
_cache: dict = {"at": float("-inf"), "places": {}, "clusters": {}, "resource_types": {}, "names": {}}


def _load() -> dict:
    now = time.monotonic()
    if now - _cache["at"] < settings.REGISTRY_CACHE_SECONDS:
        return _cache
    with _lock:
        if now - _cache["at"] >= settings.REGISTRY_CACHE_SECONDS:
            places = {
                j.code: Place(j.code, j.name_zh, j.name_en, tuple(sorted(c.code for c in j.clusters.all())))
                for j in jurisdiction_list()
            }
            clusters = {c.code: ClusterInfo(c.code, c.name_zh, c.name_en, c.time_zone) for c in Cluster.objects.all()}
            resource_types = {rtype.code: rtype for rtype in resource_type_list()}
            # Names only (no definitions, no members): what a timeline entry names by its code.
            names = {
                "body": {code: (zh, en) for code, zh, en in
                         CoordinationBody.objects.values_list("code", "name_zh", "name_en")},
                "playbook": {code: (zh, en) for code, zh, en in
                             Playbook.objects.values_list("code", "name_zh", "name_en")},
            }
            _cache.update(at=now, places=places, clusters=clusters, resource_types=resource_types, names=names)
    return _cache


def forget() -> None:
    """Read the registry again at the next call (tests that build their own registry)."""
    with _lock:
        _cache["at"] = float("-inf")


def place(code: str) -> Place | None:
    return _load()["places"].get(code)


def place_name(code: str) -> str:
    found = place(code)
    return found.name if found else code


def members(cluster: str) -> list[Place]:
    """The jurisdictions of a cluster, by code."""
    return sorted((p for p in _load()["places"].values() if cluster in p.clusters), key=lambda p: p.code)


def home_cluster(principal: Principal) -> ClusterInfo | None:
    """The cluster an officer works in: the first of its jurisdiction's clusters."""
    clusters = _load()["clusters"]
    for code in principal.clusters:
        if code in clusters:
            return clusters[code]
    return None


def name_of(kind: str, code: str) -> str:
    """The name of a coordination body ("body") or a playbook ("playbook") in the officer's
    language; the code when there is none."""
    names = _load()["names"].get(kind, {}).get(code)
    if names is None:
        return code
    return (names[0] if _zh() else names[1]) or code


def resource_type(code: str):
    """A row of the mutual-aid catalogue (sharing.mutualaid), or None."""
    return _load()["resource_types"].get(code)


def resource_types() -> dict:
    return _load()["resource_types"]


def unit_name(code: str) -> str:
    unit = units().get(code)
    if unit is None:
        return code
    return unit.zh if _zh() else unit.en
