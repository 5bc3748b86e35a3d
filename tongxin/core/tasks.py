"""Periodic jobs of core: the data-retention run (``TONGXIN_RETENTION_DAYS``; 0 switches it off)."""

from __future__ import annotations

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(hour="3", minute="17"))
def retention_task() -> dict[str, int]:
    """Every night at 03:17, anonymise what has been finished for longer than the retention period.
    Each handler is idempotent (an anonymised record is not counted again), so a missed night is
    caught up by the next one."""
    from tongxin.core.management.commands.retention import run_retention

    days = int(getattr(settings, "TONGXIN_RETENTION_DAYS", 0) or 0)
    if days <= 0:
        return {}
    return run_retention(days=days)
