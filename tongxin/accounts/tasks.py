"""Background jobs of the accounts room (Huey): notifications that also go out by SMS."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from .services import notification_sms_send, notification_sms_sweep


@db_task(retries=3, retry_delay=60)
def notification_sms_task(notification_id: int) -> bool:
    """Send one notification by SMS (the gateway is slow and may fail: retried three times)."""
    return notification_sms_send(notification_id=notification_id)


@db_periodic_task(crontab(minute="*"))
def notification_sms_sweep_task() -> int:
    """Every minute: the SMS whose task was lost or whose sender died (the outbox in Notification)."""
    return notification_sms_sweep()
