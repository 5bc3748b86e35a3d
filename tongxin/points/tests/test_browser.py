"""Real-browser tests (Debian's Chromium through Playwright): a redemption from the phone, the clerk's
priority check, and on-site volunteering check-in with the phone's position. Screenshots land in
var/screenshots/ (docs/guide/img/ holds copies)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tongxin.points import services
from tongxin.points.choices import RedemptionStatus, SignupStatus
from tongxin.points.models import Redemption, Signup
from tongxin.web.tests.conftest import screenshot

from .conftest import make_town, resident_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



@pytest.fixture
def phone(phone_page):
    return phone_page(geolocation={"latitude": 37.1003, "longitude": 107.1})


def _as_resident(page, resident) -> None:
    name, value = resident_cookie(resident)
    page.context.add_cookies([{"name": name, "value": value, "url": page.base_url}])


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "the page must fit the phone"


def test_redemption_from_the_phone(phone, browser_page, login_as, world):
    town = make_town(world)
    for i in range(5):
        services.points_earn(resident=town.resident, rule_code="report_confirmed", cause_key=f"r:{i}")  # 25
    for i in range(30):
        services.points_earn(resident=town.resident, rule_code="vote_cast", cause_key=f"b:{i}")  # virtue 60
    item = services.item_create(actor=town.supervisor_a, area=world.community_a, name="环保洗衣液 1kg", price=20,
                                stock=3, pickup_place="甲社区服务站（周一至周五 9:00–17:00）")
    page = phone
    _as_resident(page, town.resident)
    page.goto(f"{page.base_url}/r/points/")
    assert page.inner_text("#material") == "25" and page.inner_text("#tier") == "文明居民"
    _fits(page)
    screenshot(page, "points-phone-home")
    page.click("text=积分商城")
    page.wait_for_url(f"{page.base_url}/r/points/mall/")
    assert "环保洗衣液" in page.inner_text("#items")
    screenshot(page, "points-phone-mall")
    page.click(f"#redeem-{item.pk}")
    page.wait_for_url(f"{page.base_url}/r/points/redemptions/**")
    redemption = Redemption.objects.get()
    code = page.inner_text("#pickup-code").replace(" ", "")
    assert code == redemption.pickup_code
    assert page.locator(".points-qr svg").count() == 1
    _fits(page)
    screenshot(page, "points-phone-pickup-code")
    # the mall operator types the code at the desk
    desk = browser_page
    login_as(desk, "supervisor_a")
    desk.goto(f"{desk.base_url}/points/pickup/")
    desk.fill("#id_pickup_code", code.lower())
    desk.click("#pickup-button")
    assert "环保洗衣液" in desk.inner_text("#pickup-done")
    screenshot(desk, "points-desk-pickup")
    redemption.refresh_from_db()
    assert redemption.status == RedemptionStatus.PICKED_UP
    page.reload()
    assert page.inner_text("#status") == "已领取" and page.locator("#cancel").count() == 0


def test_cancel_on_the_phone(phone, world):
    town = make_town(world)
    for i in range(4):
        services.points_earn(resident=town.resident, rule_code="report_confirmed", cause_key=f"r:{i}")
    item = services.item_create(actor=town.supervisor_a, area=world.community_a, name="食用油", price=20, stock=1)
    page = phone
    _as_resident(page, town.resident)
    page.goto(f"{page.base_url}/r/points/mall/")
    page.click(f"#redeem-{item.pk}")
    page.wait_for_url(f"{page.base_url}/r/points/redemptions/**")
    page.click("#cancel")
    page.locator("text=已取消兑换，积分已退回").wait_for()
    assert Redemption.objects.get().status == RedemptionStatus.CANCELLED
    page.goto(f"{page.base_url}/r/points/")
    assert page.inner_text("#material") == "20"


def test_clerk_check_page(phone, browser_page, login_as, world):
    town = make_town(world)
    for i in range(110):
        services.points_earn(resident=town.resident, rule_code="vote_cast", cause_key=f"b:{i}")  # virtue 220
    page = phone
    _as_resident(page, town.resident)
    page.goto(f"{page.base_url}/r/points/card/")
    assert page.inner_text("#tier") == "道德模范"
    token = page.inner_text("#priority-code").strip()
    assert page.locator(".points-qr svg").count() == 1
    _fits(page)
    screenshot(page, "points-phone-priority-code")
    clerk = browser_page
    login_as(clerk, "clerk")
    clerk.goto(f"{clerk.base_url}/points/check/")
    clerk.fill("#id_token", token)
    clerk.click("#check-button")
    result = clerk.inner_text("#check-result")
    assert "道德模范" in result and "服务大厅优先叫号" in result and "社区活动优先报名" in result
    main = clerk.inner_text("main")
    assert "王" not in main and "1390000" not in main
    screenshot(clerk, "points-clerk-check")
    # the QR carries the clerk page's URL: opened by a phone scanner it pre-fills the code
    clerk.goto(f"{clerk.base_url}/points/check/?token={token}")
    assert clerk.input_value("#id_token") == token
    clerk.fill("#id_token", "1-2-AAAAAAAAAA")
    clerk.click("#check-button")
    assert "无效或已过期" in clerk.inner_text("main")


def test_volunteer_check_in_on_site(phone, world):
    town = make_town(world)
    now = timezone.now()
    activity = services.activity_create(actor=town.supervisor_a, area=world.community_a, title="清扫楼道", location="1号楼",
                                        lat=37.1, lng=107.1, radius_m=100, capacity=10,
                                        starts_at=now - timedelta(minutes=30), ends_at=now + timedelta(hours=2))
    page = phone
    _as_resident(page, town.resident)
    page.goto(f"{page.base_url}/r/points/volunteer/")
    page.click("#activities button")
    page.locator("text=报名成功").wait_for()
    page.goto(f"{page.base_url}/r/points/v/{services.activity_token(activity)}/")
    page.click("#scan-button")  # the browser's geolocation (37.1003, 107.1): ~33 m away
    page.locator("text=签到成功").wait_for()
    signup = Signup.objects.get()
    assert signup.status == SignupStatus.CHECKED_IN and 25 < signup.checked_in_distance_m < 40
    _fits(page)
    screenshot(page, "points-phone-check-in")


def test_committee_approves_a_large_award(browser_page, login_as, world):
    from tongxin.points.models import PendingAward, Rule
    from tongxin.points.selectors import balances_of

    town = make_town(world)
    Rule.objects.filter(code="commendation").update(amount=150)
    services.points_award_by_staff(actor=world.user("grid_worker"), resident=town.resident, rule_code="commendation",
                                   cause_label="见义勇为：救起落水儿童", cause_key="hero")
    for n in range(10):
        services.points_earn(resident=town.neighbour, rule_code="vote_cast", cause_key=f"b:{n}")
    deduction = services.points_award_by_staff(actor=world.user("grid_worker"), resident=town.neighbour,
                                               rule_code="uncivil_act", cause_label="高空抛物")
    services.appeal_file(resident=town.neighbour, entry_id=deduction.pk, reason="当时家中无人，监控可证")
    page = browser_page
    login_as(page, "supervisor_a")
    page.goto(f"{page.base_url}/points/")
    assert "见义勇为：救起落水儿童" in page.inner_text("main") and "当时家中无人" in page.inner_text("main")
    screenshot(page, "points-committee")
    page.click("button[name=decision][value=approve]")
    page.locator("text=已审核").wait_for()
    assert PendingAward.objects.get().status == "approved" and balances_of(town.resident).virtue == 150
