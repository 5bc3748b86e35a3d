"""Rate limits on the public doors, by URL pattern, so no app's views need to change.

Each rule names a path pattern, the methods it counts and a budget ``count/seconds`` per client address;
``tongxin.core.security.SecurityHeadersMiddleware`` asks ``check(request)`` before the view runs and
answers 429 once the budget of a window is spent (the API's error shape under /api/, Open311's under
/open311/, a Chinese page elsewhere). Counted in Django's cache with fixed windows: Redis in production
(REDIS_URL), so every worker shares one count; the embedded set-up's local-memory cache counts per
process, which is what one process needs. These limits are per address and coarse on purpose — the
domains keep their own finer ones (one SMS per phone a minute in residents, an Open311 key's budget).

Settings: ``TONGXIN_RATE_LIMITS`` (the rules, see settings.py), ``TONGXIN_RATE_LIMIT_<NAME>`` =
"count/seconds" overrides one rule's budget (also from the environment), ``TONGXIN_RATE_LIMITS_ENABLED``
switches them all off, ``TONGXIN_CLIENT_IP_HEADER`` names the header the reverse proxy sets with the
client's address (e.g. ``HTTP_X_REAL_IP``; docs/deploy.md) — trusted only when set.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.http import HttpRequest


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    methods: frozenset[str]
    count: int
    seconds: int


@dataclass(frozen=True)
class Exceeded:
    rule: Rule
    retry_after: int


def parse_budget(text: str) -> tuple[int, int]:
    """ "10/600" → (10, 600). Raises ValueError on anything else, so a typo fails at start-up."""
    count, sep, seconds = str(text).strip().partition("/")
    if not sep or int(count) < 1 or int(seconds) < 1:
        raise ValueError(f"rate limit budget must be 'count/seconds', got {text!r}")
    return int(count), int(seconds)


def _budget(name: str, default: str) -> tuple[int, int]:
    key = f"TONGXIN_RATE_LIMIT_{name.upper()}"
    return parse_budget(getattr(settings, key, None) or os.environ.get(key, "") or default)


@lru_cache(maxsize=8)
def _compile(rules: tuple[tuple[str, str, str, str], ...], overrides: tuple[tuple[str, str], ...]) -> tuple[Rule, ...]:
    compiled = []
    for name, pattern, methods, budget in rules:
        count, seconds = _budget(name, budget)
        compiled.append(Rule(name, re.compile(pattern), frozenset(m.strip().upper() for m in methods.split(",")),
                             count, seconds))
    return tuple(compiled)


_rules_cache: tuple[Rule, ...] | None = None


def _reset_rules(**kwargs: Any) -> None:
    global _rules_cache
    setting = kwargs.get("setting", "")
    if not setting or setting.startswith("TONGXIN_RATE_LIMIT"):
        _rules_cache = None


setting_changed.connect(_reset_rules)


def rules() -> tuple[Rule, ...]:
    """The compiled rules, computed once per process (every request asks; ``dir(settings)`` is far too
    slow to walk each time). A settings change (``override_settings`` in tests) drops them."""
    global _rules_cache
    if _rules_cache is None:
        configured = tuple(tuple(rule) for rule in getattr(settings, "TONGXIN_RATE_LIMITS", ()))
        overrides = tuple(sorted((k, str(getattr(settings, k)))
                                 for k in dir(settings) if k.startswith("TONGXIN_RATE_LIMIT_")))
        _rules_cache = _compile(configured, overrides)  # type: ignore[arg-type]
    return _rules_cache


def client_ip(request: HttpRequest) -> str:
    header = getattr(settings, "TONGXIN_CLIENT_IP_HEADER", "")
    if header:
        # Set by our own reverse proxy; the left-most entry of a list is the client.
        value = request.META.get(header, "").split(",")[0].strip()
        if value:
            return value[:64]
    return (request.META.get("REMOTE_ADDR", "") or "unknown")[:64]


def window_count(cache_key: str, seconds: int) -> int:
    """Count one more in the fixed-window counter ``cache_key`` (it lives ``seconds`` + 1) and return
    the count: one round trip on Redis (``core.cache.RedisCache.count_in_window``), else ``add`` +
    ``incr`` of whatever cache is configured. Shared by every rate limit (the door's and the residents')."""
    counter = getattr(cache, "count_in_window", None)
    if counter is not None:
        return int(counter(cache_key, seconds + 1))
    if cache.add(cache_key, 1, timeout=seconds + 1):
        return 1
    try:
        return int(cache.incr(cache_key))
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=seconds + 1)
        return 1


def hit(name: str, key: str, *, count: int, seconds: int, now: float | None = None) -> int:
    """Count one request of ``name`` from ``key`` in the current fixed window; return the window's count."""
    now = time.time() if now is None else now
    window = int(now // seconds)
    return window_count(f"tx:rl:core:{name}:{key}:{window}", seconds)


def check(request: HttpRequest, *, now: float | None = None) -> Exceeded | None:
    """Count ``request`` against every rule it matches; the first exhausted rule, or None."""
    if not getattr(settings, "TONGXIN_RATE_LIMITS_ENABLED", True):
        return None
    path, method = request.path, request.method or "GET"
    ip = ""
    for rule in rules():
        if method not in rule.methods or not rule.pattern.search(path):
            continue
        ip = ip or client_ip(request)
        current = time.time() if now is None else now
        if hit(rule.name, ip, count=rule.count, seconds=rule.seconds, now=current) > rule.count:
            return Exceeded(rule, max(1, rule.seconds - int(current) % rule.seconds))
    return None


def describe(exceeded: Exceeded) -> dict[str, Any]:
    return {"rule": exceeded.rule.name, "limit": exceeded.rule.count, "seconds": exceeded.rule.seconds,
            "retry_after": exceeded.retry_after}
