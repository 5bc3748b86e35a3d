"""Fixed-window rate limits in Django's cache (Redis in production, so every worker shares them)."""

from __future__ import annotations

import time

from django.core.cache import cache

from tongxin.core.errors import ApplicationError

from . import conf


class RateLimited(ApplicationError):
    status = 429
    code = "rate_limited"
    default_message = "操作过于频繁，请稍后再试"


def hit(name: str, key: str, *, message: str | None = None, field: str = "") -> None:
    """Count one attempt of ``name`` for ``key``; raise RateLimited once the window's count is spent."""
    limit, seconds = conf.rate(name)
    window = int(time.time() // seconds)
    cache_key = f"tx:rl:{name}:{key}:{window}"
    if cache.add(cache_key, 1, timeout=seconds + 1):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.add(cache_key, 1, timeout=seconds + 1)
            count = 1
    if count > limit:
        wait = seconds - int(time.time()) % seconds
        text = message or "操作过于频繁，请稍后再试"
        raise RateLimited(f"{text}（约 {max(wait, 1)} 秒后可再试）", fields={field: text} if field else {})
