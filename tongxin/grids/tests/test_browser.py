"""A grid worker's patrol in a real browser on a phone-sized screen (Debian's Chromium through
Playwright, real HTTP, geolocation granted at fixed positions inside grid A1): start a patrol, check in
twice, report with a photo and settle it on the spot, report and raise a work order that the dispatcher
then sees among the orders waiting for dispatch, end the patrol and see the route on the map."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from tongxin.conftest import PHONE_VIEWPORT
from tongxin.grids.choices import ReportStatus
from tongxin.grids.models import FieldReport, Patrol
from tongxin.web.tests.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



@pytest.fixture
def phone(phone_page):
    return phone_page(geolocation={"latitude": 37.10, "longitude": 107.10, "accuracy": 12})


def _photo(colour=(30, 120, 200)) -> dict:
    out = io.BytesIO()
    Image.new("RGB", (2400, 1800), colour).save(out, "JPEG")
    return {"name": "scene.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}


def _located(page) -> None:
    page.wait_for_function("() => document.querySelector('[data-locate]') && document.querySelector('[data-locate]').dataset.located === '1'")


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "the page must fit the phone"


def _fake_classifier(*, text: str, title: str = "", threshold: float | None = None) -> dict:
    return {"top": [{"name": "城乡建设", "confidence": 0.9, "category": {"code": "C010101", "name": "垃圾清理", "level": 3}}]}


def test_patrol_report_settle_raise_and_route(phone, browser_page, login_as, world, monkeypatch):
    monkeypatch.setattr("tongxin.web.chips.classify", _fake_classifier)  # the chips of both pages
    page = phone
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login_as(page, "grid_worker")
    page.goto(f"{page.base_url}/grid/")
    _located(page)
    assert "已定位" in page.inner_text("[data-locate-status]")
    _fits(page)
    screenshot(page, "grids-home")
    page.click("text=开始巡查")
    page.wait_for_url(re.compile(r"/grid/patrols/\d+/$"))
    patrol = Patrol.objects.get()
    assert patrol.checkins.count() == 1  # the start records where the worker stood

    for lat, lng in ((37.104, 107.106), (37.112, 107.108)):
        page.context.set_geolocation({"latitude": lat, "longitude": lng, "accuracy": 8})
        page.click("[data-locate-again]")
        page.wait_for_function(f"() => document.querySelector('input[name=lat]').value.startsWith('{lat}')")
        page.click("[data-checkin]")
        page.wait_for_selector(".g-msg")
        assert "已打卡" in page.inner_text(".g-messages")
    assert patrol.checkins.count() == 3
    page.wait_for_selector("#g-map path.leaflet-interactive")

    # Report with a photo, choose the suggested category, settle on the spot with a result photo.
    page.click("text=上报事件")
    page.wait_for_url(f"{page.base_url}/grid/reports/new/")
    page.set_input_files("input[name=photo]", _photo())
    page.fill("textarea[name=text]", "3号楼前垃圾桶满溢，垃圾散落")
    page.wait_for_selector("[data-category-code=C010101]")
    page.click("[data-category-code=C010101]")
    _located(page)
    _fits(page)
    screenshot(page, "grids-report-new")
    page.click("button[type=submit]:has-text('提交')")
    page.wait_for_url(re.compile(r"/grid/reports/\d+/$"))
    first = FieldReport.objects.get()
    assert first.patrol == patrol and first.category_code == "C010101" and abs(first.lat - 37.112) < 1e-6
    with first.photo.open("rb") as f:
        assert max(Image.open(f).size) <= 1600  # scaled down on the phone (and again on the server)
    page.fill("textarea[name=result_text]", "已联系保洁清运，现场已清理")
    page.set_input_files("input[name=result_photo]", _photo((60, 160, 60)))
    page.click("button[name=settle]")
    page.wait_for_selector("text=已自办结")
    assert page.locator("img.g-photo").count() == 2
    screenshot(page, "grids-report-settled")
    first.refresh_from_db()
    assert first.status == ReportStatus.SETTLED

    # Report and raise a work order.
    page.goto(f"{page.base_url}/grid/reports/new/")
    page.set_input_files("input[name=photo]", _photo((120, 90, 60)))
    page.fill("textarea[name=text]", "小区门口路面塌陷，需市政维修")
    _located(page)
    page.click("button[type=submit]:has-text('提交')")
    page.wait_for_url(re.compile(r"/grid/reports/\d+/$"))
    page.select_option("select[name=kind]", "help")
    page.fill("input[name=category_code]", "C010101")
    page.click("button[name=raise]")
    page.wait_for_selector("text=已上报为工单")
    second = FieldReport.objects.exclude(pk=first.pk).get()
    assert second.status == ReportStatus.RAISED and second.work_order_number
    assert second.work_order_number in page.inner_text("main")
    screenshot(page, "grids-report-raised")

    # The dispatcher sees it waiting for dispatch (a desktop browser, staff login).
    desk = browser_page
    login_as(desk, "dispatcher")
    desk.goto(f"{desk.base_url}/orders/?status=accepted")
    assert second.work_order_number in desk.inner_text("main")

    # End the patrol and see the route.
    page.goto(f"{page.base_url}/grid/patrols/{patrol.pk}/")
    page.fill("textarea[name=note]", "巡查正常，发现两处问题")
    page.click("text=结束巡查")
    page.wait_for_selector("text=巡查已结束")
    page.wait_for_selector("#g-map path.leaflet-interactive")
    assert page.get_attribute("#g-map", "data-drawn") == "3"
    assert "已结束" in page.inner_text(".g-status")
    _fits(page)
    screenshot(page, "grids-patrol-ended")
    assert errors == []
    patrol.refresh_from_db()
    assert patrol.ended_at is not None and 1550 < patrol.distance_m < 1650  # 694 m + 907 m


def test_opinion_recorded_on_the_phone_and_searched_by_the_leader(phone, browser_page, login_as, world):
    from tongxin.grids.services import opinion_topics_ensure

    opinion_topics_ensure()  # the previous transactional test flushed the migration's topics
    page = phone
    login_as(page, "grid_worker")
    page.goto(f"{page.base_url}/grid/opinions/new/")
    page.click("button[type=submit]:has-text('保存')")  # nothing filled: every field says why
    assert "请选择主题" in page.inner_text("main") and "内容不能为空" in page.inner_text("main")
    page.select_option("select[name=topic_code]", "environment")
    page.fill("textarea[name=text]", "居民希望在3号楼旁增设垃圾分类投放点")
    page.fill("input[name=address]", "甲社区3号楼2单元")
    page.click("button[type=submit]:has-text('保存')")
    page.wait_for_selector("text=已记录社情民意")
    _fits(page)
    desk = browser_page
    login_as(desk, "leader")
    desk.set_viewport_size(PHONE_VIEWPORT)
    desk.goto(f"{desk.base_url}/grid/opinions/?q=垃圾&topic=environment")
    assert "增设垃圾分类投放点" in desk.inner_text("main") and "共 1 条" in desk.inner_text("main")
    screenshot(desk, "grids-opinions")
    desk.goto(f"{desk.base_url}/grid/opinions/?topic=security")
    assert "没有符合条件的记录" in desk.inner_text("main")
