"""The permission matrix: every role of the test world × every endpoint of /api/v1, over HTTP.

The expected status of each cell is written out in ``MATRIX`` below. The list of endpoints is read
from the API's URL patterns (``api_routes``): an endpoint added without a row here fails
``test_matrix_covers_every_endpoint``. Each cell starts from a fresh order in the state the
endpoint needs (district A, grid_a, category 垃圾清理, dispatched by the catalogue to the housing
bureau as lead and the water company as co-handler), so a success in one cell cannot change the
next. A refused cell must write nothing: no order, no event, no audit row.

Reading the table: 404 means "outside your jurisdiction" (the order looks missing); 403 means
"you can see it but your role may not do this"; 422 on intake means "this place is not yours".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tongxin.testing import World, parse_matrix, real_png
from tongxin.workorders.models import WorkOrder
from tongxin.workorders.tests.test_api import (
    API,
    _fast_password_hashing,  # noqa: F401 - autouse fixture
    api_routes,
    client_for,
    counts,
    create_body,
    order_in,
)

ROLES = ("operator", "dispatcher", "supervisor", "dispatcher_b", "handler", "water_handler", "edu_handler",
         "grid_worker", "leader", "leader_b", "admin", "nobody", "anonymous")

# Columns, in ROLES order: operator, dispatcher, supervisor, dispatcher_b (district B), handler (housing
# bureau, the lead), water_handler (co-handler), edu_handler (district B's education bureau, never
# assigned), grid_worker (grid_a), leader (city), leader_b (district B), admin, nobody (no role),
# anonymous (no session, no token).
MATRIX_TEXT = """
endpoint                                                | opr  dsp  sup  dspB hdl  wtr  edu  grid ldr  ldrB adm  nob  anon
GET  /work-orders                                       | 200  200  200  200  200  200  200  200  200  200  200  200  401
POST /work-orders                                       | 201  201  201  422  403  403  403  201  403  403  201  403  401
GET  /work-orders/{order_id}                            | 200  200  200  404  200  200  404  200  200  404  200  404  401
GET  /work-orders/{order_id}/citizen                    | 200  200  200  404  200  403  404  403  403  404  403  404  401
GET  /work-orders/{order_id}/dispatch-suggestion        | 200  200  200  404  200  200  404  200  200  404  200  404  401
POST /work-orders/{order_id}/attachments                | 201  201  201  404  201  201  404  201  403  404  201  404  401
POST /work-orders/{order_id}/dispatch                   | 200  200  200  404  404  404  404  403  403  404  403  404  401
POST /work-orders/{order_id}/sign                       | 403  403  403  404  200  403  404  403  403  404  403  404  401
POST /work-orders/{order_id}/return                     | 403  403  403  404  200  403  404  403  403  404  403  404  401
POST /work-orders/{order_id}/reassign                   | 403  200  200  404  403  403  404  403  403  404  403  404  401
POST /work-orders/{order_id}/force-dispatch             | 403  200  200  404  403  403  404  403  403  404  403  404  401
POST /work-orders/{order_id}/request-extension          | 403  403  403  404  200  403  404  403  403  404  403  404  401
POST /work-orders/{order_id}/approve-extension          | 403  200  200  404  403  403  404  403  403  404  403  404  401
POST /work-orders/{order_id}/deny-extension             | 403  200  200  404  403  403  404  403  403  404  403  404  401
POST /work-orders/{order_id}/remind                     | 403  200  200  404  403  403  404  403  403  404  403  404  401
POST /work-orders/{order_id}/supervise                  | 403  403  200  404  403  403  404  403  403  404  403  404  401
POST /work-orders/{order_id}/co-reply                   | 403  403  403  404  403  200  404  403  403  404  403  404  401
POST /work-orders/{order_id}/reply                      | 403  403  403  404  200  403  404  403  403  404  403  404  401
POST /work-orders/{order_id}/resolve-on-call            | 200  200  403  404  404  404  404  403  403  404  403  404  401
POST /work-orders/{order_id}/callback                   | 200  200  200  404  403  403  404  403  403  404  403  404  401
POST /work-orders/{order_id}/redo                       | 201  201  201  404  403  403  404  403  403  404  403  404  401
POST /work-orders/{order_id}/merge                      | 200  200  200  404  404  404  404  403  403  404  403  404  401
POST /work-orders/{order_id}/withdraw                   | 200  200  200  404  404  404  404  403  403  404  403  404  401
POST /work-orders/{order_id}/mark-invalid               | 403  200  200  404  404  404  404  403  403  404  403  404  401
POST /work-orders/{order_id}/transfer-police            | 200  200  403  404  404  404  404  403  403  404  403  404  401
POST /work-orders/{order_id}/comment                    | 200  200  200  404  403  403  404  403  403  404  403  404  401
GET  /kpis                                              | 200  200  200  200  200  200  200  200  200  200  200  200  401
GET  /categories                                        | 200  200  200  200  200  200  200  200  200  200  200  200  401
GET  /areas                                             | 200  200  200  200  200  200  200  200  200  200  200  200  401
GET  /areas/{code}                                      | 200  200  200  200  200  200  200  200  200  200  200  200  401
GET  /areas/locate                                      | 200  200  200  200  200  200  200  200  200  200  200  200  401
GET  /departments                                       | 200  200  200  200  200  200  200  200  200  200  200  200  401
GET  /me                                                | 200  200  200  200  200  200  200  200  200  200  200  200  401
POST /insight/classify                                  | 200  200  200  200  200  200  200  200  200  200  200  403  401
GET  /insight/work-orders/{order_id}/duplicates         | 200  200  200  404  200  200  404  200  200  404  200  404  401
GET  /insight/work-orders/{order_id}/department-suggestion | 200  200  200  404  200  200  404  200  200  404  200  404  401
GET  /insight/hotspots                                  | 200  200  200  200  403  403  403  403  200  200  200  403  401
GET  /insight/hot-words                                 | 200  200  200  200  403  403  403  403  200  200  200  403  401
"""

# Rooms with a permission matrix of their own (their own roles and objects): each of those files checks
# that it covers every endpoint under its prefix.
# The longest prefix wins (own_matrix): /residents/topics is the consultation room's, mounted for the
# resident's cookie, the rest of /residents/ the residents room's.
OWN_MATRICES = {"/mediation/": "tongxin/mediation/tests/test_permission_matrix.py",
                "/residents/": "tongxin/residents/tests/test_permission_matrix.py",
                "/residents/topics": "tongxin/participation/tests/test_api_matrix.py",
                "/participation/": "tongxin/participation/tests/test_api_matrix.py",
                "/regions/": "tongxin/regions/tests/test_permission_matrix.py",
                "/grids/": "tongxin/grids/tests/test_permission_matrix.py",
                "/points/": "tongxin/points/tests/test_permission_matrix.py"}


def own_matrix(path: str) -> str | None:
    """The file of the app's own matrix that covers ``path`` (the longest matching prefix), or None."""
    prefixes = [prefix for prefix in OWN_MATRICES if path.startswith(prefix)]
    return OWN_MATRICES[max(prefixes, key=len)] if prefixes else None


MATRIX = parse_matrix(MATRIX_TEXT, ROLES)


PNG = real_png()  # attachments are decoded and re-encoded: a bare signature is refused (422)


@dataclass
class Case:
    """How to call one endpoint: the order state it needs (None: no order) and the request body."""

    state: str | None = None
    body: Callable[[World, WorkOrder | None], dict[str, Any]] = field(default=lambda world, order: {})
    multipart: bool = False
    path: dict[str, str] = field(default_factory=dict)
    query: str = ""  # appended to the URL after "?"


def note(text: str) -> Callable[[World, WorkOrder | None], dict[str, Any]]:
    return lambda world, order: {"note": text}


CASES: dict[str, Case] = {
    "GET /work-orders": Case(),
    "POST /work-orders": Case(body=lambda world, order: create_body(channel="grid")),
    "GET /work-orders/{order_id}": Case("dispatched"),
    "GET /work-orders/{order_id}/citizen": Case("dispatched"),
    "GET /work-orders/{order_id}/dispatch-suggestion": Case("dispatched"),
    "POST /work-orders/{order_id}/attachments": Case("dispatched", multipart=True),
    "POST /work-orders/{order_id}/dispatch": Case("accepted"),
    "POST /work-orders/{order_id}/sign": Case("dispatched"),
    "POST /work-orders/{order_id}/return": Case(
        "dispatched", body=lambda world, order: {"reason": "not_our_duty", "note": "不属于本单位职责"}),
    "POST /work-orders/{order_id}/reassign": Case(
        "dispatched", body=lambda world, order: {"lead_department_id": world.education.pk}),
    "POST /work-orders/{order_id}/force-dispatch": Case("returned", body=note("属于住建职责")),
    "POST /work-orders/{order_id}/request-extension": Case(
        "in_progress",
        body=lambda world, order: {"requested_due_at": (order.due_at + timedelta(days=2)).isoformat(), "reason": "需协调"},
    ),
    "POST /work-orders/{order_id}/approve-extension": Case("extension_pending"),
    "POST /work-orders/{order_id}/deny-extension": Case("extension_pending", body=note("请按期办结")),
    "POST /work-orders/{order_id}/remind": Case("dispatched"),
    "POST /work-orders/{order_id}/supervise": Case("dispatched", body=note("督办")),
    "POST /work-orders/{order_id}/co-reply": Case("dispatched", body=lambda world, order: {"text": "已配合"}),
    "POST /work-orders/{order_id}/reply": Case("co_replied", body=lambda world, order: {"text": "已办结"}),
    "POST /work-orders/{order_id}/resolve-on-call": Case("accepted", body=lambda world, order: {"text": "已当场答复"}),
    "POST /work-orders/{order_id}/callback": Case("replied", body=lambda world, order: {"satisfaction": "satisfied"}),
    "POST /work-orders/{order_id}/redo": Case(
        "replied", body=lambda world, order: {"cause": "not_solved", "note": "问题未解决"}),
    "POST /work-orders/{order_id}/merge": Case(
        "accepted", body=lambda world, order: {"into_id": order_in(world, "accepted").pk, "note": "重复"}),
    "POST /work-orders/{order_id}/withdraw": Case("accepted", body=note("来电人撤回")),
    "POST /work-orders/{order_id}/mark-invalid": Case("accepted", body=note("骚扰电话")),
    "POST /work-orders/{order_id}/transfer-police": Case("accepted", body=note("涉及治安")),
    "POST /work-orders/{order_id}/comment": Case(
        "dispatched", body=lambda world, order: {"text": "来电人补充：楼道也有垃圾", "source": "hotline"}),
    "GET /kpis": Case(),
    "GET /categories": Case(),
    "GET /areas": Case(),
    "GET /areas/{code}": Case(path={"code": "150602001"}),
    "GET /areas/locate": Case(query="lng=107.1&lat=37.1"),
    "GET /departments": Case(),
    "GET /me": Case(),
    "POST /insight/classify": Case(body=lambda world, order: {"text": "小区门口垃圾三天没人清理"}),
    "GET /insight/work-orders/{order_id}/duplicates": Case("dispatched"),
    "GET /insight/work-orders/{order_id}/department-suggestion": Case("dispatched"),
    "GET /insight/hotspots": Case(),
    "GET /insight/hot-words": Case(),
}


def site_routes() -> dict[str, str]:
    """Every URL pattern of the site outside the API, as ``/pattern`` → the module of its view, read by
    walking the root resolver (so a page mounted anywhere shows up here). The Django admin counts as one
    route, ``/admin/``: every admin view goes through ``AdminSite.admin_view`` (staff only)."""
    from django.urls import URLPattern, URLResolver, get_resolver

    found: dict[str, str] = {}

    def walk(entries: list[Any], prefix: str) -> None:
        for entry in entries:
            route = prefix + str(entry.pattern)
            if route.startswith("api/v1/"):
                continue  # walked operation by operation through api_routes()
            if route.startswith("admin/"):
                found["/admin/"] = "django.contrib.admin"
            elif isinstance(entry, URLResolver):
                walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern):
                found["/" + route] = getattr(entry.callback, "__module__", "")

    walk(get_resolver().url_patterns, "")
    return found


def uncovered_routes() -> dict[str, list[str]]:
    """The routes no matrix covers: API operations (``METHOD /path``) and page patterns (``/pattern``)."""
    from tests.test_security_page_matrix import covered_page_patterns

    api = {f"{method} {path}" for method, path in api_routes()
           if own_matrix(path) is None} - set(MATRIX)
    pages = set(site_routes()) - covered_page_patterns()
    return {"api": sorted(api), "pages": sorted(pages)}


def test_matrix_covers_every_endpoint(db):
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for prefix, own in OWN_MATRICES.items():
        assert (root / own).exists(), f"the endpoints under {prefix} need the matrix {own}"
    routes = {f"{method} {path}" for method, path in api_routes()
              if own_matrix(path) is None}
    missing, stale = sorted(routes - set(MATRIX)), sorted(set(MATRIX) - routes)
    if missing or stale:
        pytest.fail("API operations not covered by any matrix (docs/security.md says how to add a row):\n  "
                    + "\n  ".join(missing) + "\nrows for operations the API no longer has:\n  " + "\n  ".join(stale),
                    pytrace=False)
    assert set(CASES) == set(MATRIX)


def test_matrix_covers_every_page(db):
    """Every page pattern of the site has a row in a page table (tests/test_security_page_matrix.py); the
    failure lists each uncovered pattern with the module of its view. docs/security.md: how to add one."""
    from tests.test_security_page_matrix import covered_page_patterns

    routes = site_routes()
    missing = {route: routes[route] for route in sorted(set(routes) - covered_page_patterns())}
    stale = sorted(covered_page_patterns() - set(routes))
    if missing or stale:
        pytest.fail("pages not covered by any matrix (docs/security.md says how to add a row):\n  "
                    + "\n  ".join(f"{route}    ({module})" for route, module in missing.items())
                    + "\nrows for pages the site no longer has:\n  " + "\n  ".join(stale), pytrace=False)


def call(world: World, role: str, endpoint: str) -> tuple[int, bytes]:
    case = CASES[endpoint]
    method, path = endpoint.split()
    order = order_in(world, case.state) if case.state else None
    url = API + path.format(order_id=order.pk if order else 0, **case.path) + (f"?{case.query}" if case.query else "")
    body = case.body(world, order)
    before = counts()
    client = client_for(world, role)
    if method == "GET":
        response = client.get(url)
    elif case.multipart:
        response = client.post(url, {"file": SimpleUploadedFile("photo.png", PNG, content_type="image/png")})
    else:
        response = client.post(url, body, content_type="application/json")
    if response.status_code >= 400:
        assert counts() == before, f"{role} {endpoint} answered {response.status_code} but wrote something"
        assert set(response.json()) == {"code", "message", "fields"}
    return response.status_code, response.content[:200]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(scope="module")
def _classifier_file(tmp_path_factory) -> str:
    from tongxin.insight.tests.synthetic import corpus
    from tongxin.insight.training import fit

    texts, labels = corpus(30, seed=1)
    path = tmp_path_factory.mktemp("model") / "synthetic.npz"
    fit(texts, {"level1": labels}).save(path)
    return str(path)


@pytest.fixture(autouse=True)
def _a_classifier(settings, tmp_path, _classifier_file):
    """A small model trained on the synthetic corpus, so that /insight/classify can answer 200."""
    from tongxin.insight.classifier import clear_cache

    settings.TONGXIN_CLASSIFIER_MODEL = _classifier_file
    settings.TONGXIN_CLASSIFIER_DIR = str(tmp_path / "models")
    clear_cache()
    yield
    clear_cache()


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", list(MATRIX))
def test_permission_matrix(world, endpoint):
    wrong = {}
    for role in ROLES:
        expected = MATRIX[endpoint][role]
        status, content = call(world, role, endpoint)
        if status != expected:
            wrong[role] = f"expected {expected}, got {status}: {content!r}"
    assert not wrong, wrong
