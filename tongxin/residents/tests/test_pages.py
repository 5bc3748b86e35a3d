"""The phone pages and the API through Django's test client: scanning, the SMS login, reporting,
rating, the board; and the security cases (forged and tampered codes, enumeration, uploads, another
household's requests)."""

from __future__ import annotations

import base64
import json

import pytest

from tongxin.residents import services
from tongxin.residents.models import Report
from tongxin.residents.session import COOKIE
from tongxin.residents.tokens import token_make, token_parse
from tongxin.workorders import services as wo

from .conftest import OTHER_PHONE, PHONE, jpeg_bytes, last_sms_code, make_place, upload

pytestmark = pytest.mark.django_db


def sign_in(client, token: str, phone: str = PHONE) -> None:
    from django.test.utils import CaptureQueriesContext  # noqa: F401 - keeps the import list honest

    response = client.post(f"/r/{token}/", {"action": "send", "phone": phone})
    assert response.status_code == 200
    assert "验证码已通过短信发送" in response.content.decode()
    response = client.post(f"/r/{token}/", {"action": "login", "phone": phone, "code": last_sms_code(phone)})
    assert response.status_code == 302 and response["Location"] == "/r/home/"


@pytest.fixture
def signed_in(client, place, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/r/{place.token}/", {"action": "send", "phone": PHONE})
    response = client.post(f"/r/{place.token}/", {"action": "login", "phone": PHONE, "code": last_sms_code(PHONE)})
    assert response.status_code == 302
    return client


# --- codes -------------------------------------------------------------------------------------------

def test_landing_asks_for_phone_and_reveals_no_address(client, place):
    response = client.get(f"/r/{place.token}/")
    body = response.content.decode()
    assert response.status_code == 200 and "获取验证码" in body
    assert place.household.address not in body and "王" not in body


def _tampered(token: str) -> list[str]:
    parsed = token_parse(token)
    assert parsed is not None
    kind_id, version, mac = token.split(".")
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    other_mac = base64.urlsafe_b64encode(b"\x00" * 16).decode().rstrip("=")
    return [
        f"{kind_id}.{version}.{flipped}",                       # one character of the MAC changed
        f"{kind_id[0]}{int(kind_id[1:], 36) + 1:x}.{version}.{mac}",  # another id, same MAC
        f"m{kind_id[1:]}.{version}.{mac}",                      # another kind
        f"{kind_id}.{int(version, 36) + 1}.{mac}",              # a later version, same MAC
        f"{kind_id}.{version}.{other_mac}",
        f"{kind_id}.{version}",
        str(place_id_only := int(kind_id[1:], 36)),             # the database id alone
        f"h{place_id_only}",
    ]


def test_forged_and_tampered_codes_get_one_clear_page(client, place):
    pages = set()
    for token in _tampered(place.token):
        response = client.get(f"/r/{token}/")
        body = response.content.decode()
        assert response.status_code == 404, token
        assert "二维码无效" in body
        assert place.household.address not in body
        pages.add(body)
    assert len(pages) == 1, "every forged code must look the same"


def test_enumerating_household_ids_finds_nothing(client, place):
    """Tokens made without the key, for every id near the real ones, all answer the same 404."""
    mac = place.token.split(".")[2]
    for pk in range(1, place.household.pk + 20):
        response = client.get(f"/r/h{pk:x}.1.{mac}/")
        assert response.status_code == 404 or token_parse(f"h{pk:x}.1.{mac}") is not None
    # With the real key but a wrong version, and for ids that do not exist: nothing is revealed either.
    assert client.get(f"/r/{token_make('h', 999999, 1)}/").status_code == 404


def test_replaced_and_revoked_codes(client, place):
    old = place.token
    new = services.code_reissue(place=place.household)
    response = client.get(f"/r/{old}/")
    assert response.status_code == 410 and "二维码已更换" in response.content.decode()
    assert client.get(f"/r/{new}/").status_code == 200
    services.code_revoke(place=place.household)
    response = client.get(f"/r/{new}/")
    assert response.status_code == 410 and "二维码已停用" in response.content.decode()
    assert place.household.address not in response.content.decode()


def test_reissue_ends_sessions_opened_with_the_old_code(signed_in, place):
    assert signed_in.get("/r/home/").status_code == 200
    services.code_reissue(place=place.household)
    assert signed_in.get("/r/home/").status_code == 401


def test_forged_session_cookie_is_ignored(client, place):
    client.cookies[COOKIE] = f"h:{place.household.pk}:{place.resident.pk}:1"  # unsigned
    assert client.get("/r/home/").status_code == 401


# --- login ---------------------------------------------------------------------------------------------

def test_login_and_home(signed_in, place):
    response = signed_in.get("/r/home/")
    body = response.content.decode()
    assert response.status_code == 200 and place.household.address in body and "随手拍" in body
    assert response["Cache-Control"].startswith("private")


def test_wrong_code_page_and_rate_limit(client, place, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/r/{place.token}/", {"action": "send", "phone": PHONE})
    response = client.post(f"/r/{place.token}/", {"action": "login", "phone": PHONE, "code": "999999"
                                                  if last_sms_code(PHONE) != "999999" else "888888"})
    assert response.status_code == 422 and "还可尝试 4 次" in response.content.decode()
    response = client.post(f"/r/{place.token}/", {"action": "send", "phone": PHONE})
    assert response.status_code == 429 and "稍后" in response.content.decode()


def test_merchant_code_login(client, place, django_capture_on_commit_callbacks):
    token = services.code_token(place.merchant)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/r/{token}/", {"action": "send", "phone": "13900003333"})
    response = client.post(f"/r/{token}/", {"action": "login", "phone": "13900003333",
                                            "code": last_sms_code("13900003333")})
    assert response.status_code == 302
    assert "小王便利店" in client.get("/r/home/").content.decode() or client.get("/r/home/").status_code == 200


# --- reporting and my requests --------------------------------------------------------------------------------

def test_report_through_the_page(signed_in, place):
    response = signed_in.post("/r/report/", {
        "content": "小区门口井盖松动", "kind": "help", "lat": "37.2", "lng": "107.2", "point_source": "device",
        "photos": [upload(jpeg_bytes())],
    })
    assert response.status_code == 302, response.content.decode()[:500]
    report = Report.objects.get()
    assert response["Location"] == f"/r/requests/{report.pk}/?submitted=1"
    detail = signed_in.get(response["Location"]).content.decode()
    assert "提交成功" in detail and "data-draft-clear" in detail and "已收到" in detail
    assert report.order.channel == "qr" and report.point_source == "device"


def test_rejected_report_keeps_the_text(signed_in):
    response = signed_in.post("/r/report/", {"content": "路灯坏了", "photos": [upload(b"not an image", "x.jpg")]})
    body = response.content.decode()
    assert response.status_code == 422 and "路灯坏了" in body and "不是有效的图片" in body
    assert not Report.objects.exists()


def test_another_households_request_is_404(signed_in, place, client_class=None):
    from django.test import Client

    other = Client()
    theirs = services.report_create(
        reporter=services.Reporter(household=place.other_household, merchant=None, resident=place.other_resident,
                                   name="李四", phone=OTHER_PHONE), content="邻居的诉求")
    assert signed_in.get(f"/r/requests/{theirs.pk}/").status_code == 404
    assert signed_in.post(f"/r/requests/{theirs.pk}/rate/", {"satisfaction": "satisfied"}).status_code == 404
    assert signed_in.get(f"/api/v1/residents/requests/{theirs.pk}").status_code == 404
    assert "邻居的诉求" not in signed_in.get("/r/requests/").content.decode()
    assert other.get(f"/r/requests/{theirs.pk}/").status_code == 401  # nobody signed in


def test_rating_page(signed_in, place):
    report = services.report_create(reporter=services.Reporter(
        household=place.household, merchant=None, resident=place.resident, name="王小明", phone=PHONE), content="路灯不亮",
        category_code="C010101")
    world = place.world
    wo.work_order_dispatch(order_id=report.order_id, actor=world.user("dispatcher"), lead_department_id=world.housing.pk)
    wo.work_order_sign(order_id=report.order_id, actor=world.user("handler"))
    wo.work_order_reply(order_id=report.order_id, actor=world.user("handler"), text="已修复")
    page = signed_in.get(f"/r/requests/{report.pk}/").content.decode()
    assert "已修复" in page and "请您评价" in page
    response = signed_in.post(f"/r/requests/{report.pk}/rate/", {"satisfaction": "unsatisfied"})
    assert response.status_code == 422 and "请选择不满意的原因" in response.content.decode()
    response = signed_in.post(f"/r/requests/{report.pk}/rate/", {"satisfaction": "basically_satisfied"})
    assert response.status_code == 302
    report.order.refresh_from_db()
    assert report.order.satisfaction == "basically_satisfied" and report.order.status == "closed"


# --- the API ----------------------------------------------------------------------------------------------------

def test_api_login_report_and_error_shape(place, django_capture_on_commit_callbacks):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    assert client.get(f"/api/v1/residents/codes/{place.token}").json() == {"state": "valid", "kind": "household"}
    assert client.get("/api/v1/residents/codes/h1.1.xxxxxxxxxxxxxxxxxxxxxx").json()["state"] == "forged"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/residents/login/code", json.dumps({"token": place.token, "phone": PHONE}),
                               content_type="application/json")
    assert response.status_code == 202
    response = client.post("/api/v1/residents/login", json.dumps({"token": place.token, "phone": "123", "code": "1"}),
                           content_type="application/json")
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error" and "phone" in response.json()["fields"]
    response = client.post("/api/v1/residents/login", json.dumps(
        {"token": place.token, "phone": PHONE, "code": last_sms_code(PHONE)}), content_type="application/json")
    assert response.status_code == 200 and COOKIE in response.cookies
    # Cookie-authenticated writes need the CSRF header.
    response = client.post("/api/v1/residents/reports", {"content": "x"})
    assert response.status_code == 403 and response.json()["code"] == "csrf_failed"
    client.get("/r/report/")  # a page with a form sets the csrftoken cookie
    csrf = client.cookies["csrftoken"].value
    response = client.post("/api/v1/residents/reports", {"content": "", "photos": [upload(b"GIF89a-not", "a.gif")]},
                           HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 422 and set(response.json()["fields"]) >= {"content", "photos"}
    response = client.post("/api/v1/residents/reports", {"content": "垃圾桶满了", "lat": "37.1", "lng": "107.1",
                                                          "photos": [upload(jpeg_bytes())]}, HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "accepted" and body["photos"] == 1 and body["status_label"] == "已收到，等待分派"
    assert Report.objects.get().order.channel == "app"
    assert [r["id"] for r in client.get("/api/v1/residents/requests").json()] == [body["id"]]


def test_api_without_resident_cookie_is_401(client, place):
    response = client.get("/api/v1/residents/requests")
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"


def test_staff_session_is_not_a_resident_session(client, place):
    client.login(username="admin", password="tongxin-test-pass")
    assert client.get("/r/home/").status_code == 401
    assert client.get("/api/v1/residents/requests").status_code == 401


# --- board and printing ----------------------------------------------------------------------------------------

def test_board_shows_no_personal_data(client, place):
    services.report_create(reporter=services.Reporter(
        household=place.household, merchant=None, resident=place.resident, name="王小明", phone=PHONE),
        content="王小明 13900001111：路灯坏了", lat=37.2, lng=107.2, category_code="C010101")
    page = client.get("/r/board/").content.decode()
    data = client.get("/r/board.json").json()
    api = client.get("/api/v1/residents/board").json()
    for text in (page, json.dumps(data, ensure_ascii=False), json.dumps(api, ensure_ascii=False)):
        assert "13900001111" not in text and "王小明" not in text and "路灯坏了" not in text
    assert data["items"][0]["category"] == "垃圾清理" and data["items"][0]["lat"] == 37.2


def test_codes_as_png_svg_and_print_sheet(client, place):
    client.login(username="grid_worker", password="tongxin-test-pass")
    png = client.get(f"/r/staff/code/h/{place.household.pk}.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    svg = client.get(f"/r/staff/code/h/{place.household.pk}.svg")
    assert svg.status_code == 200 and b"<svg" in svg.content
    sheet = client.get(f"/r/staff/print/{place.world.community_a.pk}/3号楼/")
    body = sheet.content.decode()
    assert sheet.status_code == 200 and body.count("<svg") == 2 and "101" in body and "A4" not in body
    client.logout()
    client.login(username="dispatcher_b", password="tongxin-test-pass")  # district B: not this community
    assert client.get(f"/r/staff/code/h/{place.household.pk}.png").status_code == 404
    assert client.get(f"/r/staff/print/{place.world.community_a.pk}/3号楼/").status_code == 404


def test_code_png_decodes_to_the_landing_url(client, place):
    from tongxin.residents.qr import qr_svg

    assert services.code_url(place.household, base="http://testserver") in f"http://testserver/r/{place.token}/"
    assert "<svg" in qr_svg(services.code_url(place.household))


def test_make_place_twice_is_independent(world):
    a = make_place(world)
    assert a.household.pk


def test_staff_index_of_printable_buildings(client, place):
    client.login(username="grid_worker", password="tongxin-test-pass")
    page = client.get("/r/staff/")
    body = page.content.decode()
    assert page.status_code == 200 and "3号楼" in body
    assert f"/r/staff/print/{place.world.community_a.pk}/3%E5%8F%B7%E6%A5%BC/" in body or "/r/staff/print/" in body
    client.logout()
    client.login(username="dispatcher_b", password="tongxin-test-pass")
    assert client.get("/r/staff/").status_code == 404
    client.logout()
    assert client.get("/r/staff/").status_code == 302  # to the staff login


def test_printed_codes_carry_the_public_address(client, place, settings):
    settings.TONGXIN_RESIDENTS_PUBLIC_URL = "https://12345.example.cn/"
    client.login(username="admin", password="tongxin-test-pass")
    svg = client.get(f"/r/staff/code/h/{place.household.pk}.svg").content
    from tongxin.residents.qr import qr_svg

    assert svg.decode() == qr_svg(f"https://12345.example.cn/r/{place.token}/")


def test_enter_in_the_code_field_signs_in(client, place, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/r/{place.token}/", {"action": "send", "phone": PHONE})
    # Implicit submission sends the form's first button (获取验证码) with the typed code.
    response = client.post(f"/r/{place.token}/", {"action": "send", "phone": PHONE, "code": last_sms_code(PHONE)})
    assert response.status_code == 302 and response["Location"] == "/r/home/"
