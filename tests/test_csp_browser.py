"""The enforced Content-Security-Policy in a real browser (docs/security.md): a walk over the main pages of
every role — staff, dashboard, grid worker, mediator, points clerk, the Django admin, the API docs, and the
resident's phone pages — collecting every CSP violation (console messages and ``securitypolicyviolation``
events) and every script error, and checking that what the policy could break still works: the language
select switches the language, the vote bars have their widths, the maps draw their (tile-less) Leaflet
panes, the charts draw a canvas and their tooltip. Screenshots: var/screenshots/csp-*.png."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tongxin.conftest import _chromium, browser_page, login_as, phone_page  # noqa: F401 - fixtures of the package's conftest
from tongxin.dashboard.rollups import fold
from tongxin.dashboard.tests.conftest import city  # noqa: F401 - the dashboard's small city (fixture)
from tongxin.participation import services as participation
from tongxin.participation.tests.conftest import make_estate, open_topic, option_id, property_input
from tongxin.points import services as points
from tongxin.points.tests.conftest import make_town, resident_cookie
from tongxin.residents import services as residents
from tongxin.testing import PASSWORD, make_user
from tongxin.web.tests.conftest import screenshot
from tongxin.workorders import services as orders

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every violation also fires a DOM event: recorded by a script Playwright injects (not subject to the page's CSP).
_RECORDER = """window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' blocked ' + e.blockedURI + ' at ' + e.sourceFile + ':' + e.lineNumber);
});"""


class Walk:
    """Pages visited by one browser page, with what went wrong on them."""

    def __init__(self, page: Any):
        self.page = page
        self.problems: list[str] = []
        page.context.set_default_timeout(30_000)  # two cores, several engineers
        page.add_init_script(_RECORDER)
        page.on("console", lambda m: self.problems.append(f"{page.url}: console: {m.text}")
                if "Content Security Policy" in m.text else None)
        page.on("pageerror", lambda error: self.problems.append(f"{page.url}: script error: {error}"))

    def visit(self, path: str, *, ready: str | None = None) -> Any:
        response = self.page.goto(f"{self.page.base_url}{path}")
        assert response is not None and response.status == 200, (path, response and response.status)
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy, path
        assert "content-security-policy-report-only" not in response.headers, path
        if ready:
            self.page.wait_for_selector(ready, state="attached")
        self.page.wait_for_load_state("load")
        self.page.wait_for_timeout(300)  # deferred scripts, htmx's first requests
        self.collect()
        return response

    def collect(self) -> None:
        for text in self.page.evaluate("window.__csp || []"):
            self.problems.append(f"{self.page.url}: {text}")

    def assert_clean(self) -> None:
        self.collect()
        assert not self.problems, "\n".join(dict.fromkeys(self.problems))


def _sign_in(page: Any, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{page.base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    assert "/accounts/login/" not in page.url, f"{username} could not sign in"


def _bar_ratios(page: Any, selector: str) -> list[float]:
    """Drawn width of each bar over its track's width, as rendered."""
    return page.eval_on_selector_all(selector, """els => els.map(r =>
        r.getBoundingClientRect().width / r.ownerSVGElement.getBoundingClientRect().width)""")


def _leaflet_drawn(page: Any, box: str) -> None:
    page.wait_for_selector(f"{box} .leaflet-map-pane", state="attached")
    page.wait_for_function(f"() => document.querySelectorAll('{box} .leaflet-overlay-pane path').length > 0")
    assert page.locator(f"{box} .leaflet-tile").count() == 0  # no tiles: works offline


def _chart_with_tooltip(page: Any, selector: str) -> None:
    page.wait_for_selector(f"{selector} canvas")
    canvas = page.locator(f"{selector} canvas").first
    box = canvas.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100
    for fraction in (0.3, 0.5, 0.7):  # the axis tooltip, drawn in the canvas (renderMode richText)
        page.mouse.move(box["x"] + box["width"] * fraction, box["y"] + box["height"] * 0.6)
        page.wait_for_timeout(150)


def _votes(world) -> tuple[Any, Any]:
    """A live property topic with four ballots (3 approve, 1 reject) in the participation estate."""
    estate = make_estate(world)
    topic = open_topic(world, property_input(estate, title="筹集电梯维修资金", matter="item6", publication="live"))
    for i, stance in ((0, "approve"), (2, "approve"), (3, "approve"), (1, "reject")):
        participation.topic_vote_cast(topic_id=topic.pk, resident=estate.owners[i], option_ids=[option_id(topic, stance)])
    return estate, topic


def test_every_staff_area_runs_under_the_enforced_policy(browser_page, world, city):  # noqa: F811
    fold()
    u = world.user
    located = orders.work_order_create(actor=u("operator"), channel="hotline", kind="complaint", content="井盖松动",
                                       category_code="C010101", lat=37.1, lng=107.1, citizen_phone="13800000009")
    _estate, topic = _votes(world)
    town = make_town(world)
    now = timezone.now()
    activity = points.activity_create(actor=town.supervisor_a, area=world.community_a, title="清扫楼道", location="1号楼",
                                      lat=37.1, lng=107.1, radius_m=100, capacity=10,
                                      starts_at=now - timedelta(minutes=30), ends_at=now + timedelta(hours=2))
    make_user("root", superuser=True)
    page = browser_page
    walk = Walk(page)

    # The operator's pages, and the language select (an unobtrusive listener, no onchange="…").
    _sign_in(page, "operator")
    walk.visit("/")
    walk.visit("/orders/")
    walk.visit(f"/orders/{located.pk}/", ready="#order-map")
    _leaflet_drawn(page, "#order-map")
    screenshot(page, "csp-order-map")
    walk.visit("/workbench/intake/")
    walk.visit("/")
    assert page.get_attribute("html", "lang") == "zh-Hans"
    with page.expect_navigation():
        page.select_option("#language", "en")
    assert page.get_attribute("html", "lang") == "en"
    walk.collect()
    screenshot(page, "csp-language-en")
    with page.expect_navigation():
        page.select_option("#language", "zh-hans")
    assert page.get_attribute("html", "lang") == "zh-Hans"

    # The leader: the dashboard (ECharts in canvas), the big screen, the area map (Leaflet), the numbers,
    # and the tally bars of a topic (SVG rects carry the shares).
    _sign_in(page, "leader")
    walk.visit("/dashboard/", ready="#trend-chart")
    _chart_with_tooltip(page, "#trend-chart")
    screenshot(page, "csp-dashboard")
    walk.visit("/dashboard/map/", ready="#area-map")
    _leaflet_drawn(page, "#area-map")
    walk.visit("/dashboard/reports/")
    page.set_viewport_size({"width": 1920, "height": 1080})
    walk.visit("/dashboard/screen/", ready="#trend-chart")
    page.wait_for_selector("#trend-chart canvas")
    page.locator(".screen-insight h2").wait_for()
    page.wait_for_timeout(800)  # the insight panel's htmx load
    screenshot(page, "csp-screen")
    page.set_viewport_size({"width": 1280, "height": 900})
    walk.visit("/participation/")
    walk.visit(f"/participation/{topic.pk}/", ready="#tally")
    shares = [float(s.strip("%")) / 100 for s in page.locator("#tally td.nowrap").all_inner_texts()]
    ratios = _bar_ratios(page, "#tally rect.tally-bar")
    assert len(ratios) == len(shares) == 3
    assert all(abs(r - s) < 0.02 for r, s in zip(ratios, shares, strict=True)), (ratios, shares)
    assert ratios[0] > 0.7  # 3 of 4 approve: the first bar is three quarters of its track
    screenshot(page, "csp-tally-bars")

    # A handler's numbers (the chart of the month) and a department select, if any.
    _sign_in(page, "handler")
    walk.visit("/workbench/numbers/", ready="#volume-chart")
    _chart_with_tooltip(page, "#volume-chart")
    walk.visit("/workbench/queue/")

    # Points: the committee's activity page (its QR code), the clerk's check page.
    _sign_in(page, "supervisor_a")
    walk.visit("/points/")
    walk.visit(f"/points/activities/{activity.pk}/")
    assert page.locator(".points-qr-activity svg").bounding_box()["width"] == 200
    _sign_in(page, "clerk")
    walk.visit("/points/check/")
    assert page.locator("#camera").evaluate("v => getComputedStyle(v).maxWidth") == "320px"

    # The grid worker's phone pages: the report form's category suggestion goes out by htmx (hx-get, no
    # js: value) with the text.
    _sign_in(page, "grid_worker")
    walk.visit("/grid/")
    walk.visit("/grid/reports/new/")
    with page.expect_request(re.compile(r"/grid/reports/suggest/\?.*text=")) as request:
        page.fill("textarea[name=text]", "路灯不亮了")
    assert "text=" in request.value.url
    walk.visit("/grid/info/")

    # The Django admin: the index (the calendar banner's style in our admin.css), a change form with
    # autocomplete (select2) and one with a filter_horizontal widget.
    _sign_in(page, "root")
    walk.visit("/admin/")
    walk.visit("/admin/workorders/dispatchrule/add/")
    page.wait_for_selector(".selector-available")
    page.locator(".select2-selection").first.click()
    page.wait_for_selector(".select2-results__option")
    walk.visit(f"/admin/accounts/user/{u('handler').pk}/change/")  # the role inline, with autocomplete
    walk.visit("/admin/workorders/workorder/")
    # Ninja's API docs (our static Swagger UI): enforced too.
    walk.visit("/api/v1/docs")
    page.wait_for_selector(".opblock")
    screenshot(page, "csp-api-docs")
    walk.assert_clean()


def test_the_mediation_pages_run_under_the_enforced_policy(browser_page, world):  # noqa: F811
    from tongxin.mediation.tests.conftest import build_mediation_world, new_case

    mw = build_mediation_world(world)
    case = new_case(mw)
    page = browser_page
    walk = Walk(page)
    _sign_in(page, "m_comm")
    walk.visit("/mediation/")
    walk.visit(f"/mediation/{case.pk}/")
    forms = page.locator("form.inline-form")
    if forms.count():  # the reveal button sits in the line of the party (a class, not style="display:inline")
        assert forms.first.evaluate("f => getComputedStyle(f).display") == "inline"
    walk.visit("/mediation/new/")
    walk.visit("/mediation/numbers/")
    screenshot(page, "csp-mediation")
    walk.assert_clean()


@pytest.fixture
def phone(phone_page):  # noqa: F811 - the fixture imported above
    return phone_page(geolocation={"latitude": 37.1003, "longitude": 107.1})


def test_the_resident_pages_run_under_the_enforced_policy(phone, world):
    estate, topic = _votes(world)
    owner = estate.owners[0]
    town = make_town(world)
    now = timezone.now()
    activity = points.activity_create(actor=town.supervisor_a, area=world.community_a, title="清扫楼道", location="1号楼",
                                      lat=37.1, lng=107.1, radius_m=100, capacity=10,
                                      starts_at=now - timedelta(minutes=30), ends_at=now + timedelta(hours=2))
    page = phone
    walk = Walk(page)
    walk.visit(f"/r/{residents.code_token(estate.households[0])}/")  # the code's sign-in page
    walk.visit("/r/board/", ready="#board-map")
    name, value = resident_cookie(owner)
    page.context.add_cookies([{"name": name, "value": value, "url": page.base_url}])
    walk.visit("/r/home/")
    walk.visit("/r/topics/")
    walk.visit(f"/r/topics/{topic.pk}/", ready="#results")
    ratios = _bar_ratios(page, "#results svg.p-bar rect")
    assert len(ratios) == 3 and abs(ratios[0] - 0.75) < 0.02 and abs(ratios[1] - 0.25) < 0.02, ratios
    screenshot(page, "csp-resident-topic")
    walk.visit("/r/points/")
    walk.visit("/r/points/card/")
    assert page.locator(".points-qr svg").bounding_box()["width"] == 240
    walk.visit("/r/points/volunteer/")
    page.click("#activities button")
    page.locator("text=报名成功").wait_for()
    walk.visit(f"/r/points/v/{points.activity_token(activity)}/")
    page.click("#scan-button")  # the phone's position goes with the form (points/r_scan.js)
    page.locator("text=签到成功").wait_for()
    walk.visit("/r/report/", ready="#report-map")
    walk.visit("/r/requests/")
    screenshot(page, "csp-resident-report")
    walk.assert_clean()
