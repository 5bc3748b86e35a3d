"""Background jobs of the work-order engine (Huey)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from .sweep import sla_sweep


@db_periodic_task(crontab(minute="*/5"))
def sla_sweep_task() -> dict:
    """Every five minutes: reminders before deadlines, supervision after breaches (idempotent)."""
    return sla_sweep().as_dict()
