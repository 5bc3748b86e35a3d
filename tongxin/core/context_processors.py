"""Template context shared by every page."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import HttpRequest

from .workcalendar import calendar_status

logger = logging.getLogger("tongxin.calendar")


def calendar_warning(request: HttpRequest) -> dict[str, str]:
    """``{"calendar_warning": message}`` for signed-in staff when a year's holidays are missing.

    Staff see it in the admin banner and page header until someone enters the year: deadlines computed
    meanwhile ignore that year's holidays. Citizens and anonymous visitors never see it. Cheap: the
    calendar is cached per process. A database failure must not break every page (error pages are
    rendered with this processor too), so it degrades to no banner.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"calendar_warning": ""}
    try:
        return {"calendar_warning": calendar_status()["message"]}
    except DatabaseError:
        logger.exception("calendar warning: could not load the working calendar")
        return {"calendar_warning": ""}
