"""The page matrix: every staff page, public page and resident page × every kind of user, over HTTP.

The API has its matrix in tests/test_permission_matrix.py; this file holds the pages' three tables, each
with the users that make sense for it:

- ``PAGE_MATRIX``: the world's staff roles (the API matrix's columns) on the workbench, the order pages,
  the dashboard, the knowledge base, the login, the health check, Open311 and the Django admin.
- ``MEDIATION_PAGE_MATRIX``: the mediation centre's pages, with the mediation matrix's columns.
- ``RESIDENT_PAGE_MATRIX``: the resident's phone pages under /r/ (a signed-in resident, a neighbour of
  another household, a merchant, a member of staff, nobody).

Each row is keyed by its URL *pattern* (``GET /orders/<int:pk>/``), the same string the resolver walk of
tests/test_permission_matrix.py produces, so a page added without a row fails there. Object pages are
asked for an object of district A (or household A); the columns of district B, the other household and
the wrong department must answer 404, exactly as for a missing id (the ``…missing`` rows guess ids).
Anonymous staff pages redirect to the login (302); a refused cell must write nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tongxin.core.models import AuditEvent
from tongxin.testing import parse_matrix
from tongxin.workorders.models import KnowledgeArticle, WorkOrder, WorkOrderEvent
from tongxin.workorders.tests.test_api import (
    _fast_password_hashing,  # noqa: F401 - autouse fixture
    client_for,
    order_in,
)

ROLES = ("operator", "dispatcher", "supervisor", "dispatcher_b", "handler", "water_handler", "edu_handler",
         "grid_worker", "leader", "leader_b", "admin", "nobody", "anonymous")
MISSING = 987654321  # an id nobody has: must look exactly like an id of another district

# Columns as in the API matrix: operator, dispatcher, supervisor, dispatcher_b (district B), handler (housing,
# the lead), water_handler (co-handler), edu_handler (never assigned), grid_worker (grid_a), leader (city),
# leader_b (district B), admin, nobody (no role), anonymous. 302 for anonymous: the login page.
PAGE_MATRIX_TEXT = r"""
page                                                    | opr  dsp  sup  dspB hdl  wtr  edu  grid ldr  ldrB adm  nob  anon
GET  /                                                  | 200  200  200  200  200  200  200  200  200  200  200  200  302
GET  /accounts/login/                                   | 302  302  302  302  302  302  302  302  302  302  302  302  200
POST /accounts/logout/                                  | 302  302  302  302  302  302  302  302  302  302  302  302  302
GET  /accounts/login/verify/                            | 302  302  302  302  302  302  302  302  302  302  302  302  302
GET  /accounts/totp/setup/                              | 200  200  200  200  200  200  200  200  200  200  200  200  302
GET  /orders/                                           | 200  200  200  200  200  200  200  200  200  200  200  200  302
GET  /orders/<int:pk>/                                  | 200  200  200  404  200  200  404  200  200  404  200  404  302
GET  /orders/<int:pk>/#missing                          | 404  404  404  404  404  404  404  404  404  404  404  404  302
POST /orders/<int:pk>/reveal/                           | 200  200  200  404  200  403  404  403  403  404  403  404  302
GET  /workbench/notifications/                          | 200  200  200  200  200  200  200  200  200  200  200  200  302
GET  /workbench/notifications/badge/                    | 200  200  200  200  200  200  200  200  200  200  200  200  302
POST /workbench/notifications/read/                     | 302  302  302  302  302  302  302  302  302  302  302  302  302
GET  /workbench/queue/                                  | 404  404  404  404  200  200  200  404  404  404  404  404  302
POST /workbench/queue/<int:pk>/<str:action>/            | 404  404  404  404  302  422  404  404  404  404  404  404  302
POST /workbench/queue/<int:pk>/<str:action>/#missing    | 404  404  404  404  404  404  404  404  404  404  404  404  302
GET  /workbench/dispatch/                               | 404  200  200  200  404  404  404  404  404  404  200  404  302
POST /workbench/dispatch/bulk/                          | 404  200  200  200  404  404  404  404  404  404  200  404  302
POST /workbench/dispatch/<int:pk>/<str:action>/         | 404  302  302  404  404  404  404  404  404  404  422  404  302
GET  /workbench/callback/                               | 200  200  200  200  404  404  404  404  404  404  200  404  302
POST /workbench/callback/<int:pk>/<str:action>/         | 302  302  302  404  404  404  404  404  404  404  422  404  302
GET  /workbench/numbers/                                | 404  200  200  200  200  200  200  404  200  200  200  404  302
GET  /workbench/intake/                                 | 200  200  200  200  404  404  404  404  404  404  200  404  302
POST /workbench/intake/assist/                          | 200  200  200  200  404  404  404  404  404  404  200  404  302
GET  /workbench/intake/categories/                      | 200  200  200  200  404  404  404  404  404  404  200  404  302
GET  /workbench/intake/areas/                           | 200  200  200  200  404  404  404  404  404  404  200  404  302
POST /workbench/intake/<int:pk>/dispatch/               | 302  302  302  404  404  404  404  404  404  404  422  404  302
GET  /workbench/knowledge/                              | 200  200  200  200  404  404  404  404  404  404  200  404  302
GET  /workbench/knowledge/new/                          | 404  404  200  404  404  404  404  404  404  404  200  404  302
GET  /workbench/knowledge/<int:pk>/edit/                | 404  404  200  404  404  404  404  404  404  404  200  404  302
GET  /dashboard/                                        | 404  200  200  200  404  404  404  404  200  200  200  404  302
GET  /dashboard/screen/                                 | 404  200  200  200  404  404  404  404  200  200  200  404  302
GET  /dashboard/data/                                   | 404  200  200  200  404  404  404  404  200  200  200  404  302
GET  /dashboard/geo/                                    | 404  200  200  200  404  404  404  404  200  200  200  404  302
GET  /dashboard/insight/                                | 404  200  200  200  404  404  404  404  200  200  200  404  302
GET  /dashboard/orders/                                 | 404  200  200  200  404  404  404  404  200  200  200  404  302
GET  /dashboard/reports/                                | 404  200  200  200  404  404  404  404  200  200  200  404  302
GET  /dashboard/reports/print/                          | 404  200  200  200  404  404  404  404  200  200  200  404  302
GET  /dashboard/reports/xlsx/                           | 404  200  200  200  404  404  404  404  200  200  200  404  302
GET  /dashboard/reports/file/<str:area_code>/<str:name> | 404  200  200  404  404  404  404  404  200  404  200  404  302
GET  /dashboard/map/                                    | 404  200  200  200  404  404  404  404  200  200  200  404  302
GET  /dashboard/map/#outside                            | 404  200  200  404  404  404  404  404  200  404  200  404  302
GET  /dashboard/map/#missing                            | 404  404  404  404  404  404  404  404  404  404  404  404  302
GET  /dashboard/map/data/                               | 404  200  200  200  404  404  404  404  200  200  200  404  302
GET  /dashboard/map/data/#outside                       | 404  200  200  404  404  404  404  404  200  404  200  404  302
GET  /dashboard/map/data/#missing                       | 404  404  404  404  404  404  404  404  404  404  404  404  302
GET  /dashboard/map/points/                             | 404  200  200  200  404  404  404  404  200  200  200  404  302
GET  /dashboard/map/points/#outside                     | 404  200  200  404  404  404  404  404  200  404  200  404  302
GET  /dashboard/map/points/#missing                     | 404  404  404  404  404  404  404  404  404  404  404  404  302
GET  /healthz                                           | 200  200  200  200  200  200  200  200  200  200  200  200  200
POST /i18n/setlang/                                     | 302  302  302  302  302  302  302  302  302  302  302  302  302
GET  /admin/                                            | 302  302  302  302  302  302  302  302  302  302  302  302  302
GET  /open311/v2/                                      | 404  404  404  404  404  404  404  404  404  404  404  404  404
GET  /open311/v2/^discovery\.(?P<fmt>[^/.]*)$           | 200  200  200  200  200  200  200  200  200  200  200  200  200
GET  /open311/v2/^services\.(?P<fmt>[^/.]*)$            | 200  200  200  200  200  200  200  200  200  200  200  200  200
GET  /open311/v2/^services/(?P<service_code>[^/]+?)\.(?P<fmt>[^/.]*)$ | 404  404  404  404  404  404  404  404  404  404  404  404  404
GET  /open311/v2/^requests\.(?P<fmt>[^/.]*)$            | 200  200  200  200  200  200  200  200  200  200  200  200  200
POST /open311/v2/^requests\.(?P<fmt>[^/.]*)$#nokey      | 403  403  403  403  403  403  403  403  403  403  403  403  403
GET  /open311/v2/^requests/(?P<service_request_id>[^/]+?)\.(?P<fmt>[^/.]*)$ | 404  404  404  404  404  404  404  404  404  404  404  404  404
GET  /open311/v2/^tokens/(?P<token>[^/]+?)\.(?P<fmt>[^/.]*)$ | 404  404  404  404  404  404  404  404  404  404  404  404  404
GET  /open311/v2/^servicerequestupdates\.(?P<fmt>[^/.]*)$ | 200  200  200  200  200  200  200  200  200  200  200  200  200
GET  /open311/v2/^(?P<rest>.*)$                         | 404  404  404  404  404  404  404  404  404  404  404  404  404
GET  /media/<path:path>                                 | 400  400  400  400  400  400  400  400  400  400  400  400  400
"""


def patterns(matrix: dict[str, dict[str, int]]) -> set[str]:
    """The URL patterns a table covers (``#variant`` rows ask the same pattern another way)."""
    return {key.split()[1].split("#")[0] for key in matrix}


PAGE_MATRIX = parse_matrix(PAGE_MATRIX_TEXT, ROLES)
if not (django_settings.DEBUG or django_settings.TONGXIN_SERVE_MEDIA):
    # /media/ is mounted only where the application serves uploads itself (the embedded set-up); in
    # production (DATABASE_URL set) nginx serves them, and the route does not exist.
    del PAGE_MATRIX["GET /media/<path:path>"]


@dataclass
class Ask:
    url: str
    data: dict[str, Any] | None = None


def _report_file(world: Any, settings: Any) -> Ask:
    from pathlib import Path

    folder = Path(settings.VAR_DIR) / "reports" / world.district_a.code
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "daily-2026-01-05.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    return Ask(f"/dashboard/reports/file/{world.district_a.code}/daily-2026-01-05.xlsx")


def _fixed(url: str) -> Callable[[Any, Any], Ask]:
    return lambda world, settings: Ask(url)


def _callback(world: Any, settings: Any) -> Ask:
    order = order_in(world, "replied")
    return Ask(f"/workbench/callback/{order.pk}/satisfied/", {f"satisfied-{order.pk}-satisfaction": "satisfied"})


def _media(world: Any, settings: Any) -> Ask:
    return Ask("/media/../../etc/passwd")


PAGE_CASES: dict[str, Callable[[Any, Any], Ask]] = {
    "GET /": lambda w, s: Ask("/"),
    "GET /accounts/login/": lambda w, s: Ask("/accounts/login/"),
    "POST /accounts/logout/": lambda w, s: Ask("/accounts/logout/"),
    # No sign-in half-way (no password checked in this session): back to the login page.
    "GET /accounts/login/verify/": lambda w, s: Ask("/accounts/login/verify/"),
    "GET /accounts/totp/setup/": lambda w, s: Ask("/accounts/totp/setup/"),
    "GET /orders/": lambda w, s: Ask("/orders/"),
    "GET /orders/<int:pk>/": lambda w, s: Ask(f"/orders/{order_in(w, 'dispatched').pk}/"),
    "GET /orders/<int:pk>/#missing": lambda w, s: Ask(f"/orders/{MISSING}/"),
    "POST /orders/<int:pk>/reveal/": lambda w, s: Ask(f"/orders/{order_in(w, 'dispatched').pk}/reveal/"),
    "GET /workbench/notifications/": lambda w, s: Ask("/workbench/notifications/"),
    "GET /workbench/notifications/badge/": lambda w, s: Ask("/workbench/notifications/badge/"),
    "POST /workbench/notifications/read/": lambda w, s: Ask("/workbench/notifications/read/"),
    "GET /workbench/queue/": lambda w, s: Ask("/workbench/queue/"),
    "POST /workbench/queue/<int:pk>/<str:action>/": lambda w, s: Ask(
        f"/workbench/queue/{order_in(w, 'dispatched').pk}/sign/", {}),
    "POST /workbench/queue/<int:pk>/<str:action>/#missing": lambda w, s: Ask(f"/workbench/queue/{MISSING}/sign/", {}),
    "GET /workbench/dispatch/": lambda w, s: Ask("/workbench/dispatch/"),
    "POST /workbench/dispatch/bulk/": lambda w, s: Ask("/workbench/dispatch/bulk/", {}),
    "POST /workbench/dispatch/<int:pk>/<str:action>/": lambda w, s: Ask(
        f"/workbench/dispatch/{order_in(w, 'dispatched').pk}/remind/", {"remind-note": "请尽快处理"}),
    "GET /workbench/callback/": lambda w, s: Ask("/workbench/callback/"),
    "POST /workbench/callback/<int:pk>/<str:action>/": _callback,
    "GET /workbench/numbers/": lambda w, s: Ask("/workbench/numbers/"),
    "GET /workbench/intake/": lambda w, s: Ask("/workbench/intake/"),
    "POST /workbench/intake/assist/": lambda w, s: Ask("/workbench/intake/assist/", {}),
    "GET /workbench/intake/categories/": lambda w, s: Ask("/workbench/intake/categories/"),
    "GET /workbench/intake/areas/": lambda w, s: Ask("/workbench/intake/areas/"),
    "POST /workbench/intake/<int:pk>/dispatch/": lambda w, s: Ask(
        f"/workbench/intake/{order_in(w, 'accepted').pk}/dispatch/", {}),
    "GET /workbench/knowledge/": lambda w, s: Ask("/workbench/knowledge/"),
    "GET /workbench/knowledge/new/": lambda w, s: Ask("/workbench/knowledge/new/"),
    "GET /workbench/knowledge/<int:pk>/edit/": lambda w, s: Ask(
        f"/workbench/knowledge/{KnowledgeArticle.objects.create(question='停水怎么办', answer='拨打供水热线').pk}/edit/"),
    **{f"GET /dashboard/{name}": _fixed(f"/dashboard/{name}")
       for name in ("", "screen/", "data/", "geo/", "insight/", "orders/", "reports/", "reports/print/", "reports/xlsx/")},
    "GET /dashboard/reports/file/<str:area_code>/<str:name>": _report_file,
    # The area map: each viewer's own top area; #outside asks for district A (district B's viewers: 404, as
    # for an area that does not exist, #missing).
    **{f"GET /dashboard/map/{name}{variant}": _fixed(f"/dashboard/map/{name}{query}")
       for name in ("", "data/", "points/")
       for variant, query in (("", ""), ("#outside", "?area=150602"), ("#missing", "?area=nowhere"))},
    "GET /healthz": lambda w, s: Ask("/healthz"),
    "POST /i18n/setlang/": lambda w, s: Ask("/i18n/setlang/", {"language": "en", "next": "/"}),
    "GET /admin/": lambda w, s: Ask("/admin/"),
    "GET /media/<path:path>": _media,
    "GET /open311/v2/": lambda w, s: Ask("/open311/v2/"),
    "GET /open311/v2/^discovery\\.(?P<fmt>[^/.]*)$": lambda w, s: Ask("/open311/v2/discovery.json"),
    "GET /open311/v2/^services\\.(?P<fmt>[^/.]*)$": lambda w, s: Ask("/open311/v2/services.json"),
    "GET /open311/v2/^services/(?P<service_code>[^/]+?)\\.(?P<fmt>[^/.]*)$": lambda w, s: Ask(
        "/open311/v2/services/NO-SUCH.json"),
    "GET /open311/v2/^requests\\.(?P<fmt>[^/.]*)$": lambda w, s: Ask("/open311/v2/requests.json"),
    "POST /open311/v2/^requests\\.(?P<fmt>[^/.]*)$#nokey": lambda w, s: Ask(
        "/open311/v2/requests.json", {"service_code": "C010101", "description": "路灯不亮", "lat": "37", "long": "107"}),
    "GET /open311/v2/^requests/(?P<service_request_id>[^/]+?)\\.(?P<fmt>[^/.]*)$": lambda w, s: Ask(
        f"/open311/v2/requests/{order_in(w, 'dispatched').pk}.json"),
    "GET /open311/v2/^tokens/(?P<token>[^/]+?)\\.(?P<fmt>[^/.]*)$": lambda w, s: Ask("/open311/v2/tokens/guess.json"),
    "GET /open311/v2/^servicerequestupdates\\.(?P<fmt>[^/.]*)$": lambda w, s: Ask(
        "/open311/v2/servicerequestupdates.json"),
    "GET /open311/v2/^(?P<rest>.*)$": lambda w, s: Ask("/open311/v2/../etc/passwd"),
}


def counts() -> tuple[int, int, int]:
    return WorkOrder.objects.count(), WorkOrderEvent.objects.count(), AuditEvent.objects.count()


def ask(client: Client, method: str, asked: Ask) -> Any:
    client.raise_request_exception = False  # a 500 is a cell's answer, reported as such
    if method == "GET":
        return client.get(asked.url)
    return client.post(asked.url, asked.data or {})


RECORD = os.environ.get("TONGXIN_MATRIX_RECORD") == "1"  # print what each row answers, to write a new row


@pytest.fixture(autouse=True)
def _tmp_files(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path


def test_cases_match_rows():
    assert set(PAGE_CASES) - {"GET /media/<path:path>"} == set(PAGE_MATRIX) - {"GET /media/<path:path>"}


@pytest.mark.django_db
@pytest.mark.parametrize("page", list(PAGE_MATRIX))
def test_page_matrix(world, settings, page):
    method = page.split()[0]
    wrong, seen = {}, []
    for role in ROLES:
        asked = PAGE_CASES[page](world, settings)
        before = counts()
        response = ask(client_for(world, role), method, asked)
        seen.append(str(response.status_code))
        expected = PAGE_MATRIX[page][role]
        if response.status_code != expected:
            wrong[role] = f"expected {expected}, got {response.status_code}"
        if response.status_code in {401, 403, 404} or (role == "anonymous" and expected == 302):
            assert counts() == before, f"{role} {page} answered {response.status_code} but wrote something"
        if (role == "anonymous" and response.status_code == 302
                and page.split()[1].split("#")[0] not in PUBLIC_REDIRECTS):
            assert response["Location"].startswith("/accounts/login/"), (page, response["Location"])
    if RECORD:
        print(f"\n{page:56}| " + "  ".join(f"{s:3}" for s in seen))
    assert not wrong, wrong


# Pages whose anonymous 302 is not the login redirect.
PUBLIC_REDIRECTS = {"/accounts/logout/", "/i18n/setlang/", "/admin/"}


# Apps whose pages have a table of their own (their own objects, each cell checked there): module → the
# name of its table. The keys are read as "METHOD /path#variant"; see own_page_patterns.
OWN_PAGE_MATRICES = {
    "tongxin.residents.tests.test_staff_matrix": "MATRIX",  # /grid/info/…
    "tongxin.grids.tests.test_page_matrix": "PAGE_MATRIX",  # /grid/…
    "tongxin.points.tests.test_permission_matrix": "MATRIX",  # /points/…, /r/points/… (and its API rows)
    "tongxin.points.tests.test_resident_matrix": "MATRIX",  # /r/points/… and the staff POST-only decisions
    "tongxin.participation.tests.test_page_matrix": "PAGE_MATRIX",  # /participation/…, /r/topics/…
}


def _as_pattern(path: str, routes: set[str]) -> str:
    """A table's page path as the URL pattern the resolver walk prints. Tables may write a parameter as
    ``<int:pk>`` (already a pattern) or ``{id}``: a ``{…}`` path is matched against the site's patterns
    (same text, each ``{…}`` standing for one ``<…>``); without a match it stays as written, and shows up
    as a stale row."""
    import re

    if "{" not in path:
        return path
    shape = re.compile("".join("<[^<>]+>" if part.startswith("{") else re.escape(part)
                               for part in re.split(r"(\{\w+\})", path)) + "$")
    matches = sorted(route for route in routes if shape.match(route))
    return matches[0] if len(matches) == 1 else path


def own_page_patterns() -> set[str]:
    """The page patterns the apps' own page tables cover (their API rows, /api/…, are the API matrix's)."""
    import importlib

    from tests.test_permission_matrix import site_routes

    routes = set(site_routes())
    covered: set[str] = set()
    for module, table in OWN_PAGE_MATRICES.items():
        for key in getattr(importlib.import_module(module), table):
            path = key.split()[1].split("#")[0]
            if not path.startswith("/api/"):
                covered.add(_as_pattern(path, routes))
    return covered


def covered_page_patterns() -> set[str]:
    """Every page pattern some table covers: the three tables of this file and the apps' own page tables
    (OWN_PAGE_MATRICES). Read by tests/test_permission_matrix.py."""
    return (patterns(PAGE_MATRIX) | patterns(MEDIATION_PAGE_MATRIX) | patterns(RESIDENT_PAGE_MATRIX)
            | own_page_patterns())


# --- mediation pages ------------------------------------------------------------------------------
# Columns as in tongxin/mediation/tests/test_permission_matrix.py: owner (the community committee's
# mediator, m_comm), peer (the city centre's mediator, who sees every case), outside (town B's mediator),
# leader (city), dispatcher (12345, no mediation role), nobody, anon. The case page's refusals of a
# seen case come back as the page itself (422, the form showing the reason) or, for the reveal, as a
# redirect with the reason in a message (302); neither writes anything.
MEDIATION_COLUMNS = ("owner", "peer", "outside", "leader", "dispatcher", "nobody", "anon")
MEDIATION_USERS = {"owner": "m_comm", "peer": "m_city", "outside": "m_town_b", "leader": "leader",
                   "dispatcher": "dispatcher", "nobody": "nobody", "anon": None}
MEDIATION_PAGE_MATRIX_TEXT = """
page                                                    | own  peer out  ldr  dsp  nob  anon
GET  /mediation/                                        | 200  200  200  200  404  404  302
POST /mediation/                                        | 303  303  303  303  404  404  302
GET  /mediation/new/                                    | 200  200  200  404  200  404  302
GET  /mediation/numbers/                                | 200  200  200  200  404  404  302
GET  /mediation/<int:pk>/                               | 200  200  404  200  404  404  302
GET  /mediation/<int:pk>/#missing                       | 404  404  404  404  404  404  302
POST /mediation/<int:pk>/parties/<int:party_pk>/reveal/ | 200  200  404  302  404  404  302
POST /mediation/<int:pk>/<str:action>/                  | 302  422  404  422  404  404  302
"""
MEDIATION_PAGE_MATRIX = parse_matrix(MEDIATION_PAGE_MATRIX_TEXT, MEDIATION_COLUMNS)


def _mediation_case(mw: Any) -> Any:
    from tongxin.mediation.tests.conftest import new_case

    return new_case(mw)


MEDIATION_PAGE_CASES: dict[str, Callable[[Any], Ask]] = {
    "GET /mediation/": lambda mw: Ask("/mediation/"),
    "POST /mediation/": lambda mw: Ask("/mediation/", {"q": "张三"}),
    "GET /mediation/new/": lambda mw: Ask("/mediation/new/"),
    "GET /mediation/numbers/": lambda mw: Ask("/mediation/numbers/"),
    "GET /mediation/<int:pk>/": lambda mw: Ask(f"/mediation/{_mediation_case(mw).pk}/"),
    "GET /mediation/<int:pk>/#missing": lambda mw: Ask(f"/mediation/{MISSING}/"),
    "POST /mediation/<int:pk>/parties/<int:party_pk>/reveal/": lambda mw: (
        lambda case: Ask(f"/mediation/{case.pk}/parties/{case.parties.first().pk}/reveal/"))(_mediation_case(mw)),
    "POST /mediation/<int:pk>/<str:action>/": lambda mw: (
        lambda case: Ask(f"/mediation/{case.pk}/mediate/", {"mediate-version": case.version, "mediate-note": "开始调解"}))(
        _mediation_case(mw)),
}


def mediation_counts() -> tuple[int, ...]:
    from tongxin.mediation.models import CaseEvent, DisputeCase

    return DisputeCase.objects.count(), CaseEvent.objects.count(), AuditEvent.objects.count()


def test_mediation_cases_match_rows():
    assert set(MEDIATION_PAGE_CASES) == set(MEDIATION_PAGE_MATRIX)


@pytest.mark.django_db
@pytest.mark.parametrize("page", list(MEDIATION_PAGE_MATRIX))
def test_mediation_page_matrix(world, page):
    from tongxin.mediation.tests.conftest import build_mediation_world

    mw = build_mediation_world(world)
    method = page.split()[0]
    wrong, seen = {}, []
    for column in MEDIATION_COLUMNS:
        asked = MEDIATION_PAGE_CASES[page](mw)
        before = mediation_counts()
        response = ask(client_for(mw, MEDIATION_USERS[column]), method, asked)
        seen.append(str(response.status_code))
        expected = MEDIATION_PAGE_MATRIX[page][column]
        if response.status_code != expected:
            wrong[column] = f"expected {expected}, got {response.status_code}"
        if response.status_code in {401, 403, 404, 422} or column in {"leader", "anon"}:
            assert mediation_counts() == before, f"{column} {page} answered {response.status_code} but wrote something"
    if RECORD:
        print(f"\n{page:56}| " + "  ".join(f"{s:3}" for s in seen))
    assert not wrong, wrong


# --- the resident's pages (/r/) ------------------------------------------------------------------
# Columns: res (the resident of household A, signed in by code), nbr (the resident of household B, the
# next door), mch (the merchant), grid (grid_a's grid worker, who prints household A's codes), opr (the
# 12345 operator, city-wide staff), outB (district B's dispatcher), anon. Resident pages answer 401 (a page
# saying "scan your code") to people without a resident session; staff pages send residents to the staff
# login (302); a signed-in resident scanning their own code goes home (302).
RESIDENT_COLUMNS = ("res", "nbr", "mch", "grid", "opr", "outB", "anon")
RESIDENT_PAGE_MATRIX_TEXT = """
page                                                    | res  nbr  mch  grid opr  outB anon
GET  /r/home/                                           | 200  200  200  401  401  401  401
POST /r/logout/                                         | 200  200  200  200  200  200  200
GET  /r/report/                                         | 200  200  200  401  401  401  401
GET  /r/report/suggest/                                 | 200  200  200  401  401  401  401
GET  /r/requests/                                       | 200  200  200  401  401  401  401
GET  /r/requests/<int:pk>/                              | 200  404  404  401  401  401  401
GET  /r/requests/<int:pk>/#missing                      | 404  404  404  401  401  401  401
POST /r/requests/<int:pk>/rate/                         | 302  404  404  401  401  401  401
GET  /r/board/                                          | 200  200  200  200  200  200  200
GET  /r/board.json                                      | 200  200  200  200  200  200  200
GET  /r/board/outlines.json                             | 200  200  200  200  200  200  200
GET  /r/staff/                                          | 302  302  302  200  200  404  302
GET  /r/staff/code/<str:kind>/<int:pk>.<str:fmt>        | 302  302  302  200  200  404  302
GET  /r/staff/print/<int:area_id>/<str:building>/       | 302  302  302  200  200  404  302
GET  /r/<code:token>/                                   | 302  200  200  200  200  200  200
GET  /r/<code:token>/#forged                            | 404  404  404  404  404  404  404
"""
RESIDENT_PAGE_MATRIX = parse_matrix(RESIDENT_PAGE_MATRIX_TEXT, RESIDENT_COLUMNS)


def _resident_client(place: Any, column: str) -> Client:
    from django.core import signing

    from tongxin.residents.session import COOKIE, SALT

    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = CSRF
    signer = signing.get_cookie_signer(salt=COOKIE + SALT)
    if column == "res":
        client.cookies[COOKIE] = signer.sign(f"h:{place.household.pk}:{place.resident.pk}:1")
    elif column == "nbr":
        client.cookies[COOKIE] = signer.sign(f"h:{place.other_household.pk}:{place.other_resident.pk}:1")
    elif column == "mch":
        client.cookies[COOKIE] = signer.sign(f"m:{place.merchant.pk}:0:1")
    elif column in {"grid", "opr", "outB"}:
        client.force_login(place.world.user({"grid": "grid_worker", "opr": "operator", "outB": "dispatcher_b"}[column]))
    return client


CSRF = "matrixcsrftoken0123456789abcdefg"


def _resident_order(place: Any) -> int:
    from tongxin.residents.tests.test_permission_matrix import _replied_order

    return _replied_order(place)


RESIDENT_PAGE_CASES: dict[str, Callable[[Any], Ask]] = {
    "GET /r/home/": lambda p: Ask("/r/home/"),
    "POST /r/logout/": lambda p: Ask("/r/logout/", {}),
    "GET /r/report/": lambda p: Ask("/r/report/"),
    "GET /r/report/suggest/": lambda p: Ask("/r/report/suggest/?q=路灯"),
    "GET /r/requests/": lambda p: Ask("/r/requests/"),
    "GET /r/requests/<int:pk>/": lambda p: Ask(f"/r/requests/{_resident_order(p)}/"),
    "GET /r/requests/<int:pk>/#missing": lambda p: Ask(f"/r/requests/{MISSING}/"),
    "POST /r/requests/<int:pk>/rate/": lambda p: Ask(f"/r/requests/{_resident_order(p)}/rate/",
                                                      {"satisfaction": "satisfied"}),
    "GET /r/board/": lambda p: Ask("/r/board/"),
    "GET /r/board.json": lambda p: Ask("/r/board.json"),
    "GET /r/board/outlines.json": lambda p: Ask("/r/board/outlines.json"),
    "GET /r/staff/": lambda p: Ask("/r/staff/"),
    "GET /r/staff/code/<str:kind>/<int:pk>.<str:fmt>": lambda p: Ask(f"/r/staff/code/h/{p.household.pk}.svg"),
    "GET /r/staff/print/<int:area_id>/<str:building>/": lambda p: Ask(
        f"/r/staff/print/{p.household.area_id}/{p.household.building}/"),
    "GET /r/<code:token>/": lambda p: Ask(f"/r/{p.token}/"),
    "GET /r/<code:token>/#forged": lambda p: Ask(f"/r/{p.token[:-4]}AAAA/"),
}


def test_resident_cases_match_rows():
    assert set(RESIDENT_PAGE_CASES) == set(RESIDENT_PAGE_MATRIX)


@pytest.mark.django_db
@pytest.mark.parametrize("page", list(RESIDENT_PAGE_MATRIX))
def test_resident_page_matrix(world, page):
    from django.core.cache import cache

    from tongxin.residents import services as residents
    from tongxin.residents.tests.conftest import make_place

    cache.clear()
    residents._owner_cache.clear()  # the channel owner of a rolled-back test must not be remembered
    place = make_place(world)
    method = page.split()[0]
    wrong, seen = {}, []
    for column in RESIDENT_COLUMNS:
        asked = RESIDENT_PAGE_CASES[page](place)
        if method == "POST":
            asked.data = {**(asked.data or {}), "csrfmiddlewaretoken": CSRF}
        before = counts()
        response = ask(_resident_client(place, column), method, asked)
        seen.append(str(response.status_code))
        expected = RESIDENT_PAGE_MATRIX[page][column]
        if response.status_code != expected:
            wrong[column] = f"expected {expected}, got {response.status_code}"
        if response.status_code in {401, 403, 404}:
            assert counts() == before, f"{column} {page} answered {response.status_code} but wrote something"
    residents._owner_cache.clear()
    if RECORD:
        print(f"\n{page:56}| " + "  ".join(f"{s:3}" for s in seen))
    assert not wrong, wrong
