"""Background jobs of the residents domain (Huey)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from .services import login_codes_purge


@db_periodic_task(crontab(minute="17", hour="3"))
def login_codes_purge_task() -> int:
    """Nightly: delete one-time codes that expired more than a day ago (idempotent)."""
    return login_codes_purge()
