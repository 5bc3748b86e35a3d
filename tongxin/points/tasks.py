"""Background jobs of the points room (Huey)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from .services import report_awards_sweep


@db_periodic_task(crontab(minute="*/10"))
def report_awards_task() -> dict:
    """Every ten minutes: pay ``report_confirmed`` for reports confirmed since the last run (idempotent)."""
    return report_awards_sweep()
