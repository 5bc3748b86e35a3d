"""KPIs on constructed data with answers worked out by hand (selectors.py's docstring defines each KPI).

March 2025, weekends-only calendar, default policy (sign-off 2 working hours, completion 5 working days).
Most orders are dispatched on Monday 3 March 09:00: sign-off due 11:00, completion due Monday 10th 09:00.
The KPIs are read on Monday 31 March at 12:00.

  order  category district lead at end  assignment(s) (lead)                         reply     callback
  O1     C01      A        housing      signed 10:00 (on time)                       5th ok    satisfied
  O2     C01      A        housing      signed 10:30 (on time)                       6th ok    satisfied
  O3     C01      A        housing      signed 14:40 (late)                          7th ok    basically
  O4     C01      A        housing      signed 10:00 (on time)                       11th late unsatisfied
  O5     C01      A        housing      signed 10:00 (on time)                       5th ok    -
  O6     C01      A        education    housing returned 10:00 (before its deadline: 5th ok    satisfied
                                        not decided); education 14:00, signed 15:00
  O7     C01      A        housing      housing returned 14:40 unsigned (late),      12th late -
                                        force-dispatched 15:00, signed 17:30 (late)
  O8     C01      A        housing      never signed (late)                          -         -
  O9     C02      B        education    dispatched 31st 10:30, due 12:30: undecided  -         -
  O10    C01      A        -            (not dispatched) repeat of O1's caller       -         -
  O11    C02      A        centre       (answered on the call: no deadline)          4th       satisfied
  Y2     C01      A        housing      accepted 28 Feb, dispatched 3 March, signed 11:30 (late)

Not counted although accepted in March: X1 merged (a repeat caller), X2 withdrawn after an on-time
sign-off, X3 marked invalid after a return, X4 transferred to 110. Outside March: Y1 (February), Y3 (April).
Y2's order is outside the period but its assignment is inside: it counts for the assignment KPIs only.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tongxin.workorders import services as s
from tongxin.workorders.choices import Status
from tongxin.workorders.models import WorkOrder
from tongxin.workorders.selectors import kpi_summary

from .engine_helpers import (  # noqa: F401 - fast_password_hashing is an autouse fixture
    POINT_A,
    POINT_B,
    at,
    create,
    fast_password_hashing,
    time_travel,
)

pytestmark = pytest.mark.django_db

START, END, NOW = at(2025, 3, 1), at(2025, 4, 1), at(2025, 3, 31, 12, 0)
KPIS = ("sign_on_time_rate", "on_time_rate", "completion_rate", "satisfaction_rate", "return_rate", "repeat_rate")


def build(world):
    u = world.user
    o: dict[str, WorkOrder] = {}

    def new(name, phone, **kwargs):
        o[name] = create(world, citizen_phone=phone, **kwargs)
        return o[name]

    def dispatch(*names, **kwargs):
        for name in names:
            s.work_order_dispatch(order_id=o[name].pk, actor=u("dispatcher"), **kwargs)

    def sign(name, who="handler"):
        s.work_order_sign(order_id=o[name].pk, actor=u(who))

    def ret(name, who="handler"):
        s.work_order_return(order_id=o[name].pk, actor=u(who), reason="not_our_duty", note="非本单位职责")

    def reply(name, co=True, who="handler"):
        if co:
            s.work_order_co_reply(order_id=o[name].pk, actor=u("water_handler"), text="已配合")
        s.work_order_reply(order_id=o[name].pk, actor=u(who), text="已办结")

    def callback(name, satisfaction, cause=None):
        s.work_order_callback(order_id=o[name].pk, actor=u("operator"), satisfaction=satisfaction, cause=cause)

    with time_travel(at(2025, 2, 27, 10, 0)) as clock:
        new("Y1", "13700000001")
        clock.set(at(2025, 2, 27, 10, 10))
        dispatch("Y1")
        clock.set(at(2025, 2, 27, 10, 20))
        sign("Y1")
        clock.set(at(2025, 2, 27, 11, 0))
        reply("Y1")
        callback("Y1", "unsatisfied", "other")
        clock.set(at(2025, 2, 28, 17, 0))
        new("Y2", "13700000002")

        clock.set(at(2025, 3, 3, 8, 50))
        for i in range(1, 9):
            new(f"O{i}", f"1380000000{i}")
        clock.set(at(2025, 3, 3, 8, 55))
        new("X1", "13800000001")  # O1's caller again: a repeat, but merged
        new("X2", "13800000012")
        new("X3", "13800000013")
        new("X4", "13800000014")
        clock.set(at(2025, 3, 3, 9, 0))
        dispatch("O1", "O2", "O3", "O4", "O5", "O6", "O7", "O8", "X2", "X3", "Y2")
        clock.set(at(2025, 3, 3, 9, 30))
        s.work_order_merge(order_id=o["X1"].pk, actor=u("operator"), into_id=o["O1"].pk, note="重复")
        ret("X3")
        s.work_order_transfer_police(order_id=o["X4"].pk, actor=u("operator"), note="转110")
        clock.set(at(2025, 3, 3, 10, 0))
        for name in ("O1", "O4", "O5", "X2"):
            sign(name)
        ret("O6")
        s.work_order_mark_invalid(order_id=o["X3"].pk, actor=u("dispatcher"), note="无效")
        clock.set(at(2025, 3, 3, 10, 30))
        sign("O2")
        clock.set(at(2025, 3, 3, 11, 30))
        sign("Y2")
        clock.set(at(2025, 3, 3, 14, 0))
        s.work_order_reassign(order_id=o["O6"].pk, actor=u("dispatcher"), lead_department_id=world.education.pk)
        clock.set(at(2025, 3, 3, 14, 40))
        sign("O3")
        ret("O7")
        clock.set(at(2025, 3, 3, 15, 0))
        s.work_order_force_dispatch(order_id=o["O7"].pk, actor=u("dispatcher"), note="属贵单位职责")
        sign("O6", "edu_handler")
        clock.set(at(2025, 3, 3, 17, 30))
        sign("O7")

        clock.set(at(2025, 3, 4, 9, 55))
        new("O11", "13800000011", category_code="C02")
        clock.set(at(2025, 3, 4, 10, 0))
        s.work_order_resolve_on_call(order_id=o["O11"].pk, actor=u("operator"), text="已按政策答复")
        s.work_order_withdraw(order_id=o["X2"].pk, actor=u("operator"), note="撤回")
        clock.set(at(2025, 3, 5, 10, 0))
        reply("O1")
        reply("O5")
        reply("O6", co=False, who="edu_handler")
        clock.set(at(2025, 3, 6, 10, 0))
        reply("O2")
        clock.set(at(2025, 3, 7, 10, 0))
        reply("O3")
        clock.set(at(2025, 3, 11, 10, 0))
        reply("O4")
        clock.set(at(2025, 3, 12, 10, 0))
        reply("O7")
        clock.set(at(2025, 3, 13, 10, 0))
        for name, satisfaction, cause in [("O1", "satisfied", None), ("O2", "satisfied", None),
                                          ("O3", "basically_satisfied", None), ("O4", "unsatisfied", "policy_limit"),
                                          ("O6", "satisfied", None), ("O11", "satisfied", None)]:
            callback(name, satisfaction, cause)
        clock.set(at(2025, 3, 20, 9, 0))
        new("O10", "13800000001")
        clock.set(at(2025, 3, 31, 10, 20))
        new("O9", "13800000009", category_code="C02", **POINT_B)
        clock.set(at(2025, 3, 31, 10, 30))
        dispatch("O9")

        clock.set(at(2025, 4, 1, 9, 0))
        new("Y3", "13700000003")
        clock.set(at(2025, 4, 1, 9, 10))
        dispatch("Y3")
        clock.set(at(2025, 4, 1, 9, 20))
        sign("Y3")

    for order in o.values():
        order.refresh_from_db()
    # The data is what the table above says.
    assert {n: o[n].status for n in ("X1", "X2", "X3", "X4")} == {
        "X1": Status.MERGED, "X2": Status.WITHDRAWN, "X3": Status.INVALID, "X4": Status.TRANSFERRED}
    assert o["X1"].is_repeat and o["O10"].is_repeat
    assert sum(o[f"O{i}"].is_repeat for i in range(1, 12)) == 1
    assert o["O6"].lead_department == world.education and o["O7"].lead_department == world.housing
    assert o["O11"].lead_department == world.centre and o["O9"].area == world.town_b
    return o


def rates(row):
    return {k: row[k] for k in KPIS}


def kpis(world, actor="supervisor", **kwargs):
    return kpi_summary(actor=world.user(actor), start=START, end=END, now=NOW, **kwargs)


@pytest.fixture
def data(world):
    return build(world)


def test_overall(world, data):
    (row,) = kpis(world)
    assert (row["key"], row["accepted"], row["replied"], row["called_back"]) == (None, 11, 8, 6)
    assert rates(row) == {
        "sign_on_time_rate": 0.5,  # 5 on time of 10 decided (O9's is still running; O6's first was returned in time)
        "on_time_rate": 0.7143,  # 5 of the 7 replies that had a deadline (O11 had none)
        "completion_rate": 0.7273,  # 8 of 11
        "satisfaction_rate": 0.8333,  # 4 satisfied + 1 basically of 6 called back
        "return_rate": 0.1667,  # 2 of 12 lead assignments
        "repeat_rate": 0.0909,  # 1 of 11
    }


def test_by_department(world, data):
    rows = {row["key"]: row for row in kpis(world, group_by="department")}
    assert set(rows) == {world.housing.pk, world.education.pk, world.centre.pk}
    housing, education, centre = rows[world.housing.pk], rows[world.education.pk], rows[world.centre.pk]
    assert housing["label"] == "甲区住建局" and housing["accepted"] == 7
    assert rates(housing) == {"sign_on_time_rate": 0.4444, "on_time_rate": 0.6667, "completion_rate": 0.8571,
                              "satisfaction_rate": 0.75, "return_rate": 0.2, "repeat_rate": 0.0}
    assert education["accepted"] == 2
    assert rates(education) == {"sign_on_time_rate": 1.0, "on_time_rate": 1.0, "completion_rate": 0.5,
                                "satisfaction_rate": 1.0, "return_rate": 0.0, "repeat_rate": 0.0}
    assert centre["accepted"] == 1
    assert rates(centre) == {"sign_on_time_rate": None, "on_time_rate": None, "completion_rate": 1.0,
                             "satisfaction_rate": 1.0, "return_rate": None, "repeat_rate": 0.0}
    # The department filter gives the same answer as the group.
    (only,) = kpis(world, department_id=world.housing.pk)
    assert rates(only) == rates(housing)


def test_by_level_one_category(world, data):
    rows = {row["key"]: row for row in kpis(world, group_by="category")}
    assert set(rows) == {world.category_root.pk, world.category_other.pk}
    c01, c02 = rows[world.category_root.pk], rows[world.category_other.pk]
    assert (c01["label"], c01["accepted"], c02["label"], c02["accepted"]) == ("城乡建设", 9, "教育文体", 2)
    assert rates(c01) == {"sign_on_time_rate": 0.5, "on_time_rate": 0.7143, "completion_rate": 0.7778,
                          "satisfaction_rate": 0.8, "return_rate": 0.1818, "repeat_rate": 0.1111}
    assert rates(c02) == {"sign_on_time_rate": None, "on_time_rate": None, "completion_rate": 0.5,
                          "satisfaction_rate": 1.0, "return_rate": 0.0, "repeat_rate": 0.0}
    (only,) = kpis(world, category_code="C01")
    assert rates(only) == rates(c01)


def test_by_area_children_of_the_city(world, data):
    rows = {row["key"]: row for row in kpis(world, group_by="area")}
    assert set(rows) == {world.district_a.pk, world.district_b.pk}
    a, b = rows[world.district_a.pk], rows[world.district_b.pk]
    assert (a["label"], a["accepted"], b["label"], b["accepted"]) == ("甲区", 10, "乙区", 1)
    assert rates(a) == {"sign_on_time_rate": 0.5, "on_time_rate": 0.7143, "completion_rate": 0.8,
                        "satisfaction_rate": 0.8333, "return_rate": 0.1818, "repeat_rate": 0.1}
    assert rates(b) == {"sign_on_time_rate": None, "on_time_rate": None, "completion_rate": 0.0,
                        "satisfaction_rate": None, "return_rate": 0.0, "repeat_rate": 0.0}
    (only,) = kpis(world, area_code="150603")
    assert rates(only) == rates(b)
    # Inside district A the children are its towns: every order there lies in town A.
    (town,) = kpis(world, group_by="area", area_code="150602")
    assert town["key"] == world.town_a.pk and rates(town) == rates(a)


def test_scoped_to_the_actor(world, data):
    (b_only,) = kpis(world, actor="dispatcher_b")
    assert (b_only["accepted"], b_only["replied"]) == (1, 0)
    (edu,) = kpis(world, actor="edu_handler")  # orders education holds or has held: O6 and O9
    assert (edu["accepted"], edu["replied"], edu["called_back"]) == (2, 1, 1)
    (none,) = kpis(world, actor="nobody")
    assert none["accepted"] == 0 and all(none[k] is None for k in KPIS)


def test_set_aside_orders_never_count(world, data):
    before = kpis(world)
    # Withdraw one open order and merge another: the KPIs lose exactly those orders.
    with time_travel(at(2025, 3, 31, 11, 0)):
        s.work_order_withdraw(order_id=data["O8"].pk, actor=world.user("operator"), note="撤回")
        s.work_order_merge(order_id=data["O10"].pk, actor=world.user("operator"), into_id=data["O1"].pk)
    (after,) = kpis(world)
    assert (before[0]["accepted"], after["accepted"]) == (11, 9)
    # O8's lapsed assignment and O10's repeat are gone with them.
    assert after["sign_on_time_rate"] == round(5 / 9, 4)
    assert after["repeat_rate"] == 0.0
    assert after["return_rate"] == round(2 / 11, 4)


def _query_counts(world):
    counts = {}
    for group_by in (None, "department", "category", "area"):
        user = type(world.user("supervisor")).objects.get(username="supervisor")  # a fresh scope each time
        with CaptureQueriesContext(connection) as ctx:
            kpi_summary(actor=user, start=START, end=END, now=NOW, group_by=group_by)
        counts[group_by] = len(ctx)
    return counts


def test_query_count_does_not_grow_with_the_orders(world, django_assert_max_num_queries):
    with time_travel(at(2025, 3, 3, 9, 0)):
        for i in range(2):
            s.work_order_dispatch(order_id=create(world, citizen_phone=f"1360000000{i}").pk, actor=world.user("dispatcher"))
    few = _query_counts(world)
    with time_travel(at(2025, 3, 4, 9, 0)):
        for i in range(12):
            point = POINT_B if i % 2 else POINT_A
            category = "C02" if i % 2 or i % 4 == 0 else "C010101"  # C01 has a catalogue rule in district A only
            order = create(world, citizen_phone=f"135000000{i:02d}", category_code=category, **point)
            s.work_order_dispatch(order_id=order.pk, actor=world.user("dispatcher"))
    many = _query_counts(world)
    assert few == many
    for group_by in (None, "department", "category", "area"):
        with django_assert_max_num_queries(6):
            kpis(world, group_by=group_by)
