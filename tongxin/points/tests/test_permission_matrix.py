"""The points permission matrix: every role × every points API endpoint and staff page, over HTTP.

404 means "not yours" (outside the actor's areas, or a role without points duties), exactly like a
missing record; 401/302 mean "not signed in". Each cell starts from fresh records (a redemption of an
item of community A, a priority code of a resident of grid A, an activity in community A). The lead
registers this file in tests/test_permission_matrix.py (OWN_MATRICES["/points/"]) and the page rows in
tests/test_security_page_matrix.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tongxin.core.models import AuditEvent
from tongxin.points import services
from tongxin.points.models import Redemption
from tongxin.testing import PASSWORD, parse_matrix

pytestmark = pytest.mark.django_db

ROLES = ("clerk", "clerk_b", "grid_worker", "supervisor_a", "leader_b", "handler", "admin", "nobody", "anon")

MATRIX_TEXT = """
endpoint                                     | clk  clkB grid supA ldrB hdl  adm  nob  anon
GET  /api/v1/points/rules                    | 404  404  200  200  200  404  200  404  401
POST /api/v1/points/checks                   | 200  422  404  404  404  404  200  404  401
POST /api/v1/points/pickups                  | 404  404  404  200  404  404  200  404  401
GET  /api/v1/points/residents/{id}/balances  | 404  404  200  200  404  404  200  404  401
GET  /points/                                | 200  200  200  200  200  404  200  404  302
GET  /points/check/                          | 200  200  404  404  404  404  200  404  302
GET  /points/pickup/                         | 404  404  200  200  200  404  200  404  302
GET  /points/award/                          | 404  404  200  200  200  404  200  404  302
GET  /points/items/                          | 404  404  200  200  200  404  200  404  302
GET  /points/activities/                     | 404  404  200  200  200  404  200  404  302
GET  /points/activities/{id}/                | 404  404  404  200  404  404  200  404  302
"""


MATRIX = parse_matrix(MATRIX_TEXT, ROLES)
CELLS = [(endpoint, role) for endpoint in MATRIX for role in ROLES]


def _client(role: str) -> Client:
    client = Client()
    if role != "anon":
        assert client.login(username=role, password=PASSWORD)
    return client


def _call(client: Client, endpoint: str, town) -> int:
    method, path = endpoint.split()
    if path == "/api/v1/points/checks":
        token = services.priority_token_make(resident=town.resident)
        return client.post(path, {"token": token}, content_type="application/json").status_code
    if path == "/api/v1/points/pickups":
        for i in range(2):
            services.points_earn(resident=town.resident, rule_code="report_confirmed", cause_key=f"m:{i}")
        item = services.item_create(actor=town.supervisor_a, area=town.world.community_a, name="米", price=10, stock=1)
        redemption = services.redemption_create(resident=town.resident, item_id=item.pk)
        return client.post(path, {"pickup_code": redemption.pickup_code}, content_type="application/json").status_code
    if "{id}" in path and "residents" in path:
        path = path.replace("{id}", str(town.resident.pk))
    elif "{id}" in path:
        now = timezone.now()
        activity = services.activity_create(actor=town.supervisor_a, area=town.world.community_a, title="植树",
                                            location="公园", lat=37.1, lng=107.1, capacity=3,
                                            starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2))
        path = path.replace("{id}", str(activity.pk))
    assert method == "GET"
    return client.get(path).status_code


@pytest.mark.parametrize(("endpoint", "role"), CELLS, ids=[f"{e} as {r}" for e, r in CELLS])
def test_cell(endpoint, role, town):
    status = _call(_client(role), endpoint, town)
    assert status == MATRIX[endpoint][role], f"{endpoint} as {role}: {status}"
    if endpoint.endswith("/checks") and status != 200:
        assert not AuditEvent.objects.filter(event_type="points_priority_check").exists()
    if endpoint.endswith("/pickups") and status != 200:
        assert Redemption.objects.get().status == "pending"


def test_matrix_covers_every_points_route():
    from django.urls import get_resolver

    from tongxin.workorders.tests.test_api import api_routes

    api = {f"{m} /api/v1{p}".replace("{resident_id}", "{id}") for m, p in api_routes() if p.startswith("/points/")}
    assert api == {e for e in MATRIX if e.split()[1].startswith("/api/")}
    staff = {str(p.pattern) for p in get_resolver("tongxin.points.urls").url_patterns}
    covered = {e.split()[1].removeprefix("/points/").replace("{id}", "<int:pk>") for e in MATRIX if e.split()[1].startswith("/points/")}
    # the POST-only actions are exercised by test_pages (404 outside the area, refused without the role)
    post_only = {"awards/<int:pk>/decide/", "appeals/<int:pk>/decide/", "activities/<int:pk>/signups/<int:signup_pk>/confirm/"}
    assert staff - post_only == covered
