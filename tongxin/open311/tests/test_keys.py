"""API keys: `tongxin open311 key …`, the admin (the key shown once, only its digest stored), owners
that may record requests, and the per-key rate limit (429 in the specification's shape)."""

from __future__ import annotations

import hashlib
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from tongxin.core.models import AuditEvent
from tongxin.open311.models import ApiKey, Attribute, Service
from tongxin.open311.services import api_key_create, api_key_throttle
from tongxin.testing import make_user
from tongxin.workorders.models import WorkOrder

from .conftest import BASE, errors_of, post_request, request_data


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("open311", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- the command -------------------------------------------------------------------------------------

def test_key_create_prints_the_key_once_and_stores_its_digest(world, client):
    out, err = run("key", "create", "随手拍", "--user", "operator", "--rate", "30")
    plain = out.strip()
    assert plain.startswith("o311_") and "\n" not in plain  # only the key on stdout, for scripts
    assert "只显示这一次" in err
    key = ApiKey.objects.get(name="随手拍")
    assert key.digest == hashlib.sha256(plain.encode()).hexdigest()
    assert plain not in {key.digest, key.prefix} and key.prefix == plain[:12]
    assert (key.owner, key.rate_limit, key.active) == (world.user("operator"), 30, True)
    assert AuditEvent.objects.filter(event_type="token_created", object_type="open311_key", object_id=str(key.pk)).exists()
    # The printed key works.
    response = post_request(client, "json", request_data(plain, service_code="C02"))
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(("args", "message"), [
    (["key", "create", "A", "--user", "ghost"], "不存在"),
    (["key", "create", "A", "--user", "handler"], "话务员"),  # a handler cannot record requests
    (["key", "create", "A", "--user", "leader"], "话务员"),  # a leader reads only
    (["key", "create", "A", "--user", "grid_worker"], "话务员"),  # reports through the grid channel only
    (["key", "create", "A", "--user", "nobody"], "话务员"),
    (["key", "create", "A", "--user", "operator", "--rate", "0"], "1 到 100000"),
])
def test_key_create_refuses(world, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not ApiKey.objects.exists()


def test_key_names_are_unique(world):
    run("key", "create", "A", "--user", "operator")
    with pytest.raises(CommandError, match="已被使用"):
        run("key", "create", "A", "--user", "dispatcher")


def test_admins_and_dispatchers_may_own_keys(world):
    run("key", "create", "A", "--user", "admin")
    run("key", "create", "B", "--user", "dispatcher_b")
    assert ApiKey.objects.count() == 2


def test_key_list_and_revoke(world, client):
    plain = run("key", "create", "A", "--user", "operator")[0].strip()
    out, _err = run("key", "list")
    assert out.startswith("A\t" + plain[:12]) and plain not in out and "启用" in out
    run("key", "revoke", "A")
    assert "停用" in run("key", "list")[0]
    errors_of(post_request(client, "xml", request_data(plain, service_code="C02")), "xml", 403)
    with pytest.raises(CommandError):
        run("key", "revoke", "nope")


# --- the admin -----------------------------------------------------------------------------------------

@pytest.fixture
def admin_client(world) -> Client:
    root = make_user("root", superuser=True)
    client = Client()
    client.force_login(root)
    return client


def test_admin_creates_a_key_and_shows_it_once(world, admin_client):
    response = admin_client.post("/admin/open311/apikey/add/", {
        "name": "市政务 App", "owner": world.user("operator").pk, "rate_limit": "120", "active": "on",
    }, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) >= 1
    plain = re.search(r"o311_[A-Za-z0-9_-]+", " ".join(shown)).group(0)
    key = ApiKey.objects.get(name="市政务 App")
    assert key.digest == hashlib.sha256(plain.encode()).hexdigest() and key.rate_limit == 120
    page = admin_client.get(f"/admin/open311/apikey/{key.pk}/change/").content.decode()
    assert plain not in page and key.digest not in page


def test_admin_refuses_an_owner_who_cannot_record_requests(world, admin_client):
    response = admin_client.post("/admin/open311/apikey/add/", {
        "name": "X", "owner": world.user("handler").pk, "rate_limit": "60", "active": "on"})
    assert response.status_code == 200 and "话务员" in response.content.decode()
    assert not ApiKey.objects.exists()


def inline(prefix: str, rows: list[dict]) -> dict:
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": "0", f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000"}
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{k}": v for k, v in row.items()})
    return data


def test_admin_edits_attributes_with_their_values(world, admin_client, client):
    response = admin_client.post("/admin/open311/service/add/", {
        "category": world.category_other.pk, "description": "学校周边问题", "kind": "complaint", "publish": "open311",
        **inline("attributes", [
            {"code": "school_type", "description": "学校类型", "datatype": "singlevaluelist", "required": "on",
             "variable": "on", "order": "1", "values_text": "primary=小学\nmiddle = 中学\n"},
            {"code": "note", "description": "备注", "datatype": "text", "variable": "on", "order": "2", "values_text": ""},
        ]),
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    attribute = Attribute.objects.get(code="school_type")
    assert attribute.values == [{"key": "primary", "name": "小学"}, {"key": "middle", "name": "中学"}]
    assert Service.objects.get().kind == "complaint"
    definition = client.get(f"{BASE}/services/C02.json").json()
    assert [a["code"] for a in definition["attributes"]] == ["school_type", "note"]


@pytest.mark.parametrize(("row", "message"), [
    ({"datatype": "singlevaluelist", "values_text": ""}, "至少需要一个可选值"),
    ({"datatype": "singlevaluelist", "values_text": "a=甲\na=乙"}, "重复"),
    ({"datatype": "singlevaluelist", "values_text": "no equals sign"}, "代码=名称"),
    ({"datatype": "string", "values_text": "a=甲"}, "只有单选或多选"),
    ({"datatype": "string", "values_text": "", "code": "has space"}, "只能包含"),
])
def test_admin_refuses_bad_attributes(world, admin_client, row, message):
    base = {"code": "q", "description": "问题", "variable": "on", "order": "1"}
    response = admin_client.post("/admin/open311/service/add/", {
        "category": world.category_other.pk, "kind": "help", "publish": "open311",
        **inline("attributes", [{**base, **row}]),
    })
    assert response.status_code == 200 and message in response.content.decode()
    assert not Service.objects.exists()


def test_admin_never_shows_the_personal_data_a_client_sent(world, admin_client, client, api_key):
    post_request(client, "json", request_data(api_key, service_code="C02"))
    record_id = WorkOrder.objects.get().open311_request.pk
    page = admin_client.get(f"/admin/open311/servicerequest/{record_id}/change/").content.decode()
    for personal in ["zhang.sanfeng@example.cn", "13812345678", "device-7f3a9c", "acct-55021", "三丰"]:
        assert personal not in page


# --- the rate limit ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_rate_limit_answers_429(world, client, fmt):
    _key, plain = api_key_create(name="慢客户端", owner=world.user("operator"), rate_limit=3)
    for _ in range(3):
        assert client.get(f"{BASE}/services.{fmt}?api_key={plain}").status_code == 200
    response = client.get(f"{BASE}/services.{fmt}?api_key={plain}")
    found = errors_of(response, fmt, 429)
    assert "3" in found[0]["description"]
    assert 1 <= int(response["Retry-After"]) <= 60
    before = WorkOrder.objects.count()
    errors_of(post_request(client, fmt, request_data(plain, service_code="C02")), fmt, 429)
    assert WorkOrder.objects.count() == before
    # Other keys and keyless reads are not affected.
    _other, other = api_key_create(name="另一个", owner=world.user("operator"), rate_limit=3)
    assert client.get(f"{BASE}/services.{fmt}?api_key={other}").status_code == 200
    assert client.get(f"{BASE}/services.{fmt}").status_code == 200


def test_the_window_is_one_minute(world):
    key, _plain = api_key_create(name="窗口", owner=world.user("operator"), rate_limit=2)
    start = 1_800_000_000 - 1_800_000_000 % 60  # the start of a minute
    assert api_key_throttle(key, now=start + 1) is None
    assert api_key_throttle(key, now=start + 30) is None
    assert api_key_throttle(key, now=start + 50) == 10
    assert api_key_throttle(key, now=start + 61) is None  # a new minute
