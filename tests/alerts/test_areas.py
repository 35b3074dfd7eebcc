"""Affected jurisdictions from an alert's areas: GB/T 2260 geocodes, polygons and circles."""

import pytest

from incidents.alerts.areas import affected_jurisdictions, is_gb_t_2260, jurisdictions_for_codes
from incidents.alerts.cap import Area, ValuePair
from tests.alerts.capdocs import cap_document, circle_area, geocoded, post_cap, zhuhai_info
from tests.alerts.support import fixture_bytes
from tests.conftest import (
    DONGGUAN,
    FOSHAN,
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

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("zhuhai_senders")]

GUANGDONG_CITIES = {GUANGZHOU, SHENZHEN, ZHUHAI, FOSHAN, JIANGMEN, ZHAOQING, HUIZHOU, DONGGUAN, ZHONGSHAN}


def affected_by(api_as, *areas: Area) -> list[str]:
    response = post_cap(api_as(ZHUHAI), cap_document(infos=[zhuhai_info(areas=list(areas))]))
    assert response.status_code == 201, response.content
    return response.json()["affected_jurisdictions"]


def test_the_geocoded_zhuhai_typhoon_warning_affects_zhuhai_zhongshan_and_macao(api_as):
    response = post_cap(api_as(ZHUHAI), fixture_bytes("zhuhai-typhoon-warning-geocoded.xml"))

    assert response.status_code == 201
    assert response.json()["affected_jurisdictions"] == [ZHUHAI, ZHONGSHAN, MACAO]


def test_the_zhuhai_warning_with_shapes_affects_at_least_its_geocoded_places(api_as):
    body = post_cap(api_as(ZHUHAI), fixture_bytes("zhuhai-typhoon-warning.xml")).json()
    assert {ZHUHAI, ZHONGSHAN, MACAO} <= set(body["affected_jurisdictions"])


@pytest.mark.parametrize("value_name", ["GB/T 2260", "GB2260", "GBT2260", "GB/T2260", "gb/t 2260", " GB 2260 "])
def test_the_documented_value_names_are_read_as_gb_t_2260(api_as, value_name):
    assert is_gb_t_2260(value_name)
    assert affected_by(api_as, geocoded(MACAO, value_name=value_name)) == [MACAO]


@pytest.mark.parametrize("value_name", ["SAME", "FIPS6", "ISO 3166-2", "GB/T 2659", "adcode", ""])
def test_other_geocodes_place_nothing(api_as, value_name):
    assert affected_by(api_as, geocoded(MACAO, value_name=value_name)) == []


@pytest.mark.parametrize(
    "code, expected",
    [
        ("440402", {ZHUHAI}),  # 香洲区: a district goes to its city
        ("440402001", {ZHUHAI}),  # a township's statistical code begins with its district's
        ("440402001001", {ZHUHAI}),  # a village's too
        ("440000", {"440000"} | GUANGDONG_CITIES),  # a province stands for its cities
        ("445100", {"440000"}),  # 潮州市 is not registered: its province is
        ("110101", set()),  # 东城区, Beijing: nothing registered on the way up
        ("44040", set()),
        ("4404020", set()),
        ("044000", set()),
        ("珠海", set()),
    ],
)
def test_codes_go_up_the_hierarchy_they_spell(gba, code, expected):
    from incidents.alerts.areas import division_codes

    assert jurisdictions_for_codes(division_codes([geocoded(code)])) == expected


def test_a_circle_of_radius_zero_is_a_point(gba):
    assert affected_jurisdictions([circle_area(22.27, 113.57, 0)]) == {ZHUHAI}


def test_a_circle_takes_in_every_jurisdiction_it_reaches(gba):
    assert affected_jurisdictions([circle_area(22.35, 113.5, 40)]) >= {ZHUHAI, ZHONGSHAN, MACAO}
    assert affected_jurisdictions([circle_area(22.27, 113.57, 0.5)]) == {ZHUHAI}


def test_a_polygon_is_read_in_caps_lat_lon_order(gba):
    around_macao = [(22.11, 113.53), (22.11, 113.6), (22.2, 113.6), (22.2, 113.53), (22.11, 113.53)]
    assert MACAO in affected_jurisdictions([Area(area_desc="Macao", polygons=[around_macao])])
    # The same numbers taken as lon,lat pairs put the latitude at 113°: no place on Earth.
    swapped = [(lon, lat) for lat, lon in around_macao]
    assert affected_jurisdictions([Area(area_desc="nowhere", polygons=[swapped])]) == set()


def test_an_open_or_self_crossing_ring_still_places_the_alert(gba):
    open_ring = [(22.11, 113.53), (22.11, 113.6), (22.2, 113.6), (22.2, 113.53)]
    bow_tie = [(22.11, 113.53), (22.2, 113.6), (22.11, 113.6), (22.2, 113.53), (22.11, 113.53)]
    assert MACAO in affected_jurisdictions([Area(area_desc="open", polygons=[open_ring])])
    assert MACAO in affected_jurisdictions([Area(area_desc="bow tie", polygons=[bow_tie])])


@pytest.mark.parametrize(
    "area",
    [
        Area(area_desc="off the globe", polygons=[[(95, 200), (96, 201), (97, 199), (95, 200)]]),
        Area(area_desc="a line", polygons=[[(22.1, 113.5), (22.2, 113.6), (22.1, 113.5)]]),
        Area(area_desc="one point", polygons=[[(22.1, 113.5)]]),
        circle_area(91, 113.5, 10),
        circle_area(22.1, 113.5, -1),
    ],
    ids=["off-the-globe", "a-line", "one-point", "circle-off-the-globe", "negative-radius"],
)
def test_an_unusable_shape_is_set_aside(gba, area):
    assert affected_jurisdictions([area]) == set()
    assert affected_jurisdictions([area, geocoded(MACAO)]) == {MACAO}


def test_geocodes_and_shapes_add_up(gba):
    areas = [geocoded(HONG_KONG), circle_area(22.27, 113.57, 0), Area(area_desc="x", geocodes=[
        ValuePair("GB/T 2260", "442000")])]
    assert affected_jurisdictions(areas) == {HONG_KONG, ZHUHAI, ZHONGSHAN}
