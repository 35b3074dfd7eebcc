"""Registry facts every page needs (jurisdiction names, the officer's cluster; the names of
coordination bodies and playbooks that timeline entries mention), as the pages read them: taken
from the registry snapshot (coordination.registry) and kept with it, so they are reloaded by its
one rule: they change when an administrator edits the registry, not while an officer works."""

from dataclasses import dataclass

from coordination.principals import Principal
from coordination.registry import Registry, registry
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


def _load() -> dict:
    """The UI's view of the registry snapshot (coordination.registry), built once per snapshot
    and so on its reload rule; with the playbook names and the mutual-aid catalogue, which the
    registry layer cannot read (they live above it) but change as rarely."""
    snapshot = registry()
    return snapshot.derived("ui", lambda: _build(snapshot))


def _build(snapshot: Registry) -> dict:
    places = {
        code: Place(code, zh, en, tuple(sorted(snapshot.clusters_of.get(code, ()))))
        for code, (zh, en) in snapshot.names.items()
    }
    clusters = {code: ClusterInfo(c.code, c.name_zh, c.name_en, c.time_zone) for code, c in snapshot.clusters.items()}
    resource_types = {rtype.code: rtype for rtype in resource_type_list()}
    # Names only (no definitions, no members): what a timeline entry names by its code.
    names = {
        "body": dict(snapshot.bodies),
        "playbook": {code: (zh, en) for code, zh, en in Playbook.objects.values_list("code", "name_zh", "name_en")},
    }
    return {"places": places, "clusters": clusters, "resource_types": resource_types, "names": names}


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
