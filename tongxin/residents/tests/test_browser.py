"""The resident's journey in a real browser on a phone-sized screen (Debian's Chromium through
Playwright, real HTTP): scan the code, sign in with the SMS code from the logging backend, report with
a photo (the draft survives a reload and a lost connection, and is cleared once the server confirms),
see the order in the operator's accepted list, and rate the department's reply."""

from __future__ import annotations

import re

import pytest

from tongxin.residents import services
from tongxin.residents.models import Report
from tongxin.web.tests.conftest import screenshot
from tongxin.workorders import services as wo
from tongxin.workorders.choices import Status

from .conftest import PHONE, jpeg_bytes, last_sms_code, make_place

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



@pytest.fixture
def phone(phone_page):
    return phone_page(geolocation={"latitude": 37.1, "longitude": 107.1})


def _sign_in(page, token: str) -> None:
    page.goto(f"{page.base_url}/r/{token}/")
    assert "欢迎使用码上生活" in page.inner_text("main")
    page.fill("#id_phone", PHONE)
    page.click("#send-code")
    page.locator("#login-message").wait_for()
    assert "验证码已通过短信发送" in page.inner_text("#login-message")
    screenshot(page, "resident-login")
    page.fill("#id_code", last_sms_code(PHONE))
    page.click("#login")
    page.wait_for_url(f"{page.base_url}/r/home/")


def _no_horizontal_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "the page must fit the phone"


def _fake_classifier(*, text: str, title: str = "", threshold: float | None = None) -> dict:
    """The live server runs in this process: a trained model is the insight tests' business, here the
    page only has to show what the classifier says."""
    return {"top": [{"name": "城乡建设", "confidence": 0.91, "category": {"code": "C010101", "name": "垃圾清理", "level": 3}}],
            "preselect": None, "threshold": 0.6}


def test_scan_sign_in_report_and_rate(phone, browser_page, login_as, world, monkeypatch):
    monkeypatch.setattr("tongxin.web.chips.classify", _fake_classifier)  # the chips of both pages
    browser_page.context.set_default_timeout(30_000)
    place = make_place(world)
    page = phone
    _sign_in(page, place.token)
    assert place.household.address in page.inner_text("#place")
    _no_horizontal_scroll(page)
    screenshot(page, "resident-home")

    # 随手拍: the draft is kept on the phone across a reload.
    page.click("#go-report")
    page.wait_for_url(re.compile(r"/r/report/$"))
    page.fill("#id_content", "小区3号楼门前垃圾堆放三天无人清理")
    page.select_option("#id_kind", "complaint")
    page.locator("#suggest [data-category-code='C010101']").click()  # the suggestion, one tap
    assert "垃圾清理" in page.inner_text("#category-chosen")
    page.reload()
    assert page.input_value("#id_content") == "小区3号楼门前垃圾堆放三天无人清理"
    assert page.input_value("#id_kind") == "complaint"
    assert "已恢复" in page.inner_text("#draft-status")
    assert page.input_value("#id_category_code") == "C010101" and "垃圾清理" in page.inner_text("#category-chosen")
    # The point from the phone (the browser's geolocation, WGS-84), and one photo.
    page.click("#locate")
    page.wait_for_function("() => document.getElementById('id_lat').value !== ''")
    assert abs(float(page.input_value("#id_lat")) - 37.1) < 1e-6
    page.set_input_files("#id_photos", files=[{"name": "photo.jpg", "mimeType": "image/jpeg",
                                               "buffer": jpeg_bytes((320, 240), gps=(107.2, 37.2))}])
    _no_horizontal_scroll(page)
    screenshot(page, "resident-report")
    page.click("#submit-report")
    page.wait_for_url(re.compile(r"/r/requests/\d+/\?submitted=1$"))
    assert "提交成功" in page.inner_text("#submitted")
    page.wait_for_function("() => localStorage.length === 0")  # the confirmed draft is gone
    report = Report.objects.get()
    order = report.order
    assert (order.channel, order.kind, order.status) == ("qr", "complaint", Status.ACCEPTED)
    assert order.category.code == "C010101" and report.category_suggested == "C010101"
    assert (report.point_source, report.photos) == ("device", 1)  # the phone's point beats the photo's
    screenshot(page, "resident-submitted")

    # The operator sees it among the accepted orders (a desktop browser, staff login).
    desk = browser_page
    login_as(desk, "operator")
    desk.goto(f"{desk.base_url}/orders/?status=accepted")
    assert order.number in desk.inner_text("main")

    # The engine routes and answers it (driven by the services), and the resident rates the reply.
    wo.work_order_dispatch(order_id=order.pk, actor=world.user("dispatcher"), lead_department_id=world.housing.pk)
    wo.work_order_sign(order_id=order.pk, actor=world.user("handler"))
    wo.work_order_reply(order_id=order.pk, actor=world.user("handler"), text="已安排环卫清运，现场已清理干净")
    page.goto(f"{page.base_url}/r/requests/")
    assert "已答复，请您评价" in page.inner_text("#request-list")
    page.click(f"#request-list a[href='/r/requests/{report.pk}/']")
    assert "现场已清理干净" in page.inner_text("#reply")
    page.check("input[name=satisfaction][value=satisfied]")
    _no_horizontal_scroll(page)
    screenshot(page, "resident-rate")
    page.click("#submit-rating")
    page.locator("#rated").wait_for()
    order.refresh_from_db()
    assert (order.status, order.satisfaction) == (Status.CLOSED, "satisfied")
    assert "满意" in page.inner_text("#my-rating")


def test_a_draft_survives_a_lost_connection(phone, world):
    place = make_place(world)
    page = phone
    _sign_in(page, place.token)
    page.goto(f"{page.base_url}/r/report/")
    page.fill("#id_content", "路灯不亮，晚上很黑")
    page.context.set_offline(True)
    with pytest.raises(Exception):  # noqa: B017 - the browser's own network error, whatever its wording
        page.click("#submit-report")
        page.wait_for_url(re.compile(r"/r/requests/"), timeout=3000)
    page.context.set_offline(False)
    page.goto(f"{page.base_url}/r/report/")
    assert page.input_value("#id_content") == "路灯不亮，晚上很黑"
    assert not Report.objects.exists()
    page.click("#submit-report")
    page.wait_for_url(re.compile(r"/r/requests/\d+/\?submitted=1$"))
    page.wait_for_function("() => localStorage.length === 0")


def test_forged_code_and_board_on_the_phone(phone, world):
    place = make_place(world)
    services.report_create(reporter=services.Reporter(household=place.household, merchant=None,
                                                      resident=place.resident, name="王小明", phone=PHONE),
                           content="王小明反映：路面塌陷", lat=37.2, lng=107.2, category_code="C010101")
    page = phone
    response = page.goto(f"{page.base_url}/r/h1.1.AAAAAAAAAAAAAAAAAAAAAA/")
    assert response.status == 404 and "二维码无效" in page.inner_text("#code-error")
    screenshot(page, "resident-forged")
    page.goto(f"{page.base_url}/r/board/")
    page.locator("#board-map .leaflet-interactive").first.wait_for()
    # Issue #5: the district outlines are drawn, under the points (their own, lower pane).
    page.locator(".leaflet-outlines-pane path").first.wait_for()
    assert page.locator(".leaflet-outlines-pane path").count() == 2  # 甲区, 乙区
    assert "甲区" in page.inner_text(".leaflet-outlines-pane, .leaflet-tooltip-pane")
    text = page.inner_text("main")
    assert "垃圾清理" in text and "王小明" not in text and "路面塌陷" not in text
    _no_horizontal_scroll(page)
    screenshot(page, "resident-board")


def test_grid_worker_prints_a_building(browser_page, login_as, world):
    place = make_place(world)
    page = browser_page
    page.context.set_default_timeout(30_000)
    login_as(page, "grid_worker")
    page.goto(f"{page.base_url}/r/staff/")
    assert "3号楼" in page.inner_text("#buildings")
    page.goto(f"{page.base_url}/r/staff/print/{place.world.community_a.pk}/3号楼/")
    assert page.locator(".label svg").count() == 2
    assert "2单元 101" in page.inner_text(".labels")
    screenshot(page, "resident-print-sheet")


def test_a_large_photo_is_shrunk_on_the_phone_and_its_gps_point_used(phone, world):
    from PIL import Image

    from tongxin.workorders.models import Attachment

    place = make_place(world)
    page = phone
    _sign_in(page, place.token)
    page.goto(f"{page.base_url}/r/report/")
    page.fill("#id_content", "广场地砖破损")
    big = jpeg_bytes((4000, 3000), gps=(107.15, 37.15))
    page.set_input_files("#id_photos", files=[{"name": "IMG_0001.JPG", "mimeType": "image/jpeg", "buffer": big}])
    page.wait_for_function("() => document.getElementById('photo-hint').textContent.indexOf('已为您压缩 1 张') >= 0")
    assert page.input_value("#id_point_source") == "exif"
    assert abs(float(page.input_value("#id_lat")) - 37.15) < 1e-4 and abs(float(page.input_value("#id_lng")) - 107.15) < 1e-4
    sent = page.evaluate("[document.getElementById('id_photos').files[0].name, document.getElementById('id_photos').files[0].size]")
    assert sent[0] == "IMG_0001.jpg"
    page.click("#submit-report")
    page.wait_for_url(re.compile(r"/r/requests/\d+/\?submitted=1$"))
    report = Report.objects.get()
    assert report.point_source == "exif" and (round(report.lat, 4), round(report.lng, 4)) == (37.15, 107.15)
    stored = Image.open(Attachment.objects.get(order=report.order).file)
    assert max(stored.size) == 2000 and not stored.getexif()


def test_grid_worker_registers_a_household_and_a_resident_on_the_phone(phone, login_as, world):
    """Basic information in the field: a grid worker on a phone registers a household in a new building,
    then a resident with an ID number; sees the errors beside the fields; reveals the phone (audited)."""
    from tongxin.core.models import AuditEvent
    from tongxin.residents.models import Household, Resident

    from .test_basic_info import make_id

    make_place(world)
    page = phone
    login_as(page, "grid_worker")
    page.goto(f"{page.base_url}/grid/info/households/")
    assert "3号楼2单元101" in page.inner_text("#records")
    _no_horizontal_scroll(page)
    screenshot(page, "info-households")
    page.click("text=＋ 登记住户")
    page.wait_for_url(re.compile(r"/grid/info/households/new/$"))
    assert page.locator("#id_grid option:checked").inner_text() == "甲一网格"  # the worker's own grid
    page.fill("#id_floor_area", "很大")
    page.click(".info-form button[type=submit]")
    page.locator("#id_address-error").wait_for()
    assert "地址不能为空" in page.inner_text("#id_address-error")
    assert "面积必须是数字" in page.inner_text("#id_floor_area-error")
    _no_horizontal_scroll(page)
    screenshot(page, "info-household-errors")
    page.fill("#id_new_building", "6号楼")
    page.fill("#id_unit", "1单元")
    page.fill("#id_room", "602")
    page.fill("#id_address", "甲社区幸福小区6号楼1单元602")
    page.fill("#id_floor_area", "108")
    page.click(".info-form button[type=submit]")
    page.wait_for_url(re.compile(r"/grid/info/households/\d+/$"))
    household = Household.objects.get(room="602")
    assert household.building_ref.name == "6号楼" and household.grid == world.grid_a
    page.click("text=＋ 登记居民")
    page.wait_for_url(re.compile(r"/grid/info/households/\d+/residents/new/$"))
    page.fill("#id_name", "刘建军")
    page.fill("#id_phone", "13512345678")
    page.fill("#id_id_number", make_id(born="19791111", seq="888"))
    page.check("#id_is_owner")
    page.check("#id_id_checked")
    screenshot(page, "info-resident-form")
    page.click(".info-form button[type=submit]")
    page.wait_for_url(re.compile(r"/grid/info/residents/\d+/$"))
    resident = Resident.objects.get(name="刘建军")
    assert resident.is_owner and resident.verified_at and str(resident.birth_date) == "1979-11-11"
    main = page.inner_text("main")
    assert "135****5678" in main and "13512345678" not in main and "刘**" in main and "已核验" in main
    assert "刘建军" not in main  # the history masks personal data as the page does
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#reveal-phone")
    page.locator(".revealed").wait_for()
    assert "13512345678" in page.inner_text(".revealed")
    assert AuditEvent.objects.filter(event_type="personal_data_reveal", object_id=str(resident.pk)).count() == 1
    _no_horizontal_scroll(page)
    screenshot(page, "info-resident")
    page.click(f"text={household.address}")
    page.wait_for_url(re.compile(r"/grid/info/households/\d+/$"))
    assert "刘**" in page.inner_text("#household-residents")
    assert "新增" in page.inner_text(".info-history")
    screenshot(page, "info-household")

    # The importer's page: a broken file is reported row by row, and nothing is saved.
    page.goto(f"{page.base_url}/grid/info/import/")
    broken = ("楼栋,单元,门牌号,地址,姓名,手机号,身份证号,业主\n"
              "6号楼,1单元,603,甲社区幸福小区6号楼1单元603,周一,1381234567,,是\n"
              "6号楼,1单元,604,,吴二,13812345670,150602199001011230,也许\n").encode()
    page.set_input_files("#id_file", files=[{"name": "名单.csv", "mimeType": "text/csv", "buffer": broken}])
    page.click(".info-form button[type=submit]")
    page.locator("#import-report").wait_for()
    report = page.inner_text("#import-report")
    assert "检查未通过" in report and "手机号应为 11 位数字" in report and "身份证号校验位不正确" in report
    assert not Household.objects.filter(room__in=["603", "604"]).exists()
    _no_horizontal_scroll(page)
    screenshot(page, "info-import-report")
