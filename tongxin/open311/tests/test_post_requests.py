"""POST requests: the key (form field or query parameter), validation of everything posted (all
reasons at once), attributes against the definition, hostile bytes, and the work order it becomes."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tongxin.open311.models import ApiKey, Service, ServiceRequest
from tongxin.open311.services import api_key_create
from tongxin.testing import real_png
from tongxin.workorders import services as workorders
from tongxin.workorders.models import Attachment, WorkOrder, WorkOrderEvent

from .conftest import BASE, created_number, errors_of, json_body, post_request, request_data, xml_root

PNG = real_png()


def counts() -> tuple[int, int, int]:
    return WorkOrder.objects.count(), WorkOrderEvent.objects.count(), ServiceRequest.objects.count()


# --- the happy path, and the order it becomes --------------------------------------------------------

@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_post_creates_a_normal_work_order(world, client, api_key, attributes, fmt):
    data = request_data(api_key, **{
        "attribute[waste_type]": "household", "attribute[hazards][]": ["smell", "leak"], "attribute[bags]": "3.5",
        "attribute[seen_at]": "2026-11-20T08:00:00+08:00", "attribute[landmark]": "东门岗亭",
        "attribute[details]": "第一行\n第二行", "media_url": "https://app.example.cn/p/1.jpg",
    })
    response = post_request(client, fmt, data)
    number = created_number(response, fmt)
    if fmt == "xml":
        request = xml_root(response).find("request")
        assert [c.tag for c in request] == ["service_request_id", "token", "service_notice", "account_id"]
        token = request.findtext("token")
        assert number in request.findtext("service_notice")
    else:
        token = json_body(response)[0]["token"]
    order = WorkOrder.objects.get(number=number)
    assert order.channel == "open311"
    assert order.kind == "help"  # the default kind of a service (docs/open311.md)
    assert order.status == "accepted"
    assert order.category == world.category_leaf
    assert (order.lat, order.lng) == (37.1, 107.1)
    assert order.area == world.grid_a  # located like any other order
    assert order.accepted_by == world.user("operator")  # the key's owner
    assert order.citizen_name == "张三丰"  # surname first for a Chinese name
    assert order.citizen_phone == "13812345678"
    assert order.address == "甲社区3号楼东侧"
    assert order.content.startswith("小区门口垃圾三天没人清理")
    for line in ["垃圾类型：生活垃圾", "伴随问题：异味、渗漏", "大约几袋：3.5", "附近标志物：东门岗亭",
                 "图片：https://app.example.cn/p/1.jpg", "Open311 客户端「随手拍」"]:
        assert line in order.content
    record = order.open311_request
    assert record.token == token
    assert record.attributes == {"waste_type": "household", "hazards": ["smell", "leak"], "bags": "3.5",
                                 "seen_at": "2026-11-20T08:00:00+08:00", "landmark": "东门岗亭", "details": "第一行\n第二行"}
    assert (record.email, record.device_id, record.account_id) == ("zhang.sanfeng@example.cn", "device-7f3a9c", "acct-55021")
    assert (record.first_name, record.last_name, record.phone) == ("三丰", "张", "13812345678")
    event = order.events.get()
    assert (event.action, event.data) == ("accept", {"channel": "open311"})


def test_the_order_is_routed_by_the_dispatch_catalogue(world, client, api_key, attributes):
    number = created_number(post_request(client, "json", request_data(api_key, **{"attribute[waste_type]": "household"})), "json")
    order = WorkOrder.objects.get(number=number)
    workorders.work_order_dispatch(order_id=order.pk, actor=world.user("dispatcher"))  # no lead given: the catalogue
    order.refresh_from_db()
    assert order.lead_department == world.housing
    assert {a.department for a in order.assignments.filter(role="co")} == {world.water}
    assert order.due_at is not None


def test_service_settings_choose_the_kind(world, client, api_key):
    Service.objects.create(category=world.category_other, kind="suggestion")
    number = created_number(post_request(client, "json", request_data(api_key, service_code="C02")), "json")
    assert WorkOrder.objects.get(number=number).kind == "suggestion"


def test_key_as_query_parameter(world, client, api_key, attributes):
    data = request_data(None, **{"attribute[waste_type]": "household"})
    number = created_number(post_request(client, "xml", data, query=f"api_key={api_key}"), "xml")
    assert WorkOrder.objects.filter(number=number, channel="open311").exists()


def test_location_by_address_only_lands_in_the_city(world, client, api_key, attributes):
    data = request_data(api_key, lat=None, long=None, **{"attribute[waste_type]": "household"})
    order = WorkOrder.objects.get(number=created_number(post_request(client, "json", data), "json"))
    assert order.area == world.city and order.lat is None and order.address == "甲社区3号楼东侧"


def test_location_by_address_id_only(world, client, api_key):
    data = request_data(api_key, service_code="C02", lat=None, long=None, address_string=None, address_id="ADDR-9981")
    order = WorkOrder.objects.get(number=created_number(post_request(client, "json", data), "json"))
    assert "地址编号：ADDR-9981" in order.content
    assert order.open311_request.address_id == "ADDR-9981"


def test_anonymous_without_name_or_phone(world, client, api_key):
    data = request_data(api_key, service_code="C02", first_name=None, last_name=None, phone=None, email=None)
    order = WorkOrder.objects.get(number=created_number(post_request(client, "json", data), "json"))
    assert order.anonymous and order.citizen_name == "" and order.citizen_phone == ""


def test_latin_names_keep_their_order(world, client, api_key):
    data = request_data(api_key, service_code="C02", first_name="John", last_name="Smith")
    order = WorkOrder.objects.get(number=created_number(post_request(client, "json", data), "json"))
    assert order.citizen_name == "John Smith"


def test_description_is_optional(world, client, api_key, attributes):
    data = request_data(api_key, description=None, **{"attribute[waste_type]": "construction"})
    order = WorkOrder.objects.get(number=created_number(post_request(client, "json", data), "json"))
    assert "未填写描述" in order.content and "垃圾类型：建筑垃圾" in order.content


def test_empty_parameters_count_as_absent(world, client, api_key):
    data = request_data(api_key, service_code="C02", lat="", long="", address_string="中心广场", email="", phone="",
                        media_url="")
    order = WorkOrder.objects.get(number=created_number(post_request(client, "json", data), "json"))
    assert order.lat is None and order.citizen_phone == "" and order.open311_request.email == ""


def test_multipart_with_a_photo_becomes_an_attachment(world, client, api_key):
    data = request_data(api_key, service_code="C02", media=SimpleUploadedFile("p.png", PNG, content_type="image/png"))
    order = WorkOrder.objects.get(number=created_number(client.post(f"{BASE}/requests.json", data), "json"))
    attachment = Attachment.objects.get(order=order)
    assert attachment.content_type == "image/png" and attachment.uploaded_by == world.user("operator")


def test_multipart_with_a_file_that_is_not_an_image_writes_nothing(world, client, api_key):
    before = counts()
    data = request_data(api_key, service_code="C02", media=SimpleUploadedFile("x.exe", b"MZ\x90\x00", content_type="image/png"))
    errors = errors_of(client.post(f"{BASE}/requests.json", data), "json", 400)
    assert errors[0]["description"].startswith("media：")
    assert counts() == before


# --- the key -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_missing_key_is_403(world, client, fmt):
    before = counts()
    errors = errors_of(post_request(client, fmt, request_data(None, service_code="C02")), fmt, 403)
    assert errors[0]["description"].startswith("api_key：")
    assert counts() == before


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_wrong_key_is_403(world, client, api_key, fmt):
    before = counts()
    errors_of(post_request(client, fmt, request_data(api_key + "x", service_code="C02")), fmt, 403)
    errors_of(post_request(client, fmt, request_data("not-a-key", service_code="C02")), fmt, 403)
    errors_of(post_request(client, fmt, request_data(None, service_code="C02"), query="api_key=o311_nope"), fmt, 403)
    assert counts() == before


def test_disabled_key_or_owner_is_403(world, client, api_key):
    ApiKey.objects.update(active=False)
    errors_of(post_request(client, "json", request_data(api_key, service_code="C02")), "json", 403)
    ApiKey.objects.update(active=True)
    operator = world.user("operator")
    operator.is_active = False
    operator.save()
    errors_of(post_request(client, "json", request_data(api_key, service_code="C02")), "json", 403)


def test_a_key_owner_outside_the_location_writes_nothing(world, client):
    _key, plain = api_key_create(name="乙区系统", owner=world.user("dispatcher_b"))
    before = counts()
    errors = errors_of(post_request(client, "json", request_data(plain, service_code="C02")), "json", 400)
    assert errors[0]["description"].startswith("lat/long：")
    assert counts() == before


# --- validation ------------------------------------------------------------------------------------

def descriptions(response, fmt="json", status=400) -> list[str]:
    return [e["description"] for e in errors_of(response, fmt, status)]


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_missing_location_is_400(world, client, api_key, fmt):
    before = counts()
    data = request_data(api_key, service_code="C02", lat=None, long=None, address_string=None)
    found = descriptions(post_request(client, fmt, data), fmt)
    assert len(found) == 1 and found[0].startswith("lat/long：") and "address_string" in found[0]
    assert counts() == before


@pytest.mark.parametrize(("lat", "long", "start"), [
    ("37.1", None, "long："), (None, "107.1", "lat："), ("abc", "107.1", "lat/long："), ("91", "107.1", "lat/long："),
    ("37.1", "181", "lat/long："), ("nan", "107.1", "lat/long："), ("inf", "107.1", "lat/long："),
    ("51.5", "-0.12", "lat："),  # London: valid WGS-84, but not in China (the engine refuses it)
])
def test_bad_coordinates_are_400(world, client, api_key, lat, long, start):
    before = counts()
    data = request_data(api_key, service_code="C02", lat=lat, long=long, address_string=None)
    found = descriptions(post_request(client, "json", data))
    assert found[0].startswith(start), found
    assert counts() == before


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_unknown_or_missing_service_code_is_400(world, client, api_key, fmt):
    assert descriptions(post_request(client, fmt, request_data(api_key, service_code="C99")), fmt)[0].startswith("service_code：")
    assert descriptions(post_request(client, fmt, request_data(api_key, service_code=None)), fmt)[0].startswith("service_code：")
    assert descriptions(post_request(client, fmt, request_data(api_key, service_code="")), fmt)[0].startswith("service_code：")


def test_every_reason_is_reported_at_once(world, client, api_key):
    data = request_data(api_key, service_code="C99", lat=None, long=None, address_string=None, email="not-an-email",
                        media_url="javascript:alert(1)", description="长" * 4001)
    found = descriptions(post_request(client, "xml", data), "xml")
    assert [f.split("：")[0] for f in found] == ["service_code", "lat/long", "description", "media_url", "email"]


@pytest.mark.parametrize(("overrides", "start"), [
    ({}, "attribute[waste_type]："),  # required and absent
    ({"attribute[waste_type]": ""}, "attribute[waste_type]："),  # empty counts as absent
    ({"attribute[waste_type]": "nuclear"}, "attribute[waste_type]："),  # not one of the keys
    ({"attribute[waste_type][]": ["household", "construction"]}, "attribute[waste_type]："),  # one value only
    ({"attribute[waste_type]": "household", "attribute[hazards][]": ["smell", "acid"]}, "attribute[hazards]："),
    ({"attribute[waste_type]": "household", "attribute[bags]": "three"}, "attribute[bags]："),
    ({"attribute[waste_type]": "household", "attribute[bags]": "NaN"}, "attribute[bags]："),
    ({"attribute[waste_type]": "household", "attribute[seen_at]": "yesterday"}, "attribute[seen_at]："),
    ({"attribute[waste_type]": "household", "attribute[seen_at]": "2026-11-20T08:00:00"}, "attribute[seen_at]："),
    ({"attribute[waste_type]": "household", "attribute[landmark]": "x" * 1001}, "attribute[landmark]："),
    ({"attribute[waste_type]": "household", "attribute[landmark]": "两\n行"}, "attribute[landmark]："),
    ({"attribute[waste_type]": "household", "attribute[details]": "x" * 4001}, "attribute[details]："),
])
def test_attributes_are_validated_against_the_definition(world, client, api_key, attributes, overrides, start):
    before = counts()
    found = descriptions(post_request(client, "json", request_data(api_key, **overrides)))
    assert found[0].startswith(start), found
    assert counts() == before


def test_multivaluelist_accepts_repeated_and_bracketed_values(world, client, api_key, attributes):
    data = request_data(api_key, **{"attribute[waste_type][]": "household", "attribute[hazards]": ["fire", "smell", "fire"]})
    order = WorkOrder.objects.get(number=created_number(post_request(client, "json", data), "json"))
    assert order.open311_request.attributes == {"waste_type": "household", "hazards": ["fire", "smell"]}


def test_informative_and_unknown_attributes_are_ignored(world, client, api_key, attributes):
    data = request_data(api_key, **{"attribute[waste_type]": "household", "attribute[notice]": "ignored",
                                    "attribute[fixmystreet_id]": "4411", "attribute[": "x"})
    order = WorkOrder.objects.get(number=created_number(post_request(client, "json", data), "json"))
    assert order.open311_request.attributes == {"waste_type": "household"}
    assert "4411" not in order.content


@pytest.mark.parametrize(("field", "value"), [
    ("email", "zhang@"), ("phone", "call me maybe"), ("media_url", "ftp://example.cn/a.jpg"),
    ("first_name", "名" * 31), ("device_id", "d" * 101), ("address_string", "址" * 301),
])
def test_bad_personal_fields_are_400(world, client, api_key, field, value):
    before = counts()
    found = descriptions(post_request(client, "json", request_data(api_key, service_code="C02", **{field: value})))
    assert found[0].startswith(f"{field}："), found
    assert counts() == before


# --- hostile bytes -------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_body_that_is_not_utf8_is_400(world, client, api_key, fmt):
    before = counts()
    gbk = b"service_code=C02&address_string=" + "中心广场".encode("gbk") + f"&api_key={api_key}".encode()
    response = client.post(f"{BASE}/requests.{fmt}", gbk, content_type="application/x-www-form-urlencoded")
    assert "UTF-8" in descriptions(response, fmt)[0]
    escaped = f"service_code=C02&address_string=%D6%D0%D0%C4&api_key={api_key}"  # GBK bytes, percent-encoded
    response = client.post(f"{BASE}/requests.{fmt}", escaped, content_type="application/x-www-form-urlencoded")
    assert "UTF-8" in descriptions(response, fmt)[0]
    response = client.generic("POST", f"{BASE}/requests.{fmt}", gbk,
                              content_type="application/x-www-form-urlencoded; charset=gbk")
    assert "UTF-8" in descriptions(response, fmt)[0]
    assert counts() == before


def test_multipart_that_is_not_utf8_is_400(world, client, api_key):
    boundary = "XyZ"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"api_key\"\r\n\r\n{api_key}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"service_code\"\r\n\r\nC02\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"address_string\"\r\n\r\n").encode() + \
        "中心".encode("gbk") + f"\r\n--{boundary}--\r\n".encode()
    response = client.post(f"{BASE}/requests.json", body, content_type=f"multipart/form-data; boundary={boundary}")
    assert "UTF-8" in descriptions(response)[0]


def test_query_string_that_is_not_utf8_is_400(world, client):
    assert "UTF-8" in descriptions(client.get(f"{BASE}/requests.json?service_code=%FF%FE"))[0]


def test_a_json_body_is_refused(world, client, api_key):
    before = counts()
    response = client.post(f"{BASE}/requests.json", {"api_key": api_key, "service_code": "C02"}, content_type="application/json")
    assert descriptions(response)[0].startswith("Content-Type：")  # GeoReport POSTs are form-encoded
    response = client.post(f"{BASE}/requests.json?api_key={api_key}", {"service_code": "C02"}, content_type="application/json")
    assert descriptions(response)[0].startswith("Content-Type：")
    assert counts() == before


def test_control_characters_are_dropped(world, client, api_key):
    data = request_data(api_key, service_code="C02", description="路灯\x01不亮\x07了\x1b\n第二行")
    order = WorkOrder.objects.get(number=created_number(post_request(client, "json", data), "json"))
    assert order.open311_request.description == "路灯不亮了\n第二行"


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_nul_is_refused_everywhere(world, client, api_key, fmt):
    """NUL is not text, and PostgreSQL refuses it even in a lookup: 400/404, never a server error."""
    before = counts()
    for field in ["description", "service_code", "api_key", "phone"]:
        data = request_data(api_key, service_code="C02")
        data[field] = data.get(field, "") + "\x00"
        assert "NUL" in descriptions(post_request(client, fmt, data), fmt)[0]
    assert "NUL" in descriptions(client.get(f"{BASE}/requests.{fmt}?service_code=C02%00"), fmt)[0]
    assert "NUL" in descriptions(client.get(f"{BASE}/requests.{fmt}?service_request_id=%00"), fmt)[0]
    errors_of(client.get(f"{BASE}/tokens/a%00b.{fmt}"), fmt, 404)
    errors_of(client.get(f"{BASE}/requests/%00.{fmt}"), fmt, 404)
    errors_of(client.get(f"{BASE}/services/C02%00.{fmt}"), fmt, 404)
    assert counts() == before


def test_an_empty_post_names_what_is_missing(world, client, api_key):
    response = client.generic("POST", f"{BASE}/requests.json?api_key={api_key}", b"", content_type="")
    found = descriptions(response)
    assert found[0].startswith("service_code：") and found[1].startswith("lat/long：")


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_a_body_over_the_limit_is_413(world, client, api_key, settings, fmt):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = f"api_key={api_key}&service_code=C02&description={'x' * 2000}"
    response = client.post(f"{BASE}/requests.{fmt}", body, content_type="application/x-www-form-urlencoded")
    errors_of(response, fmt, 413)
