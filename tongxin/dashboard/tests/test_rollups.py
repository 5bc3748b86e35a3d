"""The rollups equal a direct computation on the same data.

A property test (hypothesis) drives random histories through the real work-order services — intake in
four places and seven categories' worth of choices, then random actions by the right people at random
moments over three weeks, with folds at random moments in between — and then checks, at the end:

1. the incremental rollups (fold after fold) are row for row what a rebuild from the raw rows gives;
2. every KPI the screen shows equals ``workorders.selectors.kpi_summary`` over the same days (overall,
   by department, by level-1 category and by district), and the open/overdue counts a direct query;
3. every number's list (``metric_set``, behind the links) counts what the number says.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tongxin.core.errors import ApplicationError
from tongxin.dashboard.models import COUNTERS, Rollup
from tongxin.dashboard.rollups import fold, rebuild
from tongxin.dashboard.selectors import (
    ORDER_METRICS,
    RATES,
    local_midnight,
    metric_set,
    rates,
    rollup_by_area,
    rollup_by_key,
    rollup_total,
)
from tongxin.workorders.choices import NOT_COUNTED, WITH_DEPARTMENT, Status
from tongxin.workorders.models import WorkOrder
from tongxin.workorders.selectors import kpi_summary
from tongxin.workorders.tests.engine_helpers import at, perform, time_travel

pytestmark = pytest.mark.django_db

PLACES = ["150602001001G01", "150602001", "150603001", "150600"]  # grid A, town A, town B, the city
CATEGORIES = ["C010101", "C010101", "C01", "C02", "C02", None]
CHANNELS = ["hotline", "app", "grid_like_web", "web"]
SKIPPED = {"comment", "remind", "supervise", "deny_extension"}  # change no counter; kept rarer below
HANDLER_OF = {"housing": "handler", "water": "water_handler", "education": "edu_handler"}
START = at(2026, 10, 5, 8, 0)  # a Monday


def _snapshot() -> dict[tuple[Any, ...], tuple[int, ...]]:
    return {(r["day"], r["area_id"], r["dim"], r["key"]): tuple(r[c] for c in COUNTERS)
            for r in Rollup.objects.values("day", "area_id", "dim", "key", *COUNTERS)}


def _actor_for(world, action: str, order: WorkOrder) -> Any:
    if action in {"sign", "return", "reply", "request_extension"}:
        departments = {world.housing.pk: "housing", world.water.pk: "water", world.education.pk: "education"}
        name = departments.get(order.lead_department_id)
        return world.user(HANDLER_OF[name]) if name else None
    if action == "co_reply":
        return world.user("water_handler")
    if action in {"callback", "callback_unsatisfied", "redo", "merge", "withdraw", "comment"}:
        return world.user("operator")
    return world.user("dispatcher")


def _act(world, choice: int, order: WorkOrder, other: WorkOrder | None) -> None:
    """Take one of the actions the order's status allows (by the table), chosen by ``choice``."""
    from tongxin.workorders import services as s
    from tongxin.workorders.workflow import allowed_actions

    legal = [str(a) for a in allowed_actions(order.status)]
    aside = {"merge", "withdraw", "mark_invalid", "transfer_police"}
    forward = [a for a in legal if a not in SKIPPED and a not in aside]
    pool = forward * 8 + legal
    if not pool:
        return
    action = pool[choice % len(pool)]
    if action == "callback" and choice % 3 == 0:
        action = "callback_unsatisfied"
    actor = _actor_for(world, action, order)
    if actor is None:
        return
    if action == "callback_unsatisfied":
        s.work_order_callback(order_id=order.pk, actor=actor, satisfaction="unsatisfied", cause="policy_limit")
    elif action == "callback":
        s.work_order_callback(order_id=order.pk, actor=actor, satisfaction="basically_satisfied")
    elif action == "reassign":
        target = world.education if order.lead_department_id != world.education.pk else world.housing
        s.work_order_reassign(order_id=order.pk, actor=actor, lead_department_id=target.pk, note="改派")
    elif action == "merge":
        if other is not None and other.pk != order.pk:
            perform(world, action, order, actor, into=other)
    else:
        perform(world, action, order, actor)


step = st.tuples(
    st.integers(min_value=0, max_value=5),   # 0: a new order, else an action on an existing one
    st.integers(min_value=0, max_value=30),  # which order (modulo)
    st.integers(min_value=0, max_value=10_000),  # which legal action
    st.floats(min_value=0.0, max_value=12.0),  # hours to move the clock forward first
    st.booleans(),  # fold after this step?
    st.tuples(st.sampled_from(PLACES), st.sampled_from(CATEGORIES), st.sampled_from(CHANNELS), st.booleans()),
)


def _kpi_rows(world, start, end, now, **kw):
    return kpi_summary(actor=world.user("admin"), start=local_midnight(start), end=local_midnight(end), now=now, **kw)


def _assert_same(rollup_counters: dict[str, int], kpi: dict[str, Any], context: str) -> None:
    mine = rates(rollup_counters)
    for name in RATES:
        assert mine[name] == kpi[name], (context, name, mine[name], kpi[name], rollup_counters)
    assert rollup_counters["accepted"] == kpi["accepted"], (context, rollup_counters, kpi)
    assert rollup_counters["replied"] == kpi["replied"], context
    assert rollup_counters["called_back"] == kpi["called_back"], context


@settings(max_examples=int(os.environ.get("DASHBOARD_EXAMPLES", "8")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=25, max_size=50))
def test_rollups_equal_direct_computation(world, steps) -> None:
    with transaction.atomic():
        _run_history(world, steps)
        transaction.set_rollback(True)


def _run_history(world, steps) -> None:
    orders: list[WorkOrder] = []
    with time_travel(START) as clock:
        fold(now=clock.now)  # the first fold builds the (empty) rollups
        for kind, pick, choice, hours, fold_now, (place, category, channel, repeat_phone) in steps:
            clock.advance(hours=hours)
            try:
                if kind == 0 or not orders:
                    from tongxin.workorders import services as s

                    orders.append(s.work_order_create(
                        actor=world.user("operator"), channel=channel if channel != "grid_like_web" else "walk_in",
                        kind="complaint", content="门口垃圾无人清理", category_code=category, area_code=place,
                        citizen_phone="13800000001" if repeat_phone else f"139{len(orders):08d}"))
                else:
                    # Act on an order that is still moving (terminal ones have nothing left to do).
                    live = list(WorkOrder.objects.exclude(status__in=["closed", *NOT_COUNTED]).order_by("pk"))
                    if not live:
                        continue
                    order = live[pick % len(live)]
                    other = orders[(pick + 1) % len(orders)]
                    _act(world, choice, order, other)
            except ApplicationError as exc:
                if os.environ.get("DASHBOARD_TEST_STATS"):
                    print("refused:", type(exc).__name__, exc)
                # an illegal or refused step: the history simply goes on
            if fold_now:
                fold(now=clock.now)
        end = clock.advance(hours=30)
        fold(now=end)
        folded = _snapshot()
        second = fold(now=end)
        assert second.rows_changed == 0  # idempotent
        rebuild(now=end)
        rebuilt = _snapshot()
        assert folded == rebuilt
        _check_against_kpis(world, end)
        if os.environ.get("DASHBOARD_TEST_STATS"):
            print(sorted(Counter(WorkOrder.objects.values_list("status", flat=True)).items()),
                  len(rebuilt), rollup_total(world.city.pk, None, None))


def _check_against_kpis(world, now) -> None:
    from django.utils import timezone

    first, last = START.date(), timezone.localtime(now).date() + timedelta(days=1)
    city = world.city
    windows = [(first, last), (first, first + timedelta(days=7)), (first + timedelta(days=3), last)]
    for start, end in windows:
        total = rollup_total(city.pk, start, end)
        _assert_same(total, _kpi_rows(world, start, end, now)[0], f"city {start}–{end}")
        by_department = rollup_by_key(city.pk, "department", start, end)
        for row in _kpi_rows(world, start, end, now, group_by="department"):
            _assert_same(by_department.get(str(row["key"]), dict.fromkeys(COUNTERS, 0)), row, f"department {row['key']}")
        by_category = rollup_by_key(city.pk, "category", start, end)
        for row in _kpi_rows(world, start, end, now, group_by="category"):
            key = "0" if row["key"] is None else str(row["key"])
            _assert_same(by_category.get(key, dict.fromkeys(COUNTERS, 0)), row, f"category {key}")
        by_area = rollup_by_area([world.district_a.pk, world.district_b.pk], start, end)
        for row in _kpi_rows(world, start, end, now, group_by="area"):
            if row["key"] in by_area or row["key"] in {world.district_a.pk, world.district_b.pk}:
                _assert_same(by_area.get(row["key"], dict.fromkeys(COUNTERS, 0)), row, f"area {row['key']}")
        for area in (world.district_a, world.town_b, world.grid_a):
            _assert_same(rollup_total(area.pk, start, end),
                         _kpi_rows(world, start, end, now, area_code=area.code)[0], f"area {area.code}")
    # Open and overdue now, against a direct query.
    counted = WorkOrder.objects.exclude(status__in=list(NOT_COUNTED))
    state = rollup_total(city.pk, None, None)
    assert state["open"] == counted.exclude(status=Status.CLOSED).count()
    assert state["overdue"] == counted.filter(status__in=list(WITH_DEPARTMENT), due_at__lt=now).count()
    # The lists behind the numbers count what the numbers say.
    admin = world.user("admin")
    start, end = first, last
    total = rollup_total(city.pk, start, end)
    for metric in COUNTERS:
        kind, qs = metric_set(actor=admin, area=city, metric=metric, start=start, end=end, now=now)
        expected = state[metric] if metric in {"open", "overdue"} else total[metric]
        assert qs.count() == expected, (metric, kind)
    by_department = rollup_by_key(city.pk, "department", start, end)
    for key, counters in by_department.items():
        for metric in ("accepted", "replied_on_time", "signed_on_time", "assignments"):
            _kind, qs = metric_set(actor=admin, area=city, metric=metric, start=start, end=end, dim="department",
                                   key=key, now=now)
            assert qs.count() == counters[metric], (key, metric)
    by_channel = rollup_by_key(city.pk, "channel", start, end)
    for key, counters in by_channel.items():
        _kind, qs = metric_set(actor=admin, area=city, metric="satisfied", start=start, end=end, dim="channel", key=key,
                               now=now)
        assert qs.count() == counters["satisfied"], key
    assert ORDER_METRICS  # (imported for the link test below)


def test_fold_is_incremental_and_idempotent(world) -> None:
    """New events move only what they change; a second run does nothing; a deadline passing without any
    event (sign-off lapsed, completion overdue) is picked up by ``recheck_at``."""
    from tongxin.workorders import services as s

    u = world.user
    with time_travel(at(2026, 11, 2, 9, 0)) as clock:  # Monday 09:00
        first = fold(now=clock.now)
        assert first.rebuilt
        order = s.work_order_create(actor=u("operator"), channel="hotline", kind="complaint", content="路灯不亮",
                                    category_code="C010101", area_code="150602001001G01")
        result = fold(now=clock.now)
        assert result.orders == 1 and result.rows_changed > 0
        assert rollup_total(world.city.pk, None, None)["accepted"] == 1
        again = fold(now=clock.now)
        assert again.rows_changed == 0 and again.events == 0
        clock.advance(minutes=5)
        s.work_order_dispatch(order_id=order.pk, actor=u("dispatcher"))
        fold(now=clock.now)
        city = rollup_total(world.city.pk, None, None)
        assert city["assignments"] == 1 and city["sign_decided"] == 0 and city["overdue"] == 0
        # Nobody signs: three hours later the sign-off deadline (2 working hours) has passed, no event.
        clock.advance(hours=3)
        result = fold(now=clock.now, overlap=0)  # no overlap: only the recheck can find it
        assert result.events == 0 and result.rechecked == 1
        assert rollup_total(world.city.pk, None, None)["sign_decided"] == 1
        # Ten days later the completion deadline has passed too.
        clock.advance(days=10)
        fold(now=clock.now, overlap=0)
        assert rollup_total(world.city.pk, None, None)["overdue"] == 1
        before = _snapshot()
        rebuild(now=clock.now)
        assert _snapshot() == before


def test_fold_picks_up_late_commits_within_the_overlap(world) -> None:
    """An event with an id below the cursor (a transaction that committed late) is still folded."""
    from tongxin.dashboard.models import RollupCursor
    from tongxin.workorders import services as s

    with time_travel(at(2026, 11, 2, 9, 0)) as clock:
        fold(now=clock.now)
        order = s.work_order_create(actor=world.user("operator"), channel="hotline", kind="help", content="求助",
                                    area_code="150603001")
        # Pretend the fold had already moved past this event (as when an earlier id commits late).
        RollupCursor.objects.filter(name="rollup").update(last_event_id=order.events.get().pk + 3)
        fold(now=clock.now)
        assert rollup_total(world.district_b.pk, None, None)["accepted"] == 1


def test_rebuild_command_and_rollup_command(world, capsys) -> None:
    import json

    from django.core.management import call_command

    call_command("dashboard_rebuild")
    out = json.loads(capsys.readouterr().out)
    assert out["rows"] == 0
    call_command("dashboard_rollup")
    out = json.loads(capsys.readouterr().out)
    assert out["events"] == 0
    assert isinstance(date.today(), date)
