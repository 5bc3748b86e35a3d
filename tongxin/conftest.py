"""Shared fixtures. Caches that live per process are cleared around each test so that a rolled-back
database never leaves a stale calendar, area index or SLA table behind."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tongxin.testing import World, build_world


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """The default PBKDF2 costs ~0.3 s per user: too slow for a world of a dozen users per test."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _clear_process_caches():
    from tongxin.core.workcalendar import invalidate_calendar_cache
    from tongxin.regions.selectors import invalidate_locator
    from tongxin.workorders.lookups import invalidate_lookup_cache
    from tongxin.workorders.sla import invalidate_sla_cache

    caches = (invalidate_calendar_cache, invalidate_locator, invalidate_sla_cache, invalidate_lookup_cache)
    for clear in caches:
        clear()
    yield
    for clear in caches:
        clear()


@pytest.fixture
def world(db) -> World:
    return build_world()
