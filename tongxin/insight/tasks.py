"""Background jobs of the insight room (Huey)."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from .services import classifier_retrain

logger = logging.getLogger("tongxin.insight")


@db_periodic_task(crontab(day_of_week="0", hour="3", minute="17"))
@lock_task("insight-classifier-retrain")
def classifier_retrain_task() -> dict:
    """Every Sunday at 03:17: retrain the classifier from the closed work orders; the new model replaces
    the active one only if it scores at least as well on the held-out part of the history. One run at a
    time (a Huey lock)."""
    report = classifier_retrain(log=logger.info)
    logger.info("classifier retrain: %s — %s", report.status, report.message)
    return report.as_dict()


@db_periodic_task(crontab(minute="40"))
@lock_task("insight-hotspot-alerts")
def hotspot_alerts_task() -> dict:
    """Every hour at :40: current hotspots → notifications for the leaders of their areas (idempotent)."""
    from .services import hotspot_alerts_send

    report = hotspot_alerts_send()
    logger.info("hotspot alerts: %s hotspots, %s notifications", report.hotspots, report.notified)
    return report.as_dict()
