"""The SLA sweep: reminders before a deadline, supervision after a breach.

Idempotent by construction: each order remembers the deadline it was last reminded or supervised for
(``*_reminded_for``, ``supervised_for``), so a second run over the same state finds nothing to do;
notifications carry a dedupe key as a second guard. Rows are taken with ``skip_locked`` so two
workers never process the same order, and one order's failure does not roll back the others.
A dry run reports what it would do and writes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from tongxin.accounts.choices import Role
from tongxin.accounts.selectors import department_users, users_with_area_role
from tongxin.accounts.services import notification_send

from .choices import Action, Status
from .models import WorkOrder
from .workflow import apply_transition, check_transition

logger = logging.getLogger("tongxin.sla")


@dataclass
class SweepResult:
    dry_run: bool
    sign_reminders: list[str] = field(default_factory=list)
    due_reminders: list[str] = field(default_factory=list)
    supervisions: list[str] = field(default_factory=list)
    notifications: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run, "sign_reminders": len(self.sign_reminders), "due_reminders": len(self.due_reminders),
            "supervisions": len(self.supervisions), "notifications": self.notifications,
            "orders": {"sign_reminders": self.sign_reminders, "due_reminders": self.due_reminders,
                       "supervisions": self.supervisions},
        }


def _candidates(now: datetime) -> dict[str, Any]:
    with_department = [Status.DISPATCHED, Status.IN_PROGRESS]
    return {
        "sign": WorkOrder.objects.filter(
            status=Status.DISPATCHED, sign_warn_at__lte=now, sign_due_at__gte=now,
        ).filter(Q(sign_reminded_for__isnull=True) | ~Q(sign_reminded_for=F("sign_due_at"))),
        "due": WorkOrder.objects.filter(
            status__in=with_department, due_warn_at__lte=now, due_at__gte=now,
        ).filter(Q(due_reminded_for__isnull=True) | ~Q(due_reminded_for=F("due_at"))),
        "breach": WorkOrder.objects.filter(status__in=with_department, due_at__lt=now).filter(
            Q(supervised_for__isnull=True) | ~Q(supervised_for=F("due_at"))
        ),
    }


def _lock(qs: Any, pk: int) -> WorkOrder | None:
    qs = qs.filter(pk=pk)
    if connection.features.has_select_for_update_skip_locked:
        return qs.select_for_update(skip_locked=True).first()
    return qs.first()


def sla_sweep(*, now: datetime | None = None, dry_run: bool = False, batch: int = 1000) -> SweepResult:
    now = now or timezone.now()
    result = SweepResult(dry_run=dry_run)
    candidates = _candidates(now)
    for kind, qs in candidates.items():
        ids = list(qs.order_by("due_at", "id").values_list("pk", "number")[:batch])
        for pk, number in ids:
            if dry_run:
                {"sign": result.sign_reminders, "due": result.due_reminders, "breach": result.supervisions}[kind].append(number)
                continue
            try:
                with transaction.atomic():
                    order = _lock(_candidates(now)[kind], pk)
                    if order is None:  # taken by another worker, or no longer due
                        continue
                    result.notifications += _act(order, kind, now)
                    {"sign": result.sign_reminders, "due": result.due_reminders, "breach": result.supervisions}[kind].append(number)
            except Exception:
                logger.exception("SLA sweep failed for order %s", number)
    if not dry_run and (result.sign_reminders or result.due_reminders or result.supervisions):
        logger.info("SLA sweep: %s", {k: v for k, v in result.as_dict().items() if k != "orders"})
    return result


def _act(order: WorkOrder, kind: str, now: datetime) -> int:
    if kind == "breach":
        due_at = order.due_at
        assert due_at is not None  # _candidates() takes only orders past a due_at
        transition, role = check_transition(order, Action.SUPERVISE, None)
        order.supervised_for = due_at
        note = f"已超过办结期限（{timezone.localtime(due_at):%Y-%m-%d %H:%M}），系统自动督办"
        apply_transition(order, Action.SUPERVISE, actor=None, role=role, transition=transition, note=note,
                         department_id=order.lead_department_id, at=now, update_fields=["supervised_for"])
        key = f"supervise:{order.pk}:{due_at.isoformat()}"
        recipients = department_users(order.lead_department_id) if order.lead_department_id else []
        recipients += users_with_area_role({Role.SUPERVISOR}, order.area_path)
        return notification_send(recipients=recipients, kind="supervise", title=f"督办：工单 {order.number} 已超期",
                                 body=note, object_type="workorder", object_id=order.pk, url=f"/orders/{order.pk}/",
                                 dedupe_key=key)
    transition, role = check_transition(order, Action.REMIND, None)
    if kind == "sign":
        order.sign_reminded_for = order.sign_due_at
        deadline, fieldname, what = order.sign_due_at, "sign_reminded_for", "签收"
    else:
        order.due_reminded_for = order.due_at
        deadline, fieldname, what = order.due_at, "due_reminded_for", "办结"
    assert deadline is not None  # _candidates() takes only orders whose deadline is still ahead
    note = f"即将超过{what}期限（{timezone.localtime(deadline):%Y-%m-%d %H:%M}），系统自动催办"
    apply_transition(order, Action.REMIND, actor=None, role=role, transition=transition, note=note,
                     department_id=order.lead_department_id, at=now, update_fields=[fieldname],
                     data={"clock": kind})
    key = f"remind-{kind}:{order.pk}:{deadline.isoformat()}"
    recipients = department_users(order.lead_department_id) if order.lead_department_id else []
    return notification_send(recipients=recipients, kind="remind", title=f"催办：工单 {order.number} 即将到期",
                             body=note, object_type="workorder", object_id=order.pk, url=f"/orders/{order.pk}/",
                             dedupe_key=key)
