"""Background jobs of mediation (Huey)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from .followups import follow_up_sweep


@db_periodic_task(crontab(minute="15"))
def follow_up_sweep_task() -> dict:
    """Every hour: follow-up reminders and overdue notices (idempotent through dedupe keys)."""
    return follow_up_sweep().as_dict()
