"""Background jobs of the grids domain (Huey)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from .services import patrol_close_stale


@db_periodic_task(crontab(minute="40"))
def patrol_close_stale_task() -> int:
    """Every hour: end the patrols left open over 12 hours, so that their workers can start a new one."""
    return patrol_close_stale()
