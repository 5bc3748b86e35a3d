"""The dispatch catalogue (派单目录): the most specific matching rule wins — the deeper category first, then
the deeper area, then the higher priority; inactive rules and departments are ignored.

The world's catalogue: 城乡建设 (C01) × 甲区 → 甲区住建局 with 市水务公司; 教育文体 (C02) × anywhere → 乙区教育局.
"""

from __future__ import annotations

import pytest

from tongxin.accounts.choices import DepartmentKind
from tongxin.accounts.models import Department
from tongxin.core.errors import ValidationFailed
from tongxin.workorders import services as s
from tongxin.workorders.catalogue import category_upsert, dispatch_rule_create
from tongxin.workorders.choices import Status
from tongxin.workorders.selectors import dispatch_suggest

from .engine_helpers import (  # noqa: F401 - fast_password_hashing is an autouse fixture
    POINT_B,
    create,
    fast_password_hashing,
    snapshot,
)

pytestmark = pytest.mark.django_db


def suggest(category, area):
    return dispatch_suggest(category_id=category.pk if category else None, area_path=area.path)


def lead_of(category, area):
    suggestion = suggest(category, area)
    return suggestion.lead if suggestion else None


@pytest.fixture
def parks(world):
    return Department.objects.create(code="D-PARKS", name="市园林局", kind=DepartmentKind.DEPARTMENT, area=world.city)


@pytest.fixture
def town_office(world):
    return Department.objects.create(code="D-TOWN-A", name="甲街道办事处", kind=DepartmentKind.TOWN_GOVERNMENT,
                                     area=world.town_a)


def test_the_worlds_catalogue(world):
    suggestion = suggest(world.category_leaf, world.grid_a)
    assert suggestion.lead == world.housing and suggestion.co == [world.water]
    assert suggestion.reason == "派单目录：城乡建设 × 甲区"
    assert lead_of(world.category_other, world.grid_a) == world.education
    assert lead_of(world.category_other, world.town_b) == world.education
    assert lead_of(world.category_leaf, world.town_b) is None  # the C01 rule covers district A only
    assert lead_of(world.category_leaf, world.city) is None  # the city is not inside district A
    assert lead_of(None, world.grid_a) is None


def test_a_deeper_category_beats_a_deeper_area(world, parks, town_office):
    dispatch_rule_create(category=world.category_root, area=world.grid_a, lead_department=town_office)
    dispatch_rule_create(category=world.category_leaf.parent, area=None, lead_department=parks)
    # C0101 × everywhere (category depth 2) beats C01 × grid A (area depth 5) and C01 × district A.
    assert lead_of(world.category_leaf, world.grid_a) == parks
    # For a level-1 order only the C01 rules match: the deeper area wins.
    assert lead_of(world.category_root, world.grid_a) == town_office
    assert lead_of(world.category_root, world.community_a) == world.housing


def test_a_deeper_area_beats_priority(world, town_office):
    dispatch_rule_create(category=world.category_root, area=world.town_a, lead_department=town_office)
    dispatch_rule_create(category=world.category_root, area=world.district_a, lead_department=world.education,
                         priority=100)
    assert lead_of(world.category_leaf, world.grid_a) == town_office


def test_priority_breaks_ties_then_the_older_rule(world, parks, town_office):
    dispatch_rule_create(category=world.category_root, area=world.district_a, lead_department=parks, priority=5)
    assert lead_of(world.category_leaf, world.grid_a) == parks
    dispatch_rule_create(category=world.category_root, area=world.district_a, lead_department=town_office, priority=5)
    assert lead_of(world.category_leaf, world.grid_a) == parks  # same key: the first rule entered stays


def test_a_category_rule_beats_a_catch_all(world, parks):
    dispatch_rule_create(category=None, area=None, lead_department=parks, priority=1000)
    assert lead_of(world.category_leaf, world.grid_a) == world.housing
    third = category_upsert(code="C03", name="社会保障")
    assert lead_of(third, world.grid_a) == parks  # the catch-all catches what nothing else does


def test_inactive_rules_are_ignored(world, parks):
    rule = dispatch_rule_create(category=world.category_leaf, area=None, lead_department=parks)
    assert lead_of(world.category_leaf, world.grid_a) == parks
    rule.active = False
    rule.save()
    assert lead_of(world.category_leaf, world.grid_a) == world.housing


def test_inactive_departments_are_ignored(world, parks):
    dispatch_rule_create(category=world.category_leaf, area=None, lead_department=parks)
    parks.active = False
    parks.save()
    assert lead_of(world.category_leaf, world.grid_a) == world.housing  # the next rule down
    world.water.active = False
    world.water.save()
    assert suggest(world.category_leaf, world.grid_a).co == []  # an inactive co-handler is dropped
    world.education.active = False
    world.education.save()
    assert suggest(world.category_other, world.grid_a) is None


def test_dispatch_takes_the_suggestion_and_a_dispatcher_may_override(world, parks):
    dispatch_rule_create(category=world.category_leaf, area=world.district_a, lead_department=parks,
                         co_departments=[world.water, world.education])
    order = create(world)
    s.work_order_dispatch(order_id=order.pk, actor=world.user("dispatcher"))
    order.refresh_from_db()
    assert order.lead_department == parks
    assert set(order.assignments.filter(role="co").values_list("department_id", flat=True)) == {
        world.water.pk, world.education.pk}
    # Override: an explicit lead and no co-handlers.
    other = create(world, citizen_phone="13900000001")
    s.work_order_dispatch(order_id=other.pk, actor=world.user("dispatcher"), lead_department_id=world.housing.pk)
    other.refresh_from_db()
    assert other.lead_department == world.housing and not other.assignments.filter(role="co").exists()
    # The suggested lead with chosen co-handlers.
    third = create(world, citizen_phone="13900000002")
    s.work_order_dispatch(order_id=third.pk, actor=world.user("dispatcher"), co_department_ids=[world.housing.pk])
    assert {(a.department_id, a.role) for a in third.assignments.all()} == {(parks.pk, "lead"), (world.housing.pk, "co")}


def test_no_rule_means_the_dispatcher_must_choose(world):
    third = category_upsert(code="C03", name="社会保障")
    order = create(world, category_code="C03")
    before = snapshot(order)
    with pytest.raises(ValidationFailed) as caught:
        s.work_order_dispatch(order_id=order.pk, actor=world.user("dispatcher"))
    assert "lead_department_id" in caught.value.fields
    assert snapshot(order) == before
    order.refresh_from_db()
    assert order.status == Status.ACCEPTED
    # Outside the rule's area, too.
    order_b = create(world, category_code="C010101", **POINT_B)
    with pytest.raises(ValidationFailed):
        s.work_order_dispatch(order_id=order_b.pk, actor=world.user("dispatcher"))
    s.work_order_dispatch(order_id=order.pk, actor=world.user("dispatcher"), lead_department_id=world.housing.pk)
    assert third.pk  # the category exists; only the catalogue lacks a line
