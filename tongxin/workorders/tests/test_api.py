"""The work-order API over real HTTP (Django's test client) on the real database: intake, list,
detail, masking, the audited reveal, KPIs, categories, authentication and the OpenAPI document.

The helpers at the top (``client_for``, ``order_in``, ``assert_error``) are shared by the other API
test modules and by tests/test_permission_matrix.py.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tongxin.accounts.services import api_token_create
from tongxin.core.choices import AuditEventType
from tongxin.core.models import AuditEvent
from tongxin.workorders import services as s
from tongxin.workorders.models import WorkOrder, WorkOrderEvent

API = "/api/v1"
CITIZEN_NAME = "张三丰"
CITIZEN_PHONE = "13812345678"
CJK = re.compile(r"[\u4e00-\u9fff]")

# --- shared helpers -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The world creates 13 users; Django's default PBKDF2 costs most of a second each on this machine.
    Runs before ``world`` (autouse fixtures come first in their scope)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def client_for(world: Any, username: str | None) -> Client:
    """A client signed in with a session (username) or anonymous (None)."""
    client = Client()
    if username is not None and username != "anonymous":
        client.force_login(world.user(username))
    return client


def bearer_client(user: Any) -> Client:
    _token, plain = api_token_create(user=user, name="test")
    return Client(headers={"Authorization": f"Bearer {plain}"})


def post(client: Client, url: str, data: Any = None) -> Any:
    return client.post(url, data if data is not None else {}, content_type="application/json")


def create_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "channel": "hotline", "kind": "complaint", "title": "垃圾未清理", "content": "小区门口垃圾三天没人清理",
        "category_code": "C010101", "lat": 37.1, "lng": 107.1, "address": "甲社区3号楼",
        "citizen_name": CITIZEN_NAME, "citizen_phone": CITIZEN_PHONE,
    }
    body.update(overrides)
    return body


STATES = ("accepted", "dispatched", "in_progress", "extension_pending", "co_replied", "replied", "returned", "closed")


def order_in(world: Any, state: str, **create: Any) -> WorkOrder:
    """An order of district A (in grid_a, category 垃圾清理) brought to ``state`` through the services:
    dispatched by the catalogue to the housing bureau (lead) and the water company (co-handler)."""
    assert state in STATES, state
    operator, dispatcher = world.user("operator"), world.user("dispatcher")
    handler, water = world.user("handler"), world.user("water_handler")
    body = {k: v for k, v in create_body().items() if k != "title"}
    body.update(create)
    order = s.work_order_create(actor=operator, **body)
    if state != "accepted":
        s.work_order_dispatch(order_id=order.pk, actor=dispatcher)
    if state == "returned":
        s.work_order_return(order_id=order.pk, actor=handler, reason="not_our_duty", note="不属于本单位职责")
    if state in {"in_progress", "extension_pending", "co_replied", "replied", "closed"}:
        s.work_order_sign(order_id=order.pk, actor=handler)
    if state == "extension_pending":
        order.refresh_from_db()
        s.work_order_request_extension(order_id=order.pk, actor=handler, requested_due_at=order.due_at + timedelta(days=3),
                                       reason="需协调施工队")
    if state in {"co_replied", "replied", "closed"}:
        s.work_order_co_reply(order_id=order.pk, actor=water, text="已配合清运")
    if state in {"replied", "closed"}:
        s.work_order_reply(order_id=order.pk, actor=handler, text="已清理完毕")
    if state == "closed":
        s.work_order_callback(order_id=order.pk, actor=operator, satisfaction="satisfied")
    order.refresh_from_db()
    return order


def assert_error(response: Any, status: int, code: str | None = None, field: str | None = None) -> dict[str, Any]:
    """The single error shape, with a Chinese message (and a Chinese reason for ``field``)."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"code", "message", "fields"}, body
    assert CJK.search(body["message"]), body
    if code is not None:
        assert body["code"] == code, body
    if field is not None:
        assert field in body["fields"], body
        assert CJK.search(str(body["fields"][field])), body
    return body


def counts() -> tuple[int, int, int]:
    return WorkOrder.objects.count(), WorkOrderEvent.objects.count(), AuditEvent.objects.count()


def api_routes() -> set[tuple[str, str]]:
    """(METHOD, /path) of every operation, read from the API's URL patterns: each pattern is asked with
    OPTIONS (which no operation serves) and answers 405 with the methods it allows."""
    from tongxin.api import api

    client = Client()
    routes: set[tuple[str, str]] = set()
    for pattern in api.urls[0]:
        if pattern.name in {"openapi-json", "openapi-view", "api-root"}:
            continue
        route = str(pattern.pattern)
        response = client.options(f"{API}/" + re.sub(r"<(?:\w+:)?\w+>", "1", route))
        assert response.status_code == 405, route
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
        routes.update((method.strip().upper(), path) for method in response["Allow"].split(","))
    return routes


# --- intake ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_answers_201_with_the_new_order_and_its_link(world):
    response = post(client_for(world, "operator"), f"{API}/work-orders", create_body())
    assert response.status_code == 201, response.content
    body = response.json()
    order = WorkOrder.objects.get(pk=body["id"])
    assert body["number"] == order.number and len(order.number) == 13
    assert body["status"] == "accepted" and body["version"] == 1 and body["status_label"] == "已受理待派单"
    assert body["area"] == {"code": "150602001001G01", "name": "甲一网格", "level": "grid"}
    assert body["links"] == {"self": f"{API}/work-orders/{order.pk}"}
    assert body["is_repeat"] is False and body["external_id"] == "" and body["channel"] == "hotline"
    # The lean answer carries no personal data at all, masked or not.
    assert "citizen_phone" not in body and "citizen_name" not in body and "content" not in body
    # Exactly the documented 201 schema: no field more, none missing.
    schema = response_schema("/work-orders", "post", 201)
    assert set(body) == set(schema["properties"]) == set(schema["required"])
    assert set(schema["properties"]["links"].get("properties") or response_component(schema["properties"]["links"])["properties"]) == {"self"}
    # Stored unmasked, with its acceptance event; the detail is one GET away.
    assert order.citizen_phone == CITIZEN_PHONE and order.citizen_name == CITIZEN_NAME
    detail = client_for(world, "operator").get(body["links"]["self"]).json()
    assert detail["number"] == order.number and detail["category"]["code"] == "C010101"
    assert [e["action"] for e in detail["timeline"]] == ["accept"]
    assert detail["timeline"][0]["actor_label"] == "operator"
    assert detail["assignments"] == [] and detail["pending_extension"] is None
    assert set(detail["allowed_actions"]) == {"resolve_on_call", "dispatch", "transfer_police", "merge", "withdraw", "comment"}
    assert detail["citizen_phone"] == "138****5678" and detail["citizen_name"] == "张**"


def response_component(ref: dict) -> dict:
    from tongxin.api import api

    return api.get_openapi_schema()["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]


def response_schema(path: str, method: str, status: int) -> dict:
    from tongxin.api import api

    document = api.get_openapi_schema()
    ref = document["paths"][f"{API}{path}"][method]["responses"][status]["content"]["application/json"]["schema"]["$ref"]
    return document["components"]["schemas"][ref.rsplit("/", 1)[-1]]


@pytest.mark.django_db
def test_create_converts_gcj02_to_wgs84(world):
    response = post(client_for(world, "operator"), f"{API}/work-orders", create_body(lat=37.1, lng=107.1, crs="gcj02"))
    assert response.status_code == 201
    body = response.json()
    # GCJ-02 is WGS-84 shifted by a few hundred metres: the stored point moved, but not far.
    assert (body["lat"], body["lng"]) != (37.1, 107.1)
    assert abs(body["lat"] - 37.1) < 0.01 and abs(body["lng"] - 107.1) < 0.01


@pytest.mark.django_db
def test_create_anonymous_keeps_no_personal_data(world):
    response = post(client_for(world, "operator"), f"{API}/work-orders", create_body(anonymous=True))
    assert response.status_code == 201
    order = WorkOrder.objects.get(pk=response.json()["id"])
    assert order.anonymous and order.citizen_name == "" and order.citizen_phone == ""


@pytest.mark.django_db
def test_grid_worker_creates_only_through_the_grid_channel_in_their_grid(world):
    client = client_for(world, "grid_worker")
    before = counts()
    assert_error(post(client, f"{API}/work-orders", create_body(channel="hotline")), 422, "validation_error", "channel")
    # District B is outside the grid.
    assert_error(post(client, f"{API}/work-orders", create_body(channel="grid", lat=37.1, lng=109.1)), 422,
                 "validation_error", "area_code")
    assert counts() == before
    response = post(client, f"{API}/work-orders", create_body(channel="grid"))
    assert response.status_code == 201 and response.json()["channel"] == "grid"


@pytest.mark.django_db
def test_bearer_token_authenticates_programs_without_csrf(world):
    client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {api_token_create(user=world.user('operator'))[1]}"})
    response = post(client, f"{API}/work-orders", create_body(channel="open311", external_id="req-1"))
    assert response.status_code == 201, response.content
    assert response.json()["external_id"] == "req-1"
    bad = Client(headers={"Authorization": "Bearer tx_not-a-real-token"})
    assert_error(bad.get(f"{API}/work-orders"), 401, "unauthenticated")


# --- list -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_filters_and_paginates(world):
    accepted = [order_in(world, "accepted") for _ in range(3)]
    dispatched = order_in(world, "dispatched")
    replied = order_in(world, "replied")
    other = s.work_order_create(actor=world.user("operator"), channel="app", kind="inquiry", content="乙区学校招生政策咨询",
                                category_code="C02", lat=37.1, lng=109.1)
    client = client_for(world, "operator")

    def ids(query: str) -> list[int]:
        response = client.get(f"{API}/work-orders{query}")
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["items"]]

    body = client.get(f"{API}/work-orders").json()
    assert body["count"] == 6 and len(body["items"]) == 6
    assert ids("?status=accepted") == sorted((o.pk for o in [*accepted, other]), reverse=True)
    assert set(ids("?status=dispatched&status=replied")) == {dispatched.pk, replied.pk}
    assert ids("?channel=app") == [other.pk]
    assert ids("?kind=inquiry") == [other.pk]
    assert ids("?category_code=C02") == [other.pk]
    assert set(ids("?category_code=C01")) == {o.pk for o in [*accepted, dispatched, replied]}  # the subtree
    assert ids("?area_code=150603") == [other.pk]
    assert set(ids(f"?lead_department_id={world.housing.pk}")) == {dispatched.pk, replied.pk}
    assert ids(f"?number={other.number}") == [other.pk]
    assert ids("?q=招生") == [other.pk]
    assert len(ids(f"?citizen_phone={CITIZEN_PHONE}")) == 5
    assert ids("?urgency=urgent") == []
    assert ids("?accepted_from=2000-01-01T00:00:00%2B08:00&accepted_to=2000-01-02T00:00:00Z") == []
    assert len(ids("?accepted_from=2000-01-01T00:00:00Z")) == 6
    assert ids("?ordering=accepted_at")[0] == accepted[0].pk
    page = client.get(f"{API}/work-orders?limit=2&offset=2").json()
    assert page["count"] == 6 and len(page["items"]) == 2
    assert [i["id"] for i in page["items"]] == ids("")[2:4]


@pytest.mark.django_db
def test_list_sla_filter_finds_overdue_orders(world):
    late = order_in(world, "in_progress")
    order_in(world, "in_progress")
    WorkOrder.objects.filter(pk=late.pk).update(due_at=late.accepted_at - timedelta(hours=1))
    body = client_for(world, "dispatcher").get(f"{API}/work-orders?sla=overdue").json()
    assert [i["id"] for i in body["items"]] == [late.pk]
    assert body["items"][0]["sla"]["completion"] == "overdue"


@pytest.mark.django_db
def test_list_is_scoped_to_the_jurisdiction(world):
    a = order_in(world, "dispatched")
    b = s.work_order_create(actor=world.user("operator"), channel="hotline", kind="help", content="乙区路灯不亮", lat=37.1, lng=109.1)
    assert {i["id"] for i in client_for(world, "dispatcher_b").get(f"{API}/work-orders").json()["items"]} == {b.pk}
    assert {i["id"] for i in client_for(world, "handler").get(f"{API}/work-orders").json()["items"]} == {a.pk}
    assert client_for(world, "edu_handler").get(f"{API}/work-orders").json() == {"count": 0, "items": []}
    assert client_for(world, "nobody").get(f"{API}/work-orders").json() == {"count": 0, "items": []}


@pytest.mark.django_db
def test_list_query_count_does_not_grow_with_the_page(world, django_assert_max_num_queries):
    for state in ("accepted", "dispatched", "in_progress", "replied", "closed") * 4:
        order_in(world, state)
    client = client_for(world, "dispatcher")
    client.get(f"{API}/work-orders?limit=1")  # warm the session

    def queries(limit: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"{API}/work-orders?limit={limit}")
        assert response.status_code == 200 and len(response.json()["items"]) == min(limit, 20)
        return len(ctx.captured_queries)

    assert queries(1) == queries(20)
    # Session, user, scope, count, page: nothing per row.
    with django_assert_max_num_queries(5):
        client.get(f"{API}/work-orders?limit=100")


@pytest.mark.django_db
def test_detail_query_count_is_bounded(world, django_assert_max_num_queries):
    order = order_in(world, "replied")
    s.work_order_redo(order_id=order.pk, actor=world.user("operator"), cause="not_solved", note="仍有垃圾")
    client = client_for(world, "dispatcher")
    with django_assert_max_num_queries(11):
        response = client.get(f"{API}/work-orders/{order.pk}")
    assert response.status_code == 200


# --- detail ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_detail_timeline_equals_the_events(world):
    order = order_in(world, "closed")
    body = client_for(world, "supervisor").get(f"{API}/work-orders/{order.pk}").json()
    events = list(WorkOrderEvent.objects.filter(order=order).order_by("at", "id"))
    assert [(e["id"], e["action"], e["from_status"], e["to_status"], e["actor_id"], e["note"]) for e in body["timeline"]] == [
        (e.pk, e.action, e.from_status, e.to_status, e.actor_id, e.note) for e in events
    ]
    assert [e["action"] for e in body["timeline"]] == ["accept", "dispatch", "sign", "co_reply", "reply", "callback"]
    assert body["timeline"][1]["department"]["code"] == "D-HOUSING-A"
    assert body["timeline"][3]["department"]["code"] == "D-WATER"
    assert body["status"] == "closed" and body["satisfaction"] == "satisfied"
    assert body["sla"] == {"sign": "none", "completion": "none"}


@pytest.mark.django_db
def test_detail_assignments_sla_and_allowed_actions(world):
    order = order_in(world, "dispatched")
    body = client_for(world, "handler").get(f"{API}/work-orders/{order.pk}").json()
    assert [(a["department"]["code"], a["role"], a["active"], a["signed_at"]) for a in body["assignments"]] == [
        ("D-HOUSING-A", "lead", True, None), ("D-WATER", "co", True, None)]
    assert body["sla"] == {"sign": "normal", "completion": "normal"}
    assert body["lead_department"]["code"] == "D-HOUSING-A"
    assert body["allowed_actions"] == ["sign", "return"]
    water = client_for(world, "water_handler").get(f"{API}/work-orders/{order.pk}").json()
    assert water["allowed_actions"] == ["co_reply"]
    supervisor = client_for(world, "supervisor").get(f"{API}/work-orders/{order.pk}").json()
    assert set(supervisor["allowed_actions"]) == {"reassign", "remind", "supervise", "merge", "withdraw", "comment"}
    assert client_for(world, "leader").get(f"{API}/work-orders/{order.pk}").json()["allowed_actions"] == []


@pytest.mark.django_db
def test_detail_shows_the_pending_extension(world):
    order = order_in(world, "extension_pending")
    body = client_for(world, "dispatcher").get(f"{API}/work-orders/{order.pk}").json()
    pending = body["pending_extension"]
    assert pending["status"] == "pending" and pending["reason"] == "需协调施工队"
    assert pending["department_id"] == world.housing.pk
    assert {"approve_extension", "deny_extension"} <= set(body["allowed_actions"])
    handler = client_for(world, "handler").get(f"{API}/work-orders/{order.pk}").json()
    assert "request_extension" not in handler["allowed_actions"]  # one pending at a time


@pytest.mark.django_db
def test_detail_outside_the_jurisdiction_is_404_like_a_missing_order(world):
    order = order_in(world, "dispatched")
    for username in ("dispatcher_b", "leader_b", "edu_handler", "nobody"):
        assert_error(client_for(world, username).get(f"{API}/work-orders/{order.pk}"), 404, "not_found")
    assert_error(client_for(world, "operator").get(f"{API}/work-orders/{order.pk + 1000}"), 404, "not_found")


@pytest.mark.django_db
@pytest.mark.parametrize("bad_id", ["abc", "0", "-1", "1.5", "99999999999999999999999"])
def test_malformed_ids_answer_in_the_error_shape(world, bad_id):
    client = client_for(world, "operator")
    assert_error(client.get(f"{API}/work-orders/{bad_id}"), 422, "validation_error", "order_id")
    before = counts()
    assert_error(post(client, f"{API}/work-orders/{bad_id}/withdraw", {"note": "重复"}), 422, "validation_error", "order_id")
    assert counts() == before


# --- personal data --------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["operator", "dispatcher", "handler", "water_handler", "grid_worker", "leader", "admin"])
def test_list_and_detail_never_carry_the_unmasked_citizen(world, username):
    order = order_in(world, "dispatched")
    client = client_for(world, username)
    for url in (f"{API}/work-orders", f"{API}/work-orders/{order.pk}"):
        response = client.get(url)
        assert response.status_code == 200
        text = json.dumps(response.json(), ensure_ascii=False)  # the wire escapes non-ASCII as \uXXXX
        assert CITIZEN_PHONE not in text and CITIZEN_NAME not in text, url
        assert "138****5678" in text and "张**" in text


@pytest.mark.django_db
def test_only_centre_roles_may_search_by_phone(world):
    order = order_in(world, "dispatched")
    for username in ("operator", "dispatcher", "supervisor"):
        body = client_for(world, username).get(f"{API}/work-orders?citizen_phone={CITIZEN_PHONE}").json()
        assert [i["id"] for i in body["items"]] == [order.pk]
        assert CITIZEN_PHONE not in json.dumps(body)
    # Others see masked numbers; an exact-phone filter would let them recover the middle digits.
    for username in ("handler", "water_handler", "grid_worker", "leader", "admin", "nobody"):
        assert_error(client_for(world, username).get(f"{API}/work-orders?citizen_phone=13812345678"), 403, "forbidden",
                     "citizen_phone")


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["operator", "dispatcher", "supervisor", "handler"])
def test_reveal_answers_the_citizen_and_writes_an_audit_event(world, username):
    order = order_in(world, "dispatched")
    before = AuditEvent.objects.filter(event_type=AuditEventType.PERSONAL_DATA_REVEAL).count()
    response = client_for(world, username).get(f"{API}/work-orders/{order.pk}/citizen")
    assert response.status_code == 200, response.content
    assert response.json() == {"order_id": order.pk, "number": order.number, "citizen_name": CITIZEN_NAME,
                               "citizen_phone": CITIZEN_PHONE, "anonymous": False}
    assert "no-store" in response["Cache-Control"]
    events = AuditEvent.objects.filter(event_type=AuditEventType.PERSONAL_DATA_REVEAL)
    assert events.count() == before + 1
    event = events.latest("id")
    assert event.actor_id == world.user(username).pk
    assert (event.object_type, event.object_id) == ("workorder", str(order.pk))
    assert event.data["fields"] == ["citizen_name", "citizen_phone"]


@pytest.mark.django_db
@pytest.mark.parametrize(("username", "status"), [
    ("water_handler", 403), ("grid_worker", 403), ("leader", 403), ("admin", 403), ("edu_handler", 404),
    ("dispatcher_b", 404), ("nobody", 404),
])
def test_reveal_is_refused_to_roles_that_do_not_call_back_and_audits_nothing(world, username, status):
    order = order_in(world, "dispatched")
    before = counts()
    response = client_for(world, username).get(f"{API}/work-orders/{order.pk}/citizen")
    assert_error(response, status)
    assert CITIZEN_PHONE not in json.dumps(response.json(), ensure_ascii=False)
    assert counts() == before


@pytest.mark.django_db
def test_a_returned_order_is_no_longer_revealed_to_the_department_that_returned_it(world):
    order = order_in(world, "returned")
    assert_error(client_for(world, "handler").get(f"{API}/work-orders/{order.pk}/citizen"), 403, "forbidden")


# --- dispatch suggestion, KPIs, categories --------------------------------------------------------


@pytest.mark.django_db
def test_dispatch_suggestion_comes_from_the_catalogue(world):
    order = order_in(world, "accepted")
    body = client_for(world, "dispatcher").get(f"{API}/work-orders/{order.pk}/dispatch-suggestion").json()
    assert body["lead"]["code"] == "D-HOUSING-A"
    assert [d["code"] for d in body["co"]] == ["D-WATER"]
    assert "城乡建设" in body["reason"] and body["rule_id"]
    bare = s.work_order_create(actor=world.user("operator"), channel="hotline", kind="help", content="无分类", lat=37.1, lng=107.1)
    body = client_for(world, "dispatcher").get(f"{API}/work-orders/{bare.pk}/dispatch-suggestion").json()
    assert body["lead"] is None and body["co"] == [] and CJK.search(body["reason"])


@pytest.mark.django_db
def test_kpis_overall_and_by_department_with_definitions(world):
    order_in(world, "closed")
    order_in(world, "dispatched")
    client = client_for(world, "leader")
    body = client.get(f"{API}/kpis").json()
    assert set(body["definitions"]) == {"sign_on_time_rate", "on_time_rate", "completion_rate", "satisfaction_rate",
                                        "return_rate", "repeat_rate"}
    assert all(d["definition"] and CJK.search(d["label"]) for d in body["definitions"].values())
    assert body["start"].endswith("-01") and body["group_by"] is None
    [total] = body["rows"]
    assert total["accepted"] == 2 and total["replied"] == 1 and total["called_back"] == 1
    assert total["completion_rate"] == 0.5 and total["satisfaction_rate"] == 1.0
    assert total["repeat_rate"] == 0.5  # the same caller and category within 30 days
    rows = client.get(f"{API}/kpis?group_by=department").json()["rows"]
    assert [(r["label"], r["accepted"]) for r in rows] == [("甲区住建局", 2)]
    by_area = client.get(f"{API}/kpis?group_by=area").json()["rows"]
    assert [(r["label"], r["accepted"]) for r in by_area] == [("甲区", 2)]
    # Period before anything happened, and a district-B leader who sees nothing of district A.
    assert client.get(f"{API}/kpis?start=2020-01-01&end=2020-01-31").json()["rows"][0]["accepted"] == 0
    assert client_for(world, "leader_b").get(f"{API}/kpis").json()["rows"][0]["accepted"] == 0


@pytest.mark.django_db
def test_kpis_bad_input(world):
    client = client_for(world, "leader")
    assert_error(client.get(f"{API}/kpis?start=2026-02-01&end=2026-01-01"), 422, "validation_error", "end")
    assert_error(client.get(f"{API}/kpis?start=2026-13-01"), 422, "validation_error", "start")
    assert_error(client.get(f"{API}/kpis?group_by=planet"), 422, "validation_error", "group_by")


@pytest.mark.django_db
def test_categories_flat_tree_and_search(world):
    client = client_for(world, "operator")
    flat = client.get(f"{API}/categories").json()
    assert [(c["code"], c["level"], c["parent_code"]) for c in flat] == [
        ("C01", 1, None), ("C0101", 2, "C01"), ("C010101", 3, "C0101"), ("C02", 1, None)]
    assert flat[2]["path"] == ["城乡建设", "市政管理", "垃圾清理"]
    tree = client.get(f"{API}/categories?tree=1").json()
    assert [c["code"] for c in tree] == ["C01", "C02"]
    assert tree[0]["children"][0]["children"][0]["code"] == "C010101"
    assert [c["code"] for c in client.get(f"{API}/categories?q=ljql").json()] == ["C010101"]  # pinyin initials
    assert [c["code"] for c in client.get(f"{API}/categories?q=教育").json()] == ["C02"]
    matched = client.get(f"{API}/categories?q=垃圾&tree=1").json()
    assert [c["code"] for c in matched] == ["C01"] and matched[0]["children"][0]["children"][0]["name"] == "垃圾清理"


# --- authentication, CSRF, the OpenAPI document ---------------------------------------------------


@pytest.mark.django_db
def test_every_endpoint_requires_authentication(world):
    order = order_in(world, "accepted")
    anonymous = Client()
    for url in (f"{API}/work-orders", f"{API}/work-orders/{order.pk}", f"{API}/kpis", f"{API}/categories", f"{API}/me"):
        assert_error(anonymous.get(url), 401, "unauthenticated")
    before = counts()
    assert_error(post(anonymous, f"{API}/work-orders", create_body()), 401, "unauthenticated")
    # With CSRF enforced too: no session means 401, never a CSRF error.
    assert_error(post(Client(enforce_csrf_checks=True), f"{API}/work-orders/{order.pk}/withdraw", {"note": "x"}), 401,
                 "unauthenticated")
    assert counts() == before


@pytest.mark.django_db
def test_session_requests_need_the_csrf_token_for_unsafe_methods(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.user("operator"))
    assert client.get(f"{API}/work-orders").status_code == 200  # safe methods need no token
    before = counts()
    assert_error(post(client, f"{API}/work-orders", create_body()), 403, "csrf_failed")
    client.cookies["csrftoken"] = "a" * 32
    assert_error(client.post(f"{API}/work-orders", create_body(), content_type="application/json",
                             headers={"X-CSRFToken": "b" * 32}), 403, "csrf_failed")
    assert counts() == before
    response = client.post(f"{API}/work-orders", create_body(), content_type="application/json",
                           headers={"X-CSRFToken": "a" * 32})
    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_openapi_document_lists_every_route(world):
    response = client_for(world, "operator").get(f"{API}/openapi.json")
    assert response.status_code == 200
    document = response.json()
    listed = {(method.upper(), path.removeprefix(API)) for path, ops in document["paths"].items() for method in ops}
    assert listed == api_routes()
    assert len(listed) >= 30
    assert "bearer" in str(document["components"]["securitySchemes"]).lower()


@pytest.mark.django_db
def test_every_action_of_the_transition_table_has_its_endpoint():
    """``allowed_actions`` names actions from the table; each must be a POST the client can make."""
    from tongxin.workorders.workflow import TRANSITIONS

    routes = api_routes()
    missing = {action for (_status, action) in TRANSITIONS
               if ("POST", f"/work-orders/{{order_id}}/{action.replace('_', '-')}") not in routes}
    assert not missing
