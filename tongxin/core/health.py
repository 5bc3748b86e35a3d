"""The health check used by load balancers, monitoring and ``/healthz``."""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError, connection

from .workcalendar import calendar_status

logger = logging.getLogger("tongxin.health")


def health_check() -> dict[str, Any]:
    """``{"status": "ok"|"warning"|"error", "database": "ok"|"error", "calendar": {...}}``.

    "warning" means the service works but needs a person: the holidays of the current year (or, from
    November, the next one) have not been entered. "error" means the database cannot be reached.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("health check: database unreachable")
        return {"status": "error", "database": "error", "calendar": None}
    try:
        calendar = calendar_status()
    except DatabaseError:
        # Reachable but the calendar tables are unusable (e.g. migrations not applied).
        logger.exception("health check: working calendar could not be loaded")
        return {"status": "error", "database": "ok", "calendar": None}
    return {"status": "ok" if calendar["ok"] else "warning", "database": "ok", "calendar": calendar}
