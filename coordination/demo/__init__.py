"""The demo cluster (GBA) and the 19 national clusters, loaded by `manage.py load_demo`.

The data is in gba.json and clusters.json beside this file. Boundaries there are
hand-drawn approximations, marked `approximate`; real ones come in through import_boundaries.
The demo's committee officers (gba.json's `body_officers`) are made only when a password is
given for them (`load_body_officers`; `load_demo --officers-password`), so that loading the
demo registry into an installation never leaves logins with a known password behind.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from coordination.geometry import boundary_index
from coordination.models import (
    BoundarySource,
    Cluster,
    CoordinationBody,
    Jurisdiction,
    JurisdictionLevel,
    MetropolitanCircle,
)

DEMO_DIR = Path(__file__).resolve().parent
# A demo committee officer's name in each language, by its city's name in that language (as
# sharing.mutualaid.demo.DEPOT_NAME names the demo depots). The user keeps one name,
# "Chinese (English)", so that a message, the API or a calendar names a person rather than a
# login; ui.registry.demo_name reads it back in the reader's language (廣州市聯席會議委員).
MEMBER_NAME = {"zh-hans": "{city}联席会议委员", "zh-hant": "{city}聯席會議委員", "en": "{city} committee member"}


def stored_name(template: dict, name_zh: str, name_en: str) -> str:
    """The one name a demo row is stored under: its Simplified name, then its English in brackets."""
    return f"{template['zh-hans'].format(city=name_zh)} ({template['en'].format(city=name_en)})"


@dataclass
class LoadSummary:
    """What a load did, by kind of row. `updated` counts every row that was there already
    (unchanged or updated: what a loader that cannot tell counts); a loader that can tell says
    so with `changed` (the row was brought up to date) or `kept` (a person had edited it, so it
    was left as it is), and its line then says how many were updated, unchanged and kept."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)
    told: set[str] = field(default_factory=set)

    def count(self, kind: str, created: bool, *, changed: bool | None = None, kept: bool = False) -> None:
        target = self.created if created else self.updated
        target[kind] = target.get(kind, 0) + 1
        if created or (changed is None and not kept):
            return
        self.told.add(kind)
        if changed:
            self.changed[kind] = self.changed.get(kind, 0) + 1
        if kept:
            self.kept[kind] = self.kept.get(kind, 0) + 1

    def lines(self) -> list[str]:
        kinds = sorted(set(self.created) | set(self.updated))
        lines = []
        for kind in kinds:
            created, there = self.created.get(kind, 0), self.updated.get(kind, 0)
            if kind not in self.told:
                lines.append(f"{kind}: {created} created, {there} unchanged or updated")
                continue
            changed, kept = self.changed.get(kind, 0), self.kept.get(kind, 0)
            line = f"{kind}: {created} created, {changed} updated, {there - changed - kept} unchanged"
            lines.append(line + (f", {kept} kept as a person edited them" if kept else ""))
        return lines


def _upsert(model, summary: LoadSummary, kind: str, key: dict, values: dict):
    """Create, or update only what differs, so a second load writes nothing."""
    obj = model.objects.filter(**key).first()
    if obj is None:
        obj = model.objects.create(**key, **values)
        summary.count(kind, True)
        return obj
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if changed:
        for name in changed:
            setattr(obj, name, values[name])
        obj.save(update_fields=changed)
    summary.count(kind, False, changed=bool(changed))
    return obj


def load_registry(summary: LoadSummary | None = None) -> LoadSummary:
    summary = summary or LoadSummary()
    gba = json.loads((DEMO_DIR / "gba.json").read_text(encoding="utf-8"))
    national = json.loads((DEMO_DIR / "clusters.json").read_text(encoding="utf-8"))
    with transaction.atomic():
        for item in national:
            _upsert(Cluster, summary, "clusters", {"code": item["code"]},
                    {"name_zh": item["name_zh"], "name_en": item["name_en"],
                     "time_zone": item.get("time_zone", "Asia/Shanghai")})
        c = gba["cluster"]
        cluster = _upsert(Cluster, summary, "clusters", {"code": c["code"]},
                          {"name_zh": c["name_zh"], "name_zh_hant": c.get("name_zh_hant", ""),
                           "name_en": c["name_en"], "time_zone": c["time_zone"]})
        for province in gba["provinces"]:
            _upsert(Jurisdiction, summary, "jurisdictions", {"code": province["code"]},
                    {"name_zh": province["name_zh"], "name_zh_hant": province.get("name_zh_hant", ""),
                     "name_en": province["name_en"],
                     "level": JurisdictionLevel.PROVINCE})
        boundary_changed = False
        for item in gba["jurisdictions"]:
            existing = Jurisdiction.objects.filter(code=item["code"]).first()
            # An imported (real) boundary is never overwritten by the demo's approximation.
            keep_boundary = existing is not None and existing.boundary_source == BoundarySource.IMPORTED
            values = {
                "name_zh": item["name_zh"], "name_zh_hant": item.get("name_zh_hant", ""), "name_en": item["name_en"],
                "level": item["level"],
                "parent_id": item.get("parent"), "is_core": item["is_core"],
                "centroid_lat": item["centroid"]["lat"], "centroid_lon": item["centroid"]["lon"],
            }
            if not keep_boundary:
                values["boundary_source"] = BoundarySource.APPROXIMATE
                if existing is None or existing.boundary != item["boundary"]:
                    values["boundary"] = item["boundary"]
                    values["boundary_updated_at"] = timezone.now()
                    boundary_changed = True
            jurisdiction = _upsert(Jurisdiction, summary, "jurisdictions", {"code": item["code"]}, values)
            jurisdiction.clusters.add(cluster)
        for circle in gba["metropolitan_circles"]:
            obj = _upsert(MetropolitanCircle, summary, "metropolitan circles", {"code": circle["code"]},
                          {"cluster": cluster, "name_zh": circle["name_zh"], "name_en": circle["name_en"],
                           "lead_id": circle["lead"]})
            Jurisdiction.objects.filter(code__in=circle["members"]).exclude(circle=obj).update(circle=obj)
        for a, b in gba["adjacency"]:
            Jurisdiction.objects.get(code=a).neighbours.add(b)
        for body in gba["coordination_bodies"]:
            obj = _upsert(CoordinationBody, summary, "coordination bodies", {"code": body["code"]},
                          {"cluster": cluster, "kind": body["kind"], "name_zh": body["name_zh"],
                           "name_zh_hant": body.get("name_zh_hant", ""),
                           "name_en": body["name_en"], "convener_id": body.get("convener")})
            obj.members.add(*body["members"])
    if boundary_changed:
        boundary_index.invalidate()
    return summary


def load_body_officers(summary: LoadSummary, password: str) -> list[dict]:
    """The demo officers seated on coordination bodies (gba.json's `body_officers`), each
    with `password`; made again, or their password reset, on every call. Returns their rows."""
    from coordination.bodies import body_member_add
    from coordination.services import officer_create

    officers = json.loads((DEMO_DIR / "gba.json").read_text(encoding="utf-8")).get("body_officers", [])
    for officer in officers:
        user, _ = officer_create(username=officer["username"], jurisdiction_code=officer["jurisdiction"],
                                 role=officer["role"], password=password)
        city = Jurisdiction.objects.get(code=officer["jurisdiction"])
        name = stored_name(MEMBER_NAME, city.name_zh, city.name_en)
        if (user.first_name, user.last_name) != (name, ""):
            type(user).objects.filter(pk=user.pk).update(first_name=name, last_name="")
        summary.count("body officers", body_member_add(body=officer["body"], username=officer["username"]))
    return officers
