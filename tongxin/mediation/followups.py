"""The follow-up sweep (回访提醒): reminders to the owning organisation's mediators a day before a
follow-up falls due, and an overdue notice (to them and to the governance centre one level up) once it is
late. Idempotent: every notice carries a dedupe key naming the case and the due time, so a second run
notifies nobody twice; a dry run reports what it would send and writes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from tongxin.accounts.services import notification_send

from .choices import LEVEL_DEPTH, TRIAGE_KINDS, Level
from .models import DisputeCase, MediationOrg
from .selectors import follow_ups_due

REMIND_AHEAD = timedelta(days=1)


@dataclass
class FollowUpSweepReport:
    dry_run: bool
    reminders: list[str] = field(default_factory=list)  # case numbers reminded (due within a day)
    overdue: list[str] = field(default_factory=list)  # case numbers overdue
    notifications: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "reminders": self.reminders, "overdue": self.overdue,
                "notifications": self.notifications}


def _recipients(org: MediationOrg) -> list[Any]:
    return [m.user for m in org.mediators.filter(active=True, user__isnull=False, user__is_active=True)
            .select_related("user") if m.user is not None]


def _centre_above(case: DisputeCase) -> MediationOrg | None:
    """The triage centre one level above the owner, whose area contains the case (for overdue notices)."""
    depth = LEVEL_DEPTH[Level(case.level)]
    if depth == 0:
        return None
    candidates = MediationOrg.objects.filter(active=True, kind__in=TRIAGE_KINDS).exclude(pk=case.owner_org_id)
    best = None
    for org in candidates:
        if case.area_path.startswith(org.area_path) and LEVEL_DEPTH[Level(org.level)] == depth - 1:
            best = org
    return best


def follow_up_sweep(*, now: datetime | None = None, dry_run: bool = False) -> FollowUpSweepReport:
    now = now or timezone.now()
    report = FollowUpSweepReport(dry_run=dry_run)
    for case in follow_ups_due(before=now + REMIND_AHEAD):
        due = case.next_follow_up_at
        if due is None:  # the query excludes it; the check is for the type checker
            continue
        overdue = due < now
        stamp = due.isoformat()
        local_due = timezone.localtime(due)
        if overdue:
            report.overdue.append(case.number)
            title = f"回访已超期：案件 {case.number}（应于 {local_due:%m-%d} 回访）"
            targets = [(case.owner_org, f"mediation-followup-overdue:{case.pk}:{stamp}")]
            centre = _centre_above(case)
            if centre is not None:
                targets.append((centre, f"mediation-followup-overdue-centre:{case.pk}:{stamp}"))
        else:
            report.reminders.append(case.number)
            title = f"回访提醒：案件 {case.number} 应于 {local_due:%m-%d %H:%M} 前回访"
            targets = [(case.owner_org, f"mediation-followup-due:{case.pk}:{stamp}")]
        if dry_run:
            continue
        with transaction.atomic():
            for org, key in targets:
                report.notifications += notification_send(
                    recipients=_recipients(org), kind="mediation_follow_up", title=title, object_type="mediation_case",
                    object_id=case.pk, url=f"/mediation/{case.pk}/", dedupe_key=key,
                )
    return report
