"""Point → area: the deepest area whose boundary contains the point."""

from __future__ import annotations

import pytest

from tongxin.regions.choices import AreaLevel
from tongxin.regions.selectors import area_locate, area_locate_id, invalidate_locator
from tongxin.regions.services import area_upsert
from tongxin.testing import square

pytestmark = pytest.mark.django_db

L = AreaLevel


@pytest.fixture
def tree():
    city = area_upsert(code="150600", name="测试市", level=L.CITY, parent=None, boundary=square(107, 37, 4))
    a = area_upsert(code="150602", name="甲区", level=L.DISTRICT, parent=city, boundary=square(107, 37, 2))
    b = area_upsert(code="150603", name="乙区", level=L.DISTRICT, parent=city, boundary=square(109, 37, 2))
    town = area_upsert(code="150602001", name="甲街道", level=L.TOWN, parent=a, boundary=square(107, 37, 1))
    community = area_upsert(code="150602001001", name="甲社区", level=L.COMMUNITY, parent=town,
                            boundary=square(107, 37, 0.5))
    grid = area_upsert(code="150602001001G01", name="甲一网格", level=L.GRID, parent=community,
                       boundary=square(107, 37, 0.25))
    # A community without a boundary cannot be found by a point, and must not hide its parent.
    area_upsert(code="150603001001", name="无边界社区", level=L.COMMUNITY, parent=b)
    invalidate_locator()
    return {"city": city, "a": a, "b": b, "town": town, "community": community, "grid": grid}


@pytest.mark.parametrize(("lng", "lat", "key"), [
    (107.1, 37.1, "grid"),
    (107.4, 37.4, "community"),
    (107.8, 37.8, "town"),
    (108.5, 38.5, "a"),
    (109.5, 37.5, "b"),
    (110.0, 40.0, "city"),
])
def test_the_deepest_area_wins(tree, lng, lat, key):
    assert area_locate(lng, lat) == tree[key]
    assert area_locate_id(lng, lat) == tree[key].pk


def test_outside_every_area(tree):
    assert area_locate(120.0, 30.0) is None
    assert area_locate(-0.1, 51.5) is None


def test_no_areas_with_boundaries():
    area_upsert(code="150600", name="测试市", level=L.CITY, parent=None)
    invalidate_locator()
    assert area_locate(107.1, 37.1) is None


def test_the_index_follows_an_import_once_invalidated(tree, django_capture_on_commit_callbacks):
    assert area_locate(111.5, 37.5) is None
    with django_capture_on_commit_callbacks(execute=True):
        c = area_upsert(code="150604", name="丙区", level=L.DISTRICT, parent=tree["city"], boundary=square(111, 37, 1))
    # area_upsert drops the cached index when its transaction commits.
    assert area_locate(111.5, 37.5) == c


def test_a_boundary_with_a_hole(tree):
    ring = [[108, 38], [109, 38], [109, 39], [108, 39], [108, 38]]
    hole = [[108.4, 38.4], [108.6, 38.4], [108.6, 38.6], [108.4, 38.6], [108.4, 38.4]]
    donut = area_upsert(code="150602009", name="环形镇", level=L.TOWN, parent=tree["a"],
                        boundary={"type": "Polygon", "coordinates": [ring, hole]})
    invalidate_locator()
    assert area_locate(108.2, 38.2) == donut
    assert area_locate(108.5, 38.5) == tree["a"]  # in the hole: the district


# --- the path, the datums, the batch, the command, the API -----------------------------------------------

def test_locate_path_from_the_city_down(tree):
    from tongxin.regions.selectors import area_locate_path

    path = area_locate_path(107.1, 37.1)
    assert [(p["code"], p["level"], p["depth"]) for p in path] == [
        ("150600", "city", 0), ("150602", "district", 1), ("150602001", "town", 2),
        ("150602001001", "community", 3), ("150602001001G01", "grid", 4)]
    assert path[-1]["name"] == "甲一网格"
    assert [p["code"] for p in area_locate_path(109.5, 37.5)] == ["150600", "150603"]
    assert area_locate_path(120.0, 30.0) == []


def test_locate_converts_the_datum(tree):
    from tongxin.core.datums import from_wgs84
    from tongxin.regions.selectors import area_locate_path

    # Just inside the grid's north-east corner in WGS-84: the same place given in GCJ-02 or BD-09 must not
    # be taken for a WGS-84 point (which would be some 500 m off, outside the grid).
    lng, lat = 107.2495, 37.2495
    for datum in ("gcj02", "bd09"):
        shifted = from_wgs84(lng, lat, datum)
        assert area_locate_id(*shifted, datum=datum) == tree["grid"].pk
        assert area_locate_id(*shifted) != tree["grid"].pk
        assert area_locate_path(*shifted, datum=datum)[-1]["code"] == "150602001001G01"


def test_many_agrees_with_single(tree):
    import numpy as np

    from tongxin.regions.selectors import area_locate_many

    rng = np.random.default_rng(7)
    points = list(zip(rng.uniform(106.5, 111.5, 2000).tolist(), rng.uniform(36.5, 41.5, 2000).tolist(), strict=True))
    assert area_locate_many(points) == [area_locate_id(x, y) for x, y in points]
    assert area_locate_many([]) == []


def test_geo_locate_command(tree):
    import io
    import json

    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = io.StringIO()
    call_command("geo", "locate", "107.1", "37.1", stdout=out)
    body = json.loads(out.getvalue())
    assert [p["code"] for p in body["path"]][-1] == "150602001001G01" and body["crs"] == "wgs84"
    with pytest.raises(CommandError, match="不在任何区域内"):
        call_command("geo", "locate", "120", "30", stdout=io.StringIO())
    with pytest.raises(CommandError, match="无效"):
        call_command("geo", "locate", "200", "30", stdout=io.StringIO())


def test_locate_api(tree):
    from django.test import Client

    from tongxin.core.datums import wgs84_to_gcj02
    from tongxin.testing import make_user

    client = Client()
    client.force_login(make_user("someone"))
    body = client.get("/api/v1/areas/locate", {"lng": 107.1, "lat": 37.1}).json()
    assert body["area"]["code"] == "150602001001G01" and len(body["path"]) == 5
    gcj = wgs84_to_gcj02(107.1, 37.1)
    body = client.get("/api/v1/areas/locate", {"lng": gcj[0], "lat": gcj[1], "crs": "gcj02"}).json()
    assert body["area"]["code"] == "150602001001G01"
    assert body["lng"] == pytest.approx(107.1, abs=1e-6)
    outside = client.get("/api/v1/areas/locate", {"lng": 120, "lat": 30})
    assert outside.status_code == 404 and outside.json()["code"] == "outside_areas"
    bad = client.get("/api/v1/areas/locate", {"lng": 107, "lat": 37, "crs": "epsg3857"})
    assert bad.status_code == 422 and "crs" in bad.json()["fields"]
    assert Client().get("/api/v1/areas/locate", {"lng": 107.1, "lat": 37.1}).status_code == 401


# --- the index against the exact test ------------------------------------------------------------------

def test_the_cell_index_matches_the_exact_test_on_irregular_shapes():
    """Voronoi grids (irregular, many vertices along shared edges) inside an irregular district: the
    microsecond lookup must give what shapely's exact contains gives, point for point."""
    import numpy as np
    import shapely
    from shapely.geometry import Point, mapping

    from tongxin.regions.locator import build_locator

    rng = np.random.default_rng(3)
    district = shapely.Polygon([(109.6, 39.5), (110.0, 39.45), (110.1, 39.8), (109.95, 39.7), (109.8, 39.9),
                                (109.55, 39.75)]).segmentize(0.002)
    seeds = shapely.multipoints(np.column_stack([rng.uniform(109.55, 110.1, 300), rng.uniform(39.45, 39.9, 300)]))
    cells = [c.intersection(district) for c in shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=district))]
    cells = [c for c in cells if c.area > 0]
    # The district is /1/, its grids /1/pk/; three grids are left out, so points there fall back to it.
    entries = [(1, "/1/", district)] + [(pk, f"/1/{pk}/", c) for pk, c in enumerate(cells, start=2)]
    del entries[5:8]
    locator = build_locator([(pk, path, mapping(g)) for pk, path, g in entries])
    assert locator.cell_count > 0 and len(locator.inner) == 1
    xs, ys = rng.uniform(109.5, 110.15, 5000), rng.uniform(39.4, 39.95, 5000)
    mismatches = fell_back = 0
    for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
        point = Point(x, y)
        want = None
        for pk, path, g in entries:
            if g.contains(point) and (want is None or path.count("/") > want[1]):
                want = (pk, path.count("/"))
        got = locator.locate(x, y)
        mismatches += got != (want[0] if want else None)
        fell_back += got == 1
    assert mismatches == 0
    assert fell_back > 0  # the gaps were exercised
    assert locator.locate_many(xs, ys) == [locator.locate(x, y) for x, y in zip(xs.tolist(), ys.tolist(), strict=True)]
