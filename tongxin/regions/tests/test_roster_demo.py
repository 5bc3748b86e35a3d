"""The demo's roster (tongxin/demo/places.py ``seed_grid_roster``), on a small tree."""

from __future__ import annotations

import pytest
from shapely.geometry import shape

from tongxin.demo.places import GridInfo, Places, seed_grid_roster
from tongxin.regions.choices import AreaLevel, GridDuty
from tongxin.regions.models import GridMember
from tongxin.regions.selectors import grid_roster, grids_served_by
from tongxin.regions.services import area_upsert
from tongxin.testing import make_user, square

pytestmark = pytest.mark.django_db
L = AreaLevel


@pytest.fixture
def places():
    city = area_upsert(code="150600", name="测试市", level=L.CITY, parent=None, boundary=square(107, 37, 4))
    district = area_upsert(code="150603", name="乙区", level=L.DISTRICT, parent=city, boundary=square(107, 37, 2))
    town = area_upsert(code="150603001", name="乙街道", level=L.TOWN, parent=district, boundary=square(107, 37, 1))
    result = Places(city=city, districts={"150603": district}, towns={"150603001": town})
    for c in range(2):
        community = area_upsert(code=f"150603001{c + 1:03d}", name=f"社区{c}", level=L.COMMUNITY, parent=town,
                                boundary=square(107 + c * 0.5, 37, 0.5))
        result.communities.append(community)
        for g in range(3):
            grid = area_upsert(code=f"{community.code}G{g + 1:02d}", name=f"社区{c}第{g}网格", level=L.GRID,
                               parent=community, boundary=square(107 + c * 0.5, 37 + g * 0.1, 0.1))
            result.grids.append(GridInfo(area=grid, geom=shape(grid.boundary), weight=1.0, district_code="150603",
                                         town_code="150603001", urban=True, address_stem="乙区乙街道"))
    return result


def test_every_grid_gets_a_full_roster_tied_to_the_grid_worker(places):
    worker = make_user("grid", display_name="网格员 赵一")
    first = places.grids[0].area
    added = seed_grid_roster(places, {first.pk: worker})
    assert added == GridMember.objects.count() >= 6 * 4
    for info in places.grids:
        duties = [m.duty for m in grid_roster(info.area)]
        assert duties[:3] == [GridDuty.LEADER, GridDuty.OFFICER, GridDuty.FULL_TIME]
        assert 1 <= duties.count(GridDuty.PART_TIME) <= 3
    full_time = next(m for m in grid_roster(first) if m.duty == GridDuty.FULL_TIME)
    assert full_time.user == worker and full_time.name == "赵一"
    assert [g.pk for g in grids_served_by(worker)] == [first.pk]
    # One leader serves all the grids of a community (a person can serve several grids).
    leaders = {m.name for info in places.grids[:3] for m in grid_roster(info.area) if m.duty == GridDuty.LEADER}
    assert len(leaders) == 1
    assert all(len(m.phone) == 11 and m.phone.startswith("12") for m in GridMember.objects.all())


def test_seeding_twice_adds_nothing(places):
    seed_grid_roster(places, {})
    before = list(GridMember.objects.values_list("grid_id", "name", "phone", "duty"))
    assert seed_grid_roster(places, {}) == 0
    assert list(GridMember.objects.values_list("grid_id", "name", "phone", "duty")) == before
