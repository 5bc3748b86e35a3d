"""The consultation API's permission matrix: every operation under /api/v1/participation/ (staff) and
/api/v1/residents/topics (the resident's cookie) × every kind of caller, over HTTP, each cell on a fresh
world. Registered in tests/test_permission_matrix.py (OWN_MATRICES "/participation/" and
"/residents/topics"); an operation added under either prefix without a row fails
``test_matrix_covers_every_topic_endpoint``.

Columns: the staff roles of the test world (as in tests/test_permission_matrix.py: operator, dispatcher,
supervisor, dispatcher_b, handler, water_handler, edu_handler, grid_worker of grid A, leader of the city,
leader_b of district B, admin, nobody), then ``res`` the owner of household 0 of building 3号楼 (an
elector of the cell's topic), ``nbr`` the owner of the household in building 5号楼 of the same grid (not
an elector), ``mch`` a merchant's contact signed in at the merchant's code (no vote), ``anon`` nobody.

The cell's topic is scoped to building 3号楼 (grid A), one vote per household, results published live.
Readers are grid workers (their area), leaders (their area) and admins; writers are grid workers and
admins. 404: outside your area or no reader role (exactly like a missing topic, see the ``#missing``
rows); 403: you may read it but not run it; 401: the wrong kind of session (staff endpoints take the
staff session, resident endpoints only the resident's cookie). A refused cell writes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client

from tongxin.core.models import AuditEvent
from tongxin.participation import services
from tongxin.participation.models import Elector, Option, Participation, ParticipationChoice, Topic
from tongxin.residents import services as rs
from tongxin.residents.choices import CodeKind
from tongxin.residents.services import LoginResult
from tongxin.residents.session import COOKIE, session_start
from tongxin.testing import World, parse_matrix

from .conftest import Estate, make_estate, open_topic, topic_input
from .test_api import body
from .test_views import as_resident

STAFF = ("operator", "dispatcher", "supervisor", "dispatcher_b", "handler", "water_handler", "edu_handler",
         "grid_worker", "leader", "leader_b", "admin", "nobody")
COLUMNS = (*STAFF, "res", "nbr", "mch", "anon")
API = "/api/v1"
MISSING = 987654321  # a topic id nobody has
PREFIXES = ("/participation/", "/residents/topics")

MATRIX_TEXT = """
endpoint                                         | opr  dsp  sup  dspB hdl  wtr  edu  grid ldr  ldrB adm  nob  res  nbr  mch  anon
GET  /participation/topics                       | 200  200  200  200  200  200  200  200  200  200  200  200  401  401  401  401
POST /participation/topics                       | 403  403  403  403  403  403  403  201  403  403  201  403  401  401  401  401
GET  /participation/topics/{topic_id}            | 404  404  404  404  404  404  404  200  200  404  200  404  401  401  401  401
GET  /participation/topics/{topic_id}#missing    | 404  404  404  404  404  404  404  404  404  404  404  404  401  401  401  401
PUT  /participation/topics/{topic_id}            | 404  404  404  404  404  404  404  200  403  404  200  404  401  401  401  401
POST /participation/topics/{topic_id}/open       | 404  404  404  404  404  404  404  200  403  404  200  404  401  401  401  401
POST /participation/topics/{topic_id}/close      | 404  404  404  404  404  404  404  200  403  404  200  404  401  401  401  401
GET  /participation/topics/{topic_id}/results    | 404  404  404  404  404  404  404  200  200  404  200  404  401  401  401  401
GET  /residents/topics                           | 401  401  401  401  401  401  401  401  401  401  401  401  200  200  200  401
GET  /residents/topics/{topic_id}                | 401  401  401  401  401  401  401  401  401  401  401  401  200  404  404  401
GET  /residents/topics/{topic_id}#missing        | 401  401  401  401  401  401  401  401  401  401  401  401  404  404  404  401
GET  /residents/topics/{topic_id}/receipt        | 401  401  401  401  401  401  401  401  401  401  401  401  200  404  404  401
GET  /residents/topics/{topic_id}/results        | 401  401  401  401  401  401  401  401  401  401  401  401  200  404  404  401
POST /residents/topics/{topic_id}/vote           | 401  401  401  401  401  401  401  401  401  401  401  401  201  404  404  401
"""


MATRIX = parse_matrix(MATRIX_TEXT, COLUMNS)

# Cells that reveal a permission bug: (endpoint, column) → the reason; the cell keeps its expected value
# and is marked xfail(strict=True) until the app is fixed.
KNOWN_BUGS: dict[tuple[str, str], str] = {}


@dataclass
class Case:
    """How to call one endpoint: the topic it needs (None: no topic; "draft", "open", or "voted": open,
    household 0 has voted) and the JSON body."""

    state: str | None = None
    body: Callable[[Estate, Topic | None], dict[str, Any]] | None = None
    missing: bool = False


def _first_option(estate: Estate, topic: Topic | None) -> dict[str, Any]:
    assert topic is not None
    return {"option_ids": [topic.options.order_by("position", "id").first().pk]}


CASES: dict[str, Case] = {
    "GET /participation/topics": Case(),
    "POST /participation/topics": Case(body=lambda e, t: body(e.world)),
    "GET /participation/topics/{topic_id}": Case("open"),
    "GET /participation/topics/{topic_id}#missing": Case("open", missing=True),
    "PUT /participation/topics/{topic_id}": Case("draft", body=lambda e, t: body(e.world, title="垃圾分类投放点（修订）")),
    "POST /participation/topics/{topic_id}/open": Case("draft"),
    "POST /participation/topics/{topic_id}/close": Case("open"),
    "GET /participation/topics/{topic_id}/results": Case("open"),
    "GET /residents/topics": Case("open"),
    "GET /residents/topics/{topic_id}": Case("open"),
    "GET /residents/topics/{topic_id}#missing": Case("open", missing=True),
    "GET /residents/topics/{topic_id}/receipt": Case("voted"),
    "GET /residents/topics/{topic_id}/results": Case("open"),
    "POST /residents/topics/{topic_id}/vote": Case("open", body=_first_option),
}


def topic_routes() -> set[str]:
    """``METHOD /path`` of every operation of the Ninja api under the two prefixes (read from the api's URL
    patterns, as tests/test_permission_matrix.py does)."""
    from tongxin.workorders.tests.test_api import api_routes

    return {f"{method} {path}" for method, path in api_routes() if path.startswith(PREFIXES)}


def test_matrix_covers_every_topic_endpoint(db):
    rows = {key.split("#")[0] for key in MATRIX}
    routes = topic_routes()
    assert rows == routes, {"missing": sorted(routes - rows), "stale": sorted(rows - routes)}
    assert set(CASES) == set(MATRIX)


# --- the cell ------------------------------------------------------------------------------------

CSRF = "matrixcsrftoken0123456789abcdefg"


@dataclass
class Scene:
    estate: Estate
    merchant: Any
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def world(self) -> World:
        return self.estate.world


def make_scene(world: World) -> Scene:
    estate = make_estate(world)
    merchant = rs.merchant_create(name="小王便利店", address="甲社区商业街8号", area=world.community_a,
                                  licence_number="91150602MA0000000X", contact_name="王店长",
                                  contact_phone="13900003333")
    return Scene(estate=estate, merchant=merchant)


def building_topic(scene: Scene, **overrides: Any) -> Any:
    """The cell's topic, drawn up by grid A's grid worker: building 3号楼, one vote per household, live results."""
    values: dict[str, Any] = {"scope_kind": "building", "area_id": None, "building_id": scene.estate.building.pk,
                              "publication": "live"}
    return topic_input(scene.world, **(values | overrides))


def topic_in(scene: Scene, state: str) -> Topic:
    world = scene.world
    if state == "draft":
        return services.topic_create(actor=world.user("grid_worker"), data=building_topic(scene))
    topic = open_topic(world, building_topic(scene))
    if state == "voted":
        option = topic.options.order_by("position", "id").first()
        services.topic_vote_cast(topic_id=topic.pk, resident=scene.estate.owners[0], option_ids=[option.pk])
    return topic


def merchant_signed_in(client: Client, merchant: Any) -> Client:
    response = HttpResponse()
    session_start(response, LoginResult(kind=CodeKind.MERCHANT, target_id=merchant.pk, resident_id=None,
                                        code_version=merchant.code_version))
    client.cookies[COOKIE] = response.cookies[COOKIE].value
    return client


def client_for(scene: Scene, column: str, *, enforce_csrf: bool | None = None) -> Client:
    """Staff: a Django session. Residents: the resident's signed cookie with a CSRF cookie (sent back in
    X-CSRFToken on writes), exactly as the phone pages do. CSRF is enforced for residents (the resident's
    auth checks it itself) unless ``enforce_csrf`` says otherwise."""
    client = Client(enforce_csrf_checks=column in {"res", "nbr", "mch"} if enforce_csrf is None else enforce_csrf)
    if column in STAFF:
        client.force_login(scene.world.user(column))
    elif column == "res":
        as_resident(client, scene.estate.owners[0])
    elif column == "nbr":
        as_resident(client, scene.estate.other_owner)
    elif column == "mch":
        merchant_signed_in(client, scene.merchant)
    client.cookies["csrftoken"] = CSRF
    return client


def fingerprint() -> tuple[Any, ...]:
    """Everything a consultation call may write: topics (and their state), options, electors, ballots, audit."""
    from tongxin.points.models import Entry

    topics = tuple(Topic.objects.order_by("pk").values_list("pk", "status", "title", "body", "opened_at", "closed_at",
                                                            "electors_count"))
    options = tuple(Option.objects.order_by("pk").values_list("pk", "label", "ballots"))
    return (topics, options, Elector.objects.count(), Participation.objects.count(),
            ParticipationChoice.objects.count(), AuditEvent.objects.count(), Entry.objects.count())


def call(scene: Scene, column: str, endpoint: str) -> Any:
    case = CASES[endpoint]
    method, path = endpoint.split("#")[0].split()
    topic = topic_in(scene, case.state) if case.state else None
    topic_id = MISSING if case.missing else (topic.pk if topic else 0)
    url = API + path.format(topic_id=topic_id)
    data = case.body(scene.estate, topic) if case.body else None
    client = client_for(scene, column)
    client.raise_request_exception = False  # a 500 is the cell's answer
    before = fingerprint()
    if method == "GET":
        response = client.get(url)
    else:
        send = client.put if method == "PUT" else client.post
        response = send(url, data or {}, content_type="application/json", HTTP_X_CSRFTOKEN=CSRF)
    if response.status_code >= 400:
        assert fingerprint() == before, f"{column} {endpoint} answered {response.status_code} but wrote something"
        assert set(response.json()) == {"code", "message", "fields"}, response.content[:300]
    return response


RECORD = os.environ.get("TONGXIN_MATRIX_RECORD") == "1"  # print what each row answers, to write a new row


def _cells() -> list[Any]:
    cells = []
    for endpoint in MATRIX:
        for column in COLUMNS:
            bug = KNOWN_BUGS.get((endpoint, column))
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            cells.append(pytest.param(endpoint, column, marks=marks, id=f"{endpoint} as {column}"))
    return cells


@pytest.mark.django_db
@pytest.mark.parametrize(("endpoint", "column"), _cells())
def test_cell(world, endpoint, column):
    scene = make_scene(world)
    response = call(scene, column, endpoint)
    if RECORD:
        print(f"\n{endpoint:48} {column:14} {response.status_code}")
    expected = MATRIX[endpoint][column]
    assert response.status_code == expected, (endpoint, column, response.content[:300])


@pytest.mark.django_db
def test_a_refused_write_leaves_the_topic_as_it_was(world):
    """The write rows above check "nothing written" on every refusal; here the one topic is asked by every
    refused caller in turn and must still be the grid worker's unchanged draft."""
    scene = make_scene(world)
    topic = topic_in(scene, "draft")
    for column in COLUMNS:
        if column in {"grid_worker", "admin"}:
            continue
        client = client_for(scene, column)
        for method, path, data in (("PUT", f"/participation/topics/{topic.pk}", body(world, title="改掉")),
                                   ("POST", f"/participation/topics/{topic.pk}/open", None),
                                   ("POST", f"/participation/topics/{topic.pk}/close", None)):
            send = client.put if method == "PUT" else client.post
            assert send(API + path, data or {}, content_type="application/json",
                        HTTP_X_CSRFTOKEN=CSRF).status_code in {401, 403, 404}, (column, method, path)
    topic.refresh_from_db()
    assert (topic.status, topic.title, topic.electors_count) == ("draft", "小区停车位划线方案", 0)
