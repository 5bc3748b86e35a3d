"""Background jobs of the dashboard (Huey): the fold every minute, a nightly rebuild as a safety net,
and the reports after midnight."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from .reports import reports_generate
from .rollups import fold, rebuild


@db_periodic_task(crontab(minute="*"))
@lock_task("dashboard-rollup")
def dashboard_rollup_task() -> dict:
    """Every minute: fold the new work-order events into the rollups (idempotent; the cursor row lock
    also keeps a second worker out)."""
    return fold().as_dict()


@db_periodic_task(crontab(minute="30", hour="3"))
@lock_task("dashboard-rollup")
def dashboard_rebuild_task() -> dict:
    """Every night at 03:30: recompute the rollups from the raw rows (corrects anything the fold could
    have missed, e.g. an order edited in the admin without an event)."""
    return rebuild()


@db_periodic_task(crontab(minute="15", hour="1"))
def dashboard_reports_task() -> list[str]:
    """Every night at 01:15: yesterday's daily report, last week's on Mondays, last month's on the 1st,
    for the city and each district, into VAR_DIR/reports/."""
    return [str(p) for p in reports_generate()]
