"""The page matrix of the basic-information pages (/grid/info/) × the world's staff roles, over HTTP:
every page pattern under /grid/info/ has a row (a page added without one fails), objects of
community A (household A, its resident, its building, a merchant of grid A); ``#missing`` rows guess
ids. Refused cells write nothing and reveal nothing.

Columns as in tests/test_security_page_matrix.py's PAGE_MATRIX. Readers: grid_worker (grid A), leader
(city), leader_b (district B), admin; only grid workers and admins write (leaders: 403 on writes, 404
outside their area, which wins); every other role — and nobody — gets 404, anonymous the login (302).
"""

from __future__ import annotations

import pytest
from django.test import Client

from tongxin.core.models import AuditEvent
from tongxin.residents import services
from tongxin.residents.models import Building, Household, RecordChange, Resident
from tongxin.testing import parse_matrix

from .conftest import make_place

pytestmark = pytest.mark.django_db

ROLES = ("operator", "dispatcher", "supervisor", "dispatcher_b", "handler", "water_handler", "edu_handler",
         "grid_worker", "leader", "leader_b", "admin", "nobody", "anonymous")
MATRIX_TEXT = """
page                                                          | opr  dsp  sup  dspB hdl  wtr  edu  grid ldr  ldrB adm  nob  anon
GET  /grid/info/                                              | 404  404  404  404  404  404  404  302  302  302  302  404  302
GET  /grid/info/<str:kind>/                                   | 404  404  404  404  404  404  404  200  200  200  200  404  302
GET  /grid/info/<str:kind>/#missing                           | 404  404  404  404  404  404  404  404  404  404  404  404  302
GET  /grid/info/import/                                       | 404  404  404  404  404  404  404  200  403  403  200  404  302
POST /grid/info/import/                                       | 404  404  404  404  404  404  404  422  403  403  422  404  302
GET  /grid/info/buildings/new/                                | 404  404  404  404  404  404  404  200  403  403  200  404  302
GET  /grid/info/buildings/<int:pk>/                           | 404  404  404  404  404  404  404  200  200  404  200  404  302
GET  /grid/info/buildings/<int:pk>/#missing                   | 404  404  404  404  404  404  404  404  404  404  404  404  302
GET  /grid/info/buildings/<int:pk>/edit/                      | 404  404  404  404  404  404  404  200  403  404  200  404  302
GET  /grid/info/households/new/                               | 404  404  404  404  404  404  404  200  403  403  200  404  302
GET  /grid/info/households/<int:pk>/                          | 404  404  404  404  404  404  404  200  200  404  200  404  302
GET  /grid/info/households/<int:pk>/#missing                  | 404  404  404  404  404  404  404  404  404  404  404  404  302
GET  /grid/info/households/<int:pk>/edit/                     | 404  404  404  404  404  404  404  200  403  404  200  404  302
POST /grid/info/households/<int:pk>/edit/                     | 404  404  404  404  404  404  404  302  403  404  302  404  302
GET  /grid/info/households/<int:household_pk>/residents/new/  | 404  404  404  404  404  404  404  200  403  404  200  404  302
GET  /grid/info/residents/<int:pk>/                           | 404  404  404  404  404  404  404  200  200  404  200  404  302
GET  /grid/info/residents/<int:pk>/#missing                   | 404  404  404  404  404  404  404  404  404  404  404  404  302
GET  /grid/info/residents/<int:pk>/edit/                      | 404  404  404  404  404  404  404  200  403  404  200  404  302
POST /grid/info/residents/<int:pk>/reveal/                    | 404  404  404  404  404  404  404  200  403  404  200  404  302
GET  /grid/info/merchants/new/                                | 404  404  404  404  404  404  404  200  403  403  200  404  302
GET  /grid/info/merchants/<int:pk>/                           | 404  404  404  404  404  404  404  200  200  404  200  404  302
GET  /grid/info/merchants/<int:pk>/edit/                      | 404  404  404  404  404  404  404  200  403  404  200  404  302
POST /grid/info/merchants/<int:pk>/reveal/                    | 404  404  404  404  404  404  404  200  403  404  200  404  302
"""
MISSING = 987654321


MATRIX = parse_matrix(MATRIX_TEXT, ROLES)


def test_every_basic_information_page_has_a_row(db):
    from django.urls import URLPattern, URLResolver, get_resolver

    found: set[str] = set()

    def walk(entries, prefix):
        for entry in entries:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern) and route.startswith("grid/info/"):
                found.add("/" + route)

    walk(get_resolver().url_patterns, "")
    covered = {key.split()[1].split("#")[0] for key in MATRIX}
    assert found == covered, {"missing": found - covered, "stale": covered - found}


def _url(key: str, objects: dict[str, int]) -> tuple[str, str, dict]:
    method, pattern = key.split()
    missing = pattern.endswith("#missing")
    pattern = pattern.removesuffix("#missing")
    kind = "households"
    url = pattern.replace("<str:kind>", kind)
    for name, pk in objects.items():
        url = url.replace(f"{name}/<int:pk>", f"{name}/{MISSING if missing else pk}")
    url = url.replace("<int:household_pk>", str(MISSING if missing else objects["households"]))
    if missing and "<str:kind>" in pattern:
        url = "/grid/info/no-such-kind/"
    data = {}
    if key == "POST /grid/info/households/<int:pk>/edit/":
        data = {"address": "甲社区幸福小区3号楼2单元101（改）", "grid": "", "building": "", "new_building": "3号楼",
                "unit": "2单元", "room": "101", "floor_area": "89.5"}
    return method, url, data


@pytest.mark.parametrize("key", sorted(MATRIX))
def test_page_cell(key, world):
    place = make_place(world)
    merchant = services.merchant_create(name="网格内商店", address="甲社区幸福小区底商1号", area=world.community_a,
                                        grid=world.grid_a, contact_phone="13900004444")
    objects = {"buildings": Building.objects.get(name="3号楼").pk, "households": place.household.pk,
               "residents": place.resident.pk, "merchants": merchant.pk}
    method, url, data = _url(key, objects)
    for role, expected in MATRIX[key].items():
        client = Client()
        if role != "anonymous":
            client.force_login(world.user(role))
        if key.startswith("POST /grid/info/households/"):
            data["grid"] = world.grid_a.pk
        before = (Household.objects.count(), Resident.objects.count(), RecordChange.objects.count(),
                  AuditEvent.objects.filter(event_type="personal_data_reveal").count())
        response = client.post(url, data) if method == "POST" else client.get(url)
        assert response.status_code == expected, (key, role, response.status_code)
        if expected >= 400 or role == "anonymous":
            after = (Household.objects.count(), Resident.objects.count(), RecordChange.objects.count(),
                     AuditEvent.objects.filter(event_type="personal_data_reveal").count())
            assert after == before, (key, role, "a refused cell wrote something")
