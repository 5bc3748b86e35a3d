"""The mySociety extension: GET servicerequestupdates (the public steps of published orders, never
internal ones) and POST servicerequestupdates (a citizen's comment, recorded as 补充说明)."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from tongxin.open311.models import RequestUpdate
from tongxin.open311.services import api_key_create
from tongxin.workorders import services as s
from tongxin.workorders.models import WorkOrderEvent

from .conftest import BASE, UPDATE_FIELDS, children, drive, errors_of, json_body, post_order, xml_root


def updates_json(client, query: str = "") -> list[dict]:
    response = client.get(f"{BASE}/servicerequestupdates.json" + (f"?{query}" if query else ""))
    assert response.status_code == 200, response.content[:600]
    return json_body(response)


def post_update(client, fmt: str, data: dict, *, query: str = ""):
    return client.post(f"{BASE}/servicerequestupdates.{fmt}" + (f"?{query}" if query else ""), data)


# --- GET ---------------------------------------------------------------------------------------------------

def test_updates_follow_the_public_steps_of_the_lifecycle(world, client, api_key):
    order = post_order(client, api_key, service_code="C010101")
    drive(world, order, "dispatch")
    s.work_order_remind(order_id=order.pk, actor=world.user("dispatcher"), note="内部催办意见")
    s.work_order_supervise(order_id=order.pk, actor=world.user("supervisor"), note="内部督办意见")
    drive(world, order, "sign")
    s.work_order_request_extension(order_id=order.pk, actor=world.user("handler"),
                                   requested_due_at=order.due_at + timedelta(days=3), reason="内部延期理由")
    s.work_order_decide_extension(order_id=order.pk, actor=world.user("dispatcher"), approve=True)
    s.work_order_comment(order_id=order.pk, actor=world.user("operator"), text="热线补充：来电人说明的家庭情况")
    drive(world, order, "reply", "callback")
    order.refresh_from_db()
    updates = updates_json(client)
    assert [u["description"] for u in updates] == [
        "诉求已受理",
        "已派单至甲区住建局",
        "甲区住建局已签收，正在办理",
        f"办理期限已延长至 {timezone.localtime(order.due_at):%Y-%m-%d %H:%M}",
        "甲区住建局已答复：已清理完毕，感谢您的反映",
        "已回访，诉求办结",
    ]
    assert [u["status"] for u in updates] == ["open"] * 5 + ["closed"]
    assert {u["service_request_id"] for u in updates} == {order.number}
    public = {"accept", "dispatch", "sign", "approve_extension", "reply", "callback"}
    events = {e.pk: e for e in order.events.all()}
    assert [events[int(u["update_id"])].action for u in updates] == sorted(public, key=[
        "accept", "dispatch", "sign", "approve_extension", "reply", "callback"].index)
    assert [u["updated_datetime"] for u in updates] == [
        timezone.localtime(events[int(u["update_id"])].at).isoformat(timespec="seconds") for u in updates]
    text = str(updates)
    for internal in ["内部催办意见", "内部督办意见", "内部延期理由", "协办内部意见", "家庭情况", "handler", "dispatcher",
                     "operator", "supervisor"]:
        assert internal not in text


def test_updates_xml_shape(world, client, api_key):
    order = post_order(client, api_key)
    drive(world, order, "dispatch")
    root = xml_root(client.get(f"{BASE}/servicerequestupdates.xml"))
    assert root.tag == "service_request_updates"
    assert children(root) == ["request_update", "request_update"]
    for update in root:
        assert children(update) == UPDATE_FIELDS
    assert root[1].findtext("description") == "已派单至乙区教育局"
    assert root[1].findtext("service_request_id") == order.number
    assert root[1].findtext("status") == "open"


def test_returns_and_reassignments(world, client, api_key):
    order = post_order(client, api_key, service_code="C010101")
    drive(world, order, "dispatch")
    s.work_order_return(order_id=order.pk, actor=world.user("handler"), reason="not_our_duty", note="内部退单说明")
    s.work_order_reassign(order_id=order.pk, actor=world.user("dispatcher"), lead_department_id=world.education.pk)
    descriptions = [u["description"] for u in updates_json(client)]
    assert descriptions[-2:] == ["承办单位退回，正在重新派单", "已改派至乙区教育局"]
    assert "内部退单说明" not in str(descriptions)


def test_merge_and_redo(world, client, api_key):
    original, duplicate = post_order(client, api_key), post_order(client, api_key)
    s.work_order_merge(order_id=duplicate.pk, actor=world.user("dispatcher"), into_id=original.pk, note="内部并单说明")
    drive(world, original, "dispatch", "sign", "reply")
    redo = s.work_order_redo(order_id=original.pk, actor=world.user("operator"), cause="not_solved", note="内部重办理由")
    by_order: dict[str, list[str]] = {}
    for update in updates_json(client):
        by_order.setdefault(update["service_request_id"], []).append(update["description"])
    assert by_order[duplicate.number][-1] == f"已与相同诉求合并办理（并入编号 {original.number}）"
    assert by_order[original.number][-1] == f"已回访，诉求转重新办理（新编号 {redo.number}）"
    assert "已与相同诉求" not in str(by_order[original.number])  # the original's own merge note is internal
    assert by_order[redo.number] == ["诉求已受理", "已派单至乙区教育局"]  # the redo is an Open311 order too
    assert "内部" not in str(by_order)


def test_hotline_orders_have_no_public_updates(world, client, api_key):
    s.work_order_create(actor=world.user("operator"), channel="hotline", kind="help", content="热线", category_code="C02",
                        lat=37.1, lng=107.1)
    assert updates_json(client) == []


def test_update_date_range(world, client, api_key):
    order = post_order(client, api_key)
    accepted = order.events.get()
    later = timezone.now() + timedelta(days=1)
    assert [u["update_id"] for u in updates_json(client)] == [str(accepted.pk)]
    query = urlencode({"start_date": later.isoformat(), "end_date": (later + timedelta(days=2)).isoformat()})
    assert updates_json(client, query) == []
    query = urlencode({"start_date": (timezone.now() - timedelta(hours=1)).isoformat()})
    assert [u["update_id"] for u in updates_json(client, query)] == [str(accepted.pk)]


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_update_span_over_90_days_is_400(world, client, fmt):
    query = urlencode({"start_date": "2026-01-01", "end_date": "2026-06-01"})
    errors_of(client.get(f"{BASE}/servicerequestupdates.{fmt}?{query}"), fmt, 400)


def test_updates_take_a_fixed_number_of_queries(world, client, api_key, django_assert_max_num_queries):
    for _ in range(4):
        drive(world, post_order(client, api_key), "dispatch", "sign")
    # The publication settings, the public steps, the comments posted through Open311.
    with django_assert_max_num_queries(3):
        assert len(updates_json(client)) == 12


# --- POST ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_post_a_comment(world, client, api_key, fmt):
    order = drive(world, post_order(client, api_key), "dispatch")
    version, status = order.version, order.status
    data = {"api_key": api_key, "service_request_id": order.number, "description": "垃圾又堆起来了，请尽快处理",
            "status": "CLOSED", "updated_datetime": "2026-11-23T10:00:00+08:00", "update_id": "fms-881",
            "first_name": "小明", "last_name": "王", "email": "wang@example.cn", "media_url": "https://app.example.cn/u/1.jpg"}
    response = post_update(client, fmt, data)
    assert response.status_code == 200, response.content
    if fmt == "xml":
        root = xml_root(response)
        assert root.tag == "service_request_updates" and children(root) == ["request_update"]
        assert children(root[0]) == ["update_id"]
        update_id = root[0].findtext("update_id")
    else:
        (answer,) = json_body(response)
        assert list(answer) == ["update_id"]
        update_id = answer["update_id"]
    event = WorkOrderEvent.objects.get(pk=int(update_id))
    assert (event.order_id, event.action, event.data) == (order.pk, "comment", {"source": "open311"})
    assert event.note == "垃圾又堆起来了，请尽快处理\n图片：https://app.example.cn/u/1.jpg"
    order.refresh_from_db()
    assert order.status == status and order.version == version + 1  # the status never changes through Open311
    record = RequestUpdate.objects.get(event=event)
    assert (record.client_update_id, record.first_name, record.last_name, record.email) == ("fms-881", "小明", "王", "wang@example.cn")
    assert record.client_updated_at == datetime.fromisoformat("2026-11-23T10:00:00+08:00")
    update = updates_json(client)[-1]
    assert update == {"update_id": update_id, "service_request_id": order.number, "status": "open",
                      "updated_datetime": timezone.localtime(event.at).isoformat(timespec="seconds"),
                      "description": "补充说明：垃圾又堆起来了，请尽快处理\n图片：https://app.example.cn/u/1.jpg",
                      "media_url": "https://app.example.cn/u/1.jpg"}
    for personal in ["王小明", "小明", "wang@example.cn"]:
        assert personal not in client.get(f"{BASE}/servicerequestupdates.xml").content.decode()


def test_the_same_update_id_twice_records_once(world, client, api_key):
    order = post_order(client, api_key)
    data = {"api_key": api_key, "service_request_id": order.number, "description": "补充", "update_id": "u-1"}
    first = json_body(post_update(client, "json", data))
    second = json_body(post_update(client, "json", data))
    assert first == second
    assert order.events.filter(action="comment").count() == 1
    _other, other_key = api_key_create(name="另一个客户端", owner=world.user("dispatcher"))
    third = json_body(post_update(client, "json", {**data, "api_key": other_key}))  # ids are per key
    assert third != first


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_comment_on_a_closed_order_is_400(world, client, api_key, fmt):
    order = post_order(client, api_key)
    s.work_order_withdraw(order_id=order.pk, actor=world.user("operator"), note="撤回")
    before = WorkOrderEvent.objects.count()
    data = {"api_key": api_key, "service_request_id": order.number, "description": "还有问题"}
    assert errors_of(post_update(client, fmt, data), fmt, 400)[0]["description"].startswith("service_request_id：")
    assert WorkOrderEvent.objects.count() == before


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_comment_on_an_unknown_or_unpublished_order_is_404(world, client, api_key, fmt):
    hotline = s.work_order_create(actor=world.user("operator"), channel="hotline", kind="help", content="热线",
                                  category_code="C02", lat=37.1, lng=107.1)
    before = WorkOrderEvent.objects.count()
    for number in [hotline.number, "99999999999999"]:
        data = {"api_key": api_key, "service_request_id": number, "description": "补充"}
        errors_of(post_update(client, fmt, data), fmt, 404)
    assert WorkOrderEvent.objects.count() == before


@pytest.mark.parametrize(("overrides", "start"), [
    ({"service_request_id": None}, "service_request_id："),
    ({"description": ""}, "description："),
    ({"description": "x" * 4001}, "description："),
    ({"updated_datetime": "not a date"}, "updated_datetime："),
    ({"email": "nope"}, "email："),
    ({"media_url": "data:image/png;base64,AAAA"}, "media_url："),
])
def test_bad_comments_are_400(world, client, api_key, overrides, start):
    order = post_order(client, api_key)
    data = {"api_key": api_key, "service_request_id": order.number, "description": "补充", **overrides}
    data = {k: v for k, v in data.items() if v is not None}
    assert errors_of(post_update(client, "json", data), "json", 400)[0]["description"].startswith(start)
    assert not order.events.filter(action="comment").exists()


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_comment_without_or_with_a_wrong_key_is_403(world, client, api_key, fmt):
    order = post_order(client, api_key)
    data = {"service_request_id": order.number, "description": "补充"}
    errors_of(post_update(client, fmt, data), fmt, 403)
    errors_of(post_update(client, fmt, {**data, "api_key": "o311_wrong"}), fmt, 403)
    assert post_update(client, fmt, data, query=f"api_key={api_key}").status_code == 200  # key in the query
