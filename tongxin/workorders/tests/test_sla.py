"""Which limits apply to an order (sla.limits_for), and the deadlines the working calendar gives them.

The test database has no holiday rows unless a test adds them: weekends only, 08:30–12:00 and 14:30–18:00.
"""

from __future__ import annotations

from datetime import date

import pytest

from tongxin.core.choices import CalendarDayKind, LimitUnit
from tongxin.core.models import CalendarDay
from tongxin.core.workcalendar import invalidate_calendar_cache
from tongxin.workorders import services as s
from tongxin.workorders import sla
from tongxin.workorders.models import SlaPolicy, SlaRule

from .engine_helpers import at, create, fast_password_hashing, time_travel  # noqa: F401 - autouse fixture

pytestmark = pytest.mark.django_db

WH, WD, NH = LimitUnit.WORKING_HOURS, LimitUnit.WORKING_DAYS, LimitUnit.NATURAL_HOURS


def policy(name, rules, *, ratio=0.8, default=False):
    p = SlaPolicy.objects.create(name=name, warning_ratio=ratio, is_default=default)
    for (urgency, kind), (sv, su, cv, cu) in rules.items():
        SlaRule.objects.create(policy=p, urgency=urgency, kind=kind, sign_value=sv, sign_unit=su,
                               completion_value=cv, completion_unit=cu)
    sla.invalidate_sla_cache()  # policies are cached per process for 30 s
    return p


def limits(category, kind="complaint", urgency="normal"):
    return sla.limits_for(category_id=category.pk if category else None, kind=kind, urgency=urgency)


def as_tuple(result):
    return (result.sign.value, result.sign.unit, result.completion.value, result.completion.unit, result.warning_ratio)


def test_the_default_policy_is_the_documented_one(world):
    assert as_tuple(limits(world.category_leaf)) == (2, WH, 5, WD, 0.8)
    assert as_tuple(limits(world.category_leaf, kind="inquiry")) == (2, WH, 1, WD, 0.8)
    assert as_tuple(limits(world.category_leaf, kind="report")) == (2, WH, 10, WD, 0.8)
    assert as_tuple(limits(world.category_leaf, urgency="urgent")) == (1, NH, 24, NH, 0.8)
    assert as_tuple(limits(world.category_leaf, urgency="critical", kind="inquiry")) == (0.5, NH, 2, NH, 0.8)
    assert sla.sla_default_policy_ensure() == SlaPolicy.objects.get(is_default=True)  # idempotent
    assert SlaPolicy.objects.count() == 1


def test_precedence_own_policy_then_ancestor_then_default_then_built_in(world):
    mid = world.category_leaf.parent
    default = SlaPolicy.objects.get(is_default=True)
    SlaRule.objects.filter(policy=default, urgency="normal", kind="").update(completion_value=4)
    root_policy = policy("城建", {("normal", ""): (3, WH, 6, WD)}, ratio=0.7)
    leaf_policy = policy("垃圾", {("normal", ""): (1, WH, 2, WD)}, ratio=0.9)
    world.category_root.sla_policy = root_policy
    world.category_root.save()
    world.category_leaf.sla_policy = leaf_policy
    world.category_leaf.save()
    sla.invalidate_sla_cache()

    assert as_tuple(limits(world.category_leaf)) == (1, WH, 2, WD, 0.9)  # its own
    assert as_tuple(limits(mid)) == (3, WH, 6, WD, 0.7)  # the nearest ancestor's
    assert as_tuple(limits(world.category_other)) == (2, WH, 4, WD, 0.8)  # the default policy's (edited)
    assert as_tuple(limits(None)) == (2, WH, 4, WD, 0.8)

    # Without a default policy: the built-in table.
    SlaRule.objects.filter(policy=default).delete()
    default.delete()
    sla.invalidate_sla_cache()
    assert as_tuple(limits(world.category_other)) == (2, WH, 5, WD, 0.8)
    assert as_tuple(limits(world.category_leaf)) == (1, WH, 2, WD, 0.9)


def test_a_kind_specific_rule_beats_the_any_kind_rule(world):
    p = policy("投诉从严", {("normal", ""): (2, WH, 5, WD), ("normal", "complaint"): (1, WH, 3, WD),
                        ("urgent", ""): (1, NH, 12, NH)})
    world.category_root.sla_policy = p
    world.category_root.save()
    sla.invalidate_sla_cache()
    assert as_tuple(limits(world.category_leaf, kind="complaint")) == (1, WH, 3, WD, 0.8)
    assert as_tuple(limits(world.category_leaf, kind="help")) == (2, WH, 5, WD, 0.8)
    # The complaint row is for normal urgency only; urgent complaints take the urgent any-kind row.
    assert as_tuple(limits(world.category_leaf, kind="complaint", urgency="urgent")) == (1, NH, 12, NH, 0.8)


# --- deadlines ------------------------------------------------------------------------------------------

def dispatch_at(world, moment, **kwargs):
    with time_travel(moment):
        order = create(world, **kwargs)
        s.work_order_dispatch(order_id=order.pk, actor=world.user("dispatcher"))
    order.refresh_from_db()
    return order


def test_friday_afternoon_order_is_due_on_monday_morning(world):
    order = dispatch_at(world, at(2025, 3, 7, 17, 0))  # a Friday
    assert order.sign_due_at == at(2025, 3, 10, 9, 30)  # 1 h on Friday, 1 h on Monday
    assert order.sign_warn_at == at(2025, 3, 10, 9, 6)  # 80 % of 2 h = 1 h 36 min
    assert order.due_at == at(2025, 3, 14, 17, 0)  # 5 working days = 35 working hours
    assert order.due_warn_at == at(2025, 3, 13, 17, 0)  # 28 working hours


def test_a_holiday_monday_moves_the_deadline_to_tuesday(world):
    CalendarDay.objects.create(date=date(2025, 3, 10), kind=CalendarDayKind.HOLIDAY, name="测试假日")
    invalidate_calendar_cache()
    order = dispatch_at(world, at(2025, 3, 7, 17, 0))
    assert order.sign_due_at == at(2025, 3, 11, 9, 30)


def test_a_makeup_saturday_counts(world):
    CalendarDay.objects.create(date=date(2025, 3, 8), kind=CalendarDayKind.WORKDAY, name="调休上班")
    invalidate_calendar_cache()
    order = dispatch_at(world, at(2025, 3, 7, 17, 0))
    assert order.sign_due_at == at(2025, 3, 8, 9, 30)


def test_lunch_break_and_evening(world):
    assert dispatch_at(world, at(2025, 3, 4, 11, 0)).sign_due_at == at(2025, 3, 4, 15, 30)
    assert dispatch_at(world, at(2025, 3, 4, 21, 0)).sign_due_at == at(2025, 3, 5, 10, 30)


def test_urgent_orders_count_natural_hours(world):
    order = dispatch_at(world, at(2025, 3, 7, 17, 0), urgency="urgent")
    assert order.sign_due_at == at(2025, 3, 7, 18, 0)
    assert order.sign_warn_at == at(2025, 3, 7, 17, 48)
    assert order.due_at == at(2025, 3, 8, 17, 0)  # Saturday: a burst water main does not wait for Monday
    assert order.due_warn_at == at(2025, 3, 8, 12, 12)  # 80 % of 24 h
    critical = dispatch_at(world, at(2025, 3, 8, 23, 0), urgency="critical")
    assert critical.sign_due_at == at(2025, 3, 8, 23, 30)
    assert critical.due_at == at(2025, 3, 9, 1, 0)


def test_the_policy_warning_ratio_is_used(world):
    p = policy("半程预警", {("normal", ""): (2, WH, 5, WD)}, ratio=0.5)
    world.category_root.sla_policy = p
    world.category_root.save()
    sla.invalidate_sla_cache()
    order = dispatch_at(world, at(2025, 3, 3, 9, 0))
    assert order.sign_warn_at == at(2025, 3, 3, 10, 0)
    assert order.due_at == at(2025, 3, 10, 9, 0)
    assert order.due_warn_at == at(2025, 3, 5, 15, 0)  # 17.5 working hours: 6.5 Mon, 7 Tue, 4 Wed


def test_clock_and_warn_between_directly():
    start = at(2025, 3, 7, 17, 0)
    c = sla.clock(start, sla.Limit(2, WH), 0.8)
    assert (c.due_at, c.warn_at) == (at(2025, 3, 10, 9, 30), at(2025, 3, 10, 9, 6))
    # A deadline set by hand: 80 % of the working time up to it, or of the natural time for natural hours.
    assert sla.warn_between(start, at(2025, 3, 10, 9, 30), WH, 0.8) == at(2025, 3, 10, 9, 6)
    assert sla.warn_between(start, at(2025, 3, 8, 17, 0), NH, 0.5) == at(2025, 3, 8, 5, 0)
