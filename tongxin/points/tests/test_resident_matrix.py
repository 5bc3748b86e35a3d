"""The rest of the points routes, cell by cell over HTTP: the resident's phone pages (/r/points/…) for the
household's own resident, a neighbour in the same grid, a resident of district B, a signed-in staff member
(no household session) and nobody; and the staff's POST-only decisions (award, appeal, hours) for the
roles of tests' matrix. The records belong to the resident of grid A. 404 is "not yours" (the same as
missing); 401 is the resident pages' "sign in with your household code" page; refused cells write nothing.
The activity's on-site code page opens for any signed-in resident holding the code (the code is on a
poster at the place; the page shows only the activity, and checking in needs a sign-up of one's own area).
A large award is decided by the points committee (supervisors, leaders, admins of the area), never by a
grid worker, who proposes.
Together with test_permission_matrix.py this covers every points route (tests/test_security_page_matrix.py
reads both tables)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tongxin.points import services
from tongxin.points.models import Appeal, Entry, PendingAward, Redemption, Rule, Signup
from tongxin.testing import PASSWORD, parse_matrix

from .conftest import sign_in_resident

pytestmark = pytest.mark.django_db

PEOPLE = ("own", "nbr", "far", "staff", "anon")
RESIDENT_MATRIX_TEXT = """
page                                              | own  nbr  far  staff anon
GET  /r/points/                                   | 200  200  200  401  401
GET  /r/points/card/                              | 200  200  200  401  401
GET  /r/points/mall/                              | 200  200  200  401  401
POST /r/points/mall/<int:pk>/redeem/              | 302  302  404  401  401
GET  /r/points/redemptions/<int:pk>/              | 200  404  404  401  401
POST /r/points/redemptions/<int:pk>/cancel/       | 302  404  404  401  401
GET  /r/points/appeal/<int:entry_pk>/             | 200  404  404  401  401
GET  /r/points/volunteer/                         | 200  200  200  401  401
POST /r/points/volunteer/<int:pk>/signup/         | 302  302  404  401  401
POST /r/points/volunteer/<int:pk>/cancel/         | 302  404  404  401  401
GET  /r/points/v/<str:token>/                     | 200  200  200  401  401
"""
ROLES = ("clerk", "clerk_b", "grid_worker", "supervisor_a", "leader_b", "handler", "admin", "nobody", "anon")
STAFF_MATRIX_TEXT = """
action                                                                 | clk  clkB grid supA ldrB hdl  adm  nob  anon
POST /points/awards/<int:pk>/decide/                                   | 404  404  404  302  404  404  302  404  302
POST /points/appeals/<int:pk>/decide/                                  | 404  404  302  302  404  404  302  404  302
POST /points/activities/<int:pk>/signups/<int:signup_pk>/confirm/      | 404  404  404  302  404  404  302  404  302
"""


RESIDENT_MATRIX = parse_matrix(RESIDENT_MATRIX_TEXT, PEOPLE)
STAFF_MATRIX = parse_matrix(STAFF_MATRIX_TEXT, ROLES)
MATRIX = {**RESIDENT_MATRIX, **STAFF_MATRIX}  # read by tests/test_security_page_matrix.py


def _records(town):
    """The own resident's records: a redemption, a deduction (appealable), a sign-up, and a mall item and
    an activity of community A that others may also use."""
    now = timezone.now()
    for person in (town.resident, town.neighbour, town.far_resident):
        for n in range(10):  # virtue points (a deduction needs some) and material points (the mall)
            services.points_earn(resident=person, rule_code="vote_cast", cause_key=f"v:{n}")
            services.points_earn(resident=person, rule_code="report_confirmed", cause_key=f"m:{n}")
    item = services.item_create(actor=town.supervisor_a, area=town.world.community_a, name="米", price=1, stock=5)
    redemption = services.redemption_create(resident=town.resident, item_id=item.pk)
    deduction = services.points_award_by_staff(actor=town.world.user("grid_worker"), resident=town.resident,
                                               rule_code="uncivil_act", cause_label="乱停车")
    activity = services.activity_create(actor=town.supervisor_a, area=town.world.community_a, title="植树",
                                        location="公园", lat=37.1, lng=107.1, capacity=5,
                                        starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2))
    services.signup_create(resident=town.resident, activity=activity)
    return {"item": item, "redemption": redemption, "entry": deduction, "activity": activity}


def _snapshot():
    return (Entry.objects.count(), list(Redemption.objects.values_list("pk", "status")),
            list(Signup.objects.values_list("pk", "status")), Appeal.objects.count(),
            list(PendingAward.objects.values_list("pk", "status")))


def _resident_client(town, who: str) -> Client:
    client = Client()
    if who in {"own", "nbr", "far"}:
        sign_in_resident(client, {"own": town.resident, "nbr": town.neighbour, "far": town.far_resident}[who])
    elif who == "staff":
        assert client.login(username="grid_worker", password=PASSWORD)
    return client


def _resident_path(page: str, records) -> str:
    path = page.split()[1]
    r = records
    return (path.replace("/mall/<int:pk>/", f"/mall/{r['item'].pk}/")
            .replace("/redemptions/<int:pk>/", f"/redemptions/{r['redemption'].pk}/")
            .replace("<int:entry_pk>", str(r["entry"].pk))
            .replace("/volunteer/<int:pk>/", f"/volunteer/{r['activity'].pk}/")
            .replace("<str:token>", services.activity_token(r["activity"])))


RESIDENT_CELLS = [(page, who) for page in RESIDENT_MATRIX for who in PEOPLE]


@pytest.mark.parametrize(("page", "who"), RESIDENT_CELLS, ids=[f"{p} as {w}" for p, w in RESIDENT_CELLS])
def test_resident_cell(page, who, town):
    records = _records(town)
    client = _resident_client(town, who)
    before = _snapshot()
    path = _resident_path(page, records)
    if page.startswith("POST"):
        response = client.post(path, {"reason": "不是我的车"} if "appeal" in path else {})
    else:
        response = client.get(path)
    expected = RESIDENT_MATRIX[page][who]
    assert response.status_code == expected, f"{page} as {who}: {response.status_code}"
    if expected >= 400:
        assert _snapshot() == before, f"{page} as {who} was refused but wrote"


def _staff_client(role: str) -> Client:
    client = Client()
    if role != "anon":
        assert client.login(username=role, password=PASSWORD)
    return client


def _staff_case(page: str, town, records) -> tuple[str, dict[str, str]]:
    if "/awards/" in page:
        Rule.objects.filter(code="commendation").update(amount=150)  # above the approval threshold
        services.points_award_by_staff(actor=town.world.user("grid_worker"), resident=town.resident,
                                       rule_code="commendation", cause_label="见义勇为", cause_key="hero")
        award = PendingAward.objects.get()
        return f"/points/awards/{award.pk}/decide/", {"decision": "reject", "note": "材料不全"}
    if "/appeals/" in page:
        appeal = services.appeal_file(resident=town.resident, entry_id=records["entry"].pk, reason="不是我的车")
        return f"/points/appeals/{appeal.pk}/decide/", {"decision": "uphold", "note": "核实无误"}
    signup = Signup.objects.get(activity=records["activity"])
    Signup.objects.filter(pk=signup.pk).update(status="checked_out", checked_in_at=timezone.now() - timedelta(hours=2),
                                               checked_out_at=timezone.now() - timedelta(hours=1))
    return f"/points/activities/{records['activity'].pk}/signups/{signup.pk}/confirm/", {"hours": "1"}


STAFF_CELLS = [(page, role) for page in STAFF_MATRIX for role in ROLES]


@pytest.mark.parametrize(("page", "role"), STAFF_CELLS, ids=[f"{p} as {r}" for p, r in STAFF_CELLS])
def test_staff_action_cell(page, role, town):
    records = _records(town)
    path, data = _staff_case(page, town, records)
    before = _snapshot()
    response = _staff_client(role).post(path, data)
    expected = STAFF_MATRIX[page][role]
    assert response.status_code == expected, f"{page} as {role}: {response.status_code}"
    if expected == 404 or role == "anon":
        assert _snapshot() == before, f"{page} as {role} was refused but wrote"


def test_every_resident_points_route_and_post_action_has_a_row():
    from django.urls import get_resolver

    resident = {"/r/points/" + str(p.pattern) for p in get_resolver("tongxin.points.resident_urls").url_patterns}
    assert resident == {key.split()[1] for key in RESIDENT_MATRIX}
    post_only = {"/points/awards/<int:pk>/decide/", "/points/appeals/<int:pk>/decide/",
                 "/points/activities/<int:pk>/signups/<int:signup_pk>/confirm/"}
    assert post_only == {key.split()[1] for key in STAFF_MATRIX}
