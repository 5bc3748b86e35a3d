"""The SLA sweep: reminders before the sign-off and completion deadlines, supervision after a breach;
idempotent, a dry run that writes nothing, re-armed by an approved extension; the command and the Huey task.

One order dispatched on Monday 2025-03-10 at 09:00 (default policy, weekends-only calendar):
sign-off due 11:00 (yellow from 10:36), completion due Monday 17th 09:00 (yellow from Friday 14th 09:00).
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from tongxin.accounts.models import Notification
from tongxin.workorders import services as s
from tongxin.workorders import tasks
from tongxin.workorders.choices import Action, Status
from tongxin.workorders.models import WorkOrder, WorkOrderEvent
from tongxin.workorders.sweep import sla_sweep

from .engine_helpers import at, create, drive, fast_password_hashing, time_travel  # noqa: F401 - autouse fixture

pytestmark = pytest.mark.django_db

DISPATCHED_AT = at(2025, 3, 10, 9, 0)


def dispatched(world, **kwargs):
    with time_travel(DISPATCHED_AT):
        order = drive(world, Status.DISPATCHED, **kwargs)
    assert (order.sign_warn_at, order.sign_due_at) == (at(2025, 3, 10, 10, 36), at(2025, 3, 10, 11, 0))
    assert (order.due_warn_at, order.due_at) == (at(2025, 3, 14, 9, 0), at(2025, 3, 17, 9, 0))
    return order


def in_progress(world, **kwargs):
    order = dispatched(world, **kwargs)
    with time_travel(at(2025, 3, 10, 9, 30)):
        s.work_order_sign(order_id=order.pk, actor=world.user("handler"))
    order.refresh_from_db()
    return order


def state(order):
    """What a sweep may write."""
    row = WorkOrder.objects.values("version", "status", "sign_reminded_for", "due_reminded_for", "supervised_for").get(
        pk=order.pk)
    return {**row, "events": WorkOrderEvent.objects.count(), "notifications": Notification.objects.count()}


def sweep_events(order):
    return list(WorkOrderEvent.objects.filter(order=order, action__in=[Action.REMIND, Action.SUPERVISE]).order_by("id"))


def test_sign_reminder_is_sent_once_inside_the_yellow_window(world):
    order = dispatched(world)
    assert sla_sweep(now=at(2025, 3, 10, 10, 30)).as_dict()["sign_reminders"] == 0  # still green
    result = sla_sweep(now=at(2025, 3, 10, 10, 40))
    assert result.sign_reminders == [order.number] and result.due_reminders == [] and result.supervisions == []
    assert result.notifications == 2  # both handlers of the lead department
    (event,) = sweep_events(order)
    assert (event.action, event.actor, event.actor_role, event.actor_label) == (Action.REMIND, None, "system", "系统")
    assert (event.from_status, event.to_status, event.data) == (Status.DISPATCHED, Status.DISPATCHED, {"clock": "sign"})
    assert event.at == at(2025, 3, 10, 10, 40)
    order.refresh_from_db()
    assert order.sign_reminded_for == order.sign_due_at and order.version == 3
    recipients = set(Notification.objects.filter(kind="remind").values_list("recipient__username", flat=True))
    assert recipients == {"handler", "handler2"}

    before = state(order)
    again = sla_sweep(now=at(2025, 3, 10, 10, 50))
    assert (again.sign_reminders, again.notifications) == ([], 0)
    assert state(order) == before
    # Past the sign-off deadline: no more sign reminders, and no supervision (that follows a completion breach).
    late = sla_sweep(now=at(2025, 3, 10, 11, 30))
    assert (late.sign_reminders, late.supervisions) == ([], [])
    assert state(order) == before


def test_completion_reminder_then_supervision_each_once(world):
    order = in_progress(world)
    assert sla_sweep(now=at(2025, 3, 10, 10, 40)).sign_reminders == []  # signed: the sign clock stopped
    result = sla_sweep(now=at(2025, 3, 14, 9, 30))
    assert result.due_reminders == [order.number] and result.notifications == 2
    assert sla_sweep(now=at(2025, 3, 14, 10, 0)).due_reminders == []
    breach = sla_sweep(now=at(2025, 3, 17, 9, 1))
    assert breach.supervisions == [order.number] and breach.due_reminders == []
    assert breach.notifications == 3  # the two handlers and the city supervisor
    supervise = Notification.objects.filter(kind="supervise")
    assert set(supervise.values_list("recipient__username", flat=True)) == {"handler", "handler2", "supervisor"}
    before = state(order)
    assert sla_sweep(now=at(2025, 3, 18, 9, 0)).supervisions == []
    assert state(order) == before
    assert [(e.action, e.data) for e in sweep_events(order)] == [(Action.REMIND, {"clock": "due"}), (Action.SUPERVISE, {})]
    order.refresh_from_db()
    assert order.supervised_for == order.due_at and order.status == Status.IN_PROGRESS


def test_dry_run_changes_nothing_and_reports_the_same_orders(world):
    order = dispatched(world)
    other = dispatched(world, citizen_phone="13900000002")
    now = at(2025, 3, 10, 10, 40)
    before = state(order), state(other)
    dry = sla_sweep(now=now, dry_run=True)
    assert dry.dry_run and sorted(dry.sign_reminders) == sorted([order.number, other.number])
    assert dry.notifications == 0
    assert (state(order), state(other)) == before
    assert sla_sweep(now=now, dry_run=True).as_dict() == dry.as_dict()  # still nothing written
    real = sla_sweep(now=now)
    assert sorted(real.sign_reminders) == sorted(dry.sign_reminders)
    assert real.notifications == 4
    # A dry run of a breach writes nothing either.
    with time_travel(at(2025, 3, 10, 10, 45)):
        s.work_order_sign(order_id=order.pk, actor=world.user("handler"))
    before = state(order)
    dry = sla_sweep(now=at(2025, 3, 17, 10, 0), dry_run=True)
    assert order.number in dry.supervisions
    assert state(order) == before


def test_an_approved_extension_rearms_the_reminder_and_the_supervision(world):
    order = in_progress(world)
    assert sla_sweep(now=at(2025, 3, 14, 9, 30)).due_reminders == [order.number]
    with time_travel(at(2025, 3, 14, 10, 0)) as clock:
        s.work_order_request_extension(order_id=order.pk, actor=world.user("handler"),
                                       requested_due_at=at(2025, 3, 21, 9, 0), reason="需等待材料")
        clock.set(at(2025, 3, 14, 10, 30))
        s.work_order_decide_extension(order_id=order.pk, actor=world.user("dispatcher"), approve=True)
    order.refresh_from_db()
    assert order.due_at == at(2025, 3, 21, 9, 0) and order.due_reminded_for is None
    # 80 % of the 9 working days (63 h) from dispatch: 50.4 h = 7 days and 1 h 24 min → Wednesday 19th 10:24.
    assert order.due_warn_at == at(2025, 3, 19, 10, 24)
    assert sla_sweep(now=at(2025, 3, 17, 9, 1)).supervisions == []  # the old deadline no longer counts
    assert sla_sweep(now=at(2025, 3, 19, 10, 0)).due_reminders == []
    assert sla_sweep(now=at(2025, 3, 19, 10, 30)).due_reminders == [order.number]
    assert sla_sweep(now=at(2025, 3, 19, 11, 0)).due_reminders == []
    assert sla_sweep(now=at(2025, 3, 21, 9, 1)).supervisions == [order.number]
    assert sla_sweep(now=at(2025, 3, 21, 10, 0)).supervisions == []
    actions = [(e.action, e.data.get("clock")) for e in sweep_events(order)]
    assert actions == [(Action.REMIND, "due"), (Action.REMIND, "due"), (Action.SUPERVISE, None)]
    # Two reminders for two deadlines: the notification dedupe keys differ.
    assert Notification.objects.filter(kind="remind").count() == 4


def test_orders_no_longer_with_a_department_are_left_alone(world):
    with time_travel(DISPATCHED_AT):
        returned = drive(world, Status.RETURNED)
        replied = drive(world, Status.REPLIED)
        accepted = create(world)
    result = sla_sweep(now=at(2025, 4, 30, 9, 0))
    assert result.as_dict()["orders"] == {"sign_reminders": [], "due_reminders": [], "supervisions": []}
    assert all(sweep_events(o) == [] for o in (returned, replied, accepted))


def test_each_order_is_acted_on_once_in_one_run(world):
    orders = [dispatched(world, citizen_phone=f"1390000000{i}") for i in range(3)]
    result = sla_sweep(now=at(2025, 3, 17, 9, 30))  # every order breached: supervision only
    assert sorted(result.supervisions) == sorted(o.number for o in orders)
    assert result.due_reminders == [] and result.sign_reminders == []
    for order in orders:
        assert len(sweep_events(order)) == 1


def test_the_management_command(world):
    order = dispatched(world)
    out = io.StringIO()
    call_command("sla_sweep", "--dry-run", "--now", "2025-03-10T10:40:00+08:00", stdout=out)
    dry = json.loads(out.getvalue())
    assert dry["dry_run"] is True and dry["sign_reminders"] == 1
    assert dry["orders"]["sign_reminders"] == [order.number]
    assert sweep_events(order) == []
    out = io.StringIO()
    call_command("sla_sweep", "--now", "2025-03-10T10:40", stdout=out)  # no offset: TIME_ZONE (Asia/Shanghai)
    real = json.loads(out.getvalue())
    assert real["dry_run"] is False and real["sign_reminders"] == 1 and real["notifications"] == 2
    assert len(sweep_events(order)) == 1
    out = io.StringIO()
    call_command("sla_sweep", "--now", "2025-03-10T10:45+08:00", stdout=out)
    assert json.loads(out.getvalue())["sign_reminders"] == 0
    with pytest.raises(CommandError):
        call_command("sla_sweep", "--now", "next tuesday")


def test_the_command_uses_the_current_time_by_default(world):
    order = dispatched(world)
    out = io.StringIO()
    with time_travel(at(2025, 3, 10, 10, 40)):
        call_command("sla_sweep", stdout=out)
    assert json.loads(out.getvalue())["orders"]["sign_reminders"] == [order.number]


def test_the_huey_task_runs_the_sweep(world):
    order = dispatched(world)
    with time_travel(at(2025, 3, 10, 10, 40)):
        result = tasks.sla_sweep_task.call_local()
    assert result["sign_reminders"] == 1 and result["orders"]["sign_reminders"] == [order.number]
    assert len(sweep_events(order)) == 1
