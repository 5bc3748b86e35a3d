"""The area tree: materialised paths, subtree queries, moving an area, re-import by code, level order."""

from __future__ import annotations

import pytest

from tongxin.core.errors import ValidationFailed
from tongxin.regions.choices import AreaLevel
from tongxin.regions.models import Area
from tongxin.regions.selectors import area_ancestor_ids, area_ancestors, area_get_by_code, area_root
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
    community = area_upsert(code="150602001001", name="甲社区", level=L.COMMUNITY, parent=town)
    grid = area_upsert(code="150602001001G01", name="甲一网格", level=L.GRID, parent=community)
    return {"city": city, "a": a, "b": b, "town": town, "community": community, "grid": grid}


def fresh(area):
    return Area.objects.get(pk=area.pk)


def test_paths_and_depths(tree):
    city, a, town, grid = tree["city"], tree["a"], tree["town"], tree["grid"]
    assert city.path == f"/{city.pk}/" and city.depth == 0
    assert a.path == f"/{city.pk}/{a.pk}/" and a.depth == 1
    assert town.path == f"{a.path}{town.pk}/" and town.depth == 2
    assert grid.path == f"{tree['community'].path}{grid.pk}/" and grid.depth == 4
    assert area_ancestor_ids(grid) == [city.pk, a.pk, town.pk, tree["community"].pk, grid.pk]
    assert [x.code for x in area_ancestors(grid)] == ["150600", "150602", "150602001", "150602001001", "150602001001G01"]
    assert area_root() == city
    assert area_get_by_code("150603") == tree["b"] and area_get_by_code("999") is None
    assert city.contains(grid) and not tree["b"].contains(grid)
    assert grid.level_index == 4


def test_subtree_is_one_prefix_query(tree, django_assert_num_queries):
    with django_assert_num_queries(1):
        codes = [x.code for x in Area.objects.subtree(tree["a"])]
    assert codes == ["150602", "150602001", "150602001001", "150602001001G01"]
    assert [x.code for x in Area.objects.subtree(tree["b"])] == ["150603"]
    assert Area.objects.subtree(tree["city"]).count() == 6


def test_pk_prefixes_do_not_leak_into_siblings(tree):
    # Areas /1/2/ and /1/23/ must not be confused: paths end with a slash.
    siblings = [area_upsert(code=f"1506{i:02d}", name=f"区{i}", level=L.DISTRICT, parent=tree["city"])
                for i in range(4, 30)]
    for area in [tree["a"], tree["b"], *siblings]:
        sub = list(Area.objects.subtree(area).values_list("pk", flat=True))
        assert area.pk in sub
        assert all(path.startswith(area.path) for path in Area.objects.filter(pk__in=sub).values_list("path", flat=True))
        assert not any(s.pk in sub for s in siblings if s.pk != area.pk)


def test_moving_an_area_reroots_its_subtree(tree):
    town = area_upsert(code="150602001", name="甲街道", level=L.TOWN, parent=tree["b"])
    assert town.pk == tree["town"].pk
    b = tree["b"]
    community, grid = fresh(tree["community"]), fresh(tree["grid"])
    assert fresh(town).path == f"{b.path}{town.pk}/"
    assert community.path == f"{b.path}{town.pk}/{community.pk}/" and community.depth == 3
    assert grid.path == f"{community.path}{grid.pk}/" and grid.depth == 4
    assert [x.code for x in Area.objects.subtree(tree["a"])] == ["150602"]
    assert {x.code for x in Area.objects.subtree(b)} == {"150603", "150602001", "150602001001", "150602001001G01"}
    assert fresh(community).parent_id == town.pk  # parents are untouched: only the town moved


def test_reimport_by_code_keeps_the_primary_key_and_the_boundary(tree):
    before = fresh(tree["a"])
    again = area_upsert(code="150602", name="甲区（新名）", level=L.DISTRICT, parent=tree["city"])
    after = fresh(again)
    assert after.pk == before.pk and after.name == "甲区（新名）"
    assert after.path == before.path
    assert after.boundary == before.boundary and after.min_lng == 107  # no boundary given: kept
    cleared = fresh(area_upsert(code="150602", name="甲区", level=L.DISTRICT, parent=tree["city"], keep_boundary=False))
    assert cleared.boundary is None and cleared.min_lng is None
    assert Area.objects.count() == 6


def test_boundary_summary(tree):
    a = fresh(tree["a"])
    assert (a.min_lng, a.min_lat, a.max_lng, a.max_lat) == (107, 37, 109, 39)
    assert 107 < a.center_lng < 109 and 37 < a.center_lat < 39


@pytest.mark.parametrize(("level", "parent_key", "field"), [
    (L.DISTRICT, None, "parent"),  # only the city may have no parent
    (L.CITY, "city", "level"),
    (L.DISTRICT, "a", "level"),  # same level
    (L.DISTRICT, "town", "level"),  # a district under a town
    (L.TOWN, "grid", "level"),
    ("province", "city", "level"),
])
def test_level_order_is_enforced(tree, level, parent_key, field):
    before = list(Area.objects.values_list("pk", "path", "parent_id"))
    with pytest.raises(ValidationFailed) as caught:
        area_upsert(code="X1", name="错误", level=level, parent=tree[parent_key] if parent_key else None)
    assert field in caught.value.fields
    assert list(Area.objects.values_list("pk", "path", "parent_id")) == before


def test_moving_under_its_own_descendant_is_refused_by_the_levels(tree):
    with pytest.raises(ValidationFailed):
        area_upsert(code="150602", name="甲区", level=L.DISTRICT, parent=tree["grid"])
    assert fresh(tree["a"]).parent_id == tree["city"].pk


def test_skipping_a_level_is_allowed(tree):
    # Some cities have towns directly under the city (no district level): deeper is enough.
    town = area_upsert(code="150600100", name="直管镇", level=L.TOWN, parent=tree["city"])
    assert town.depth == 1 and town.path == f"{tree['city'].path}{town.pk}/"
