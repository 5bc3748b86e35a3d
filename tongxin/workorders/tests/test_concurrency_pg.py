"""Concurrency on PostgreSQL, with real threads (each with its own database connection) released together
by a barrier.

To make sure the calls really overlap rather than merely start together, the slow variants hold the row
lock a little longer (a short sleep after the guard has run, inside the locked transaction): the second
caller must then wait on the lock and see the first caller's committed result. Nothing is faked; the
sleep only widens the window a race would need.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/tongxin_x .venv/bin/pytest <this file>
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from typing import Any
from unittest import mock

import pytest
from django.db import IntegrityError, connection, transaction

from tongxin.accounts.models import Notification, User
from tongxin.core.errors import Conflict, IllegalTransition
from tongxin.testing import run_together
from tongxin.workorders import services as s
from tongxin.workorders import sweep
from tongxin.workorders.choices import Action, AssignmentRole, Status
from tongxin.workorders.models import WorkOrder, WorkOrderAssignment, WorkOrderEvent

from .engine_helpers import (  # noqa: F401 - fast_password_hashing is an autouse fixture
    at,
    drive,
    fast_password_hashing,
    time_travel,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="needs PostgreSQL row locks (SELECT … FOR UPDATE [SKIP LOCKED]); set DATABASE_URL"),
    pytest.mark.django_db(transaction=True),
]


def user(username: str) -> User:
    """A fresh user object per thread: actor_scope memoises on the instance."""
    return User.objects.get(username=username)


def hold_lock_after_guard(seconds: float = 0.3):
    """Sleep after the transition guard, inside the transaction that holds the row lock."""
    original = s.check_transition

    def slow(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        time.sleep(seconds)
        return result

    return mock.patch.object(s, "check_transition", slow)


def split(results):
    ok = [value for kind, value in results if kind == "ok"]
    errors = [value for kind, value in results if kind == "error"]
    return ok, errors


@pytest.mark.parametrize("slow", [False, True], ids=["together", "lock-held"])
def test_two_handlers_sign_at_once_exactly_one_succeeds(world, slow):
    order = drive(world, Status.DISPATCHED)
    calls = [lambda name=name: s.work_order_sign(order_id=order.pk, actor=user(name)) for name in ("handler", "handler2")]
    with hold_lock_after_guard() if slow else nullcontext():
        results = run_together(calls)
    ok, errors = split(results)
    assert len(ok) == 1 and len(errors) == 1, results
    assert isinstance(errors[0], IllegalTransition | Conflict), errors[0]
    order.refresh_from_db()
    assert order.status == Status.IN_PROGRESS and order.version == 3  # accept 1, dispatch 2, sign 3
    assert WorkOrderEvent.objects.filter(order=order, action=Action.SIGN).count() == 1
    lead = WorkOrderAssignment.objects.get(order=order, role=AssignmentRole.LEAD, active=True)
    assert lead.signed_at == order.signed_at


@pytest.mark.parametrize("slow", [False, True], ids=["together", "lock-held"])
def test_two_dispatchers_reassign_the_same_version_one_wins(world, slow):
    order = drive(world, Status.RETURNED)
    version = order.version
    choices = {"dispatcher": world.education.pk, "supervisor": world.water.pk}
    calls = [
        lambda name=name, dept=dept: s.work_order_reassign(order_id=order.pk, actor=user(name),
                                                           lead_department_id=dept, version=version)
        for name, dept in choices.items()
    ]
    with hold_lock_after_guard() if slow else nullcontext():
        results = run_together(calls)
    ok, errors = split(results)
    assert len(ok) == 1 and len(errors) == 1, results
    assert isinstance(errors[0], Conflict) and errors[0].code in {"stale_version", "illegal_transition"}
    assert errors[0].status == 409
    order.refresh_from_db()
    assert order.status == Status.DISPATCHED and order.version == version + 1
    assert order.lead_department_id == ok[0].lead_department_id
    # Nothing half-written: one active lead, the winner's; one reassign event.
    active = WorkOrderAssignment.objects.filter(order=order, role=AssignmentRole.LEAD, active=True)
    assert [a.department_id for a in active] == [order.lead_department_id]
    assert WorkOrderAssignment.objects.filter(order=order, role=AssignmentRole.LEAD).count() == 2
    assert WorkOrderEvent.objects.filter(order=order, action=Action.REASSIGN).count() == 1


def test_the_database_allows_one_active_lead_only(world):
    order = drive(world, Status.DISPATCHED)
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkOrderAssignment.objects.create(order=order, department=world.education, role=AssignmentRole.LEAD)
    assert WorkOrderAssignment.objects.filter(order=order, role=AssignmentRole.LEAD, active=True).count() == 1


def test_twenty_parallel_intakes_get_twenty_consecutive_numbers(world):
    with time_travel(at(2025, 3, 3, 9, 0)):
        # A fresh user object per thread (the world's users are shared instances).
        calls = [
            lambda i=i: s.work_order_create(actor=user("operator"), channel="hotline", kind="complaint",
                                            content=f"并发受理 {i}", category_code="C010101", lat=37.1, lng=107.1,
                                            citizen_phone=f"139000000{i:02d}").number
            for i in range(20)
        ]
        results = run_together(calls)
    numbers, errors = split(results)
    assert errors == []
    assert sorted(numbers) == [f"20250303{n:05d}" for n in range(1, 21)]
    assert WorkOrder.objects.count() == 20
    assert WorkOrderEvent.objects.filter(action=Action.ACCEPT).count() == 20


@pytest.mark.parametrize("slow", [False, True], ids=["together", "lock-held"])
def test_two_sweeps_at_once_remind_each_order_once(world, slow):
    with time_travel(at(2025, 3, 10, 9, 0)):
        orders = [drive(world, Status.DISPATCHED, citizen_phone=f"1370000000{i}") for i in range(6)]
    now = at(2025, 3, 10, 10, 40)  # every sign-off clock is yellow
    original = sweep._act

    def slow_act(*args: Any, **kwargs: Any) -> int:
        result = original(*args, **kwargs)
        time.sleep(0.1)
        return result

    patch = mock.patch.object(sweep, "_act", slow_act) if slow else nullcontext()
    with patch:
        results = run_together([lambda: sweep.sla_sweep(now=now), lambda: sweep.sla_sweep(now=now)])
    done, errors = split(results)
    assert errors == []
    first, second = (set(r.sign_reminders) for r in done)
    assert first.isdisjoint(second)
    assert first | second == {o.number for o in orders}
    for order in orders:
        assert WorkOrderEvent.objects.filter(order=order, action=Action.REMIND).count() == 1
    assert Notification.objects.filter(kind="remind").count() == 2 * len(orders)  # two handlers each
    assert sum(r.notifications for r in done) == 2 * len(orders)
