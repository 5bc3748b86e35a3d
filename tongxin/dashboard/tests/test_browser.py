"""Both dashboard pages in a real browser (Chromium through Playwright, the live server): the charts are
drawn by ECharts from static/vendor, the map from the stored boundaries; the screenshots (var/screenshots/
dashboard-page.png, dashboard-screen.png) are checked not to be blank."""

from __future__ import annotations

import pytest

from tongxin.dashboard.rollups import fold
from tongxin.web.tests.conftest import screenshot
from tongxin.workorders import services as s
from tongxin.workorders.tests.engine_helpers import at, time_travel

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _more_orders(world) -> None:
    """Three weeks of requests in every district, so that the trend and the map have something to show."""
    u = world.user
    places = [("150602001001G01", "C010101"), ("150602001", "C01"), ("150603001", "C02"), ("150603", "C02")]
    channels = ["hotline", "app", "web", "qr", "walk_in"]
    for day in range(1, 21):
        with time_travel(at(2026, 11, 9 + day // 2, 9 + day % 8, 0)):
            for i in range(day % 5 + 1):
                place, category = places[(day + i) % len(places)]
                order = s.work_order_create(actor=u("operator"), channel=channels[(day + i) % len(channels)],
                                            kind="complaint", content=f"路灯不亮{day}-{i}", category_code=category,
                                            area_code=place, citizen_phone=f"1370000{day:02d}{i:02d}")
                if (day + i) % 3:
                    s.work_order_dispatch(order_id=order.pk, actor=u("dispatcher"))


def _drawn(page) -> None:
    page.wait_for_function("() => document.querySelector('#trend-chart canvas') !== null")
    page.wait_for_function("() => (() => { const c = document.querySelector('#map-chart canvas'); return c !== null; })()")
    page.wait_for_timeout(800)  # ECharts' entry animation


def test_dashboard_page_and_screen_in_a_browser(browser_page, login_as, world, city):
    _more_orders(world)
    fold()
    page = browser_page
    login_as(page, "leader")
    page.goto(f"{page.base_url}/dashboard/")
    _drawn(page)
    assert page.evaluate("typeof echarts") == "object"  # served from static/vendor, no CDN
    assert "城市运行" in page.title() and "今日受理" in page.content()
    page.get_by_text("件相似诉求").first.wait_for()  # hot spots, loaded by htmx from insight's selectors
    screenshot(page, "dashboard-page")
    # Drill down by clicking a district's link under the map.
    page.click(".dash-regions a:text('乙区')")
    page.wait_for_url("**area=150603**")
    _drawn(page)
    assert "乙区" in page.locator(".crumbs").inner_text()
    # The big screen: 1920×1080, dark.
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{page.base_url}/dashboard/screen/")
    _drawn(page)
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(7, 20, 38)"
    page.locator(".screen-insight .hotspots, .screen-insight .muted:not(:text('加载中'))").first.wait_for()
    # Everything fits the 1920×1080 screen: nothing below the fold.
    bottom = page.evaluate("Math.max(...[...document.querySelectorAll('.dash-card')].map(e => e.getBoundingClientRect().bottom))")
    cards = page.evaluate("[...document.querySelectorAll('.dash-card')].map(e => e.className + ' ' + "
                          "Math.round(e.getBoundingClientRect().top) + '-' + Math.round(e.getBoundingClientRect().bottom))")
    assert bottom <= 1080, cards
    assert page.evaluate("typeof htmx") == "object"
    # The refresh swaps the body and draws the charts again.
    page.evaluate("htmx.trigger('#screen-body', 'every 60s')")
    page.evaluate("htmx.ajax('GET', document.querySelector('#screen-body').getAttribute('hx-get'), "
                  "{target: '#screen-body', swap: 'outerHTML'})")
    page.wait_for_timeout(1500)
    assert page.locator("#trend-chart canvas").count() == 1
    path = screenshot(page, "dashboard-screen")
    assert path.stat().st_size > 20_000
