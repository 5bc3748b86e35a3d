"""The consultation pages' matrix: every page pattern of tongxin.participation (the staff's /participation/
and the resident's /r/topics/) × every kind of user, over HTTP, each cell on a fresh world. Read by
tests/test_security_page_matrix.py's covered_page_patterns(); a page added without a row fails
``test_page_matrix_covers_every_participation_page`` (and the site-wide test_matrix_covers_every_page).

Columns as in test_api_matrix.py: the staff roles of the test world, then ``res`` (an elector of the cell's
topic, signed in with the household's code), ``nbr`` (a resident of the same grid who is not an elector),
``mch`` (a merchant's contact: no vote), ``anon``. The cell's topic is grid A's grid worker's, scoped to
building 3号楼, live results. ``#missing`` rows guess an id nobody has (404, as for a topic outside).

Staff pages: readers (grid worker, leader in their areas, admin) see; writers (grid worker, admin) act;
a leader's action on a topic he sees comes back as a redirect with the reason in a message (302, nothing
written); everybody else 404; no staff session (a resident's cookie is none) 302 to the login. Resident
pages: 401 (the "scan your code" page) without a resident of a household signed in, 404 for a topic the
household has no vote in. Every POST of a caller who may not write writes nothing.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from tongxin.participation.models import Topic
from tongxin.testing import parse_matrix

from .test_api_matrix import COLUMNS, CSRF, MISSING, Scene, client_for, fingerprint, make_scene, topic_in

PAGE_MATRIX_TEXT = """
page                                         | opr  dsp  sup  dspB hdl  wtr  edu  grid ldr  ldrB adm  nob  res  nbr  mch  anon
GET  /participation/                         | 404  404  404  404  404  404  404  200  200  200  200  404  302  302  302  302
GET  /participation/new/                     | 404  404  404  404  404  404  404  200  404  404  200  404  302  302  302  302
POST /participation/new/                     | 404  404  404  404  404  404  404  302  404  404  302  404  302  302  302  302
GET  /participation/<int:pk>/                | 404  404  404  404  404  404  404  200  200  404  200  404  302  302  302  302
GET  /participation/<int:pk>/#missing        | 404  404  404  404  404  404  404  404  404  404  404  404  302  302  302  302
GET  /participation/<int:pk>/edit/           | 404  404  404  404  404  404  404  200  404  404  200  404  302  302  302  302
POST /participation/<int:pk>/edit/           | 404  404  404  404  404  404  404  302  404  404  302  404  302  302  302  302
GET  /participation/<int:pk>/export.xlsx     | 404  404  404  404  404  404  404  200  200  404  200  404  302  302  302  302
GET  /participation/<int:pk>/export.xlsx#draft | 404  404  404  404  404  404  404  404  404  404  404  404  302  302  302  302
POST /participation/<int:pk>/<str:action>/   | 404  404  404  404  404  404  404  302  302  404  302  404  302  302  302  302
POST /participation/<int:pk>/<str:action>/#missing | 404  404  404  404  404  404  404  404  404  404  404  404  302  302  302  302
GET  /r/topics/                              | 401  401  401  401  401  401  401  401  401  401  401  401  200  200  401  401
GET  /r/topics/<int:pk>/                     | 401  401  401  401  401  401  401  401  401  401  401  401  200  404  401  401
GET  /r/topics/<int:pk>/#missing             | 401  401  401  401  401  401  401  401  401  401  401  401  404  404  401  401
POST /r/topics/<int:pk>/                     | 401  401  401  401  401  401  401  401  401  401  401  401  302  404  401  401
"""


PAGE_MATRIX = parse_matrix(PAGE_MATRIX_TEXT, COLUMNS)

# Cells that reveal a permission bug: (page, column) → the reason; xfail(strict=True) until fixed.
KNOWN_BUGS: dict[tuple[str, str], str] = {}

# Who may write through each POST row (everybody else must write nothing, whatever the answer).
WRITERS = {"POST /r/topics/<int:pk>/": {"res"}}
STAFF_WRITERS = {"grid_worker", "admin"}


def _form(scene: Scene, **overrides: str) -> dict[str, Any]:
    now = timezone.localtime()
    data = {
        "title": "健身器材选址", "body": "社区拟新增一组健身器材，请选择地点。", "kind": "livelihood", "matter": "",
        "scope_kind": "grid", "area_id": str(scene.world.grid_a.pk), "eligibility": "household",
        "choice_mode": "single", "max_choices": "1", "options": "东门广场\n3号楼北侧",
        "opens_at": f"{now:%Y-%m-%dT%H:%M}", "closes_at": f"{now + dt.timedelta(days=10):%Y-%m-%dT%H:%M}",
        "publication": "on_close",
    }
    return data | overrides


def _vote(scene: Scene) -> tuple[str, dict[str, Any]]:
    topic = topic_in(scene, "open")
    return f"/r/topics/{topic.pk}/", {"options": [topic.options.order_by("position", "id").first().pk]}


# (url, POST data or None) from the cell's scene.
PAGE_CASES: dict[str, Callable[[Scene], tuple[str, dict[str, Any] | None]]] = {
    "GET /participation/": lambda s: ("/participation/", None),
    "GET /participation/new/": lambda s: ("/participation/new/", None),
    "POST /participation/new/": lambda s: ("/participation/new/", _form(s)),
    "GET /participation/<int:pk>/": lambda s: (f"/participation/{topic_in(s, 'open').pk}/", None),
    "GET /participation/<int:pk>/#missing": lambda s: (f"/participation/{MISSING}/", None),
    "GET /participation/<int:pk>/edit/": lambda s: (f"/participation/{topic_in(s, 'draft').pk}/edit/", None),
    "POST /participation/<int:pk>/edit/": lambda s: (f"/participation/{topic_in(s, 'draft').pk}/edit/",
                                                     _form(s, title="健身器材选址（修订）")),
    "GET /participation/<int:pk>/export.xlsx": lambda s: (f"/participation/{topic_in(s, 'voted').pk}/export.xlsx", None),
    "GET /participation/<int:pk>/export.xlsx#draft": lambda s: (
        f"/participation/{topic_in(s, 'draft').pk}/export.xlsx", None),
    "POST /participation/<int:pk>/<str:action>/": lambda s: (f"/participation/{topic_in(s, 'draft').pk}/open/", {}),
    "POST /participation/<int:pk>/<str:action>/#missing": lambda s: (f"/participation/{MISSING}/close/", {}),
    "GET /r/topics/": lambda s: ("/r/topics/", None),
    "GET /r/topics/<int:pk>/": lambda s: (f"/r/topics/{topic_in(s, 'open').pk}/", None),
    "GET /r/topics/<int:pk>/#missing": lambda s: (f"/r/topics/{MISSING}/", None),
    "POST /r/topics/<int:pk>/": _vote,
}


def participation_patterns() -> set[str]:
    """Every URL pattern of the site whose view is in tongxin.participation, as ``/pattern``."""
    from tongxin import participation

    def walk(entries: list[Any], prefix: str) -> list[str]:
        found = []
        for entry in entries:
            if isinstance(entry, URLResolver):
                found += walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern) and entry.callback.__module__.startswith(participation.__name__):
                found.append("/" + prefix + str(entry.pattern))
        return found

    return set(walk(get_resolver().url_patterns, ""))


def covered_patterns() -> set[str]:
    """The URL patterns this table covers (read by tests/test_security_page_matrix.py)."""
    return {key.split()[1].split("#")[0] for key in PAGE_MATRIX}


def test_page_matrix_covers_every_participation_page(db):
    routes = participation_patterns()
    assert covered_patterns() == routes, {"missing": sorted(routes - covered_patterns()),
                                          "stale": sorted(covered_patterns() - routes)}
    assert set(PAGE_CASES) == set(PAGE_MATRIX)


RECORD = os.environ.get("TONGXIN_MATRIX_RECORD") == "1"  # print what each cell answers, to write a new row


def _cells() -> list[Any]:
    cells = []
    for page in PAGE_MATRIX:
        for column in COLUMNS:
            bug = KNOWN_BUGS.get((page, column))
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            cells.append(pytest.param(page, column, marks=marks, id=f"{page} as {column}"))
    return cells


@pytest.mark.django_db
@pytest.mark.parametrize(("page", "column"), _cells())
def test_page_cell(world, page, column):
    scene = make_scene(world)
    method = page.split()[0]
    url, data = PAGE_CASES[page](scene)
    client = client_for(scene, column, enforce_csrf=True)
    client.raise_request_exception = False  # a 500 is the cell's answer
    before = fingerprint()
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, {**(data or {}), "csrfmiddlewaretoken": CSRF})
    if RECORD:
        print(f"\n{page:48} {column:14} {response.status_code}")
    expected = PAGE_MATRIX[page][column]
    assert response.status_code == expected, (page, column, response.content[:300])
    writers = WRITERS.get(page.split("#")[0], STAFF_WRITERS)
    if response.status_code >= 400 or (method == "POST" and column not in writers):
        assert fingerprint() == before, f"{column} {page} answered {response.status_code} but wrote something"
    if response.status_code == 302 and column not in writers | {"leader"}:
        assert response["Location"].startswith("/accounts/login/"), (page, column, response["Location"])


@pytest.mark.django_db
def test_a_leaders_refused_action_says_why(world, client):
    """The leader's 302 on an action is the topic page with the reason, not a login redirect."""
    scene = make_scene(world)
    topic = topic_in(scene, "open")
    client.force_login(world.user("leader"))
    page = client.post(f"/participation/{topic.pk}/close/", follow=True).content.decode()
    assert "您只能查看此议题，不能修改" in page
    assert Topic.objects.get(pk=topic.pk).status == "open"
