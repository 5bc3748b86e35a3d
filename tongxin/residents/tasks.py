"""Background jobs of the residents domain (Huey)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from .services import login_codes_purge, report_register, report_register_sweep


@db_periodic_task(crontab(minute="17", hour="3"))
def login_codes_purge_task() -> int:
    """Nightly: delete one-time codes that expired more than a day ago (idempotent)."""
    return login_codes_purge()


@db_task(retries=3, retry_delay=30)
def report_register_task(report_id: int) -> str:
    """Make the work order of one receipt (scheduled on the receipt's commit). Idempotent: a second run,
    or a run after the sweep, finds the order made and does nothing. Unexpected errors are retried."""
    return report_register(report_id=report_id).outcome


@db_periodic_task(crontab(minute="*"))
def report_register_sweep_task() -> int:
    """Every minute: receipts still waiting a minute after they were written (a lost task, a killed worker)."""
    return report_register_sweep()
