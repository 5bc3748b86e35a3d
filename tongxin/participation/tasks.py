"""Background jobs of consultations (Huey)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from .services import topics_close_due


@db_periodic_task(crontab(minute="*/5"))
def topics_close_due_task() -> list[int]:
    """Every five minutes: record the end of topics whose time ran out (votes stop at closes_at anyway)."""
    return topics_close_due()
