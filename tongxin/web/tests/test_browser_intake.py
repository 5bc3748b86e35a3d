"""The intake console in a real browser (Debian's Chromium, real HTTP, real htmx and Leaflet):
an operator records a call with the keyboard alone and dispatches it; the map sets the point; and the
whole loop — intake and dispatch, the handler signs and replies, the callback closes it as satisfied."""

from __future__ import annotations

import re

import pytest

from tongxin.workorders.choices import Status
from tongxin.workorders.models import WorkOrder

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _record_by_keyboard(page) -> None:
    """Everything from the phone number to the saved order without touching the mouse."""
    page.goto(f"{page.base_url}/workbench/intake/")
    assert page.evaluate("document.activeElement.id") == "id_citizen_phone"  # autofocus: type at once
    page.keyboard.type("13900001111")
    page.keyboard.press("Tab")
    page.keyboard.type("张三")
    for field in ("anonymous", "channel", "kind", "urgency", "title", "content"):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.name") == field
    page.keyboard.type("甲社区门口垃圾堆积三天无人清理，气味很大")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_category_q"
    page.keyboard.type("ljql")
    page.locator("#category-hits [data-category-code='C010101']").wait_for()
    page.keyboard.press("Enter")  # the first hit
    assert page.input_value("#id_category_code") == "C010101"
    assert "垃圾清理" in page.inner_text("#category-chosen")
    assert page.evaluate("document.activeElement.id") == "id_address"  # picking a category moves on
    page.keyboard.type("甲社区东门")
    page.keyboard.press("Tab")  # the area picker: district, then town
    page.keyboard.press("ArrowDown")  # select the first district (甲区) without opening the list
    page.locator("#area-town option", has_text="甲街道").wait_for(state="attached")
    assert page.input_value("#id_area_code") == "150602"
    page.locator("#assist").get_by_text("139****1111").wait_for()  # the assist panel answered the typed call


def test_operator_records_and_dispatches_with_the_keyboard_only(browser_page, login_as, world):
    page = browser_page
    login_as(page, "operator")
    _record_by_keyboard(page)
    screenshot(page, "intake")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(re.compile(r"/workbench/intake/\d+/dispatch/$"))
    order = WorkOrder.objects.get()
    assert order.status == Status.ACCEPTED and order.category.code == "C010101" and order.area.code == "150602"
    assert "甲区住建局" in page.inner_text("#suggested-lead")  # the catalogue's answer
    screenshot(page, "intake-dispatch")
    assert page.evaluate("document.activeElement.id") == "id_lead"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.type("请尽快处理")
    page.keyboard.press("Enter")  # submits the dispatch form
    page.wait_for_url(f"{page.base_url}/workbench/intake/")
    assert order.number in page.inner_text("#intake-message")
    order.refresh_from_db()
    assert order.status == Status.DISPATCHED and order.lead_department == world.housing


def test_a_rejected_call_keeps_the_typed_text(browser_page, login_as, world):
    page = browser_page
    login_as(page, "operator")
    page.goto(f"{page.base_url}/workbench/intake/")
    page.fill("#id_citizen_phone", "12ab")
    page.fill("#id_title", "门口垃圾")
    page.click("#save-button")
    assert page.locator(".field-error").count() >= 2  # phone format, content required
    assert page.input_value("#id_citizen_phone") == "12ab" and page.input_value("#id_title") == "门口垃圾"
    assert WorkOrder.objects.count() == 0


def test_the_map_sets_the_point(browser_page, login_as, world):
    page = browser_page
    login_as(page, "operator")
    page.goto(f"{page.base_url}/workbench/intake/")
    page.locator("#intake-map path.leaflet-interactive").first.wait_for()  # district boundaries drawn, no tiles
    page.locator("#intake-map").scroll_into_view_if_needed()
    box = page.locator("#intake-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6)  # inside district A
    assert page.input_value("#id_lat") and page.input_value("#id_lng")
    assert "WGS-84" in page.inner_text("#point-label")
    # The clicked district's grids are drawn too (the test world has one grid, in district A).
    page.wait_for_function("() => parseInt(document.getElementById('intake-map').getAttribute('data-grids') || '0') >= 1")


def test_the_whole_loop_intake_dispatch_sign_reply_callback(browser_page, login_as, world):
    page = browser_page
    login_as(page, "operator")
    _record_by_keyboard(page)
    page.click("#save-button")
    page.wait_for_url(re.compile(r"/dispatch/$"))
    page.click("#dispatch-button")
    page.wait_for_url(f"{page.base_url}/workbench/intake/")
    order = WorkOrder.objects.get()
    assert order.status == Status.DISPATCHED
    from tongxin.workorders import services as wo

    wo.work_order_co_reply(order_id=order.pk, actor=world.user("water_handler"), text="已配合清运")

    login_as(page, "handler")
    page.goto(f"{page.base_url}/workbench/queue/")
    card = page.locator(f"#order-{order.pk}")
    card.get_by_role("button", name="签收").click()
    card = page.locator(f"#order-{order.pk}")
    card.get_by_text("已签收，工单转入办理中").wait_for()
    card.locator("textarea[name$='-text']").fill("垃圾已全部清运")
    card.get_by_role("button", name="提交答复").click()
    page.locator(f"#order-{order.pk}").get_by_text("已办结答复，等待回访").wait_for()

    login_as(page, "operator")
    page.goto(f"{page.base_url}/workbench/callback/")
    row = page.locator(f"#order-{order.pk}")
    row.get_by_role("button", name="满意", exact=True).click()
    page.wait_for_function(f"() => !document.querySelector('#order-{order.pk} button') || "
                           f"document.querySelector('#order-{order.pk}').innerText.indexOf('已办结') >= 0")
    order.refresh_from_db()
    assert order.status == Status.CLOSED and order.satisfaction == "satisfied"
    actions = list(order.events.order_by("at", "id").values_list("action", flat=True))
    assert actions[0] == "accept" and "dispatch" in actions and "sign" in actions and "reply" in actions
    assert actions[-1] == "callback"
