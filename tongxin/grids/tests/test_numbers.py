"""grid_numbers on constructed data: every measure by its definition, the roll-up (a parent equals the
sum of its children when nothing is placed at the parent itself), the period bounds, and the query count."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tongxin.grids.choices import ReportStatus
from tongxin.grids.models import FieldReport, Patrol
from tongxin.grids.selectors import GridNumbers, grid_numbers
from tongxin.workorders import services as wo

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 1, tzinfo=TZ)
END = datetime(2026, 12, 1, tzinfo=TZ)


def order(gw, area, *, at, status=None, channel="hotline"):
    o = wo.work_order_create(actor=gw.user("operator"), channel=channel, kind="help", content="路灯不亮了",
                             area_code=area.code, accepted_at=at)
    if status == "withdrawn":
        wo.work_order_withdraw(order_id=o.pk, actor=gw.user("operator"), note="来电人撤回")
    return o


def settled(gw, grid, *, at):
    return FieldReport.objects.create(worker=gw.user("grid_worker"), grid=grid, grid_path=grid.path, text="井盖松动",
                                      status=ReportStatus.SETTLED, settled_at=at, created_at=at)


def patrol(gw, grid, *, ended):
    return Patrol.objects.create(worker=gw.user("grid_worker"), grid=grid, grid_path=grid.path,
                                 started_at=ended - timedelta(hours=1) if ended else START, ended_at=ended)


@pytest.fixture
def data(gw):
    w = gw.w
    day1, day2 = datetime(2026, 11, 3, 10, tzinfo=TZ), datetime(2026, 11, 4, 10, tzinfo=TZ)
    # grid A1: 2 orders in the period (one of channel grid), 1 withdrawn (never counts), 1 before the period;
    # 1 report settled in the period, 1 settled before it, 1 still open; patrols on two days (two on day 1).
    order(gw, w.grid_a, at=day1)
    order(gw, w.grid_a, at=day1, channel="hotline")
    order(gw, w.grid_a, at=day1, status="withdrawn")
    order(gw, w.grid_a, at=START - timedelta(seconds=1))
    settled(gw, w.grid_a, at=day2)
    settled(gw, w.grid_a, at=START - timedelta(days=2))
    FieldReport.objects.create(worker=gw.user("grid_worker"), grid=w.grid_a, grid_path=w.grid_a.path, text="open")
    patrol(gw, w.grid_a, ended=day1)
    patrol(gw, w.grid_a, ended=day1 + timedelta(hours=3))
    patrol(gw, w.grid_a, ended=day2)
    # grid A2: 1 order, 2 settled reports, no patrol ended in the period (one open, one after the end).
    order(gw, gw.grid_a2, at=day2)
    settled(gw, gw.grid_a2, at=day1)
    settled(gw, gw.grid_a2, at=day2)
    Patrol.objects.create(worker=gw.user("grid_worker_c"), grid=gw.grid_a2, grid_path=gw.grid_a2.path, ended_at=None)
    patrol(gw, gw.grid_a2, ended=END)  # the end is excluded: [start, end)
    # grid B: nothing but one patrol, late on the last local day of the period.
    patrol(gw, gw.grid_b, ended=datetime(2026, 11, 30, 23, 30, tzinfo=TZ))
    return gw


def test_each_measure_by_definition(data):
    gw, w = data, data.w
    n = grid_numbers(areas=[w.grid_a, gw.grid_a2, gw.grid_b], start=START, end=END)
    assert n[w.grid_a.pk] == GridNumbers(raised=3, settled_in_grid=1, settled_rate=round(1 / 3, 4), patrols=3,
                                         patrol_days=2, coverage=1.0)
    assert n[gw.grid_a2.pk] == GridNumbers(raised=3, settled_in_grid=2, settled_rate=round(2 / 3, 4), patrols=0,
                                           patrol_days=0, coverage=0.0)
    assert n[gw.grid_b.pk] == GridNumbers(raised=0, settled_in_grid=0, settled_rate=None, patrols=1,
                                          patrol_days=1, coverage=1.0)


def test_roll_up_equals_sum_of_children(data):
    gw, w = data, data.w
    areas = [w.city, w.district_a, w.district_b, w.town_a, w.community_a, w.grid_a, gw.grid_a2, gw.grid_b]
    n = grid_numbers(areas=areas, start=START, end=END)
    for parent, children in ((w.community_a, [w.grid_a, gw.grid_a2]), (w.city, [w.district_a, w.district_b])):
        for field in ("raised", "settled_in_grid", "patrols", "patrol_days"):
            assert getattr(n[parent.pk], field) == sum(getattr(n[c.pk], field) for c in children), (parent, field)
    assert n[w.community_a.pk].raised == 6 and n[w.community_a.pk].settled_in_grid == 3
    assert n[w.community_a.pk].settled_rate == 0.5
    assert n[w.community_a.pk].coverage == 0.5  # A1 patrolled, A2 not
    assert n[w.city.pk].coverage == round(2 / 3, 4)
    assert n[w.town_a.pk] == n[w.district_a.pk] == n[w.community_a.pk]


def test_orders_placed_above_the_grids_count_for_the_parent_only(data):
    gw, w = data, data.w
    order(gw, w.community_a, at=datetime(2026, 11, 5, tzinfo=TZ))
    n = grid_numbers(areas=[w.community_a, w.grid_a, gw.grid_a2], start=START, end=END)
    assert n[w.community_a.pk].raised == n[w.grid_a.pk].raised + n[gw.grid_a2.pk].raised + 1


def test_empty_subtree_and_no_grids(gw):
    w = gw.w
    n = grid_numbers(areas=[w.town_b, w.community_a], start=START, end=END)
    assert n[w.town_b.pk] == GridNumbers(0, 0, None, 0, 0, 0.0)
    # an area with no grid below it: coverage is None
    from tongxin.regions.services import area_upsert

    lonely = area_upsert(code="150602001002", name="无网格社区", level="community", parent=w.town_a)
    assert grid_numbers(areas=[lonely], start=START, end=END)[lonely.pk].coverage is None
    assert grid_numbers(areas=[], start=START, end=END) == {}


def test_patrol_day_is_the_local_calendar_day(gw):
    # 23:30 and 00:30 local time are two days, even though both fall on the same UTC day.
    w = gw.w
    patrol(gw, w.grid_a, ended=datetime(2026, 11, 10, 23, 30, tzinfo=TZ))
    patrol(gw, w.grid_a, ended=datetime(2026, 11, 11, 0, 30, tzinfo=TZ))
    assert grid_numbers(areas=[w.grid_a], start=START, end=END)[w.grid_a.pk].patrol_days == 2


def test_query_count_does_not_grow_with_areas(data, django_assert_max_num_queries):
    gw, w = data, data.w
    areas = [w.city, w.district_a, w.district_b, w.town_a, w.town_b, w.community_a, gw.community_b,
             w.grid_a, gw.grid_a2, gw.grid_b]
    with django_assert_max_num_queries(5):
        grid_numbers(areas=areas, start=START, end=END)
