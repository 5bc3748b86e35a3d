"""派单/督办 over the test client."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tongxin.accounts.models import Notification
from tongxin.workorders import services as wo
from tongxin.workorders.models import WorkOrderEvent
from tongxin.workorders.tests.engine_helpers import time_travel

from .conftest import login
from .workbench_helpers import HX, drive


@pytest.mark.django_db
def test_board_renders_for_dispatchers_and_supervisors_only(client, world):
    order = drive(world, "returned")
    for username in ("dispatcher", "supervisor"):
        login(client, username)
        html = client.get("/workbench/dispatch/").content.decode()
        assert "派单/督办" in html and order.number in html and "退单审核" in html and "改派" in html
    for username in ("operator", "handler", "leader", "nobody"):
        login(client, username)
        assert client.get("/workbench/dispatch/").status_code == 404, username
    login(client, "dispatcher_b")  # district B: the district-A order is not there, and its actions 404
    assert order.number not in client.get("/workbench/dispatch/").content.decode()
    response = client.post(f"/workbench/dispatch/{order.pk}/force_dispatch/", {f"force_dispatch-{order.pk}-note": "请办理"})
    assert response.status_code == 404


@pytest.mark.django_db
def test_reassign_a_returned_order(client, world):
    order = drive(world, "returned")
    login(client, "dispatcher")
    p = f"reassign-{order.pk}"
    html = client.post(f"/workbench/dispatch/{order.pk}/reassign/", {f"{p}-note": "改派教育局试试"}, **HX).content.decode()
    assert "field-error" in html and "改派教育局试试" in html  # no department chosen; the note kept
    html = client.post(f"/workbench/dispatch/{order.pk}/reassign/", {
        f"{p}-lead_department_id": world.education.pk, f"{p}-note": "改派乙区教育局", f"{p}-version": order.version,
    }, **HX).content.decode()
    assert "已改派" in html
    order.refresh_from_db()
    assert order.status == "dispatched" and order.lead_department_id == world.education.pk
    assert WorkOrderEvent.objects.filter(order=order, action="reassign").count() == 1


@pytest.mark.django_db
def test_force_dispatch_needs_a_reason(client, world):
    order = drive(world, "returned")
    login(client, "dispatcher")
    p = f"force_dispatch-{order.pk}"
    html = client.post(f"/workbench/dispatch/{order.pk}/force_dispatch/", {f"{p}-note": ""}, **HX).content.decode()
    assert "field-error" in html
    html = client.post(f"/workbench/dispatch/{order.pk}/force_dispatch/", {f"{p}-note": "属于贵单位职责"}, **HX).content.decode()
    assert "已强制派回原单位" in html
    order.refresh_from_db()
    assert order.status == "dispatched" and order.lead_department_id == world.housing.pk


@pytest.mark.django_db
def test_extension_approve_and_deny(client, world):
    a, b = drive(world, "in_progress"), drive(world, "in_progress")
    for order in (a, b):
        wo.work_order_request_extension(order_id=order.pk, actor=world.user("handler"),
                                        requested_due_at=order.due_at + timedelta(days=3), reason="需协调多个单位")
    login(client, "dispatcher")
    html = client.get("/workbench/dispatch/", {"section": "extensions"}).content.decode()
    assert a.number in html and b.number in html and "需协调多个单位" in html
    html = client.post(f"/workbench/dispatch/{a.pk}/decide_extension/", {f"decide_extension-{a.pk}-decision": "approve"}, **HX).content.decode()
    assert "延期申请已处理" in html
    a.refresh_from_db()
    assert WorkOrderEvent.objects.filter(order=a, action="approve_extension").count() == 1
    # Denying needs a reason: the service's error lands beside the note.
    p = f"decide_extension-{b.pk}"
    html = client.post(f"/workbench/dispatch/{b.pk}/decide_extension/", {f"{p}-decision": "deny", f"{p}-note": ""}, **HX).content.decode()
    assert "驳回延期必须说明理由" in html
    html = client.post(f"/workbench/dispatch/{b.pk}/decide_extension/", {f"{p}-decision": "deny", f"{p}-note": "理由不充分"}, **HX).content.decode()
    assert WorkOrderEvent.objects.filter(order=b, action="deny_extension").count() == 1


@pytest.mark.django_db
def test_overdue_orders_supervise_and_merge(client, world):
    with time_travel(timezone.now() - timedelta(days=30)):  # dispatched a month ago: overdue now
        order = drive(world, "in_progress")
    duplicate = drive(world, "dispatched", content="门口垃圾没人清理（重复来电）")
    login(client, "supervisor")
    html = client.get("/workbench/dispatch/", {"section": "overdue"}).content.decode()
    assert order.number in html and "已超期" in html and "督办" in html and "超 " in html
    html = client.post(f"/workbench/dispatch/{order.pk}/supervise/", {f"supervise-{order.pk}-note": "请今日内办结"}, **HX).content.decode()
    assert "已发督办通知" in html
    assert WorkOrderEvent.objects.filter(order=order, action="supervise").count() == 1
    p = f"merge-{duplicate.pk}"
    html = client.post(f"/workbench/dispatch/{duplicate.pk}/merge/", {f"{p}-into_number": "2099"}, **HX).content.decode()
    assert "未找到该编号的工单" in html and 'value="2099"' in html
    html = client.post(f"/workbench/dispatch/{duplicate.pk}/merge/", {f"{p}-into_number": order.number}, **HX).content.decode()
    duplicate.refresh_from_db()
    assert duplicate.status == "merged" and duplicate.merged_into_id == order.pk


@pytest.mark.django_db
def test_a_dispatcher_may_not_supervise(client, world):
    order = drive(world, "in_progress")
    login(client, "dispatcher")
    html = client.post(f"/workbench/dispatch/{order.pk}/supervise/", {f"supervise-{order.pk}-note": "请办结"}, **HX).content.decode()
    assert "form-error" in html
    assert not WorkOrderEvent.objects.filter(order=order, action="supervise").exists()


@pytest.mark.django_db
def test_bulk_remind_confirms_first(client, world, django_capture_on_commit_callbacks):
    a, b = drive(world, "in_progress"), drive(world, "in_progress")
    other = drive(world, "in_progress")
    login(client, "dispatcher")
    before = Notification.objects.count()
    html = client.post("/workbench/dispatch/bulk/", {"ids": [a.pk, b.pk], "action": "remind", "note": "请加快"}, **HX).content.decode()
    assert "确认对以下 2 张工单执行「批量催办」" in html and a.number in html and other.number not in html
    assert not WorkOrderEvent.objects.filter(action="remind").exists()  # nothing done yet
    with django_capture_on_commit_callbacks(execute=True):
        html = client.post("/workbench/dispatch/bulk/", {"ids": [a.pk, b.pk], "action": "remind", "note": "请加快", "confirm": "1"}, **HX).content.decode()
    assert "执行结果" in html
    assert WorkOrderEvent.objects.filter(action="remind").count() == 2
    assert Notification.objects.count() > before
    html = client.post("/workbench/dispatch/bulk/", {"ids": [a.pk], "action": "supervise", "note": ""}, **HX).content.decode()
    assert "督办意见不能为空" in html
    assert "请先勾选工单" in client.post("/workbench/dispatch/bulk/", {"action": "remind"}, **HX).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("section", ["returned", "extensions", "due_soon", "overdue"])
def test_board_sections_take_a_fixed_number_of_queries(client, world, section, django_assert_max_num_queries):
    for _ in range(3):
        drive(world, "returned")
        order = drive(world, "in_progress")
        wo.work_order_request_extension(order_id=order.pk, actor=world.user("handler"),
                                        requested_due_at=order.due_at + timedelta(days=3), reason="需协调")
    login(client, "supervisor")
    client.get("/workbench/dispatch/")
    with django_assert_max_num_queries(14):
        assert client.get("/workbench/dispatch/", {"section": section}).status_code == 200
