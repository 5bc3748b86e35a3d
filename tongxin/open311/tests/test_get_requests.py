"""GET requests, requests/{id} and tokens/{token} in both formats: the fields and the status mapping
through the 12345 lifecycle, every filter, the 90-day span, bad dates, unknown codes, and which orders
are published at all."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from tongxin.open311.models import Service
from tongxin.workorders import services as s

from .conftest import (
    BASE,
    REQUEST_FIELDS,
    children,
    drive,
    errors_of,
    json_body,
    numbers,
    post_order,
    requests_json,
    xml_root,
)


def local_iso(value) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds")


def hotline_order(world, **overrides):
    body = {"channel": "hotline", "kind": "complaint", "content": "热线来电：小区垃圾没人清理", "category_code": "C02",
            "lat": 37.1, "lng": 107.1, "citizen_name": "李四", "citizen_phone": "13900001111", **overrides}
    return s.work_order_create(actor=world.user("operator"), **body)


def old_open311_order(world, days: int):
    """An Open311 order accepted ``days`` ago (through the engine's own intake, which takes accepted_at)."""
    return s.work_order_create(actor=world.user("operator"), channel="open311", kind="help", content=f"{days} 天前的诉求",
                               category_code="C02", lat=37.1, lng=107.1,
                               accepted_at=timezone.now() - timedelta(days=days))


# --- shape and lifecycle ----------------------------------------------------------------------------

def test_requests_xml_shape(world, client, api_key):
    first, second = post_order(client, api_key), post_order(client, api_key, description="第二件")
    root = xml_root(client.get(f"{BASE}/requests.xml"))
    assert root.tag == "service_requests"
    assert children(root) == ["request", "request"]
    assert [r.findtext("service_request_id") for r in root] == [second.number, first.number]  # newest first
    for request in root:
        assert children(request) == REQUEST_FIELDS
    request = root[1]
    assert request.findtext("status") == "open"
    assert request.findtext("service_code") == "C02" and request.findtext("service_name") == "教育文体"
    assert request.findtext("description") == "小区门口垃圾三天没人清理"
    assert request.findtext("address") == "甲社区3号楼东侧"
    assert request.findtext("requested_datetime") == local_iso(first.accepted_at)
    assert request.findtext("requested_datetime").endswith("+08:00")
    assert (request.findtext("lat"), request.findtext("long")) == ("37.1", "107.1")
    assert request.findtext("expected_datetime") == ""  # not dispatched yet: no deadline (an empty element)


def test_requests_json_shape(world, client, api_key):
    order = post_order(client, api_key, media_url="https://app.example.cn/p/9.jpg")
    (request,) = requests_json(client)
    assert list(request) == REQUEST_FIELDS
    assert request["service_request_id"] == order.number
    assert request["lat"] == 37.1 and request["long"] == 107.1
    assert request["media_url"] == "https://app.example.cn/p/9.jpg"
    assert request["expected_datetime"] is None and request["agency_responsible"] == ""


def test_status_mapping_through_the_lifecycle(world, client, api_key):
    order = post_order(client, api_key, service_code="C010101")
    assert requests_json(client)[0]["status"] == "open"
    drive(world, order, "dispatch")
    request = requests_json(client)[0]
    assert request["status"] == "open"
    assert request["agency_responsible"] == "甲区住建局"  # the lead department
    assert request["expected_datetime"] == local_iso(order.due_at)  # the completion deadline
    dispatched_at = request["updated_datetime"]
    s.work_order_remind(order_id=order.pk, actor=world.user("dispatcher"), note="内部催办")
    assert requests_json(client)[0]["updated_datetime"] == dispatched_at  # an internal step is not an update
    drive(world, order, "sign", "reply")
    request = requests_json(client)[0]
    assert request["status"] == "open"  # replied, waiting for the callback
    assert request["status_notes"] == "已清理完毕，感谢您的反映"  # the reply
    drive(world, order, "callback")
    request = requests_json(client)[0]
    assert request["status"] == "closed"
    assert request["status_notes"] == "已清理完毕，感谢您的反映"
    assert request["updated_datetime"] == local_iso(order.events.order_by("-at").first().at)


@pytest.mark.parametrize(("action", "notes"), [
    (s.work_order_withdraw, "已撤单"), (s.work_order_mark_invalid, "无效工单"), (s.work_order_transfer_police, "已转110"),
])
def test_terminal_statuses_are_closed(world, client, api_key, action, notes):
    order = post_order(client, api_key)
    action(order_id=order.pk, actor=world.user("dispatcher"), note="内部说明：来电人要求撤回")
    request = requests_json(client)[0]
    assert request["status"] == "closed"
    assert request["status_notes"] == notes
    assert "内部说明" not in str(request)


def test_an_invalid_order_keeps_its_status_but_not_its_text(world, client, api_key):
    order = post_order(client, api_key, description="广告：办证请联系", media_url="https://spam.example/x.jpg")
    s.work_order_mark_invalid(order_id=order.pk, actor=world.user("dispatcher"), note="广告")
    request = requests_json(client)[0]
    assert (request["status"], request["description"], request["address"], request["media_url"]) == ("closed", "", "", "")


# --- filters ------------------------------------------------------------------------------------------

def test_service_request_id_list_overrides_every_other_filter(world, client, api_key):
    a, b, c = post_order(client, api_key), post_order(client, api_key), post_order(client, api_key)
    query = urlencode({"service_request_id": f" {a.number}, {c.number},99999999999999,", "status": "closed",
                       "service_code": "C010101", "start_date": "2001-01-01T00:00:00Z"})
    assert set(numbers(client, query)) == {a.number, c.number}
    assert b.number not in numbers(client, f"service_request_id={a.number}")


def test_service_code_list(world, client, api_key, attributes):
    education = post_order(client, api_key)
    waste = post_order(client, api_key, service_code="C010101", **{"attribute[waste_type]": "household"})
    assert numbers(client, "service_code=C02") == [education.number]
    assert set(numbers(client, "service_code=C02,C010101")) == {education.number, waste.number}
    assert numbers(client, "service_code=C01") == []  # exact codes, not subtrees


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_unknown_service_code_filter_is_400(world, client, fmt):
    found = errors_of(client.get(f"{BASE}/requests.{fmt}?service_code=C02,NOPE,ALSO"), fmt, 400)
    assert [e["description"].split("「")[1].split("」")[0] for e in found] == ["NOPE", "ALSO"]


def test_status_filter(world, client, api_key):
    open_, closed = post_order(client, api_key), post_order(client, api_key)
    s.work_order_withdraw(order_id=closed.pk, actor=world.user("operator"), note="撤回")
    assert numbers(client, "status=open") == [open_.number]
    assert numbers(client, "status=closed") == [closed.number]
    assert set(numbers(client, "status=open,closed")) == {open_.number, closed.number}
    assert set(numbers(client, "status=OPEN,Closed")) == {open_.number, closed.number}
    assert set(numbers(client, "status=")) == {open_.number, closed.number}  # empty counts as absent


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_bad_status_is_400(world, client, fmt):
    assert errors_of(client.get(f"{BASE}/requests.{fmt}?status=fixed"), fmt, 400)[0]["description"].startswith("status：")


def test_default_window_is_the_last_90_days(world, client, api_key):
    recent = post_order(client, api_key)
    old = old_open311_order(world, 100)
    assert numbers(client) == [recent.number]
    assert old.number in numbers(client, urlencode({"start_date": (timezone.now() - timedelta(days=120)).isoformat()}))


def test_date_range(world, client, api_key):
    ten, forty, sixty = old_open311_order(world, 10), old_open311_order(world, 40), old_open311_order(world, 60)
    now = timezone.now()
    query = urlencode({"start_date": (now - timedelta(days=50)).isoformat(), "end_date": (now - timedelta(days=5)).isoformat()})
    assert numbers(client, query) == [ten.number, forty.number]
    only_end = urlencode({"end_date": (now - timedelta(days=30)).isoformat()})  # 90 days back from the end
    assert numbers(client, only_end) == [forty.number, sixty.number]
    only_start = urlencode({"start_date": (now - timedelta(days=45)).isoformat()})  # 90 days on from the start
    assert numbers(client, only_start) == [ten.number, forty.number]
    date_only = urlencode({"start_date": (now - timedelta(days=45)).date().isoformat()})
    assert numbers(client, date_only) == [ten.number, forty.number]


def test_a_plus_sent_unencoded_arrives_as_a_space_and_is_put_back(world, client, api_key):
    order = post_order(client, api_key)
    start = timezone.localtime(timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S+08:00")
    assert numbers(client, f"start_date={start}") == [order.number]  # "+08:00" decodes to " 08:00"


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_span_over_90_days_is_400(world, client, fmt):
    query = urlencode({"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-04-02T00:00:00+08:00"})
    assert "90" in errors_of(client.get(f"{BASE}/requests.{fmt}?{query}"), fmt, 400)[0]["description"]
    query = urlencode({"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-03-31T23:59:59+08:00"})
    assert client.get(f"{BASE}/requests.{fmt}?{query}").status_code == 200  # 89 days and change


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_end_before_start_is_400(world, client, fmt):
    query = urlencode({"start_date": "2026-03-01T00:00:00Z", "end_date": "2026-02-01T00:00:00Z"})
    assert errors_of(client.get(f"{BASE}/requests.{fmt}?{query}"), fmt, 400)[0]["description"].startswith("end_date：")


@pytest.mark.parametrize("value", [
    "yesterday", "2026-13-01T00:00:00Z", "2026-02-30", "2026-02-01T25:00:00+08:00", "1700000000", "2026/02/01",
    "2026-02-01T00:00:00",  # no time zone
    "2026-02-01T00:00:00+99:00",
])
@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_bad_dates_are_400(world, client, value, fmt):
    found = errors_of(client.get(f"{BASE}/requests.{fmt}?{urlencode({'start_date': value})}"), fmt, 400)
    assert found[0]["description"].startswith("start_date：")
    found = errors_of(client.get(f"{BASE}/servicerequestupdates.{fmt}?{urlencode({'end_date': value})}"), fmt, 400)
    assert found[0]["description"].startswith("end_date：")


def test_too_many_ids_is_400(world, client):
    ids = ",".join(str(20260000000000 + i) for i in range(201))
    errors_of(client.get(f"{BASE}/requests.json?service_request_id={ids}"), "json", 400)


def test_the_list_takes_a_fixed_number_of_queries(world, client, api_key, django_assert_max_num_queries):
    for _ in range(3):
        drive(world, post_order(client, api_key), "dispatch")
    # The publication settings, then the orders with their category, lead, Open311 record and last step.
    with django_assert_max_num_queries(2):
        assert len(requests_json(client)) == 3
    for _ in range(5):
        drive(world, post_order(client, api_key), "dispatch")
    with django_assert_max_num_queries(2):
        assert len(requests_json(client)) == 8


# --- one request, tokens ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_request_by_id(world, client, api_key, fmt):
    order = post_order(client, api_key)
    response = client.get(f"{BASE}/requests/{order.number}.{fmt}")
    assert response.status_code == 200
    if fmt == "xml":
        root = xml_root(response)
        assert root.tag == "service_requests" and children(root) == ["request"]
        assert children(root[0]) == REQUEST_FIELDS
        assert root[0].findtext("service_request_id") == order.number
    else:
        body = json_body(response)
        assert [r["service_request_id"] for r in body] == [order.number]


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_request_by_id_404(world, client, fmt):
    hotline = hotline_order(world)
    for number in ["99999999999999", hotline.number, "x" * 30, "<script>"]:
        errors_of(client.get(f"{BASE}/requests/{number}.{fmt}"), fmt, 404)


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_token(world, client, api_key, fmt):
    order = post_order(client, api_key)
    token = order.open311_request.token
    response = client.get(f"{BASE}/tokens/{token}.{fmt}")
    assert response.status_code == 200
    if fmt == "xml":
        root = xml_root(response)
        assert root.tag == "service_requests" and children(root) == ["request"]
        assert children(root[0]) == ["service_request_id", "token"]
        assert (root[0].findtext("service_request_id"), root[0].findtext("token")) == (order.number, token)
    else:
        assert json_body(response) == [{"service_request_id": order.number, "token": token}]
    errors_of(client.get(f"{BASE}/tokens/nope.{fmt}"), fmt, 404)


# --- what is published ---------------------------------------------------------------------------------

def test_orders_of_other_channels_are_not_published_by_default(world, client, api_key):
    hotline_order(world)
    own = post_order(client, api_key)
    assert numbers(client) == [own.number]


def test_a_service_may_publish_every_channel_except_reports(world, client, api_key):
    Service.objects.create(category=world.category_other, publish="all")
    hotline = hotline_order(world)
    report = hotline_order(world, kind="report", content="举报：有人违建")
    other_category = hotline_order(world, category_code="C010101")
    listed = numbers(client)
    assert hotline.number in listed
    assert report.number not in listed and other_category.number not in listed
    (request,) = [r for r in requests_json(client) if r["service_request_id"] == hotline.number]
    assert request["description"] == "热线来电：小区垃圾没人清理"
    assert request["media_url"] == "" and request["address_id"] == ""


def test_a_service_may_publish_nothing(world, client, api_key):
    order = post_order(client, api_key)
    Service.objects.create(category=world.category_other, publish="none")
    assert numbers(client) == []
    errors_of(client.get(f"{BASE}/requests/{order.number}.json"), "json", 404)
    assert client.get(f"{BASE}/tokens/{order.open311_request.token}.json").status_code == 200  # the client's own token
