"""Real-browser tests: Debian's Chromium through Playwright against the live server (real HTTP, real
JavaScript: htmx swaps, polling, confirmation steps). Screenshots go to var/screenshots/."""

from __future__ import annotations

import pytest

from tongxin.accounts.services import notification_send

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_notification_badge_and_page(browser_page, login_as, world):
    page = browser_page
    handler = world.user("handler")
    notification_send(recipients=[handler], kind="dispatched", title="新工单 2026010100001 待签收", url="/orders/")
    login_as(page, "handler")
    badge = page.locator("#notification-badge .count")
    assert badge.inner_text() == "1"
    assert page.evaluate("typeof htmx") == "object"  # htmx served from static/vendor, not a CDN
    page.click("#notification-badge")
    assert "新工单 2026010100001 待签收" in page.content()
    screenshot(page, "notifications")
    page.click("text=全部标为已读")
    assert page.locator("#notification-badge .count").inner_text() == "0"
    # The badge refreshes without a reload (the poll, triggered here instead of waiting 30 s).
    notification_send(recipients=[handler], kind="remind", title="催办：工单 2026010100001")
    page.evaluate("htmx.ajax('GET', '/workbench/notifications/badge/', {target: '#notification-badge', swap: 'outerHTML'})")
    page.wait_for_function("document.querySelector('#notification-badge .count').innerText === '1'")
