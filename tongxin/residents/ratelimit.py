"""Fixed-window rate limits in Django's cache (Redis in production, so every worker shares them)."""

from __future__ import annotations

import time

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongxin.core.errors import ApplicationError
from tongxin.core.ratelimit import window_count

from . import conf


class RateLimited(ApplicationError):
    status = 429
    code = "rate_limited"
    default_message = gettext_lazy("操作过于频繁，请稍后再试")


def hit(name: str, key: str, *, message: str | None = None, field: str = "") -> None:
    """Count one attempt of ``name`` for ``key``; raise RateLimited once the window's count is spent."""
    limit, seconds = conf.rate(name)
    window = int(time.time() // seconds)
    count = window_count(f"tx:rl:{name}:{key}:{window}", seconds)
    if count > limit:
        wait = seconds - int(time.time()) % seconds
        text = message or _("操作过于频繁，请稍后再试")
        raise RateLimited(_("%(text)s（约 %(seconds)s 秒后可再试）") % {"text": text, "seconds": max(wait, 1)},
                          fields={field: text} if field else {})
