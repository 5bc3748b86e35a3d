"""The grids permission matrix: every endpoint under /api/v1/grids/ × every role of the test world, over
HTTP. Each cell starts from fresh objects (a patrol and an open report of the grid_a grid worker); a
refused cell writes nothing (no patrol, check-in, report, opinion, work order or audit row changes).

Columns as in tests/test_permission_matrix.py: operator, dispatcher, supervisor (city), dispatcher_b
(district B), handler, water_handler, edu_handler (department roles only), grid_worker (grid_a), leader
(city), leader_b (district B), admin, nobody (no role), anonymous. 404: outside the jurisdiction (looks
missing); 403: may see it (or holds no grid-worker role) but may not do this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tongxin.core.models import AuditEvent
from tongxin.grids import services
from tongxin.grids.models import FieldReport, Opinion, Patrol, PatrolCheckin
from tongxin.testing import parse_matrix
from tongxin.workorders.models import WorkOrder
from tongxin.workorders.tests.test_api import (
    _fast_password_hashing,  # noqa: F401 - autouse fixture
    api_routes,
    client_for,
)

from .conftest import jpeg

ROLES = ("operator", "dispatcher", "supervisor", "dispatcher_b", "handler", "water_handler", "edu_handler",
         "grid_worker", "leader", "leader_b", "admin", "nobody", "anonymous")
MATRIX_TEXT = """
endpoint                                          | opr  dsp  sup  dspB hdl  wtr  edu  grid ldr  ldrB adm  nob  anon
GET  /grids/mine                                  | 200  200  200  200  200  200  200  200  200  200  200  200  401
POST /grids/patrols                               | 403  403  403  403  403  403  403  201  403  403  201  403  401
GET  /grids/patrols/{patrol_id}                   | 404  404  200  404  404  404  404  200  200  404  200  404  401
POST /grids/patrols/{patrol_id}/checkins          | 404  404  403  404  404  404  404  201  403  404  403  404  401
POST /grids/patrols/{patrol_id}/end               | 404  404  403  404  404  404  404  200  403  404  403  404  401
POST /grids/reports                               | 403  403  403  403  403  403  403  201  403  403  201  403  401
GET  /grids/reports/{report_id}                   | 404  404  200  404  404  404  404  200  200  404  200  404  401
POST /grids/reports/{report_id}/settle            | 404  404  403  404  404  404  404  200  403  404  200  404  401
POST /grids/reports/{report_id}/raise             | 404  404  403  404  404  404  404  200  403  404  200  404  401
POST /grids/opinions                              | 403  403  403  403  403  403  403  201  403  403  201  403  401
GET  /grids/opinions                              | 403  403  200  403  403  403  403  200  200  200  200  403  401
GET  /grids/numbers                               | 404  404  200  404  404  404  404  404  200  404  200  404  401
"""


MATRIX = parse_matrix(MATRIX_TEXT, ROLES)


@dataclass
class Case:
    body: Callable[[Any], dict[str, Any]] = lambda w: {}
    multipart: bool = False
    query: str = ""


CASES: dict[str, Case] = {
    "GET /grids/mine": Case(),
    "POST /grids/patrols": Case(body=lambda w: {"grid_id": w.grid_a.pk, "lat": 37.1, "lng": 107.1}),
    "GET /grids/patrols/{patrol_id}": Case(),
    "POST /grids/patrols/{patrol_id}/checkins": Case(body=lambda w: {"lat": 37.11, "lng": 107.1}),
    "POST /grids/patrols/{patrol_id}/end": Case(body=lambda w: {"note": "ok"}),
    "POST /grids/reports": Case(body=lambda w: {"text": "井盖缺失", "grid_id": w.grid_a.pk, "photo": jpeg()}, multipart=True),
    "GET /grids/reports/{report_id}": Case(),
    "POST /grids/reports/{report_id}/settle": Case(body=lambda w: {"result_text": "已处置", "result_photo": jpeg()},
                                                   multipart=True),
    "POST /grids/reports/{report_id}/raise": Case(body=lambda w: {"kind": "help"}),
    "POST /grids/opinions": Case(body=lambda w: {"grid_id": w.grid_a.pk, "topic_code": "other", "text": "建议"}),
    "GET /grids/opinions": Case(),
    "GET /grids/numbers": Case(query="?area_code=150602001001"),
}


def counts() -> tuple[int, ...]:
    return (Patrol.objects.count(), PatrolCheckin.objects.count(), FieldReport.objects.filter(status="open").count(),
            FieldReport.objects.count(), Opinion.objects.count(), WorkOrder.objects.count(), AuditEvent.objects.count(),
            Patrol.objects.filter(ended_at__isnull=True).count())


def test_matrix_covers_every_grids_endpoint(db):
    routes = {f"{m} {p}" for m, p in api_routes() if p.startswith("/grids/")}
    assert routes == set(MATRIX) == set(CASES)


@pytest.mark.parametrize("endpoint", list(MATRIX))
def test_permission_matrix(gw, endpoint):
    w, case, wrong = gw.w, CASES[endpoint], {}
    method, path = endpoint.split()
    for role in ROLES:
        Patrol.objects.all().delete()  # each cell from fresh objects (the worker's patrol is closed too)
        FieldReport.objects.all().delete()
        worker = gw.user("grid_worker")
        patrol = services.patrol_start(actor=worker, grid_id=w.grid_a.pk, lat=37.1, lng=107.1)
        report = services.field_report_create(actor=worker, grid_id=w.grid_a.pk, text="路灯不亮", photo=jpeg())
        if role in ("grid_worker", "admin") and endpoint in ("POST /grids/patrols",):
            services.patrol_end(actor=worker, patrol_id=patrol.pk)  # one open patrol at a time
        url = "/api/v1" + path.format(patrol_id=patrol.pk, report_id=report.pk) + case.query
        client = client_for(w, role)
        before = counts()
        if method == "GET":
            response = client.get(url)
        elif case.multipart:
            response = client.post(url, case.body(w))
        else:
            response = client.post(url, case.body(w), content_type="application/json")
        if response.status_code >= 400:
            assert counts() == before, f"{role} {endpoint} answered {response.status_code} but wrote something"
            assert set(response.json()) == {"code", "message", "fields"}
        if response.status_code != MATRIX[endpoint][role]:
            wrong[role] = f"expected {MATRIX[endpoint][role]}, got {response.status_code}: {response.content[:160]!r}"
    assert not wrong, wrong
