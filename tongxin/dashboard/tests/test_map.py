"""The area map's data: counts per child area equal a direct count of the orders, the drill-down goes one
level at a time, the outlines are simplified and cached, the points are capped and sampled while the heat
counts every order, and the endpoints answer 404 outside the viewer's areas."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse

from tongxin.accounts.choices import Role
from tongxin.accounts.services import role_grant
from tongxin.dashboard.maps import (
    map_children,
    map_data,
    map_geometry,
    map_grid_numbers,
    map_numbers,
    map_points,
    map_scope,
)
from tongxin.dashboard.rollups import fold
from tongxin.dashboard.selectors import local_midnight
from tongxin.testing import make_user
from tongxin.web.tests.conftest import login
from tongxin.workorders import services as s
from tongxin.workorders.choices import NOT_COUNTED, WITH_DEPARTMENT
from tongxin.workorders.models import WorkOrder
from tongxin.workorders.tests.engine_helpers import at, time_travel

pytestmark = pytest.mark.django_db

# Points inside the test world's squares: grid A (107–107.25, 37–37.25), town B (109–110, 37–38), and one
# in district B outside its town.
PLACES = [(37.1, 107.1), (37.2, 107.05), (37.5, 109.5), (37.6, 109.2), (38.5, 110.5)]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def located(world, city):
    """The dashboard's ``city`` orders (by area code, no point) plus 10 orders with a location, half of
    them dispatched; the clock stays at 30 November 2026, 18:00 (inside ``city``'s time travel)."""
    u = world.user
    orders = []
    for i in range(10):
        lat, lng = PLACES[i % len(PLACES)]
        order = s.work_order_create(actor=u("operator"), channel="app", kind="complaint", content=f"located{i}",
                                    category_code="C02", lat=lat, lng=lng, citizen_phone=f"1360000{i:04d}")
        if i % 2 == 0:
            s.work_order_dispatch(order_id=order.pk, actor=u("dispatcher"))
        orders.append(order)
    fold()
    return orders


def _direct(area, *, start=None, end=None, overdue_at=None) -> int:
    qs = WorkOrder.objects.filter(area_path__startswith=area.path).exclude(status__in=list(NOT_COUNTED))
    if start:
        qs = qs.filter(accepted_at__gte=local_midnight(start), accepted_at__lt=local_midnight(end))
    if overdue_at:
        qs = qs.filter(status__in=list(WITH_DEPARTMENT), due_at__lt=overdue_at)
    return qs.count()


def test_counts_per_child_area_equal_a_direct_count(world, located):
    scope = map_scope(area=world.city, period_kind="month")
    numbers = map_numbers(scope)
    by_code = {r["code"]: r for r in numbers["children"]}
    assert set(by_code) == {"150602", "150603"}
    period = scope.period
    for area in (world.district_a, world.district_b):
        assert by_code[area.code]["accepted"] == _direct(area, start=period.start, end=period.end) > 0
        assert by_code[area.code]["overdue"] == 0
    assert numbers["total"]["accepted"] == _direct(world.city, start=period.start, end=period.end) == 16
    assert numbers["max"]["accepted"] == max(r["accepted"] for r in numbers["children"])
    # Three weeks later the dispatched orders are past their deadline: overdue per area, counted now.
    later = at(2026, 12, 21, 10, 0)
    with time_travel(later):
        fold()
        numbers = map_numbers(map_scope(area=world.city, period_kind="month"))
    by_code = {r["code"]: r for r in numbers["children"]}
    for area in (world.district_a, world.district_b):
        assert by_code[area.code]["overdue"] == _direct(area, overdue_at=later)
    assert numbers["total"]["overdue"] == _direct(world.city, overdue_at=later) > 0
    assert numbers["children"][0]["accepted"] == 0  # December: nothing accepted yet


def test_drill_down_goes_one_level_at_a_time(world, located):
    assert [a.code for a in map_children(world.city)] == ["150602", "150603"]
    assert [a.code for a in map_children(world.district_a)] == ["150602001"]
    assert [a.code for a in map_children(world.town_a)] == ["150602001001"]
    assert map_children(world.grid_a) == []
    data = map_data(actor=world.user("leader"), scope=map_scope(area=world.district_b), crumbs=[world.city, world.district_b])
    assert [f["properties"]["code"] for f in data["geo"]["features"]] == ["150603001"]
    assert data["geo"]["frame"]["properties"]["code"] == "150603"
    assert [r["code"] for r in data["children"]] == ["150603001"]
    assert data["children"][0]["drill"] is True
    # A grid has no children: its own outline is drawn, nothing to drill into.
    grid = map_data(actor=world.user("leader"), scope=map_scope(area=world.grid_a), crumbs=[])
    assert [f["properties"]["code"] for f in grid["geo"]["features"]] == ["150602001001G01"]
    assert grid["children"] == []


def test_outlines_are_simplified_rounded_and_cached(world, django_assert_num_queries):
    from tongxin.regions.services import area_upsert

    # A wiggly town outline: 400 vertices that the city-level tolerance (4° / 600) flattens.
    ring = [[109 + i / 400, 37 + (0.0001 if i % 2 else 0)] for i in range(401)]
    ring += [[110, 38], [109, 38], [109, 37]]
    area_upsert(code="150603002", name="乙镇", level="town", parent=world.district_b,
                boundary={"type": "Polygon", "coordinates": [ring]})
    geo = map_geometry(world.district_b)
    town = next(f for f in geo["features"] if f["properties"]["code"] == "150603002")
    assert len(town["geometry"]["coordinates"][0]) < 20
    assert all(len(str(c).split(".")[-1]) <= 5 for pt in town["geometry"]["coordinates"][0] for c in pt)
    with django_assert_num_queries(0):
        assert map_geometry(world.district_b) == geo


def test_points_are_capped_and_sampled_heat_counts_everything(world, located):
    scope = map_scope(area=world.city, period_kind="month")
    full = map_points(actor=world.user("leader"), scope=scope)
    assert full["total"] == full["shown"] == 10 and not full["sampled"]
    assert sum(c[2] for c in full["heat"]["cells"]) == 10
    assert {(p[0], p[1]) for p in full["points"]} == set(PLACES)
    capped = map_points(actor=world.user("leader"), scope=scope, max_points=3)
    assert capped["total"] == 10 and capped["sampled"] and 0 < capped["shown"] <= 3
    assert sum(c[2] for c in capped["heat"]["cells"]) == 10  # the heat is never sampled
    # A town: only the orders located inside it.
    town = map_points(actor=world.user("leader"), scope=map_scope(area=world.town_b, period_kind="month"))
    assert town["total"] == 4 and all(109 <= p[1] <= 110 for p in town["points"])
    later = at(2026, 12, 21, 10, 0)
    with time_travel(later):
        year = map_points(actor=world.user("leader"), scope=map_scope(area=world.city, period_kind="year"))
    assert year["overdue"] == sum(p[2] for p in year["points"]) == 5


def test_points_hold_only_orders_the_viewer_may_see(world, located):
    # A district-B dispatcher sees the map of district B; a district-A order never shows there.
    scope = map_scope(area=world.district_b, period_kind="month")
    data = map_points(actor=world.user("dispatcher_b"), scope=scope)
    assert data["total"] == 6 and all(p[1] >= 109 for p in data["points"])


def test_grid_numbers_feed_the_panel_when_the_grids_app_provides_them(world, located):
    selectors = pytest.importorskip("tongxin.grids.selectors")
    if not hasattr(selectors, "grid_numbers"):
        pytest.skip("tongxin.grids.selectors.grid_numbers not there yet")
    scope = map_scope(area=world.city, period_kind="month")
    children = map_children(world.city)
    grid = map_grid_numbers(scope, children)
    assert grid is not None
    direct = selectors.grid_numbers(areas=[world.city, *children], start=local_midnight(scope.period.start),
                                    end=local_midnight(scope.period.end))
    assert grid["total"]["raised"] == direct[world.city.pk].raised
    assert grid["children"]["150602"]["raised"] == direct[world.district_a.pk].raised
    assert set(grid["children"]) == {"150602", "150603"}


def test_endpoints_answer_404_outside_the_viewers_areas(client, world, located):
    town_leader = make_user("town_leader_a")
    role_grant(user=town_leader, role=Role.LEADER, area=world.town_a, department=None)
    client.force_login(town_leader)
    for name in ("dashboard:map", "dashboard:map_data", "dashboard:map_points"):
        assert client.get(reverse(name), {"area": "150603001"}).status_code == 404  # another town
        assert client.get(reverse(name), {"area": "150602"}).status_code == 404  # the district above
        assert client.get(reverse(name), {"area": "150602001"}).status_code == 200
        assert client.get(reverse(name), {"area": "150602001001G01"}).status_code == 200  # below: fine
        assert client.get(reverse(name), {"area": "nowhere"}).status_code == 404
    # Without an area the town leader's own town is the top of the map.
    assert client.get(reverse("dashboard:map_data")).json()["area"]["code"] == "150602001"
    login(client, "handler")  # a department's handler has no dashboard
    assert client.get(reverse("dashboard:map_data"), {"area": "150602"}).status_code == 404
    client.logout()
    assert client.get(reverse("dashboard:map_data")).status_code == 302


def test_the_data_endpoint_is_compact_and_its_queries_are_bounded(client, world, located, django_assert_max_num_queries):
    login(client, "leader")
    with django_assert_max_num_queries(40):
        response = client.get(reverse("dashboard:map_data"), {"period": "month"})
    data = response.json()
    assert data["area"]["code"] == "150600" and [c["name"] for c in data["crumbs"]] == ["测试市"]
    assert {c["code"]: c["accepted"] for c in data["children"]} == {"150602": 8, "150603": 8}
    assert b": " not in response.content  # compact separators
    points = client.get(reverse("dashboard:map_points"), {"period": "month"}).json()
    assert points["total"] == 10 and len(points["points"][0]) == 4
    page = client.get(reverse("dashboard:map"), {"area": "150603", "period": "week"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "区域地图" in html and "乙街道" in html and 'id="map-config"' in html
    assert "vendor/leaflet.js" in html and "//unpkg" not in html and "cdn" not in html.lower()


def _map_config(client) -> dict:
    page = client.get(reverse("dashboard:map")).content.decode()
    found = re.search(r'<script id="map-config" type="application/json">(.*?)</script>', page)
    assert found, "no map-config on the page"
    return json.loads(found.group(1))


def test_a_configured_tile_layer_reaches_the_page(client, world, settings, monkeypatch):
    monkeypatch.delenv("TONGXIN_MAP_TILE_URL", raising=False)
    login(client, "leader")
    assert _map_config(client)["tiles"] == {"url": "", "attribution": ""}  # no tiles: nothing from outside
    url = "https://t0.tianditu.gov.cn/vec_w/wmts?tk=KEY&x={x}&y={y}&l={z}"
    settings.TONGXIN_MAP_TILE_URL = url
    settings.TONGXIN_MAP_TILE_ATTRIBUTION = "天地图"
    assert _map_config(client)["tiles"] == {"url": url, "attribution": "天地图"}


def test_period_changes_the_counts(world, located):
    assert map_numbers(map_scope(area=world.city, period_kind="day"))["total"]["accepted"] == 16
    with time_travel(at(2026, 11, 30, 18, 0) + timedelta(days=1)):
        fold()
        day = map_numbers(map_scope(area=world.city, period_kind="day"))
        month = map_numbers(map_scope(area=world.city, period_kind="month"))
    assert day["total"]["accepted"] == 0 and month["total"]["accepted"] == 0  # 1 December
