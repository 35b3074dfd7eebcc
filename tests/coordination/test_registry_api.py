import pytest

from tests.conftest import DONGGUAN, GBA_CODES, HONG_KONG, SHENZHEN

pytestmark = pytest.mark.django_db


def test_it_lists_clusters_with_members_circles_and_bodies(api_as, django_assert_max_num_queries):
    client = api_as(SHENZHEN)
    client.get("/api/v1/clusters/")  # warm the token cache: the count below is the list's own
    with django_assert_max_num_queries(7):
        # count, page of clusters, their members, circles, circle members, bodies, body members
        response = client.get("/api/v1/clusters/?page_size=50")
    assert response.status_code == 200
    gba = next(c for c in response.json()["results"] if c["code"] == "GBA")
    assert sorted(gba["members"]) == sorted(GBA_CODES)
    assert sorted(gba["core_cities"]) == ["440100", "440300", "810000", "820000"]
    assert {c["code"] for c in gba["circles"]} == {"GFZ", "SGH", "ZZJ"}
    assert any(b["kind"] == "committee" for b in gba["bodies"])


def test_it_shows_a_cluster_by_code(api_as):
    response = api_as(SHENZHEN).get("/api/v1/clusters/GBA/")
    assert response.status_code == 200
    assert response.json()["name_zh"] == "粤港澳大湾区"


def test_an_unknown_cluster_is_a_problem_404(api_as):
    response = api_as(SHENZHEN).get("/api/v1/clusters/NOPE/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_it_shows_a_jurisdiction_with_neighbours(api_as):
    response = api_as(SHENZHEN).get(f"/api/v1/jurisdictions/{SHENZHEN}/")
    body = response.json()
    assert body["name_en"] == "Shenzhen"
    assert body["neighbours"] == sorted([DONGGUAN, "441300", HONG_KONG])
    assert body["boundary"]["type"] in ("Polygon", "MultiPolygon")
    assert body["clusters"] == ["GBA"]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("cluster=GBA&core=true", ["440100", "440300", "810000", "820000"]),
        ("cluster=GBA&level=sar", ["810000", "820000"]),
        ("level=province", ["440000"]),
    ],
)
def test_it_filters_jurisdictions(api_as, query, expected):
    response = api_as(SHENZHEN).get(f"/api/v1/jurisdictions/?{query}")
    assert [j["code"] for j in response.json()["results"]] == expected


def test_jurisdiction_list_takes_a_constant_number_of_queries(api_as, django_assert_num_queries):
    client = api_as(SHENZHEN)
    client.get("/api/v1/jurisdictions/")
    for size in (2, 12):
        # count, page, clusters of the page, neighbours of the page
        with django_assert_num_queries(4):
            assert client.get(f"/api/v1/jurisdictions/?page_size={size}").status_code == 200


@pytest.mark.parametrize("query, field", [("cluster=NOPE", "cluster"), ("level=planet", "level"),
                                          ("core=maybe", "core")])
def test_bad_filters_are_named_in_a_400(api_as, query, field):
    response = api_as(SHENZHEN).get(f"/api/v1/jurisdictions/?{query}")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_an_unknown_jurisdiction_is_a_404(api_as):
    assert api_as(SHENZHEN).get("/api/v1/jurisdictions/999999/").status_code == 404
