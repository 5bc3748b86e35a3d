"""The whole 12345 loop through the services, on the real database."""

from __future__ import annotations

import pytest

from tongxin.workorders import services as s
from tongxin.workorders.choices import Action, Status
from tongxin.workorders.selectors import work_order_timeline


@pytest.mark.django_db
def test_full_loop_hotline_to_closed(world):
    order = s.work_order_create(
        actor=world.user("operator"), channel="hotline", kind="complaint", content="小区门口垃圾三天没人清理",
        category_code="C010101", lat=37.1, lng=107.1, citizen_name="张三", citizen_phone="13812345678",
    )
    assert order.status == Status.ACCEPTED
    assert order.area == world.grid_a  # the deepest area containing the point
    assert len(order.number) == 13
    s.work_order_dispatch(order_id=order.pk, actor=world.user("dispatcher"))
    order.refresh_from_db()
    assert order.status == Status.DISPATCHED
    assert order.lead_department == world.housing  # from the catalogue: 城乡建设 × 甲区
    assert order.sign_due_at and order.due_at and order.sign_due_at < order.due_at
    s.work_order_sign(order_id=order.pk, actor=world.user("handler"))
    s.work_order_co_reply(order_id=order.pk, actor=world.user("water_handler"), text="已配合清运")
    s.work_order_reply(order_id=order.pk, actor=world.user("handler"), text="已清理完毕")
    s.work_order_callback(order_id=order.pk, actor=world.user("operator"), satisfaction="satisfied")
    order.refresh_from_db()
    assert order.status == Status.CLOSED
    actions = [e.action for e in work_order_timeline(order)]
    assert actions == [Action.ACCEPT, Action.DISPATCH, Action.SIGN, Action.CO_REPLY, Action.REPLY, Action.CALLBACK]
