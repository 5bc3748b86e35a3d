"""Fixtures of the dashboard tests: a small city (the browser fixtures come from tongxin/conftest.py)."""

from __future__ import annotations

import pytest

from tongxin.dashboard.rollups import fold
from tongxin.workorders import services as s
from tongxin.workorders.tests.engine_helpers import at, time_travel


@pytest.fixture
def city(world):
    """Orders in both districts through the services, at moments that make every counter non-zero; the
    clock stays at Monday 30 November 2026, 18:00 for the whole test."""
    u = world.user
    with time_travel(at(2026, 11, 30, 9, 0)) as clock:
        orders = []
        for i, (place, category) in enumerate([("150602001001G01", "C010101")] * 4 + [("150603001", "C02")] * 3):
            orders.append(s.work_order_create(actor=u("operator"), channel="hotline" if i % 2 else "app", kind="complaint",
                                              content=f"诉求{i}", category_code=category, area_code=place,
                                              citizen_phone="13800000001" if i < 2 else f"1390000000{i}"))
        clock.advance(minutes=10)
        for o in orders[:6]:
            s.work_order_dispatch(order_id=o.pk, actor=u("dispatcher"))
        clock.advance(minutes=30)
        s.work_order_sign(order_id=orders[0].pk, actor=u("handler"))
        s.work_order_sign(order_id=orders[1].pk, actor=u("handler"))
        s.work_order_sign(order_id=orders[4].pk, actor=u("edu_handler"))
        s.work_order_return(order_id=orders[5].pk, actor=u("edu_handler"), reason="not_our_duty", note="非本单位")
        clock.advance(hours=2)
        s.work_order_co_reply(order_id=orders[0].pk, actor=u("water_handler"), text="已配合")
        s.work_order_reply(order_id=orders[0].pk, actor=u("handler"), text="已办结")
        s.work_order_reply(order_id=orders[4].pk, actor=u("edu_handler"), text="已办结")
        clock.advance(hours=1)
        s.work_order_callback(order_id=orders[0].pk, actor=u("operator"), satisfaction="satisfied")
        s.work_order_callback(order_id=orders[4].pk, actor=u("operator"), satisfaction="unsatisfied", cause="other")
        s.work_order_withdraw(order_id=orders[6].pk, actor=u("operator"), note="撤回")
        clock.set(at(2026, 11, 30, 18, 0))  # the tests read the screen on that evening
        fold()
        yield orders
