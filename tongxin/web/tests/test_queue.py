"""承办台 over the test client: tabs per role and department, 404 outside, every action through its
service (one event each), errors beside the field with the typed text kept, fixed query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tongxin.testing import real_png
from tongxin.workorders.models import ExtensionRequest, WorkOrderEvent

from .conftest import login
from .workbench_helpers import HX, drive

PNG = real_png()


@pytest.mark.django_db
def test_queue_renders_for_handlers_only(client, world):
    order = drive(world, "dispatched")
    login(client, "handler")
    html = client.get("/workbench/queue/").content.decode()
    assert "承办台" in html and order.number in html and "待签收" in html and "签收期限" in html
    assert 'href="/workbench/queue/"' in html  # the nav entry
    for username in ("operator", "dispatcher", "leader", "nobody"):
        login(client, username)
        assert client.get("/workbench/queue/").status_code == 404, username
    login(client, "edu_handler")  # another department: sees its (empty) queue, not ours
    html = client.get("/workbench/queue/").content.decode()
    assert order.number not in html


@pytest.mark.django_db
def test_actions_outside_the_department_answer_404(client, world):
    order = drive(world, "dispatched")
    login(client, "edu_handler")
    response = client.post(f"/workbench/queue/{order.pk}/sign/", {f"sign-{order.pk}-version": order.version})
    assert response.status_code == 404
    order.refresh_from_db()
    assert order.status == "dispatched"
    login(client, "handler")
    assert client.post(f"/workbench/queue/{order.pk}/nonsense/").status_code == 404
    assert client.post("/workbench/queue/999999/sign/").status_code == 404


@pytest.mark.django_db
def test_sign_through_htmx_returns_the_card_and_writes_an_event(client, world):
    order = drive(world, "dispatched")
    login(client, "handler")
    response = client.post(f"/workbench/queue/{order.pk}/sign/", {f"sign-{order.pk}-version": order.version}, **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith("<article") and "已签收" in html and "办结答复" in html
    order.refresh_from_db()
    assert order.status == "in_progress"
    assert WorkOrderEvent.objects.filter(order=order, action="sign").count() == 1


@pytest.mark.django_db
def test_sign_without_htmx_redirects_back_to_the_tab(client, world):
    order = drive(world, "dispatched")
    login(client, "handler")
    response = client.post(f"/workbench/queue/{order.pk}/sign/", {f"sign-{order.pk}-version": order.version, "tab": "to_sign"})
    assert response.status_code == 302 and response.url == "/workbench/queue/?tab=to_sign"


@pytest.mark.django_db
def test_stale_version_is_refused_above_the_form(client, world):
    order = drive(world, "dispatched")
    login(client, "handler")
    html = client.post(f"/workbench/queue/{order.pk}/sign/", {f"sign-{order.pk}-version": order.version + 5}, **HX).content.decode()
    assert "版本已变化" in html
    order.refresh_from_db()
    assert order.status == "dispatched"


@pytest.mark.django_db
def test_return_needs_a_reason_and_keeps_the_typed_note(client, world):
    order = drive(world, "dispatched")
    login(client, "handler")
    p = f"return-{order.pk}"
    html = client.post(f"/workbench/queue/{order.pk}/return/", {f"{p}-reason": "", f"{p}-note": "这不归我们管，应由水务处理"}, **HX).content.decode()
    assert "这不归我们管，应由水务处理" in html and "field-error" in html and "<details open" in html
    order.refresh_from_db()
    assert order.status == "dispatched"
    html = client.post(f"/workbench/queue/{order.pk}/return/", {f"{p}-reason": "not_our_duty", f"{p}-note": "应由水务处理", f"{p}-version": order.version}, **HX).content.decode()
    assert "已退单" in html
    order.refresh_from_db()
    assert order.status == "returned"
    assert WorkOrderEvent.objects.filter(order=order, action="return").count() == 1
    html = client.get("/workbench/queue/", {"tab": "returned"}).content.decode()
    assert order.number in html


@pytest.mark.django_db
def test_request_extension_before_the_deadline(client, world):
    order = drive(world, "in_progress")
    login(client, "handler")
    p = f"extend-{order.pk}"
    html = client.get("/workbench/queue/", {"tab": "in_progress"}).content.decode()
    assert "申请延期" in html
    # Not later than the current deadline: the service's reason beside the date, the reason kept.
    early = timezone.localtime(order.due_at - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    html = client.post(f"/workbench/queue/{order.pk}/extend/", {f"{p}-requested_due_at": early, f"{p}-reason": "需协调多个单位"}, **HX).content.decode()
    assert "必须晚于当前办结期限" in html and "需协调多个单位" in html
    later = timezone.localtime(order.due_at + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    html = client.post(f"/workbench/queue/{order.pk}/extend/", {f"{p}-requested_due_at": later, f"{p}-reason": "需协调多个单位"}, **HX).content.decode()
    assert "延期申请已提交" in html and "延期待审批" in html
    assert ExtensionRequest.objects.filter(order=order, status="pending").count() == 1
    assert WorkOrderEvent.objects.filter(order=order, action="request_extension").count() == 1


@pytest.mark.django_db
def test_co_handler_replies_to_the_lead_then_the_lead_replies_with_attachments(client, world):
    order = drive(world, "in_progress")
    login(client, "handler")
    p = f"reply-{order.pk}"
    html = client.post(f"/workbench/queue/{order.pk}/reply/", {f"{p}-text": "垃圾已清运完毕"}, **HX).content.decode()
    assert "协办单位尚未答复" in html and "垃圾已清运完毕" in html
    login(client, "water_handler")
    html = client.get("/workbench/queue/", {"tab": "awaiting_co"}).content.decode()
    assert order.number in html and "本单位协办" in html
    html = client.post(f"/workbench/queue/{order.pk}/co_reply/", {f"co_reply-{order.pk}-text": "已配合清运"}, **HX).content.decode()
    assert "协办答复已提交" in html
    login(client, "handler")
    upload = SimpleUploadedFile("现场照片.png", PNG, content_type="image/png")
    html = client.post(f"/workbench/queue/{order.pk}/reply/", {f"{p}-text": "垃圾已清运完毕", f"{p}-files": [upload]}, **HX).content.decode()
    assert "已办结答复" in html
    order.refresh_from_db()
    assert order.status == "replied" and order.attachments.count() == 1
    event = WorkOrderEvent.objects.get(order=order, action="reply")
    assert event.data["attachment_ids"] == [order.attachments.get().pk]
    html = client.get("/workbench/queue/", {"tab": "done"}).content.decode()
    assert order.number in html


@pytest.mark.django_db
def test_a_refused_reply_keeps_no_attachment(client, world):
    order = drive(world, "in_progress")
    login(client, "handler")
    p = f"reply-{order.pk}"
    upload = SimpleUploadedFile("a.png", PNG, content_type="image/png")
    client.post(f"/workbench/queue/{order.pk}/reply/", {f"{p}-text": "好了", f"{p}-files": [upload]}, **HX)
    assert order.attachments.count() == 0  # co-handler pending: the whole action rolled back


@pytest.mark.django_db
@pytest.mark.parametrize("tab", ["to_sign", "in_progress", "awaiting_co", "returned", "done"])
def test_queue_tabs_take_a_fixed_number_of_queries(client, world, tab, django_assert_max_num_queries):
    for _ in range(3):
        drive(world, "dispatched")
        drive(world, "in_progress")
        drive(world, "returned")
        drive(world, "replied")
    login(client, "handler")
    client.get("/workbench/queue/")  # warm the per-process caches
    with django_assert_max_num_queries(14):
        response = client.get("/workbench/queue/", {"tab": tab})
    assert response.status_code == 200
