"""The grids page matrix: every page under /grid/ (tongxin.grids.urls) × every role of the test world,
over HTTP, each cell from fresh objects (a patrol and an open report of the grid_a grid worker). A
refused cell writes nothing. Columns as in test_permission_matrix.py. 404: not yours (no grid-worker
role for the field pages, outside the subtree for objects); 302: anonymous to the login, a leader from
the worker's home to the opinions, and every successful form post (post/redirect/get); a refused action
of a seen object comes back as a redirect with the reason in a message, writing nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tongxin.grids import services
from tongxin.grids.models import FieldReport, Patrol
from tongxin.testing import parse_matrix

from .conftest import jpeg
from .test_permission_matrix import ROLES, counts

PAGE_MATRIX_TEXT = """
page                                              | opr  dsp  sup  dspB hdl  wtr  edu  grid ldr  ldrB adm  nob  anon
GET  /grid/                                       | 404  404  302  404  404  404  404  200  302  302  200  404  302
GET  /grid/g/<int:pk>/                            | 404  404  200  404  404  404  404  200  200  404  200  404  302
GET  /grid/patrols/                               | 404  404  200  404  404  404  404  200  200  200  200  404  302
POST /grid/patrols/start/                         | 404  404  404  404  404  404  404  302  404  404  302  404  302
GET  /grid/patrols/<int:pk>/                      | 404  404  200  404  404  404  404  200  200  404  200  404  302
GET  /grid/patrols/<int:pk>/#missing              | 404  404  404  404  404  404  404  404  404  404  404  404  302
POST /grid/patrols/<int:pk>/checkin/              | 404  404  404  404  404  404  404  302  404  404  302  404  302
POST /grid/patrols/<int:pk>/end/                  | 404  404  404  404  404  404  404  302  404  404  302  404  302
GET  /grid/reports/                               | 404  404  200  404  404  404  404  200  200  200  200  404  302
GET  /grid/reports/new/                           | 404  404  404  404  404  404  404  200  404  404  200  404  302
POST /grid/reports/new/                           | 404  404  404  404  404  404  404  302  404  404  302  404  302
GET  /grid/reports/suggest/                       | 404  404  404  404  404  404  404  200  404  404  200  404  302
GET  /grid/reports/<int:pk>/                      | 404  404  200  404  404  404  404  200  200  404  200  404  302
GET  /grid/reports/<int:pk>/#missing              | 404  404  404  404  404  404  404  404  404  404  404  404  302
POST /grid/reports/<int:pk>/settle/               | 404  404  404  404  404  404  404  302  404  404  302  404  302
POST /grid/reports/<int:pk>/raise/                | 404  404  404  404  404  404  404  302  404  404  302  404  302
GET  /grid/reports/<int:pk>/photo/<str:which>/    | 404  404  200  404  404  404  404  200  200  404  200  404  302
GET  /grid/opinions/                              | 404  404  200  404  404  404  404  200  200  200  200  404  302
GET  /grid/opinions/new/                          | 404  404  404  404  404  404  404  200  404  404  200  404  302
POST /grid/opinions/new/                          | 404  404  404  404  404  404  404  302  404  404  302  404  302
"""


PAGE_MATRIX = parse_matrix(PAGE_MATRIX_TEXT, ROLES)
MISSING = 2_000_000_000

# (url, POST data) from (world, patrol, report).
PAGE_CASES: dict[str, Callable[[Any, Any, Any], tuple[str, dict[str, Any] | None]]] = {
    "GET /grid/": lambda w, p, r: ("/grid/", None),
    "GET /grid/g/<int:pk>/": lambda w, p, r: (f"/grid/g/{w.grid_a.pk}/", None),
    "GET /grid/patrols/": lambda w, p, r: ("/grid/patrols/", None),
    "POST /grid/patrols/start/": lambda w, p, r: ("/grid/patrols/start/", {"grid_id": w.grid_a.pk}),
    "GET /grid/patrols/<int:pk>/": lambda w, p, r: (f"/grid/patrols/{p.pk}/", None),
    "GET /grid/patrols/<int:pk>/#missing": lambda w, p, r: (f"/grid/patrols/{MISSING}/", None),
    "POST /grid/patrols/<int:pk>/checkin/": lambda w, p, r: (f"/grid/patrols/{p.pk}/checkin/", {"lat": "37.1", "lng": "107.1"}),
    "POST /grid/patrols/<int:pk>/end/": lambda w, p, r: (f"/grid/patrols/{p.pk}/end/", {}),
    "GET /grid/reports/": lambda w, p, r: ("/grid/reports/", None),
    "GET /grid/reports/new/": lambda w, p, r: ("/grid/reports/new/", None),
    "POST /grid/reports/new/": lambda w, p, r: ("/grid/reports/new/", {"text": "井盖缺失", "grid_id": w.grid_a.pk,
                                                                       "photo": jpeg()}),
    "GET /grid/reports/suggest/": lambda w, p, r: ("/grid/reports/suggest/?text=x", None),
    "GET /grid/reports/<int:pk>/": lambda w, p, r: (f"/grid/reports/{r.pk}/", None),
    "GET /grid/reports/<int:pk>/#missing": lambda w, p, r: (f"/grid/reports/{MISSING}/", None),
    "POST /grid/reports/<int:pk>/settle/": lambda w, p, r: (f"/grid/reports/{r.pk}/settle/",
                                                            {"result_text": "已处置", "result_photo": jpeg()}),
    "POST /grid/reports/<int:pk>/raise/": lambda w, p, r: (f"/grid/reports/{r.pk}/raise/", {"kind": "help"}),
    "GET /grid/reports/<int:pk>/photo/<str:which>/": lambda w, p, r: (f"/grid/reports/{r.pk}/photo/photo/", None),
    "GET /grid/opinions/": lambda w, p, r: ("/grid/opinions/", None),
    "GET /grid/opinions/new/": lambda w, p, r: ("/grid/opinions/new/", None),
    "POST /grid/opinions/new/": lambda w, p, r: ("/grid/opinions/new/", {"grid_id": w.grid_a.pk, "topic_code": "other",
                                                                         "text": "建议"}),
}


def _grid_patterns() -> set[str]:
    from tongxin import grids

    def walk(resolver: URLResolver, prefix: str) -> list[str]:
        out = []
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                out += walk(entry, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern) and entry.callback.__module__.startswith(grids.__name__):
                out.append("/" + prefix + str(entry.pattern))
        return out

    return set(walk(get_resolver(), ""))


def test_page_matrix_covers_every_grids_page(db):
    rows = {key.split()[1] for key in PAGE_MATRIX if not key.endswith("#missing")}
    assert rows == _grid_patterns()
    assert set(PAGE_CASES) == set(PAGE_MATRIX)


@pytest.mark.parametrize("page", list(PAGE_MATRIX))
def test_page_matrix(gw, client, page):
    from tongxin.testing import PASSWORD

    w, wrong = gw.w, {}
    method = page.split()[0]
    for role in ROLES:
        Patrol.objects.all().delete()
        FieldReport.objects.all().delete()
        worker = gw.user("grid_worker")
        patrol = services.patrol_start(actor=worker, grid_id=w.grid_a.pk, lat=37.1, lng=107.1)
        report = services.field_report_create(actor=worker, grid_id=w.grid_a.pk, text="路灯不亮", photo=jpeg())
        if page == "POST /grid/patrols/start/" and role == "grid_worker":
            services.patrol_end(actor=worker, patrol_id=patrol.pk)
        url, data = PAGE_CASES[page](w, patrol, report)
        client.logout()
        if role != "anonymous":
            assert client.login(username=role, password=PASSWORD)
        before = counts()
        response = client.get(url) if method == "GET" else client.post(url, data or {})
        if response.status_code >= 400 or role in ("anonymous",) or (method == "POST" and role not in ("grid_worker", "admin")):
            assert counts() == before, f"{role} {page} answered {response.status_code} but wrote something"
        if response.status_code != PAGE_MATRIX[page][role]:
            wrong[role] = f"expected {PAGE_MATRIX[page][role]}, got {response.status_code}"
    assert not wrong, wrong
