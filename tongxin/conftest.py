"""Shared fixtures. Caches that live per process are cleared around each test so that a rolled-back
database never leaves a stale calendar, area index or SLA table behind."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from tongxin.testing import PASSWORD, World, build_world

CHROMIUM = os.environ.get("TONGXIN_CHROMIUM", "/usr/bin/chromium")


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


@pytest.fixture(autouse=True)
def _restore_language():
    """LocaleMiddleware leaves the last request's language active in the test's thread: a test that asked
    for English must not leave it to the next test, which expects the default (zh-hans)."""
    from django.utils import translation

    yield
    translation.deactivate()  # back to settings.LANGUAGE_CODE


@pytest.fixture
def world(db) -> World:
    return build_world()


# --- the browser (Debian's Chromium through Playwright, against pytest-django's live_server) -----------

_BROWSER: list[Any] = []  # the one browser of this test process


@pytest.fixture(scope="session")
def _chromium() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM}: install it (apt-get install chromium fonts-noto-cjk; ./dev test does when root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed: pip install -e '.[dev]'")
    # Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a thread
    # with a running loop unless told that this is deliberate (the tests' own ORM calls stay synchronous).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    if _BROWSER:
        # tests/ imports these fixtures into its modules, which makes a second session fixture: a second
        # sync_playwright() in the same thread would find the first one's loop running. Share the browser.
        yield _BROWSER[0]
        return
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking"], headless=True,
        )
        _BROWSER.append(browser)
        try:
            yield browser
        finally:
            _BROWSER.clear()
            browser.close()


PHONE_VIEWPORT = {"width": 390, "height": 844}  # a common 6.1-inch phone


@pytest.fixture
def phone_page(_chromium, live_server) -> Iterator[Callable[..., Any]]:
    """``phone_page(geolocation={...})``: a fresh phone-sized context (touch, zh-CN; the geolocation
    granted when given) on the live server, closed at the end of the test. Each app's ``phone``
    fixture calls it with the location its tests expect."""
    contexts: list[Any] = []

    def open_page(geolocation: dict[str, float] | None = None) -> Any:
        extra: dict[str, Any] = {"geolocation": geolocation, "permissions": ["geolocation"]} if geolocation else {}
        context = _chromium.new_context(viewport=PHONE_VIEWPORT, device_scale_factor=2, is_mobile=True, has_touch=True,
                                        locale="zh-CN", **extra)
        context.set_default_timeout(30_000)  # the machine is shared: be patient, not flaky
        contexts.append(context)
        page = context.new_page()
        page.base_url = live_server.url
        return page

    try:
        yield open_page
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def browser_page(_chromium, live_server) -> Iterator[Any]:
    """A fresh browser context (own cookies) on a 1280×900 page; ``page.base_url`` is the live server."""
    context = _chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.base_url = live_server.url
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def login_as() -> Callable[[Any, str], None]:
    """``login_as(page, "handler")``: sign in through the real login form."""

    def _login(page: Any, username: str) -> None:
        page.context.clear_cookies()
        page.goto(f"{page.base_url}/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{page.base_url}/")

    return _login


