"""Helpers shared by the engine tests: drive an order to any status through the real services, take any
action with valid arguments, snapshot everything an action may write, and travel in time.

No shortcuts: every status is reached through the same services the API calls, so a test that puts an
order "in progress" also proves that the road there works.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tongxin.accounts.models import Notification
from tongxin.testing import World
from tongxin.workorders import services as s
from tongxin.workorders.choices import Action, Status
from tongxin.workorders.models import ExtensionRequest, WorkOrder, WorkOrderAssignment, WorkOrderEvent
from tongxin.workorders.workflow import Transition

SH = ZoneInfo("Asia/Shanghai")

# A point inside grid A (甲一网格), hence inside community A, town A, district A and the city.
POINT_A = {"lat": 37.1, "lng": 107.1}
# A point inside town B (district B).
POINT_B = {"lat": 37.1, "lng": 109.1}

# The world's grants, restated here as the independent oracle of who may act where (tongxin/testing.py):
# area-scoped users covering district A (where the orders of these tests live), and handlers by department.
CITY_WIDE = {"operator": "operator", "dispatcher": "dispatcher", "supervisor": "supervisor"}
HANDLERS = {"handler": "housing", "handler2": "housing", "water_handler": "water", "edu_handler": "education"}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The world creates 13 users; with Django's default PBKDF2 (1,000,000 rounds) that alone takes about
    15 s per test on this machine. Modules import this fixture to hash test passwords with MD5 instead.
    (Better placed in tongxin/conftest.py, which this engineer may not edit.)"""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def at(*args: int) -> datetime:
    """An aware local (Asia/Shanghai) datetime."""
    return datetime(*args, tzinfo=SH)


class Clock:
    """The patched ``timezone.now``: fixed until moved."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment

    def advance(self, **kwargs: float) -> datetime:
        self.now = self.now + timedelta(**kwargs)
        return self.now


@contextmanager
def time_travel(start: datetime) -> Iterator[Clock]:
    """Every ``django.utils.timezone.now()`` call returns the clock's time (services call it at run time)."""
    clock = Clock(start)
    with mock.patch("django.utils.timezone.now", clock):
        yield clock


# --- creating and driving orders --------------------------------------------------------------------

def create(world: World, *, actor: str = "operator", **kwargs: Any) -> WorkOrder:
    args: dict[str, Any] = {
        "channel": "hotline", "kind": "complaint", "content": "小区门口垃圾三天没人清理", "category_code": "C010101",
        **POINT_A, "citizen_name": "张三", "citizen_phone": "13812345678",
    }
    args.update(kwargs)
    return s.work_order_create(actor=world.user(actor), **args)


def drive(world: World, status: str, **create_kwargs: Any) -> WorkOrder:
    """A fresh order in ``status``, reached through the services. Orders that reach a department go to
    the catalogue's choice for 城乡建设 × 甲区: 甲区住建局 leads, 市水务公司 co-handles."""
    order = create(world, **create_kwargs)
    u = world.user
    if status in {Status.DISPATCHED, Status.IN_PROGRESS, Status.RETURNED, Status.REPLIED, Status.CLOSED}:
        s.work_order_dispatch(order_id=order.pk, actor=u("dispatcher"))
        if status == Status.RETURNED:
            s.work_order_return(order_id=order.pk, actor=u("handler"), reason="not_our_duty", note="不属于本单位职责")
        if status in {Status.IN_PROGRESS, Status.REPLIED, Status.CLOSED}:
            s.work_order_sign(order_id=order.pk, actor=u("handler"))
        if status in {Status.REPLIED, Status.CLOSED}:
            s.work_order_co_reply(order_id=order.pk, actor=u("water_handler"), text="已配合清运")
            s.work_order_reply(order_id=order.pk, actor=u("handler"), text="已清理完毕")
        if status == Status.CLOSED:
            s.work_order_callback(order_id=order.pk, actor=u("operator"), satisfaction="satisfied")
    elif status == Status.MERGED:
        original = create(world)
        s.work_order_merge(order_id=order.pk, actor=u("operator"), into_id=original.pk, note="重复来电")
    elif status == Status.WITHDRAWN:
        s.work_order_withdraw(order_id=order.pk, actor=u("operator"), note="市民来电撤回")
    elif status == Status.INVALID:
        s.work_order_mark_invalid(order_id=order.pk, actor=u("dispatcher"), note="骚扰电话")
    elif status == Status.TRANSFERRED:
        s.work_order_transfer_police(order_id=order.pk, actor=u("operator"), note="涉及治安，转110")
    order.refresh_from_db()
    assert order.status == status, (order.status, status)
    return order


def perform(world: World, action: str, order: WorkOrder, actor: Any, *, into: WorkOrder | None = None,
            version: int | None = None) -> Any:
    """Take ``action`` on ``order`` as ``actor`` with valid arguments (valid when the action is legal)."""
    kw: dict[str, Any] = {"order_id": order.pk, "actor": actor, "version": version}
    a = Action(action)
    if a == Action.RESOLVE_ON_CALL:
        return s.work_order_resolve_on_call(**kw, text="已按知识库答复")
    if a == Action.DISPATCH:
        return s.work_order_dispatch(**kw)
    if a == Action.SIGN:
        return s.work_order_sign(**kw)
    if a == Action.RETURN:
        return s.work_order_return(**kw, reason="not_our_duty", note="不属于本单位职责")
    if a == Action.REASSIGN:
        return s.work_order_reassign(**kw, lead_department_id=world.education.pk, note="改派乙区教育局")
    if a == Action.FORCE_DISPATCH:
        return s.work_order_force_dispatch(**kw, note="属于贵单位职责，请办理")
    if a == Action.REQUEST_EXTENSION:
        base = order.due_at or timezone.now()
        return s.work_order_request_extension(**kw, requested_due_at=base + timedelta(days=3), reason="需协调多个单位")
    if a == Action.APPROVE_EXTENSION:
        return s.work_order_decide_extension(**kw, approve=True, note="同意")
    if a == Action.DENY_EXTENSION:
        return s.work_order_decide_extension(**kw, approve=False, note="理由不充分")
    if a == Action.REMIND:
        return s.work_order_remind(**kw, note="请尽快签收")
    if a == Action.SUPERVISE:
        return s.work_order_supervise(**kw, note="请加快办理")
    if a == Action.CO_REPLY:
        return s.work_order_co_reply(**kw, text="已配合")
    if a == Action.REPLY:
        return s.work_order_reply(**kw, text="已办结")
    if a == Action.CALLBACK:
        return s.work_order_callback(**kw, satisfaction="satisfied")
    if a == Action.REDO:
        return s.work_order_redo(**kw, cause="not_solved", note="问题仍未解决")
    if a == Action.MERGE:
        assert into is not None
        return s.work_order_merge(**kw, into_id=into.pk, note="重复诉求")
    if a == Action.WITHDRAW:
        return s.work_order_withdraw(**kw, note="市民撤回")
    if a == Action.MARK_INVALID:
        return s.work_order_mark_invalid(**kw, note="无效来电")
    if a == Action.TRANSFER_POLICE:
        return s.work_order_transfer_police(**kw, note="转110")
    if a == Action.COMMENT:
        return s.work_order_comment(**kw, text="市民补充：门口又堆了两袋")
    raise AssertionError(f"no service for {action}: add it here, the table walk covers every action")


def allowed_usernames(world: World, order: WorkOrder, transition: Transition) -> set[str]:
    """Who the table lets act, computed from the world's known grants (not from the code under test)."""
    if transition.scope == "area":
        return {name for name, role in CITY_WIDE.items() if role in transition.roles}
    departments = {"housing": world.housing.pk, "water": world.water.pk, "education": world.education.pk}
    if transition.scope == "lead":
        return {name for name, dept in HANDLERS.items() if departments[dept] == order.lead_department_id}
    co = set(WorkOrderAssignment.objects.filter(order=order, role="co", active=True).values_list("department_id", flat=True))
    return {name for name, dept in HANDLERS.items() if departments[dept] in co}


# --- what an action may write -------------------------------------------------------------------------

def snapshot(order: WorkOrder | int) -> dict[str, Any]:
    """Everything a work-order action can change, for "nothing was written" assertions."""
    pk = order if isinstance(order, int) else order.pk
    row = WorkOrder.objects.filter(pk=pk).values().get()
    return {
        "order": row,
        "orders": WorkOrder.objects.count(),
        "events": WorkOrderEvent.objects.count(),
        "order_events": WorkOrderEvent.objects.filter(order_id=pk).count(),
        "assignments": list(WorkOrderAssignment.objects.order_by("id").values_list(
            "id", "order_id", "department_id", "role", "active", "signed_at", "returned_at", "replied_at")),
        "extensions": list(ExtensionRequest.objects.order_by("id").values_list("id", "status", "requested_due_at")),
        "notifications": Notification.objects.count(),
    }


def events_of(order: WorkOrder) -> list[WorkOrderEvent]:
    return list(WorkOrderEvent.objects.filter(order=order).order_by("at", "id"))
