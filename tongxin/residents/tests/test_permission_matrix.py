"""The residents permission matrix: every endpoint under /api/v1/residents × every kind of caller,
over HTTP, each cell on a fresh world. A refused cell writes nothing.

Columns: ``res`` a resident of household A signed in with its code (the owner of the request in the
cells that need one), ``nbr`` a resident of household B (same building: a neighbour), ``mch`` a
merchant's contact signed in at the merchant's code, ``staff`` the city operator with a staff session
(not a resident), ``anon`` nobody. Resident endpoints answer 401 to a staff session: the two kinds of
sign-in are separate. 404: not yours (exactly as if it did not exist).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core import signing
from django.test import Client

from tongxin.residents import services
from tongxin.residents.models import LoginCode, Rating, Report
from tongxin.residents.session import COOKIE, SALT
from tongxin.testing import PASSWORD, parse_matrix
from tongxin.workorders import services as wo
from tongxin.workorders.models import WorkOrder, WorkOrderEvent
from tongxin.workorders.tests.test_api import api_routes

from .conftest import PHONE, Place, jpeg_bytes, make_place, upload

COLUMNS = ("res", "nbr", "mch", "staff", "anon")
MATRIX_TEXT = """
endpoint                                          | res  nbr  mch  staff anon
GET  /residents/codes/{token}                     | 200  200  200  200  200
POST /residents/login/code                        | 202  202  202  202  202
POST /residents/login                             | 200  200  200  200  200
GET  /residents/requests                          | 200  200  200  401  401
GET  /residents/requests/{request_id}             | 200  404  404  401  401
POST /residents/reports                           | 201  201  201  401  401
POST /residents/requests/{request_id}/rating      | 201  404  404  401  401
GET  /residents/board                             | 200  200  200  200  200
"""
CSRF = "matrixcsrftoken0123456789abcdefg"


MATRIX = parse_matrix(MATRIX_TEXT, COLUMNS)


def _client(place: Place, column: str) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = CSRF
    signer = signing.get_cookie_signer(salt=COOKIE + SALT)
    if column == "res":
        client.cookies[COOKIE] = signer.sign(f"h:{place.household.pk}:{place.resident.pk}:1")
    elif column == "nbr":
        client.cookies[COOKIE] = signer.sign(f"h:{place.other_household.pk}:{place.other_resident.pk}:1")
    elif column == "mch":
        client.cookies[COOKIE] = signer.sign(f"m:{place.merchant.pk}:0:1")
    elif column == "staff":
        assert client.login(username="operator", password=PASSWORD)
    return client


def _replied_order(place: Place) -> int:
    """A request of household A whose order the department has replied to; returns the request's id
    (the report's: what the resident's URLs name, ADR 0010)."""
    report = services.report_create(
        reporter=services.Reporter(household=place.household, merchant=None, resident=place.resident,
                                   name=place.resident.name, phone=PHONE),
        content="路灯不亮", category_code="C010101")
    world = place.world
    wo.work_order_dispatch(order_id=report.order_id, actor=world.user("dispatcher"), lead_department_id=world.housing.pk)
    wo.work_order_sign(order_id=report.order_id, actor=world.user("handler"))
    wo.work_order_reply(order_id=report.order_id, actor=world.user("handler"), text="已修复")
    return report.pk


def _login_code(place: Place) -> str:
    """A code for the resident of household A, stored as the service stores it (no SMS needed here)."""
    from datetime import timedelta

    from django.utils import timezone

    code = "246810"
    LoginCode.objects.create(phone=PHONE, kind="h", target_id=place.household.pk,
                             digest=services._code_digest(PHONE, code), expires_at=timezone.now() + timedelta(minutes=5))
    return code


Request = Callable[[Client, Place, Any], Any]
CASES: dict[str, Request] = {
    "GET /residents/codes/{token}": lambda c, p, _: c.get(f"/api/v1/residents/codes/{p.token}"),
    "POST /residents/login/code": lambda c, p, _: c.post("/api/v1/residents/login/code", json.dumps(
        {"token": p.token, "phone": PHONE}), content_type="application/json"),
    "POST /residents/login": lambda c, p, _: c.post("/api/v1/residents/login", json.dumps(
        {"token": p.token, "phone": PHONE, "code": _login_code(p)}), content_type="application/json"),
    "GET /residents/requests": lambda c, p, _: c.get("/api/v1/residents/requests"),
    "GET /residents/requests/{request_id}": lambda c, p, request_id: c.get(f"/api/v1/residents/requests/{request_id}"),
    "POST /residents/reports": lambda c, p, _: c.post("/api/v1/residents/reports", {
        "content": "井盖缺失", "photos": [upload(jpeg_bytes())]}, HTTP_X_CSRFTOKEN=CSRF),
    "POST /residents/requests/{request_id}/rating": lambda c, p, request_id: c.post(
        f"/api/v1/residents/requests/{request_id}/rating", json.dumps({"satisfaction": "satisfied"}),
        content_type="application/json", HTTP_X_CSRFTOKEN=CSRF),
    "GET /residents/board": lambda c, p, _: c.get("/api/v1/residents/board"),
}


# Routes under /residents/ that other rooms mount for the resident's cookie and test in their own
# matrices: the consultation's topics (tongxin/participation).
OTHER_ROOMS = ("/residents/topics",)


def test_matrix_covers_every_residents_endpoint(db):
    routes = {f"{method} {path}" for method, path in api_routes()
              if path.startswith("/residents/") and not path.startswith(OTHER_ROOMS)}
    assert set(MATRIX) == routes, {"missing": routes - set(MATRIX), "extra": set(MATRIX) - routes}
    assert set(CASES) == set(MATRIX)


def _counts() -> tuple[int, ...]:
    return (Report.objects.count(), Rating.objects.count(), WorkOrder.objects.count(), WorkOrderEvent.objects.count())


@pytest.mark.parametrize("endpoint", sorted(MATRIX))
@pytest.mark.parametrize("column", COLUMNS)
def test_cell(world, endpoint, column):
    place = make_place(world)
    request_id = _replied_order(place)
    client = _client(place, column)
    before = _counts()
    response = CASES[endpoint](client, place, request_id)
    expected = MATRIX[endpoint][column]
    assert response.status_code == expected, (endpoint, column, response.content[:300])
    if expected >= 400:
        assert _counts() == before, "a refused cell must write nothing"
        assert set(response.json()) == {"code", "message", "fields"}
