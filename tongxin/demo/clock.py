"""A settable "current time" for placing the demo's history in the past.

The services stamp every step with ``django.utils.timezone.now()`` (that is the rule: the server's clock,
never the client's). To record a year of history through those same services, the seed replaces that
one function for the duration of the seed only, and moves the hands before each step::

    with seed_clock() as clock:
        clock.set(some_past_datetime)
        work_order_sign(...)            # stamped some_past_datetime

Only ``django.utils.timezone.now`` is replaced (the services call it as ``timezone.now()``); model field
defaults bound to the original function at import time (audit rows, notifications) keep the real time,
which is true: those rows are written now. On leaving the block the original function is restored, even
after an error. Not thread-safe by design: the seed runs in one thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from unittest import mock

from django.utils import timezone


class SeedClock:
    """The hands of the patched clock. ``set`` refuses naive datetimes and the future, so the seed can
    never record an event that has not happened yet."""

    def __init__(self, real_now: datetime) -> None:
        self.real_now = real_now
        self.current = real_now

    def set(self, moment: datetime) -> datetime:
        if timezone.is_naive(moment):
            raise ValueError("the seed clock needs an aware datetime")
        if moment > self.real_now:
            raise ValueError(f"the seed clock cannot move past the real time ({moment} > {self.real_now})")
        self.current = moment
        return moment

    def now(self) -> datetime:
        return self.current


@contextmanager
def seed_clock() -> Iterator[SeedClock]:
    clock = SeedClock(timezone.now())
    with mock.patch("django.utils.timezone.now", clock.now):
        yield clock
