"""Real-browser tests: Debian's Chromium through Playwright against the live server (real HTTP, real
JavaScript: htmx swaps, polling, confirmation steps). Screenshots go to var/screenshots/."""

from __future__ import annotations

import pytest

from tongxin.accounts.services import notification_send
from tongxin.testing import real_png

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
    page.wait_for_function("() => document.querySelector('#notification-badge .count').innerText === '1'")


def _order(world, status, **kw):
    from .workbench_helpers import drive

    return drive(world, status, **kw)


def test_handler_signs_then_replies(browser_page, login_as, world):
    page = browser_page
    order = _order(world, "dispatched")
    # The co-handler has done its part, so the lead may reply.
    from tongxin.workorders import services as wo

    wo.work_order_co_reply(order_id=order.pk, actor=world.user("water_handler"), text="已配合清运")
    login_as(page, "handler")
    page.goto(f"{page.base_url}/workbench/queue/")
    card = page.locator(f"#order-{order.pk}")
    assert "待签收" in page.locator(".tabs").inner_text()
    page.wait_for_function("() => document.querySelector('[data-deadline]').textContent.indexOf('秒') > 0 || "
                           "document.querySelector('[data-deadline]').textContent.indexOf('分') > 0")
    screenshot(page, "queue")
    card.get_by_role("button", name="签收").click()
    card = page.locator(f"#order-{order.pk}")
    card.get_by_text("已签收，工单转入办理中").wait_for()
    card.locator("textarea[name$='-text']").fill("垃圾已全部清运，门口已恢复整洁")
    card.locator("input[type=file]").set_input_files(files=[{
        "name": "现场.png", "mimeType": "image/png", "buffer": real_png()}])
    card.get_by_role("button", name="提交答复").click()
    page.locator(f"#order-{order.pk}").get_by_text("已办结答复，等待回访").wait_for()
    order.refresh_from_db()
    assert order.status == "replied" and order.attachments.count() == 1


def test_return_then_reassign(browser_page, login_as, world):
    page = browser_page
    order = _order(world, "dispatched")
    login_as(page, "handler")
    page.goto(f"{page.base_url}/workbench/queue/")
    card = page.locator(f"#order-{order.pk}")
    card.get_by_text("退单", exact=True).click()
    card.get_by_role("button", name="确认退单").click()  # nothing chosen: errors beside the fields
    page.locator(f"#order-{order.pk} .field-error").first.wait_for()
    card = page.locator(f"#order-{order.pk}")
    card.locator("select[name$='-reason']").select_option("not_our_duty")
    card.locator("textarea[name$='-note']").fill("该路段属乙区管辖")
    card.get_by_role("button", name="确认退单").click()
    page.locator(f"#order-{order.pk}").get_by_text("已退单，等待中心审核").wait_for()
    login_as(page, "dispatcher")
    page.goto(f"{page.base_url}/workbench/dispatch/")
    screenshot(page, "dispatch")
    card = page.locator(f"#order-{order.pk}")
    card.locator("select[name$='-lead_department_id']").select_option(str(world.education.pk))
    card.locator(f"textarea[name='reassign-{order.pk}-note']").fill("改派乙区教育局")
    card.get_by_role("button", name="确认改派").click()
    page.locator(f"#order-{order.pk}").get_by_text("已改派").wait_for()
    order.refresh_from_db()
    assert order.status == "dispatched" and order.lead_department_id == world.education.pk


def test_extension_request_then_approve(browser_page, login_as, world):
    from django.utils import timezone

    page = browser_page
    order = _order(world, "in_progress")
    login_as(page, "handler")
    page.goto(f"{page.base_url}/workbench/queue/?tab=in_progress")
    card = page.locator(f"#order-{order.pk}")
    card.get_by_text("申请延期", exact=True).click()
    later = timezone.localtime(order.due_at + timezone.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    card.locator("input[type=datetime-local]").fill(later)
    card.locator("textarea[name$='-reason']").fill("需协调水务公司更换管道")
    card.get_by_role("button", name="提交延期申请").click()
    page.locator(f"#order-{order.pk}").get_by_text("延期申请已提交").wait_for()
    login_as(page, "supervisor")
    page.goto(f"{page.base_url}/workbench/dispatch/?section=extensions")
    card = page.locator(f"#order-{order.pk}")
    assert "需协调水务公司更换管道" in card.inner_text()
    card.get_by_role("button", name="批准延期").click()
    page.locator(f"#order-{order.pk}").get_by_text("延期申请已处理").wait_for()
    order.refresh_from_db()
    assert timezone.localtime(order.due_at).strftime("%Y-%m-%dT%H:%M") == later


def test_callback_satisfied_and_unsatisfied_redo(browser_page, login_as, world):
    from tongxin.workorders.models import WorkOrder

    page = browser_page
    happy, unhappy = _order(world, "replied"), _order(world, "replied", content="路灯坏了一个月没人修")
    login_as(page, "operator")
    page.goto(f"{page.base_url}/workbench/callback/")
    screenshot(page, "callback")
    page.locator(f"#order-{happy.pk}").get_by_role("button", name="满意", exact=True).click()
    page.locator(f"#order-{happy.pk}").get_by_text("回访完成，工单已办结").wait_for()
    card = page.locator(f"#order-{unhappy.pk}")
    card.get_by_text("不满意", exact=True).click()
    card.locator("select[name$='-cause']").select_option("not_solved")
    card.locator("textarea[name$='-note']").fill("市民反映路灯仍然不亮")
    card.get_by_role("button", name="转重办").click()
    page.locator(f"#order-{unhappy.pk}").get_by_text("已转重办").wait_for()
    happy.refresh_from_db()
    assert happy.status == "closed" and happy.satisfaction == "satisfied"
    redo = WorkOrder.objects.get(redo_of=unhappy)
    login_as(page, "handler")
    page.goto(f"{page.base_url}/workbench/queue/")
    assert redo.number in page.content()


def test_numbers_page_draws_the_chart(browser_page, login_as, world):
    page = browser_page
    _order(world, "closed")
    login_as(page, "supervisor")
    page.goto(f"{page.base_url}/workbench/numbers/")
    page.wait_for_selector("#volume-chart canvas")
    screenshot(page, "numbers")
