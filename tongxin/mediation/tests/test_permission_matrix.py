"""The mediation permission matrix: every endpoint under /api/v1/mediation × every kind of user, over
HTTP, each cell on a fresh case in the state the endpoint needs. A refused cell writes nothing.

Columns: ``owner`` the mediator who may act (the owning organisation's; for accept/reject the hand-over's
target), ``peer`` a mediator who sees the case but does not own it (the city centre), ``outside`` town B's
mediator, ``leader`` the city leader (reads), ``dispatcher`` the 12345 dispatcher (no mediation role),
``nobody`` a user without roles, ``anon`` no session. 404: outside jurisdiction; 403: seen, not allowed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tongxin.core.models import AuditEvent
from tongxin.mediation import services
from tongxin.mediation.models import CaseEvent, DisputeCase
from tongxin.workorders.models import WorkOrder, WorkOrderEvent
from tongxin.workorders.services import work_order_create
from tongxin.workorders.tests.test_api import api_routes, client_for

from .conftest import new_case

COLUMNS = ("owner", "peer", "outside", "leader", "dispatcher", "nobody", "anon")
MATRIX_TEXT = """
endpoint                                                    | own  peer out  ldr  dsp  nob  anon
GET  /mediation/orgs                                        | 200  200  200  200  200  200  401
GET  /mediation/mediators                                   | 200  200  200  200  200  200  401
GET  /mediation/cases                                       | 200  200  200  200  200  200  401
POST /mediation/cases/search                                | 200  200  200  200  200  200  401
POST /mediation/cases                                       | 201  403  403  403  403  403  401
POST /mediation/cases/from-work-order                       | 403  403  404  403  201  404  401
GET  /mediation/cases/{case_id}                             | 200  200  404  200  404  404  401
GET  /mediation/cases/{case_id}/parties/{party_id}/reveal   | 200  200  404  403  404  404  401
POST /mediation/cases/{case_id}/mediate                     | 200  403  404  403  404  404  401
POST /mediation/cases/{case_id}/route                       | 200  403  404  403  404  404  401
POST /mediation/cases/{case_id}/escalate                    | 200  403  404  403  404  404  401
POST /mediation/cases/{case_id}/accept-handover             | 200  403  404  403  404  404  401
POST /mediation/cases/{case_id}/reject-handover             | 200  403  404  403  404  404  401
POST /mediation/cases/{case_id}/joint                       | 200  403  404  403  404  404  401
POST /mediation/cases/{case_id}/sessions                    | 200  403  404  403  404  404  401
POST /mediation/cases/{case_id}/joint-meetings              | 200  403  404  403  404  404  401
POST /mediation/cases/{case_id}/joint-visits                | 200  403  404  403  404  404  401
POST /mediation/cases/{case_id}/agree                       | 200  403  404  403  404  404  401
POST /mediation/cases/{case_id}/confirm                     | 200  403  404  403  404  404  401
POST /mediation/cases/{case_id}/fail                        | 200  403  404  403  404  404  401
POST /mediation/cases/{case_id}/follow-ups                  | 200  403  404  403  404  404  401
POST /mediation/cases/{case_id}/close                       | 200  403  404  403  404  404  401
POST /mediation/cases/{case_id}/withdraw                    | 200  403  404  403  404  404  401
POST /mediation/cases/{case_id}/reopen                      | 200  403  404  403  404  404  401
POST /mediation/cases/{case_id}/work-orders                 | 201  403  404  403  404  404  401
GET  /mediation/numbers                                     | 200  200  200  200  200  200  401
"""


def _parse() -> dict[str, dict[str, int]]:
    matrix = {}
    for line in MATRIX_TEXT.strip().splitlines()[1:]:
        endpoint, cells = line.split("|")
        method, path = endpoint.split()
        matrix[f"{method} {path}"] = dict(zip(COLUMNS, [int(c) for c in cells.split()], strict=True))
    return matrix


MATRIX = _parse()


def received(mw):
    return new_case(mw), "m_comm"


def mediating(mw):
    case = new_case(mw)
    services.case_mediate(case_id=case.pk, actor=mw.user("m_comm"))
    return case, "m_comm"


def town_mediating(mw):
    case = new_case(mw, org=mw.town, by="m_town", area_code=mw.w.community_a.code)
    services.case_mediate(case_id=case.pk, actor=mw.user("m_town"))
    return case, "m_town"


def handover(mw):
    case, _owner = mediating(mw)
    services.case_escalate(case_id=case.pk, actor=mw.user("m_comm"), to_org_id=mw.town.pk, reason="上报")
    return case, "m_town"


def joint(mw):
    case, _owner = mediating(mw)
    services.case_joint_start(case_id=case.pk, actor=mw.user("m_comm"), leader_id=mw.user("m_town").pk)
    return case, "m_comm"


def agreed(mw):
    case, _owner = mediating(mw)
    services.case_agree(case_id=case.pk, actor=mw.user("m_comm"), text="协议")
    return case, "m_comm"


def followed_up(mw):
    case, _owner = agreed(mw)
    services.case_follow_up(case_id=case.pk, actor=mw.user("m_comm"), note="稳定")
    return case, "m_comm"


def raising(mw):
    case, owner = mediating(mw)
    return case, owner


def none(mw):
    return None, "m_comm"


SESSION = {"place": "调解室", "attendees": "双方", "notes": "记录"}
Builder = Callable[[Any], tuple[Any, str]]
CASES: dict[str, tuple[Builder, Callable[[Any], dict[str, Any]]]] = {
    "GET /mediation/orgs": (none, lambda mw: {}),
    "GET /mediation/mediators": (none, lambda mw: {}),
    "GET /mediation/cases": (received, lambda mw: {}),
    "POST /mediation/cases/search": (received, lambda mw: {"q": "张三"}),
    "POST /mediation/cases": (none, lambda mw: {
        "org_id": mw.community.pk, "title": "t", "description": "d", "dispute_type": "other", "source": "walk_in",
        "parties": [{"name": "张三"}]}),
    "POST /mediation/cases/from-work-order": (none, None),  # built in _body
    "GET /mediation/cases/{case_id}": (received, lambda mw: {}),
    "GET /mediation/cases/{case_id}/parties/{party_id}/reveal": (received, lambda mw: {}),
    "POST /mediation/cases/{case_id}/mediate": (received, lambda mw: {}),
    "POST /mediation/cases/{case_id}/route": (town_mediating, lambda mw: {"to_org_id": mw.community.pk, "reason": "分流"}),
    "POST /mediation/cases/{case_id}/escalate": (mediating, lambda mw: {"to_org_id": mw.town.pk, "reason": "上报"}),
    "POST /mediation/cases/{case_id}/accept-handover": (handover, lambda mw: {}),
    "POST /mediation/cases/{case_id}/reject-handover": (handover, lambda mw: {"note": "退回"}),
    "POST /mediation/cases/{case_id}/joint": (mediating, lambda mw: {"leader_id": mw.user("leader").pk}),
    "POST /mediation/cases/{case_id}/sessions": (mediating, lambda mw: SESSION),
    "POST /mediation/cases/{case_id}/joint-meetings": (joint, lambda mw: SESSION),
    "POST /mediation/cases/{case_id}/joint-visits": (joint, lambda mw: SESSION),
    "POST /mediation/cases/{case_id}/agree": (mediating, lambda mw: {"text": "协议"}),
    "POST /mediation/cases/{case_id}/confirm": (agreed, lambda mw: {"court": "法院", "number": "1号"}),
    "POST /mediation/cases/{case_id}/fail": (mediating, lambda mw: {"guidance": "litigation", "note": "不成"}),
    "POST /mediation/cases/{case_id}/follow-ups": (agreed, lambda mw: {"note": "稳定"}),
    "POST /mediation/cases/{case_id}/close": (followed_up, lambda mw: {}),
    "POST /mediation/cases/{case_id}/withdraw": (received, lambda mw: {"note": "撤回"}),
    "POST /mediation/cases/{case_id}/reopen": (agreed, lambda mw: {"note": "协议未履行"}),
    "POST /mediation/cases/{case_id}/work-orders": (raising, lambda mw: {"content": "请住建部门处理"}),
    "GET /mediation/numbers": (none, lambda mw: {}),
}


def _counts() -> tuple[int, ...]:
    return (DisputeCase.objects.count(), CaseEvent.objects.count(), AuditEvent.objects.count(),
            WorkOrder.objects.count(), WorkOrderEvent.objects.count())


def test_matrix_covers_every_mediation_endpoint(db):
    routes = {f"{m} {p}" for m, p in api_routes() if p.startswith("/mediation")}
    assert set(MATRIX) == routes
    assert set(CASES) == set(MATRIX)


@pytest.mark.parametrize("endpoint", list(MATRIX))
def test_mediation_permission_matrix(mw, endpoint):
    users = {"peer": "m_city", "outside": "m_town_b", "leader": "leader", "dispatcher": "dispatcher",
             "nobody": "nobody", "anon": None}
    method, path = endpoint.split()
    wrong = {}
    for column in COLUMNS:
        build, body = CASES[endpoint]
        case, owner = build(mw)
        username = owner if column == "owner" else users[column]
        if endpoint.endswith("from-work-order"):
            order = work_order_create(actor=mw.user("operator"), channel="hotline", kind="complaint", content="邻里纠纷",
                                      area_code=mw.w.community_a.code)
            payload = {"order_id": order.pk, "org_id": mw.community.pk, "dispute_type": "neighbourhood"}
        else:
            payload = body(mw)
        party = case.parties.first() if case is not None else None
        url = "/api/v1" + path.format(case_id=case.pk if case else 0, party_id=party.pk if party else 0)
        client = client_for(mw, username)
        for name in ("m_comm",):  # a role granted by a builder must be read afresh
            mw.user(name).__dict__.pop("_tongxin_scope", None)
        before = _counts()
        response = client.get(url, payload) if method == "GET" else client.post(url, payload, content_type="application/json")
        expected = MATRIX[endpoint][column]
        if response.status_code != expected:
            wrong[column] = f"expected {expected}, got {response.status_code}: {response.content[:200]!r}"
        if response.status_code >= 400:
            assert set(response.json()) == {"code", "message", "fields"}
            if _counts() != before:
                wrong[column] = f"answered {response.status_code} but wrote something"
    assert not wrong, wrong
