"""Bad input answers 4xx in the one error shape, names the field with a Chinese reason, and writes nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tongxin.workorders.models import DailyCounter

from .test_api import (
    API,
    _fast_password_hashing,  # noqa: F401 - autouse fixture
    assert_error,
    client_for,
    counts,
    create_body,
    order_in,
    post,
)

MISSING = object()


def without(*names):
    body = create_body()
    for name in names:
        body.pop(name)
    return body


CREATE_CASES = [
    # (id, body, status, code, field)
    ("missing content", without("content"), 422, "validation_error", "content"),
    ("missing channel", without("channel"), 422, "validation_error", "channel"),
    ("missing kind", without("kind"), 422, "validation_error", "kind"),
    ("blank content", create_body(content="   "), 422, "validation_error", "content"),
    ("content too long", create_body(content="长" * 5001), 422, "validation_error", "content"),
    ("title too long", create_body(title="标" * 201), 422, "validation_error", "title"),
    ("address too long", create_body(address="址" * 301), 422, "validation_error", "address"),
    ("unknown channel", create_body(channel="fax"), 422, "validation_error", "channel"),
    ("unknown kind", create_body(kind="rant"), 422, "validation_error", "kind"),
    ("unknown urgency", create_body(urgency="asap"), 422, "validation_error", "urgency"),
    ("unknown datum", create_body(crs="mercator"), 422, "validation_error", "crs"),
    ("unknown category", create_body(category_code="C99"), 422, "validation_error", "category_code"),
    ("London", create_body(lat=51.5, lng=-0.12), 422, "validation_error", "lat"),
    ("south pole", create_body(lat=-89.0, lng=107.1), 422, "validation_error", "lat"),
    ("lat without lng", without("lng"), 422, "validation_error", "lng"),
    ("lat not a number", create_body(lat="north"), 422, "validation_error", "lat"),
    ("unknown area", create_body(area_code="999999"), 422, "validation_error", "area_code"),
    ("bad phone", create_body(citizen_phone="call me"), 422, "validation_error", "citizen_phone"),
    ("anonymous not a boolean", create_body(anonymous="perhaps"), 422, "validation_error", "anonymous"),
    ("misspelt field", {**create_body(), "categroy_code": "C010101"}, 422, "validation_error", "categroy_code"),
    ("content not a string", create_body(content=["a", "b"]), 422, "validation_error", "content"),
    ("body is a list", [create_body()], 422, "validation_error", None),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "status", "code", "field"), [c[1:] for c in CREATE_CASES], ids=[c[0] for c in CREATE_CASES])
def test_create_bad_input(world, body, status, code, field):
    before = counts()
    assert_error(post(client_for(world, "operator"), f"{API}/work-orders", body), status, code, field)
    assert counts() == before
    assert not DailyCounter.objects.exists()  # not even an order number was taken


@pytest.mark.django_db
def test_create_outside_the_jurisdiction_is_refused(world):
    before = counts()
    assert_error(post(client_for(world, "dispatcher_b"), f"{API}/work-orders", create_body()), 422, "validation_error",
                 "area_code")
    assert_error(post(client_for(world, "handler"), f"{API}/work-orders", create_body()), 403, "forbidden")
    assert counts() == before


@pytest.mark.django_db
def test_body_that_is_not_json(world):
    client = client_for(world, "operator")
    before = counts()
    response = client.post(f"{API}/work-orders", "{channel: hotline", content_type="application/json")
    assert_error(response, 400, "invalid_json", "body")
    assert counts() == before


@pytest.mark.django_db
def test_ten_megabytes_of_text_is_a_413_not_a_500(world):
    client = client_for(world, "operator")
    before = counts()
    body = json.dumps(create_body(content="诉" * (10 * 1024 * 1024 // 3)), ensure_ascii=False)
    assert len(body.encode()) > 10 * 1024 * 1024 - 1024
    response = client.post(f"{API}/work-orders", body, content_type="application/json")
    assert_error(response, 413, "too_large", "body")
    order = order_in(world, "in_progress")
    response = client_for(world, "handler").post(f"{API}/work-orders/{order.pk}/reply",
                                                 json.dumps({"text": "x" * (6 * 1024 * 1024)}), content_type="application/json")
    assert_error(response, 413, "too_large")
    assert counts()[0] == before[0] + 1 and order.events.count() == 3


ACTION_CASES = [
    # (id, state, username, action, body, status, code, field)
    ("naive datetime", "in_progress", "handler", "request-extension",
     {"requested_due_at": "2030-01-01T10:00:00", "reason": "太忙"}, 422, "validation_error", "requested_due_at"),
    ("not a datetime", "in_progress", "handler", "request-extension",
     {"requested_due_at": "next week", "reason": "太忙"}, 422, "validation_error", "requested_due_at"),
    ("extension earlier than the deadline", "in_progress", "handler", "request-extension",
     {"requested_due_at": "2000-01-01T10:00:00+08:00", "reason": "太忙"}, 422, "validation_error", "requested_due_at"),
    ("extension without reason", "in_progress", "handler", "request-extension",
     {"requested_due_at": "2030-01-01T10:00:00+08:00"}, 422, "validation_error", "reason"),
    ("unknown return reason", "dispatched", "handler", "return", {"reason": "bored", "note": "不想办"}, 422,
     "validation_error", "reason"),
    ("return without note", "dispatched", "handler", "return", {"reason": "other"}, 422, "validation_error", "note"),
    ("blank return note", "dispatched", "handler", "return", {"reason": "other", "note": "  "}, 422, "validation_error", "note"),
    ("unknown satisfaction", "replied", "operator", "callback", {"satisfaction": "meh"}, 422, "validation_error",
     "satisfaction"),
    ("unsatisfied without cause", "replied", "operator", "callback", {"satisfaction": "unsatisfied"}, 422,
     "validation_error", "cause"),
    ("cause while satisfied", "replied", "operator", "callback", {"satisfaction": "satisfied", "cause": "delayed"}, 422,
     "validation_error", "cause"),
    ("redo for a cause the department does not control", "replied", "operator", "redo",
     {"cause": "policy_limit", "note": "政策限制"}, 422, "validation_error", "cause"),
    ("merge into itself", "accepted", "operator", "merge", {"into_id": "SELF"}, 422, "validation_error", "into_id"),
    ("merge into a missing order", "accepted", "operator", "merge", {"into_id": 987654}, 422, "validation_error", "into_id"),
    ("dispatch to a missing department", "accepted", "dispatcher", "dispatch", {"lead_department_id": 987654}, 422,
     "validation_error", "lead_department_id"),
    ("co-handler not a number", "accepted", "dispatcher", "dispatch", {"co_department_ids": ["water"]}, 422,
     "validation_error", "co_department_ids[0]"),
    ("co-handler is the lead", "accepted", "dispatcher", "dispatch",
     {"lead_department_id": "HOUSING", "co_department_ids": ["HOUSING"]}, 422, "validation_error", "co_department_ids[0]"),
    ("version not a number", "dispatched", "handler", "sign", {"version": "latest"}, 422, "validation_error", "version"),
    ("version zero", "dispatched", "handler", "sign", {"version": 0}, 422, "validation_error", "version"),
    ("supervise without note", "dispatched", "supervisor", "supervise", {}, 422, "validation_error", "note"),
    ("deny without note", "extension_pending", "dispatcher", "deny-extension", {}, 422, "validation_error", "note"),
    ("note too long", "dispatched", "dispatcher", "remind", {"note": "催" * 2001}, 422, "validation_error", "note"),
    ("reply text missing", "co_replied", "handler", "reply", {}, 422, "validation_error", "text"),
    ("unknown field", "dispatched", "handler", "sign", {"signature": "x"}, 422, "validation_error", "signature"),
    ("approve without a pending request", "in_progress", "dispatcher", "approve-extension", {}, 409,
     "no_pending_extension", None),
    ("reply before the co-handler", "in_progress", "handler", "reply", {"text": "已办结"}, 409, "co_handlers_pending", None),
    ("second co-reply", "co_replied", "water_handler", "co-reply", {"text": "再说一次"}, 409, "already_replied", None),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("state", "username", "action", "body", "status", "code", "field"),
                         [c[1:] for c in ACTION_CASES], ids=[c[0] for c in ACTION_CASES])
def test_action_bad_input(world, state, username, action, body, status, code, field):
    order = order_in(world, state)
    replace = {"SELF": order.pk, "HOUSING": world.housing.pk}
    body = {k: ([replace.get(x, x) for x in v] if isinstance(v, list) else replace.get(v, v) if isinstance(v, str) else v)
            for k, v in body.items()}
    before = counts()
    assert_error(post(client_for(world, username), f"{API}/work-orders/{order.pk}/{action}", body), status, code, field)
    assert counts() == before
    order.refresh_from_db()
    assert order.status == state.replace("extension_pending", "in_progress").replace("co_replied", "in_progress")


LIST_CASES = [
    ("status=sleeping", "status[0]"),
    ("status=accepted&status=sleeping", "status[1]"),
    ("channel=fax", "channel"),
    ("sla=red", "sla"),
    ("limit=101", "limit"),
    ("limit=0", "limit"),
    ("offset=-1", "offset"),
    ("ordering=password", "ordering"),
    ("accepted_from=2026-01-01T00:00:00", "accepted_from"),
    ("accepted_from=yesterday", "accepted_from"),
    ("accepted_from=2026-02-01T00:00:00Z&accepted_to=2026-01-01T00:00:00Z", "accepted_to"),
    ("lead_department_id=abc", "lead_department_id"),
    ("lead_department_id=99999999999999999999999", "lead_department_id"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "field"), LIST_CASES, ids=[c[0] for c in LIST_CASES])
def test_list_bad_filters(world, query, field):
    assert_error(client_for(world, "operator").get(f"{API}/work-orders?{query}"), 422, "validation_error", field)


@pytest.mark.django_db
def test_extension_of_more_than_ninety_days_is_refused(world):
    order = order_in(world, "in_progress")
    before = counts()
    assert_error(post(client_for(world, "handler"), f"{API}/work-orders/{order.pk}/request-extension",
                      {"requested_due_at": (order.due_at + timedelta(days=91)).isoformat(), "reason": "工程量大"}),
                 422, "validation_error", "requested_due_at")
    assert counts() == before


@pytest.mark.django_db
def test_malformed_multipart_upload(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    order = order_in(world, "dispatched")
    client = client_for(world, "handler")
    before = counts()
    response = client.generic("POST", f"{API}/work-orders/{order.pk}/attachments", b"garbage--",
                              content_type="multipart/form-data")
    assert_error(response, 400, "bad_request", "body")
    assert counts() == before and not order.attachments.exists()
