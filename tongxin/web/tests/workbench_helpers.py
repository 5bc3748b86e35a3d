"""Orders in a named state for the workbench tests, reached through the real services (as in
tongxin/workorders/tests/engine_helpers.py: 城乡建设 × 甲区 → 甲区住建局 leads, 市水务公司 co-handles)."""

from __future__ import annotations

from typing import Any

from tongxin.testing import World
from tongxin.workorders import services as s
from tongxin.workorders.models import WorkOrder

HX = {"HTTP_HX_REQUEST": "true"}


def drive(world: World, status: str, *, content: str = "小区门口垃圾三天没人清理", co_reply: bool = True, **kw: Any) -> WorkOrder:
    u = world.user
    order = s.work_order_create(
        actor=u("operator"), channel="hotline", kind="complaint", content=content, category_code="C010101",
        lat=37.1, lng=107.1, citizen_name="张三", citizen_phone="13812345678", **kw,
    )
    if status != "accepted":
        s.work_order_dispatch(order_id=order.pk, actor=u("dispatcher"))
    if status == "returned":
        s.work_order_return(order_id=order.pk, actor=u("handler"), reason="not_our_duty", note="不属于本单位职责")
    if status in {"in_progress", "replied", "closed"}:
        s.work_order_sign(order_id=order.pk, actor=u("handler"))
    if status in {"replied", "closed"}:
        s.work_order_co_reply(order_id=order.pk, actor=u("water_handler"), text="已配合清运")
        s.work_order_reply(order_id=order.pk, actor=u("handler"), text="已清理完毕")
    if status == "closed":
        s.work_order_callback(order_id=order.pk, actor=u("operator"), satisfaction="satisfied")
    order.refresh_from_db()
    assert order.status == status, (order.status, status)
    return order
