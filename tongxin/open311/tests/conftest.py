"""Fixtures of the Open311 tests: the fixed world (tongxin/testing.py), an API key for its operator
(a city-wide channel owner), a service with one attribute of every datatype, and helpers that speak
GeoReport over real HTTP (Django's test client) in both formats."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from django.core.cache import cache
from django.test import Client

from tongxin.open311.models import Attribute, Service
from tongxin.open311.services import api_key_create

BASE = "/open311/v2"
POINT_A = {"lat": "37.1", "long": "107.1"}  # inside grid A, district A (甲区)
CITIZEN = {"first_name": "三丰", "last_name": "张", "phone": "13812345678", "email": "zhang.sanfeng@example.cn",
           "device_id": "device-7f3a9c", "account_id": "acct-55021"}
PERSONAL_STRINGS = ["张三丰", "13812345678", "zhang.sanfeng@example.cn", "device-7f3a9c", "acct-55021"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The world creates 13 users; Django's default PBKDF2 would cost seconds per test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The rate limit counts in the cache: every test starts from zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def api_key(world) -> str:
    _key, plain = api_key_create(name="随手拍", owner=world.user("operator"), rate_limit=1000)
    return plain


@pytest.fixture
def client() -> Client:
    return Client()


@pytest.fixture
def attributes(world) -> Service:
    """垃圾清理 (C010101) with one attribute of every datatype, and one that only informs."""
    service = Service.objects.create(category=world.category_leaf, description="垃圾堆放、清运不及时")
    rows = [
        ("waste_type", "singlevaluelist", True, True, "垃圾类型", [{"key": "household", "name": "生活垃圾"},
                                                                    {"key": "construction", "name": "建筑垃圾"}]),
        ("hazards", "multivaluelist", False, True, "伴随问题", [{"key": "smell", "name": "异味"},
                                                               {"key": "leak", "name": "渗漏"},
                                                               {"key": "fire", "name": "起火"}]),
        ("bags", "number", False, True, "大约几袋", []),
        ("seen_at", "datetime", False, True, "发现时间", []),
        ("landmark", "string", False, True, "附近标志物", []),
        ("details", "text", False, True, "补充描述", []),
        ("notice", "string", False, False, "大件垃圾请预约上门回收", []),
    ]
    for order, (code, datatype, required, variable, description, values) in enumerate(rows, start=1):
        Attribute.objects.create(service=service, code=code, datatype=datatype, required=required, variable=variable,
                                 order=order, description=description, values=values)
    return service


# --- speaking GeoReport ---------------------------------------------------------------------------

def xml_root(response: Any) -> ET.Element:
    assert response["Content-Type"] == "text/xml; charset=utf-8", response["Content-Type"]
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), response.content[:80]
    return ET.fromstring(response.content)


def json_body(response: Any) -> Any:
    assert response["Content-Type"] == "application/json; charset=utf-8", response["Content-Type"]
    return json.loads(response.content.decode("utf-8"))


def children(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


def errors_of(response: Any, fmt: str, status: int) -> list[dict[str, Any]]:
    """The specification's error document: errors → error (code, description), code = HTTP status."""
    assert response.status_code == status, (response.status_code, response.content[:600])
    if fmt == "xml":
        root = xml_root(response)
        assert root.tag == "errors"
        assert root and all(child.tag == "error" for child in root)
        found = []
        for error in root:
            assert children(error) == ["code", "description"]
            found.append({"code": int(error.findtext("code") or 0), "description": error.findtext("description")})
    else:
        found = json_body(response)
        assert isinstance(found, list) and found
        assert all(set(e) == {"code", "description"} for e in found)
    assert all(e["code"] == status for e in found), found
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in e["description"]) for e in found), found  # Chinese reasons
    return found


def post_request(client: Client, fmt: str, data: dict[str, Any], *, query: str = "") -> Any:
    url = f"{BASE}/requests.{fmt}" + (f"?{query}" if query else "")
    return client.post(url, data)


def request_data(api_key: str | None, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"service_code": "C010101", "description": "小区门口垃圾三天没人清理", **POINT_A,
                            "address_string": "甲社区3号楼东侧", **CITIZEN}
    if api_key is not None:
        data["api_key"] = api_key
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def created_number(response: Any, fmt: str) -> str:
    assert response.status_code == 200, response.content[:600]
    if fmt == "xml":
        root = xml_root(response)
        assert root.tag == "service_requests" and children(root) == ["request"]
        return root.find("request").findtext("service_request_id")
    body = json_body(response)
    assert isinstance(body, list) and len(body) == 1
    return body[0]["service_request_id"]


def post_order(client: Client, api_key: str, **overrides: Any) -> Any:
    """A work order posted through Open311 (service 教育文体 C02 unless told), read back from the database."""
    from tongxin.workorders.models import WorkOrder

    data = request_data(api_key, **{"service_code": "C02", **overrides})
    return WorkOrder.objects.get(number=created_number(post_request(client, "json", data), "json"))


def drive(world: Any, order: Any, *steps: str) -> Any:
    """Take ``order`` through the engine's services: dispatch (by the catalogue), sign, reply (after the
    co-handlers), callback (satisfied)."""
    from tongxin.workorders import services as s

    order.refresh_from_db()
    lead_handler = {"D-HOUSING-A": "handler", "D-EDU-B": "edu_handler"}
    for step in steps:
        if step == "dispatch":
            s.work_order_dispatch(order_id=order.pk, actor=world.user("dispatcher"))
        elif step == "sign":
            s.work_order_sign(order_id=order.pk, actor=world.user(lead_handler[order.lead_department.code]))
        elif step == "reply":
            if order.assignments.filter(role="co", active=True, department=world.water).exists():
                s.work_order_co_reply(order_id=order.pk, actor=world.user("water_handler"), text="协办内部意见：已配合清运")
            s.work_order_reply(order_id=order.pk, actor=world.user(lead_handler[order.lead_department.code]),
                               text="已清理完毕，感谢您的反映")
        elif step == "callback":
            s.work_order_callback(order_id=order.pk, actor=world.user("operator"), satisfaction="satisfied")
        else:
            raise ValueError(step)
        order.refresh_from_db()
    return order


REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"]
UPDATE_FIELDS = ["update_id", "service_request_id", "status", "updated_datetime", "description", "media_url"]


def requests_json(client: Client, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"{BASE}/requests.json" + (f"?{query}" if query else ""))
    assert response.status_code == 200, response.content[:600]
    return json_body(response)


def numbers(client: Client, query: str = "") -> list[str]:
    return [r["service_request_id"] for r in requests_json(client, query)]
