"""The registry snapshot (coordination.registry): one place that builds the registry facts, one
reload rule, read without a query per call (docs/architecture.md, "The registry snapshot")."""

import zoneinfo

import pytest
from django.core.cache import cache

from coordination import registry as registry_module
from coordination.authentication import clusters_of
from coordination.models import Cluster, Jurisdiction
from coordination.registry import registry, reset_registry
from incidents.payloads import cluster_zone
from sharing.visibility import sharing_context
from tests.conftest import DONGGUAN, GBA_CODES, HONG_KONG, MACAO, SHENZHEN

pytestmark = pytest.mark.django_db


def test_it_holds_the_facts_every_layer_reads(gba):
    snapshot = registry()
    assert snapshot.members["GBA"] == frozenset(GBA_CODES)
    assert {HONG_KONG, MACAO} <= snapshot.cores["GBA"]
    assert "GBA" in snapshot.clusters_of[SHENZHEN]
    assert DONGGUAN in snapshot.neighbours[SHENZHEN]
    assert snapshot.names[SHENZHEN][1] == "Shenzhen"
    assert snapshot.clusters["GBA"].name_zh == "粤港澳大湾区"
    assert snapshot.zone("GBA") == zoneinfo.ZoneInfo(Cluster.objects.get(code="GBA").time_zone)
    assert snapshot.zone("NOPE") == snapshot.zone(None) == zoneinfo.ZoneInfo("Asia/Shanghai")
    assert snapshot.jurisdictions == frozenset(Jurisdiction.objects.values_list("code", flat=True))


def test_once_loaded_its_readers_ask_the_database_nothing(gba, django_assert_num_queries):
    registry()
    sharing_context()
    with django_assert_num_queries(0):
        for _ in range(3):
            assert clusters_of(SHENZHEN) == tuple(sorted(registry().clusters_of[SHENZHEN]))
            assert cluster_zone("GBA") is registry().clusters["GBA"].zone
            assert sharing_context().members is registry().members


def test_the_sharing_context_takes_a_new_registry_snapshot_at_once(gba):
    before = sharing_context()
    assert before.registry is registry()
    reset_registry()
    after = sharing_context()
    assert after.registry is registry() is not before.registry
    assert after.agreements == before.agreements


def test_an_edit_saved_through_the_models_is_seen_after_its_commit(gba, django_capture_on_commit_callbacks):
    assert registry().names[SHENZHEN][1] == "Shenzhen"
    version = cache.get(registry_module._VERSION_KEY, 0)
    with django_capture_on_commit_callbacks(execute=True):
        shenzhen = Jurisdiction.objects.get(code=SHENZHEN)
        shenzhen.name_en = "Shenzhen City"
        shenzhen.save()
    assert cache.get(registry_module._VERSION_KEY, 0) > version  # what the other processes compare
    assert registry().names[SHENZHEN][1] == "Shenzhen City"


def test_another_processs_edit_is_seen_at_the_next_version_check(gba, settings):
    """Another process bumped the shared version: this one reloads when it next checks, not
    before (it trusts its snapshot for SHARING_CONTEXT_CHECK_SECONDS)."""
    settings.SHARING_CONTEXT_CHECK_SECONDS = 3600
    first = registry()
    Jurisdiction.objects.filter(code=SHENZHEN).update(name_en="Shenzhen City")  # no signal: elsewhere
    cache.set(registry_module._VERSION_KEY, cache.get(registry_module._VERSION_KEY, 0) + 1, None)
    assert registry() is first
    settings.SHARING_CONTEXT_CHECK_SECONDS = 0
    assert registry().names[SHENZHEN][1] == "Shenzhen City"
    again = registry()
    assert again is registry()  # same version, not stale: the same snapshot


def test_it_is_reloaded_every_registry_cache_seconds_without_a_version_change(gba, settings):
    settings.SHARING_CONTEXT_CHECK_SECONDS = 0
    first = registry()
    assert registry() is first
    settings.REGISTRY_CACHE_SECONDS = 0
    assert registry() is not first
