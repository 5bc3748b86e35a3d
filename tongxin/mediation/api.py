"""The mediation API (tag "mediation"): organisations, the expert pool, cases (list with the target
filters, intake, detail, one POST per action), the audited reveal of a party, conversion from a work
order, and the numbers. Views stay thin: parse, call one service or selector, shape the answer."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router
from ninja.responses import Status as HttpStatus

from tongxin.core.errors import ApplicationError, NotFound, ValidationFailed
from tongxin.regions.selectors import area_get_by_code

from . import selectors, services
from .choices import Action, DisputeType, Level, SessionKind, Status, Target
from .models import DisputeCase
from .schemas import (
    ERRORS,
    MAX_ID,
    AgreeIn,
    CaseCreateIn,
    CaseDetail,
    CaseNoteIn,
    CasePage,
    CaseRef,
    CaseRequiredNoteIn,
    ConfirmIn,
    FailIn,
    FollowUpIn,
    FromWorkOrderIn,
    HandoverIn,
    InSchema,
    JointIn,
    MediationNumbersOut,
    MediatorOut,
    OrgOut,
    PartyRevealed,
    RaiseWorkOrderIn,
    SessionIn,
    WorkOrderRef,
)
from .search import SEARCH_MAX_CHARS, case_search, search_term_clean
from .workflow import TRANSITIONS, actor_role_for, allowed_actions

router = Router(tags=["mediation"])

CaseId = Annotated[int, Path(ge=1, le=MAX_ID)]
DETAIL = {200: CaseDetail, **ERRORS}


def actor(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _org(org: Any) -> dict[str, Any]:
    return {"id": org.pk, "code": org.code, "name": org.name, "level": org.level, "kind": org.kind}


def _area(area: Any) -> dict[str, Any]:
    return {"code": area.code, "name": area.name, "level": area.level}


def _risk(case: DisputeCase) -> list[str]:
    return [name for name, flag in (("violence", case.risk_violence), ("group", case.risk_group),
                                    ("petition", case.risk_petition)) if flag]


def _item(case: DisputeCase) -> dict[str, Any]:
    return {
        "id": case.pk, "number": case.number, "version": case.version, "status": case.status,
        "status_label": str(Status(case.status).label), "title": case.title, "dispute_type": case.dispute_type,
        "source": case.source, "received_level": case.received_level, "level": case.level,
        "owner_org": _org(case.owner_org), "area": _area(case.area), "received_at": case.received_at,
        "concluded_at": case.concluded_at, "next_follow_up_at": case.next_follow_up_at, "risk": _risk(case),
    }


def case_actions_for(case: DisputeCase, user: Any) -> list[str]:
    """The actions of the table this actor may take now (the workflow's own capacity check)."""
    pending = selectors.case_pending_handover(case) if case.status == Status.HANDOVER else None
    result = []
    for action in allowed_actions(case.status):
        transition = TRANSITIONS[(Status(case.status), action)]
        target = pending.to_org_id if pending is not None else None
        if actor_role_for(case, transition, user, target_org_id=target):
            result.append(str(action))
    return result


def _detail(case: DisputeCase, user: Any) -> dict[str, Any]:
    pending = selectors.case_pending_handover(case)
    links = list(case.work_order_links.select_related("work_order"))
    return {
        **_item(case), "description": case.description, "amount": case.amount, "people_count": case.people_count,
        "received_org": _org(case.received_org), "case_leader": str(case.case_leader) if case.case_leader else None,
        "parties": [{"id": p.pk, "kind": p.kind, "side": p.side, "name": p.name, "phone": p.phone_masked,
                     "id_number": p.id_masked} for p in case.parties.all()],
        "agreement_text": case.agreement_text, "agreed_at": case.agreed_at,
        "judicial_confirmed_at": case.judicial_confirmed_at, "judicial_court": case.judicial_court,
        "judicial_number": case.judicial_number, "failure_guidance": case.failure_guidance,
        "failure_note": case.failure_note, "closed_at": case.closed_at, "follow_up_days": case.follow_up_days,
        "pending_handover": None if pending is None else {
            "id": pending.pk, "kind": pending.kind, "from_org": _org(pending.from_org), "to_org": _org(pending.to_org),
            "reason": pending.reason, "requested_at": pending.requested_at},
        "work_orders": [{"id": link.work_order_id, "number": link.work_order.number, "direction": link.direction,
                         "status": link.work_order.status} for link in links],
        "allowed_actions": case_actions_for(case, user),
        "timeline": [{"action": e.action, "action_label": _action_label(e.action), "from_status": e.from_status,
                      "to_status": e.to_status, "actor": e.actor_label, "role": e.actor_role,
                      "org": e.org.name if e.org else None, "at": e.at, "note": e.note, "data": e.data}
                     for e in selectors.case_timeline(case)],
    }


def _action_label(action: str) -> str:
    try:
        return str(Action(action).label)
    except ValueError:
        return action


def _visible(user: Any, case_id: Any) -> DisputeCase:
    case = selectors.case_get(actor=user, case_id=case_id)
    if case is None:
        raise NotFound(_("未找到该案件"))
    return case


def _area_path(area_code: str | None) -> str | None:
    if not area_code:
        return None
    area = area_get_by_code(area_code)
    if area is None:
        raise ValidationFailed(fields={"area_code": _("区域 %(area_code)s 不存在") % {"area_code": area_code}})
    return area.path


# --- organisations and the expert pool ----------------------------------------------------------

@router.get("/mediation/orgs", response={200: list[OrgOut], **ERRORS}, summary="Mediation organisations")
def org_list(request: HttpRequest, level: Level | None = None, speciality: DisputeType | None = None,
             area_code: str | None = None) -> list[dict[str, Any]]:
    orgs = selectors.org_list(level=level, speciality=speciality, area_path=_area_path(area_code))
    return [{**_org(o), "area": _area(o.area), "specialities": o.specialities} for o in orgs]


@router.get("/mediation/mediators", response={200: list[MediatorOut], **ERRORS}, summary="Mediators and the expert pool")
def mediator_list(request: HttpRequest, speciality: DisputeType | None = None, language: str | None = None,
                  experts: bool = False, level: Level | None = None) -> list[dict[str, Any]]:
    return [{"id": m.pk, "name": m.name, "org": _org(m.org), "grade": m.grade, "specialities": m.specialities,
             "languages": m.languages, "is_expert": m.is_expert}
            for m in selectors.mediator_search(speciality=speciality, language=language, experts_only=experts,
                                               level=level)]


# --- cases --------------------------------------------------------------------------------------

@router.get("/mediation/cases", response={200: CasePage, **ERRORS}, summary="Cases (filters incl. the four targets)")
def case_list(request: HttpRequest, status: Status | None = None, level: Level | None = None,
              area_code: str | None = None, dispute_type: DisputeType | None = None, date_from: date | None = None,
              date_to: date | None = None, target: Target | None = None, met: bool | None = None,
              follow_up_overdue: bool = False,
              q: str = Query("", description="Refused: 400 `search_moved_to_post`. A search term (a name, a phone, "
                                             "an ID number) does not belong in a URL; use `POST /mediation/cases/search`."),
              limit: int = Query(50, ge=1, le=200), offset: int = Query(0, ge=0)) -> dict[str, Any]:
    """With ``target`` the list is that target's denominator (concluded cases, dated by conclusion);
    ``met=true`` narrows it to the numerator, ``met=false`` to the cases that miss it. Searching by a term
    is ``POST /mediation/cases/search``: a term in the query string would land in proxy logs and histories."""
    if q.strip():
        raise ApplicationError(
            _("按关键词查找案件已改为 POST /api/v1/mediation/cases/search，搜索内容放在请求体中，不再放在网址里"),
            code=SEARCH_MOVED, fields={"q": _("请改用 POST /api/v1/mediation/cases/search")})
    filters = selectors.CaseFilters(status=status, level=level, area_path=_area_path(area_code),
                                    dispute_type=dispute_type, date_from=date_from, date_to=date_to, target=target,
                                    met=met, follow_up_overdue=follow_up_overdue)
    qs = selectors.case_list(actor=actor(request), filters=filters)
    return {"count": qs.count(), "items": [_item(c) for c in qs[offset:offset + limit]]}


# --- the case search: the term in a POST body, never in a URL ------------------------------------

SEARCH_MOVED = "search_moved_to_post"  # the code of GET /mediation/cases?q=…: stable, programs branch on it


class CaseSearchIn(InSchema):
    q: str = Field(..., description=f"The term: a party's name (or part of it), a whole phone number, a whole ID "
                                    f"number, a case number or words of the title. At most {SEARCH_MAX_CHARS} "
                                    f"characters (422 on `q` otherwise).")
    status: Status | None = None
    level: Level | None = None
    area_code: str | None = Field(None, max_length=32)
    dispute_type: DisputeType | None = None
    date_from: date | None = None
    date_to: date | None = None
    target: Target | None = None
    met: bool | None = None
    follow_up_overdue: bool = False
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0)


@router.post("/mediation/cases/search", response={200: CasePage, **ERRORS}, summary="Search cases (term in the body)")
def case_search_endpoint(request: HttpRequest, payload: CaseSearchIn) -> dict[str, Any]:
    """The case list's filters plus a search term, sent in the body so that no name, phone or ID number
    appears in a URL (and so in no proxy log or browser history). Same jurisdiction as the list."""
    term = search_term_clean(payload.q)
    filters = selectors.CaseFilters(status=payload.status, level=payload.level,
                                    area_path=_area_path(payload.area_code), dispute_type=payload.dispute_type,
                                    date_from=payload.date_from, date_to=payload.date_to, target=payload.target,
                                    met=payload.met, follow_up_overdue=payload.follow_up_overdue)
    qs = case_search(actor=actor(request), term=term, filters=filters)
    return {"count": qs.count(), "items": [_item(c) for c in qs[payload.offset:payload.offset + payload.limit]]}


@router.post("/mediation/cases", response={201: CaseDetail, **ERRORS}, summary="Receive a case (首接首办)")
def case_create(request: HttpRequest, payload: CaseCreateIn) -> Any:
    data = payload.dict()
    parties = data.pop("parties")
    case = services.case_create(actor=actor(request), parties=parties, **data)
    return HttpStatus(201, _detail(_visible(actor(request), case.pk), actor(request)))


@router.post("/mediation/cases/from-work-order", response={201: CaseRef, **ERRORS},
             summary="Convert a 12345 work order into a case")
def case_from_work_order(request: HttpRequest, payload: FromWorkOrderIn) -> Any:
    """The converter is usually a 12345 dispatcher, who may not read mediation cases: the answer names the
    new case only."""
    case = services.case_from_work_order(actor=actor(request), **payload.dict())
    return HttpStatus(201, {"id": case.pk, "number": case.number, "status": case.status,
                            "owner_org": _org(case.owner_org)})


@router.get("/mediation/cases/{case_id}", response=DETAIL, summary="A case with its timeline")
def case_detail(request: HttpRequest, case_id: CaseId) -> dict[str, Any]:
    return _detail(_visible(actor(request), case_id), actor(request))


@router.get("/mediation/cases/{case_id}/parties/{party_id}/reveal", response={200: PartyRevealed, **ERRORS},
            summary="Reveal a party's phone and ID number (audited)")
def party_reveal(request: HttpRequest, case_id: CaseId, party_id: Annotated[int, Path(ge=1, le=MAX_ID)],
                 response: HttpResponse) -> dict[str, Any]:
    party = services.party_reveal(actor=actor(request), case_id=case_id, party_id=party_id)
    response["Cache-Control"] = "no-store"
    return {"id": party.pk, "name": party.name, "phone": party.phone, "id_number": party.id_number}


def _done(request: HttpRequest, case_id: int) -> dict[str, Any]:
    return _detail(_visible(actor(request), case_id), actor(request))


@router.post("/mediation/cases/{case_id}/mediate", response=DETAIL, summary="即知即调")
def case_mediate(request: HttpRequest, case_id: CaseId, payload: CaseNoteIn) -> dict[str, Any]:
    services.case_mediate(case_id=case_id, actor=actor(request), **payload.dict())
    return _done(request, case_id)


@router.post("/mediation/cases/{case_id}/route", response=DETAIL, summary="分流 to a unit at the same level or below")
def case_route(request: HttpRequest, case_id: CaseId, payload: HandoverIn) -> dict[str, Any]:
    services.case_route(case_id=case_id, actor=actor(request), **payload.dict())
    return _done(request, case_id)


@router.post("/mediation/cases/{case_id}/escalate", response=DETAIL, summary="上报 exactly one level up")
def case_escalate(request: HttpRequest, case_id: CaseId, payload: HandoverIn) -> dict[str, Any]:
    services.case_escalate(case_id=case_id, actor=actor(request), **payload.dict())
    return _done(request, case_id)


@router.post("/mediation/cases/{case_id}/accept-handover", response=DETAIL, summary="Accept a hand-over")
def case_accept(request: HttpRequest, case_id: CaseId, payload: CaseNoteIn) -> dict[str, Any]:
    services.case_handover_accept(case_id=case_id, actor=actor(request), **payload.dict())
    return _done(request, case_id)


@router.post("/mediation/cases/{case_id}/reject-handover", response=DETAIL, summary="Decline a hand-over")
def case_reject(request: HttpRequest, case_id: CaseId, payload: CaseRequiredNoteIn) -> dict[str, Any]:
    services.case_handover_reject(case_id=case_id, actor=actor(request), **payload.dict())
    return _done(request, case_id)


@router.post("/mediation/cases/{case_id}/joint", response=DETAIL, summary="联管联调: assign a case leader")
def case_joint(request: HttpRequest, case_id: CaseId, payload: JointIn) -> dict[str, Any]:
    services.case_joint_start(case_id=case_id, actor=actor(request), **payload.dict())
    return _done(request, case_id)


def _session(request: HttpRequest, case_id: int, payload: SessionIn, kind: str) -> dict[str, Any]:
    services.case_session_record(case_id=case_id, actor=actor(request), kind=kind, **payload.dict())
    return _done(request, case_id)


@router.post("/mediation/cases/{case_id}/sessions", response=DETAIL, summary="Record a mediation session")
def case_session(request: HttpRequest, case_id: CaseId, payload: SessionIn) -> dict[str, Any]:
    return _session(request, case_id, payload, SessionKind.SESSION)


@router.post("/mediation/cases/{case_id}/joint-meetings", response=DETAIL, summary="Record a joint meeting")
def case_joint_meeting(request: HttpRequest, case_id: CaseId, payload: SessionIn) -> dict[str, Any]:
    return _session(request, case_id, payload, SessionKind.JOINT_MEETING)


@router.post("/mediation/cases/{case_id}/joint-visits", response=DETAIL, summary="Record a joint visit")
def case_joint_visit(request: HttpRequest, case_id: CaseId, payload: SessionIn) -> dict[str, Any]:
    return _session(request, case_id, payload, SessionKind.JOINT_VISIT)


@router.post("/mediation/cases/{case_id}/agree", response=DETAIL, summary="Record the agreement")
def case_agree(request: HttpRequest, case_id: CaseId, payload: AgreeIn) -> dict[str, Any]:
    services.case_agree(case_id=case_id, actor=actor(request), **payload.dict())
    return _done(request, case_id)


@router.post("/mediation/cases/{case_id}/confirm", response=DETAIL, summary="Record judicial confirmation")
def case_confirm(request: HttpRequest, case_id: CaseId, payload: ConfirmIn) -> dict[str, Any]:
    services.case_confirm(case_id=case_id, actor=actor(request), **payload.dict())
    return _done(request, case_id)


@router.post("/mediation/cases/{case_id}/fail", response=DETAIL, summary="Mediation failed: record the guidance")
def case_fail(request: HttpRequest, case_id: CaseId, payload: FailIn) -> dict[str, Any]:
    services.case_fail(case_id=case_id, actor=actor(request), **payload.dict())
    return _done(request, case_id)


@router.post("/mediation/cases/{case_id}/follow-ups", response=DETAIL, summary="Record a follow-up visit")
def case_follow_up(request: HttpRequest, case_id: CaseId, payload: FollowUpIn) -> dict[str, Any]:
    services.case_follow_up(case_id=case_id, actor=actor(request), **payload.dict())
    return _done(request, case_id)


@router.post("/mediation/cases/{case_id}/close", response=DETAIL, summary="Close as stable")
def case_close(request: HttpRequest, case_id: CaseId, payload: CaseNoteIn) -> dict[str, Any]:
    services.case_close(case_id=case_id, actor=actor(request), **payload.dict())
    return _done(request, case_id)


@router.post("/mediation/cases/{case_id}/reopen", response=DETAIL, summary="Agreement not kept: mediate again")
def case_reopen(request: HttpRequest, case_id: CaseId, payload: CaseRequiredNoteIn) -> dict[str, Any]:
    services.case_reopen(case_id=case_id, actor=actor(request), **payload.dict())
    return _done(request, case_id)


@router.post("/mediation/cases/{case_id}/withdraw", response=DETAIL, summary="Withdraw")
def case_withdraw(request: HttpRequest, case_id: CaseId, payload: CaseRequiredNoteIn) -> dict[str, Any]:
    services.case_withdraw(case_id=case_id, actor=actor(request), **payload.dict())
    return _done(request, case_id)


@router.post("/mediation/cases/{case_id}/work-orders", response={201: WorkOrderRef, **ERRORS},
             summary="Raise a 12345 work order for a department")
def case_raise_work_order(request: HttpRequest, case_id: CaseId, payload: RaiseWorkOrderIn) -> Any:
    order = services.case_raise_work_order(case_id=case_id, actor=actor(request), **payload.dict())
    return HttpStatus(201, {"id": order.pk, "number": order.number, "status": order.status})


# --- numbers ------------------------------------------------------------------------------------

@router.get("/mediation/numbers", response={200: MediationNumbersOut, **ERRORS}, summary="Received, concluded, the four targets")
def numbers(request: HttpRequest, area_code: str | None = None, level: Level | None = None,
            date_from: date | None = None, date_to: date | None = None) -> dict[str, Any]:
    path = _area_path(area_code)
    result = selectors.mediation_numbers(actor=actor(request), area_path=path, level=level, date_from=date_from,
                                         date_to=date_to)
    if level is None:
        result["by_level"] = selectors.numbers_by_level(actor=actor(request), area_path=path, date_from=date_from,
                                                        date_to=date_to)
        result["by_area"] = selectors.numbers_by_area(actor=actor(request), area_path=path, date_from=date_from,
                                                      date_to=date_to)
    return result
