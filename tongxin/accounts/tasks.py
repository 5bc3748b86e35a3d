"""Background jobs of the accounts room (Huey): notifications that also go out by SMS."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from .services import notification_sms_send


@db_task(retries=3, retry_delay=60)
def notification_sms_task(notification_id: int) -> bool:
    """Send one notification by SMS (the gateway is slow and may fail: retried three times)."""
    return notification_sms_send(notification_id=notification_id)
