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
