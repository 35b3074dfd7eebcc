"""The registry snapshot: every registry fact the other layers read on their hot paths, built
in one place and reloaded by one rule (docs/architecture.md, "The registry snapshot").

The facts: every registered jurisdiction with its names, the clusters each belongs to, each
cluster's members, core cities, names and time zone, the neighbours (adjacency) and the names
of coordination bodies. They change when an administrator edits the registry, not while an
incident is reported, so a process keeps one snapshot and the stream, bulk intake and every
page read plain dicts instead of querying: no query per call.

The reload rule: a process trusts its snapshot for SHARING_CONTEXT_CHECK_SECONDS, then compares
a version kept in the shared cache (bumped by `registry_changed`, on every committed edit of a
cluster, jurisdiction, adjacency, cluster membership or coordination body: see `connect`), and
reloads when the version moved or the snapshot is REGISTRY_CACHE_SECONDS old. While Redis does
not answer, the shared cache falls back to this process's memory (config/cache.py), so an edit
made elsewhere is seen after REGISTRY_CACHE_SECONDS at the latest, as before.

Layers above that need facts derived from the registry together with their own (the UI's
playbook names, sharing's agreements) keep them with the snapshot (`Registry.derived`) or
rebuild when the snapshot changes identity, so nothing has a reload rule of its own.
"""

import threading
import time
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import transaction


@dataclass(frozen=True)
class ClusterFacts:
    code: str
    name_zh: str
    name_en: str
    time_zone: str
    zone: zoneinfo.ZoneInfo


@dataclass(frozen=True, eq=False)
class Registry:
    """One process's snapshot of the registry. Read-only: it is replaced whole, never changed,
    so a reader never sees a half-built one."""

    jurisdictions: frozenset[str] = frozenset()  # every registered one, in a cluster or not
    names: dict[str, tuple[str, str]] = field(default_factory=dict)  # jurisdiction -> (zh, en)
    clusters: dict[str, ClusterFacts] = field(default_factory=dict)
    members: dict[str, frozenset[str]] = field(default_factory=dict)  # cluster -> jurisdictions
    cores: dict[str, frozenset[str]] = field(default_factory=dict)  # cluster -> core cities
    clusters_of: dict[str, frozenset[str]] = field(default_factory=dict)  # jurisdiction -> clusters
    neighbours: dict[str, frozenset[str]] = field(default_factory=dict)
    bodies: dict[str, tuple[str, str]] = field(default_factory=dict)  # coordination body -> (zh, en)
    _derived: dict = field(default_factory=dict, repr=False)

    def zone(self, cluster: str | None) -> zoneinfo.ZoneInfo:
        """A cluster's display time zone (the service's TIME_ZONE for none or an unknown one)."""
        found = self.clusters.get(cluster or "")
        return found.zone if found is not None else zoneinfo.ZoneInfo(settings.TIME_ZONE)

    def derived(self, key: str, build: Callable[[], object]):
        """`build()`, computed once per snapshot: for a layer above that keeps facts of its own
        beside the registry's (it cannot be imported from here) on the same reload rule. Two
        threads may both build on a miss; either result is kept, both are equal."""
        try:
            return self._derived[key]
        except KeyError:
            return self._derived.setdefault(key, build())

    @classmethod
    def load(cls) -> "Registry":
        from coordination.models import Cluster, CoordinationBody, Jurisdiction

        names: dict[str, tuple[str, str]] = {}
        members: dict[str, set[str]] = {}
        cores: dict[str, set[str]] = {}
        clusters_of: dict[str, set[str]] = {}
        # Every jurisdiction, once per cluster it is in (cluster None for one in none): one query.
        rows = Jurisdiction.objects.values_list("code", "name_zh", "name_en", "is_core", "clusters")
        for code, name_zh, name_en, is_core, cluster in rows:
            names[code] = (name_zh, name_en)
            if cluster is None:
                continue
            members.setdefault(cluster, set()).add(code)
            clusters_of.setdefault(code, set()).add(cluster)
            if is_core:
                cores.setdefault(cluster, set()).add(code)
        neighbours: dict[str, set[str]] = {}
        for a, b in Jurisdiction.neighbours.through.objects.values_list("from_jurisdiction_id", "to_jurisdiction_id"):
            neighbours.setdefault(a, set()).add(b)
        clusters = {
            code: ClusterFacts(code, name_zh, name_en, tz, zoneinfo.ZoneInfo(tz))
            for code, name_zh, name_en, tz in Cluster.objects.values_list("code", "name_zh", "name_en", "time_zone")
        }
        bodies = {code: (zh, en) for code, zh, en in CoordinationBody.objects.values_list("code", "name_zh", "name_en")}
        return cls(
            jurisdictions=frozenset(names),
            names=names,
            clusters=clusters,
            members={k: frozenset(v) for k, v in members.items()},
            cores={k: frozenset(v) for k, v in cores.items()},
            clusters_of={k: frozenset(v) for k, v in clusters_of.items()},
            neighbours={k: frozenset(v) for k, v in neighbours.items()},
            bodies=bodies,
        )


_VERSION_KEY = "registry:version"
_lock = threading.Lock()
_state: dict = {"registry": None, "version": None, "loaded": 0.0, "checked": 0.0}


def registry() -> Registry:
    """This process's registry snapshot (the reload rule: the module's docstring)."""
    now = time.monotonic()
    current = _state["registry"]
    if current is not None and now - _state["checked"] < settings.SHARING_CONTEXT_CHECK_SECONDS:
        return current
    with _lock:
        version = cache.get(_VERSION_KEY, 0)
        stale = now - _state["loaded"] >= settings.REGISTRY_CACHE_SECONDS
        if _state["registry"] is None or version != _state["version"] or stale:
            _state.update(registry=Registry.load(), version=version, loaded=now)
        _state["checked"] = now
        return _state["registry"]


def current() -> Registry | None:
    """The snapshot this process holds now, without checking it (None before the first read):
    what a snapshot built on this one compares itself with, at the cost of one lookup."""
    return _state["registry"]


def registry_changed() -> None:
    """Every process reloads its snapshot (this one at its next read, the others within
    SHARING_CONTEXT_CHECK_SECONDS)."""
    try:
        cache.incr(_VERSION_KEY)
    except ValueError:
        cache.set(_VERSION_KEY, 1, None)
    reset_registry()


def reset_registry() -> None:
    """Forget this process's snapshot: the next read loads the registry again (tests that
    build their own registry call it, and every test starts with it: tests/conftest.py)."""
    with _lock:
        _state.update(registry=None, version=None, loaded=0.0, checked=0.0)


def _on_edit(sender, **kwargs) -> None:
    if not kwargs.get("action", "post_").startswith("post_"):
        return  # the half of an m2m change before its rows are written
    # After the commit: another process that reloaded before it would read the old rows.
    transaction.on_commit(registry_changed)


def connect() -> None:
    """Bump the version on every edit of what the snapshot holds, whoever makes it (the admin,
    a management command, a service). Called once, from CoordinationConfig.ready."""
    from django.db.models.signals import m2m_changed, post_delete, post_save

    from coordination.models import Cluster, CoordinationBody, Jurisdiction

    for model in (Cluster, Jurisdiction, CoordinationBody):
        uid = f"registry-{model._meta.label_lower}"
        post_save.connect(_on_edit, sender=model, dispatch_uid=f"{uid}-save")
        post_delete.connect(_on_edit, sender=model, dispatch_uid=f"{uid}-delete")
    for through in (Jurisdiction.clusters.through, Jurisdiction.neighbours.through):
        m2m_changed.connect(_on_edit, sender=through, dispatch_uid=f"registry-{through._meta.label_lower}")
