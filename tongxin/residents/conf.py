"""The residents domain's settings, each with its default (override in settings or the environment)."""

from __future__ import annotations

import os

from django.conf import settings


def _setting(name: str, default: int) -> int:
    value = getattr(settings, name, None)
    if value is None:
        raw = os.environ.get(name, "").strip()
        value = int(raw) if raw else default
    return int(value)


def channel_owner_username() -> str:
    """The staff account as whom residents' requests are recorded (受理人, like an Open311 key's owner)."""
    return getattr(settings, "TONGXIN_RESIDENTS_CHANNEL_USER", None) or os.environ.get(
        "TONGXIN_RESIDENTS_CHANNEL_USER", "residents-channel")


def public_base_url(request_base: str) -> str:
    """The address printed on stickers: TONGXIN_RESIDENTS_PUBLIC_URL (e.g. https://12345.ordos.gov.cn),
    else the address the staff member is using — wrong when staff work on an intranet host."""
    return (getattr(settings, "TONGXIN_RESIDENTS_PUBLIC_URL", None) or os.environ.get("TONGXIN_RESIDENTS_PUBLIC_URL", "")
            or request_base).rstrip("/")


def login_code_seconds() -> int:
    return _setting("TONGXIN_RESIDENT_CODE_SECONDS", 300)


def login_code_attempts() -> int:
    return _setting("TONGXIN_RESIDENT_CODE_ATTEMPTS", 5)


def session_days() -> int:
    return _setting("TONGXIN_RESIDENT_SESSION_DAYS", 30)


def reopen_days() -> int:
    """How long after the reply a resident may reopen (重办) an unsatisfactory answer."""
    return _setting("TONGXIN_RESIDENT_REOPEN_DAYS", 7)


def rate(name: str) -> tuple[int, int]:
    """(count, seconds) of one rate limit; TONGXIN_RESIDENT_RATE_<NAME>="count/seconds"."""
    defaults = {
        "code_phone": (1, 60),        # one SMS per phone per minute
        "code_phone_day": (10, 86400),
        "code_ip": (20, 3600),        # code requests from one address
        "login_ip": (30, 600),        # code checks from one address
        "report_resident": (30, 3600),
    }
    key = f"TONGXIN_RESIDENT_RATE_{name.upper()}"
    raw = getattr(settings, key, None) or os.environ.get(key, "")
    if raw:
        count, _, seconds = str(raw).partition("/")
        return int(count), int(seconds or 60)
    return defaults[name]


MAX_PHOTOS = 6
MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PHOTO_PIXELS = 40_000_000  # a 40-megapixel phone photo; more is a decompression bomb
STORED_PHOTO_SIDE = 2000       # longest side of the stored copy: 4000-pixel phone photos decode at half scale


def report_register_mode() -> str:
    """Where a report's work order is made (ADR 0010): ``task`` — a Huey task scheduled on commit (the
    default with REDIS_URL: production runs ``tongxin worker``); ``inline`` — in the same request, right
    after the receipt's own transaction (the default without Redis: the SQLite demo runs no worker, and
    the tests). TONGXIN_REPORT_REGISTER overrides either way."""
    value = getattr(settings, "TONGXIN_REPORT_REGISTER", None) or os.environ.get("TONGXIN_REPORT_REGISTER", "")
    value = str(value).strip().lower()
    if value in {"task", "inline"}:
        return value
    return "task" if getattr(settings, "REDIS_URL", "") else "inline"


def report_sweep_seconds() -> int:
    """How long a receipt may stay ``received`` before the minute sweep registers it itself."""
    return _setting("TONGXIN_REPORT_SWEEP_SECONDS", 60)


REPORT_REGISTER_ATTEMPTS = 5  # unexpected errors (not the engine's refusals) before a receipt is marked failed
