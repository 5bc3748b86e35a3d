"""The area map in a real browser (Chromium through Playwright, desktop viewport, the live server): the
outlines drawn by the vendored Leaflet with no tiles, drill-down from the city into a district and a town by
clicking, the overdue colouring and the heat layer. Screenshots: var/screenshots/map-*.png."""

from __future__ import annotations

import pytest

from tongxin.dashboard.tests import test_map
from tongxin.web.tests.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

located = test_map.located  # the fixture: the dashboard's orders plus ten with a location
_fresh_cache = test_map._fresh_cache  # autouse: no outlines cached from another test's areas


def _ready(page) -> None:
    page.wait_for_selector("#area-map[data-ready='all']")
    page.wait_for_timeout(300)  # the fit-to-bounds animation


def _fill(page, code: str) -> str:
    return page.get_attribute(f"#area-map path[data-code='{code}']", "data-fill")


def test_map_drill_down_overdue_colouring_and_heat(browser_page, login_as, world, located):
    page = browser_page
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    login_as(page, "leader")
    page.goto(f"{page.base_url}/dashboard/map/")
    _ready(page)
    assert page.evaluate("typeof L") == "object"  # Leaflet from static/vendor
    assert page.locator("#area-map path[data-code]").count() == 2  # 甲区, 乙区
    assert page.locator(".leaflet-tile").count() == 0  # no tiles configured: outlines on a plain background
    assert "显示 10 / 共 10" in page.inner_text("#map-status")
    assert page.locator("path.map-point").count() == 10
    assert "受理量" in page.inner_text(".map-legend")
    # Both districts hold 8 orders: the same (darkest) class of the volume palette.
    assert _fill(page, "150602") == _fill(page, "150603") == "#1e3a8a"
    screenshot(page, "map-city")

    # Drill down: click district B (off its centre, where no point sits), then its town.
    page.locator("#area-map path[data-code='150603']").click(position={"x": 12, "y": 12})
    page.wait_for_url("**area=150603**")
    _ready(page)
    assert "乙区" in page.inner_text(".crumbs")
    codes = page.evaluate("[...document.querySelectorAll('#area-map path[data-code]')].map(p => p.dataset.code)")
    assert codes == ["150603001"]
    page.locator("#area-map path[data-code='150603001']").click(position={"x": 12, "y": 12})
    page.wait_for_url("**area=150603001**")
    _ready(page)
    crumbs = page.inner_text(".crumbs")
    assert "测试市" in crumbs and "乙区" in crumbs and "乙街道" in crumbs
    assert "乙街道" in page.inner_text(".map-panel h2")

    # Back up to the city through the breadcrumbs; colour by overdue (none yet: the empty class).
    page.click(".crumbs a:text('测试市')")
    _ready(page)
    page.click("button[data-map-metric='overdue']")
    assert page.get_attribute("#area-map", "data-metric") == "overdue"
    assert page.get_attribute("button[data-map-metric='overdue']", "aria-pressed") == "true"
    assert "超期未办结" in page.inner_text(".map-legend")
    assert _fill(page, "150602") == "#f1f5f9"

    # The heat layer: a canvas with painted pixels over the map.
    assert page.locator("canvas.map-heat").count() == 0
    page.check("#layer-heat")
    page.uncheck("#layer-points")
    page.wait_for_selector("canvas.map-heat")
    painted = page.evaluate("""(() => { const c = document.querySelector('canvas.map-heat');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
        for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) { n++; } } return n; })()""")
    assert painted > 500
    assert page.locator("path.map-point").count() == 0
    screenshot(page, "map-city-heat")
    # Nothing came from outside the live server (no CDN, no tiles).
    assert all(url.startswith(page.base_url) for url in requests), [u for u in requests if not u.startswith(page.base_url)]


def test_map_overdue_colouring_with_overdue_orders(browser_page, login_as, world, located):
    from tongxin.dashboard.rollups import fold
    from tongxin.workorders.tests.engine_helpers import at, time_travel

    with time_travel(at(2026, 12, 21, 10, 0)):
        fold()
        page = browser_page
        login_as(page, "leader")
        page.goto(f"{page.base_url}/dashboard/map/?period=year")
        _ready(page)
        page.click("button[data-map-metric='overdue']")
        # Dispatched orders are now past their deadline in both districts: coloured, not empty.
        assert _fill(page, "150602") != "#f1f5f9" and _fill(page, "150603") != "#f1f5f9"
        assert page.locator("path.map-point.late").count() == 5
        screenshot(page, "map-city-overdue")
