"""Registry facts every page needs (jurisdiction names, the officer's cluster; the names of
coordination bodies and playbooks that timeline entries mention), as the pages read them: taken
from the registry snapshot (coordination.registry) and kept with it, so they are reloaded by its
one rule: they change when an administrator edits the registry, not while an officer works."""

from dataclasses import dataclass

from django.utils.translation import get_language

from coordination.demo import MEMBER_NAME
from coordination.models import Cluster, CoordinationBody, Jurisdiction
from coordination.principals import Principal
from coordination.registry import Registry, registry
from coordination.workflows.models import Playbook
from sharing.mutualaid.catalogue import units
from sharing.mutualaid.demo import DEPOT_NAME
from sharing.mutualaid.selectors import resource_type_list
from ui.labels import _zh


def local(zh: str, en: str, zh_hant: str = "") -> str:
    """A registry name in the officer's language: a Traditional reader (Hong Kong, Macao) reads
    its Traditional name (name_zh_hant: 廣州市, 香港特別行政區), else the Simplified one."""
    if not _zh():
        return en
    return (zh_hant or zh) if get_language() == "zh-hant" else zh


@dataclass(frozen=True)
class NamedJurisdiction:
    """A jurisdiction as pages name it: its code, names and clusters, from the registry snapshot."""

    code: str
    name_zh: str
    name_en: str
    clusters: tuple[str, ...]
    name_zh_hant: str = ""

    @property
    def name(self) -> str:
        return local(self.name_zh, self.name_en, self.name_zh_hant)


@dataclass(frozen=True)
class ClusterInfo:
    code: str
    name_zh: str
    name_en: str
    time_zone: str
    name_zh_hant: str = ""

    @property
    def name(self) -> str:
        return local(self.name_zh, self.name_en, self.name_zh_hant)


def _load() -> dict:
    """The UI's view of the registry snapshot (coordination.registry), built once per snapshot
    and so on its reload rule; with the playbook names and the mutual-aid catalogue, which the
    registry layer cannot read (they live above it) but change as rarely."""
    snapshot = registry()
    return snapshot.derived("ui", lambda: _build(snapshot))


def _traditional(model) -> dict[str, str]:
    """The Traditional names the registry holds (code → name_zh_hant), read with the snapshot."""
    return dict(model.objects.exclude(name_zh_hant="").values_list("pk", "name_zh_hant"))


def _build(snapshot: Registry) -> dict:
    hant = {"place": _traditional(Jurisdiction), "cluster": _traditional(Cluster),
            "body": _traditional(CoordinationBody)}
    places = {
        code: NamedJurisdiction(code, zh, en, tuple(sorted(snapshot.clusters_of.get(code, ()))),
                                hant["place"].get(code, ""))
        for code, (zh, en) in snapshot.names.items()
    }
    clusters = {code: ClusterInfo(c.code, c.name_zh, c.name_en, c.time_zone, hant["cluster"].get(code, ""))
                for code, c in snapshot.clusters.items()}
    resource_types = {rtype.code: rtype for rtype in resource_type_list()}
    # Names only (no definitions, no members): what a timeline entry names by its code.
    names = {
        "body": dict(snapshot.bodies),
        "playbook": {code: (zh, en) for code, zh, en in Playbook.objects.values_list("code", "name_zh", "name_en")},
    }
    # Where each playbook step stands and what it does (a timeline note names a step by its id,
    # a code: the reader reads "step 6 (Wait)").
    steps = {
        code: {step.get("id"): (index + 1, step.get("kind", "")) for index, step in
               enumerate((definition or {}).get("steps", ()))}
        for code, definition in Playbook.objects.values_list("code", "definition")
    }
    return {"places": places, "clusters": clusters, "resource_types": resource_types, "names": names,
            "steps": steps, "hant": hant}


def step_of(playbook: str, step: str) -> tuple[int, str] | None:
    """A playbook step's number (from 1) and kind, or None when the playbook has no such step."""
    return _load()["steps"].get(playbook, {}).get(step)


def place(code: str) -> NamedJurisdiction | None:
    return _load()["places"].get(code)


def place_name(code: str) -> str:
    found = place(code)
    return found.name if found else code


def members(cluster: str) -> list[NamedJurisdiction]:
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
    loaded = _load()
    names = loaded["names"].get(kind, {}).get(code)
    if names is None:
        return code
    return local(names[0], names[1], loaded["hant"].get(kind, {}).get(code, "")) or code


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


def demo_name(name: str) -> str:
    """A name the demo stored as "Chinese (English)" (coordination.demo.stored_name), in the
    officer's language with its city's name in it: a demo depot, "深圳市应急物资储备库 (Shenzhen
    emergency reserve depot)" (sharing.mutualaid.demo.DEPOT_NAME), a demo committee officer,
    "广州市联席会议委员 (Guangzhou committee member)" (coordination.demo.MEMBER_NAME);
    Traditional for Hong Kong and Macao (深圳市應急物資儲備庫). Any other name, as its owner wrote it."""
    head, _, tail = (name or "").partition(" (")
    if not tail:
        return name or ""
    for template in (DEPOT_NAME, MEMBER_NAME):
        for found in _load()["places"].values():
            if head == template["zh-hans"].format(city=found.name_zh) and \
                    tail == template["en"].format(city=found.name_en) + ")":
                key = "en" if not _zh() else "zh-hant" if get_language() == "zh-hant" else "zh-hans"
                return template[key].format(city=found.name)
    return name or ""


def depot_name(name: str) -> str:
    """A depot's name in the officer's language (demo_name: a demo depot's, else as written)."""
    return demo_name(name)
