"""回访 and 我的数据 over the test client."""

from __future__ import annotations

import pytest

from tongxin.workorders.models import WorkOrder, WorkOrderEvent

from .conftest import login
from .workbench_helpers import HX, drive


@pytest.mark.django_db
def test_callback_desk_renders_for_centre_roles_only(client, world):
    order = drive(world, "replied")
    for username in ("operator", "dispatcher", "supervisor"):
        login(client, username)
        html = client.get("/workbench/callback/").content.decode()
        assert order.number in html and "已清理完毕" in html and "满意" in html, username
    for username in ("handler", "leader", "nobody"):
        login(client, username)
        assert client.get("/workbench/callback/").status_code == 404, username
    login(client, "dispatcher_b")
    assert order.number not in client.get("/workbench/callback/").content.decode()
    response = client.post(f"/workbench/callback/{order.pk}/satisfied/", {f"satisfied-{order.pk}-satisfaction": "satisfied"})
    assert response.status_code == 404


@pytest.mark.django_db
def test_satisfied_closes_in_one_post(client, world):
    order = drive(world, "replied")
    login(client, "operator")
    html = client.post(f"/workbench/callback/{order.pk}/satisfied/", {f"satisfied-{order.pk}-satisfaction": "basically_satisfied",
                                                                       f"satisfied-{order.pk}-version": order.version}, **HX).content.decode()
    assert "回访完成" in html
    order.refresh_from_db()
    assert order.status == "closed" and order.satisfaction == "basically_satisfied"
    assert WorkOrderEvent.objects.filter(order=order, action="callback").count() == 1


@pytest.mark.django_db
def test_unsatisfied_redo_carries_the_reason_to_the_department(client, world):
    order = drive(world, "replied")
    login(client, "operator")
    p = f"unsatisfied-{order.pk}"
    # No cause: beside the cause; the typed note kept.
    html = client.post(f"/workbench/callback/{order.pk}/unsatisfied/", {f"{p}-do": "redo", f"{p}-note": "门口还是有垃圾"}, **HX).content.decode()
    assert "field-error" in html and "门口还是有垃圾" in html
    # A cause the department does not control cannot be redone.
    html = client.post(f"/workbench/callback/{order.pk}/unsatisfied/", {f"{p}-do": "redo", f"{p}-cause": "policy_limit", f"{p}-note": "门口还是有垃圾"}, **HX).content.decode()
    assert "不属于承办单位可控原因" in html
    html = client.post(f"/workbench/callback/{order.pk}/unsatisfied/", {f"{p}-do": "redo", f"{p}-cause": "not_solved", f"{p}-note": "门口还是有垃圾"}, **HX).content.decode()
    redo = WorkOrder.objects.get(redo_of=order)
    assert "已转重办" in html and redo.number in html
    assert redo.status == "dispatched" and redo.lead_department_id == world.housing.pk
    login(client, "handler")
    html = client.get("/workbench/queue/").content.decode()
    assert redo.number in html and "重办" in html
    assert "门口还是有垃圾" in WorkOrderEvent.objects.get(order=redo, action="dispatch").note


@pytest.mark.django_db
def test_unsatisfied_close(client, world):
    order = drive(world, "replied")
    login(client, "operator")
    p = f"unsatisfied-{order.pk}"
    client.post(f"/workbench/callback/{order.pk}/unsatisfied/", {f"{p}-do": "close", f"{p}-cause": "policy_limit"}, **HX)
    order.refresh_from_db()
    assert order.status == "closed" and order.unsatisfied_cause == "policy_limit"


@pytest.mark.django_db
def test_callback_list_takes_a_fixed_number_of_queries(client, world, django_assert_max_num_queries):
    for _ in range(4):
        drive(world, "replied")
    login(client, "operator")
    client.get("/workbench/callback/")
    with django_assert_max_num_queries(12):
        assert client.get("/workbench/callback/").status_code == 200


@pytest.mark.django_db
def test_numbers_for_a_department_and_for_the_centre(client, world, django_assert_max_num_queries):
    drive(world, "replied")
    drive(world, "closed")
    drive(world, "returned")
    login(client, "handler")
    with django_assert_max_num_queries(16):
        html = client.get("/workbench/numbers/").content.decode()
    assert "甲区住建局" in html and "本月" in html and "满意率" in html and "volume-data" in html
    assert client.get("/workbench/numbers/", {"department": world.education.pk}).status_code == 404
    for username in ("dispatcher", "supervisor", "leader"):
        login(client, username)
        html = client.get("/workbench/numbers/").content.decode()
        assert "本辖区" in html and "本月各承办单位" in html and "甲区住建局" in html, username
    for username in ("operator", "nobody"):
        login(client, username)
        assert client.get("/workbench/numbers/").status_code == 404, username
