"""The regions permission matrix: every endpoint under /api/v1/regions/ × every role of the test world,
over HTTP, each cell on a fresh world with one member (the leader of grid_a) on the roster. A refused
cell writes nothing: no roster row changes, no audit row.

Columns as in tests/test_permission_matrix.py: operator, dispatcher, supervisor (city), dispatcher_b
(district B), handler, water_handler, edu_handler (department roles only), grid_worker (grid_a), leader
(city), leader_b (district B), admin, nobody (no role), anonymous. 404: outside the jurisdiction (the grid
looks missing); 403: may read the roster but not change it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tongxin.core.models import AuditEvent
from tongxin.regions.choices import GridDuty
from tongxin.regions.models import GridMember
from tongxin.regions.services import grid_member_assign
from tongxin.testing import parse_matrix
from tongxin.workorders.tests.test_api import (
    _fast_password_hashing,  # noqa: F401 - autouse fixture
    api_routes,
    client_for,
)

ROLES = ("operator", "dispatcher", "supervisor", "dispatcher_b", "handler", "water_handler", "edu_handler",
         "grid_worker", "leader", "leader_b", "admin", "nobody", "anonymous")
MATRIX_TEXT = """
endpoint                                          | opr  dsp  sup  dspB hdl  wtr  edu  grid ldr  ldrB adm  nob  anon
GET  /regions/grids/{code}/roster                 | 200  200  200  404  404  404  404  200  200  404  200  404  401
POST /regions/grids/{code}/roster                 | 403  403  403  404  404  404  404  403  201  404  201  404  401
PATCH /regions/roster/{member_id}                 | 403  403  403  404  404  404  404  403  200  404  200  404  401
POST /regions/roster/{member_id}/remove           | 403  403  403  404  404  404  404  403  200  404  200  404  401
POST /regions/roster/{member_id}/reveal-phone     | 200  200  200  404  404  404  404  200  200  404  200  404  401
GET  /regions/my-grids                            | 200  200  200  200  200  200  200  200  200  200  200  200  401
"""


MATRIX = parse_matrix(MATRIX_TEXT, ROLES)
API = "/api/v1"
GRID = "150602001001G01"

Request = Callable[[Client, GridMember], Any]


def _json(client: Client, method: str, url: str, body: dict[str, Any]) -> Any:
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


CASES: dict[str, Request] = {
    "GET /regions/grids/{code}/roster": lambda c, m: c.get(f"{API}/regions/grids/{GRID}/roster"),
    "POST /regions/grids/{code}/roster": lambda c, m: _json(c, "post", f"{API}/regions/grids/{GRID}/roster",
                                                            {"name": "李警官", "phone": "13900000002", "duty": "officer"}),
    "PATCH /regions/roster/{member_id}": lambda c, m: _json(c, "patch", f"{API}/regions/roster/{m.pk}",
                                                            {"phone": "13900000009"}),
    "POST /regions/roster/{member_id}/remove": lambda c, m: _json(c, "post", f"{API}/regions/roster/{m.pk}/remove",
                                                                  {"reason": "调离"}),
    "POST /regions/roster/{member_id}/reveal-phone": lambda c, m: c.post(f"{API}/regions/roster/{m.pk}/reveal-phone"),
    "GET /regions/my-grids": lambda c, m: c.get(f"{API}/regions/my-grids"),
}


def test_matrix_covers_every_regions_endpoint(db):
    routes = {f"{method} {path}" for method, path in api_routes() if path.startswith("/regions/")}
    assert set(MATRIX) == routes, {"missing": routes - set(MATRIX), "extra": set(MATRIX) - routes}
    assert set(CASES) == set(MATRIX)


def _state() -> tuple[Any, ...]:
    return (tuple(GridMember.objects.order_by("pk").values_list("pk", "phone", "duty", "active")),
            AuditEvent.objects.count())


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", sorted(MATRIX))
@pytest.mark.parametrize("role", ROLES)
def test_cell(world, endpoint, role):
    member = grid_member_assign(grid=world.grid_a, name="王建国", phone="13900000001", duty=GridDuty.LEADER)
    client = client_for(world, None if role == "anonymous" else role)
    before = _state()
    response = CASES[endpoint](client, member)
    expected = MATRIX[endpoint][role]
    assert response.status_code == expected, (endpoint, role, response.content[:300])
    if expected >= 400:
        assert _state() == before, (endpoint, role)
        assert set(response.json()) == {"code", "message", "fields"}
