"""Placing incidents on the map: the cluster, the jurisdictions touched, the margin."""

import pytest
from django.utils import timezone

from config.errors import ValidationFailed
from coordination.geometry import boundary_index
from coordination.models import Cluster, Jurisdiction
from coordination.registry import reset_registry
from incidents.areas import Location, area_shape, cluster_holding, location_checked, place
from tests.conftest import DONGGUAN, HONG_KONG, SHENZHEN, ZHUHAI
from tests.incidents.conftest import (
    IN_BEIJING,
    IN_SHENZHEN,
    IN_ZHUHAI,
    OFF_HONG_KONG,
    SHENZHEN_DONGGUAN_AREA,
    box,
)

pytestmark = pytest.mark.django_db


def at(point: dict) -> Location:
    return Location(point["lat"], point["lon"])


def test_a_point_inside_zhuhai_touches_zhuhai_alone(gba):
    placement = place(reporter=ZHUHAI, clusters=("GBA",), location=at(IN_ZHUHAI), shape=None)
    assert placement.cluster == "GBA"
    assert placement.touched == {ZHUHAI}


def test_an_area_across_the_shenzhen_dongguan_border_touches_both(gba):
    placement = place(reporter=SHENZHEN, clusters=("GBA",), location=at(IN_SHENZHEN),
                      shape=area_shape(SHENZHEN_DONGGUAN_AREA))
    assert placement.touched == {SHENZHEN, DONGGUAN}


def test_a_circle_is_an_area_too(gba):
    # 8 km around a point on the Shenzhen side of the Hong Kong border reaches into Hong Kong.
    shape = area_shape({"circle": {"lat": 22.56, "lon": 114.12, "radius_m": 8000}})
    placement = place(reporter=SHENZHEN, clusters=("GBA",), location=at(IN_SHENZHEN), shape=shape)
    assert {SHENZHEN, HONG_KONG} <= placement.touched


def test_a_location_outside_the_cluster_by_more_than_the_margin_is_refused(gba):
    with pytest.raises(ValidationFailed) as refused:
        cluster_holding(reporter=SHENZHEN, clusters=("GBA",), location=at(IN_BEIJING))
    assert "location" in refused.value.errors


def test_a_location_within_the_margin_is_accepted_and_the_margin_is_a_setting(gba, settings):
    assert cluster_holding(reporter=SHENZHEN, clusters=("GBA",), location=at(OFF_HONG_KONG)) == "GBA"
    settings.INCIDENT_LOCATION_MARGIN_KM = 1
    with pytest.raises(ValidationFailed):
        cluster_holding(reporter=SHENZHEN, clusters=("GBA",), location=at(OFF_HONG_KONG))


def test_the_index_finds_jurisdictions_of_a_neighbouring_cluster(gba):
    """An area on the edge of two clusters touches both sides (the index covers every cluster)."""
    other = Cluster.objects.create(code="HNX", name_zh="测试城市群", name_en="Test cluster")
    # A made-up neighbour west of Zhaoqing (whose demo boundary reaches lon 111.38).
    neighbour = Jurisdiction.objects.create(
        code="451400", name_zh="邻市", name_en="Neighbour", level="prefecture",
        boundary=box(110.8, 23.2, 111.40, 23.8), boundary_updated_at=timezone.now(),
    )
    neighbour.clusters.add(other)
    boundary_index.invalidate()
    reset_registry()
    try:
        placement = place(reporter="441200", clusters=("GBA",), location=Location(23.5, 111.6),
                          shape=area_shape(box(111.2, 23.4, 111.7, 23.6)))
        assert placement.touched == {"441200", "451400"}
    finally:
        boundary_index.invalidate()


@pytest.mark.parametrize("lat, lon", [(91, 114), (-90.5, 114), (22, 181), (22, -180.01), (float("nan"), 1),
                                      (True, 114), ("22", 114)])
def test_a_location_out_of_range_is_refused(lat, lon):
    with pytest.raises(ValidationFailed) as refused:
        location_checked(lat=lat, lon=lon)
    assert "location" in refused.value.errors


def test_without_an_area_there_is_no_shape():
    assert area_shape(None) is None
