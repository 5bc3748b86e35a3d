"""Every write of mediation. Keyword-only, one transaction each, the case event in the same transaction.

Each action service: lock the case through the actor's jurisdiction (outside it: 404), check the optional
``version`` the client read (409), check the transition table and the actor's capacity (409 / 403),
validate the input (422), then change and record. Cross-domain writes (a work order's comment, a new
work order) go through the workorders services inside the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.accounts.choices import Role
from tongxin.accounts.models import User
from tongxin.accounts.selectors import actor_scope
from tongxin.accounts.services import role_grant
from tongxin.core.audit import audit_record
from tongxin.core.choices import AuditEventType
from tongxin.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, require_text
from tongxin.regions.choices import AreaLevel
from tongxin.regions.models import Area
from tongxin.workorders import services as workorder_services
from tongxin.workorders.choices import Channel, Kind
from tongxin.workorders.selectors import work_order_get

from . import personal
from .choices import (
    LEVEL_DEPTH,
    TRIAGE_KINDS,
    Action,
    DisputeType,
    FailureGuidance,
    HandoverKind,
    HandoverStatus,
    Language,
    Level,
    MediatorGrade,
    OrgKind,
    PartyKind,
    PartySide,
    SessionKind,
    Source,
    Status,
)
from .models import (
    CaseCounter,
    CaseEvent,
    CaseWorkOrderLink,
    DisputeCase,
    FollowUp,
    Handover,
    MediationOrg,
    Mediator,
    Party,
    Session,
)
from .selectors import cases_visible_to
from .workflow import apply_transition, check_transition, mediator_org_ids

MAX_TEXT = 5000
MAX_PARTIES = 50
AREA_TO_LEVEL = {AreaLevel.CITY: Level.CITY, AreaLevel.DISTRICT: Level.DISTRICT, AreaLevel.TOWN: Level.TOWN,
                 AreaLevel.COMMUNITY: Level.COMMUNITY, AreaLevel.GRID: Level.COMMUNITY}


def follow_up_days_default() -> int:
    return int(getattr(settings, "TONGXIN_MEDIATION_FOLLOW_UP_DAYS", 15))


def follow_ups_to_close() -> int:
    """Stable follow-ups needed before a case may be closed as stable (default 1)."""
    return int(getattr(settings, "TONGXIN_MEDIATION_FOLLOW_UPS_TO_CLOSE", 1))


# --- helpers ------------------------------------------------------------------------------------

def _text(value: Any, field: str, *, label: str, max_chars: int = MAX_TEXT, required: bool = True) -> str:
    return require_text(value, field, label=label, max_chars=max_chars, required=required)


def _choice(value: Any, choices: Any, field: str, label: str) -> str:
    if value not in choices.values:
        raise ValidationFailed(fields={field: _("无效的%(label)s：%(value)s，可选：%(values)s") % {
            "label": label, "value": value, "values": ", ".join(choices.values)}})
    return str(value)


def _locked(case_id: Any, actor: Any, *, version: int | None = None) -> DisputeCase:
    try:
        pk = int(case_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    # Two mediators may click at once: the row lock orders them; the second sees the first's change.
    case = cases_visible_to(actor).select_for_update().filter(pk=pk).first()
    if case is None:
        raise NotFound(_("未找到该案件"))
    if version is not None and version != case.version:
        raise Conflict(_("该案件已被他人更新，请刷新后重试"), fields={"version": _("当前版本为 %(version)s") % {"version": case.version}})
    return case


def _org(org_id: Any, field: str) -> MediationOrg:
    try:
        org = MediationOrg.objects.select_related("area").filter(pk=int(org_id), active=True).first()
    except (TypeError, ValueError):
        org = None
    if org is None:
        raise ValidationFailed(fields={field: _("调解组织 %(org_id)s 不存在或已停用") % {"org_id": org_id}})
    return org


def _allocate_number(now: datetime) -> str:
    year = timezone.localtime(now).year
    counter, _created = CaseCounter.objects.select_for_update().get_or_create(year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"TJ{year}{counter.last:05d}"


def _notify_org(org: MediationOrg, *, kind: str, title: str, case: DisputeCase, dedupe_key: str | None = None) -> int:
    from tongxin.accounts.services import notification_send

    users = [m.user for m in org.mediators.filter(active=True, user__isnull=False, user__is_active=True)
             .select_related("user") if m.user is not None]
    if not users:
        return 0
    return notification_send(recipients=users, kind=kind, title=title, object_type="mediation_case",
                             object_id=case.pk, url=f"/mediation/{case.pk}/", dedupe_key=dedupe_key)


# --- organisations and mediators (admin and demo) ------------------------------------------------

@transaction.atomic
def org_ensure(*, code: str, name: str, kind: str, area: Area, specialities: list[str] | None = None,
               phone: str = "", address: str = "") -> MediationOrg:
    """Create or update an organisation by code; its level follows its area."""
    kind = _choice(kind, OrgKind, "kind", _("组织类型"))
    if area.level == AreaLevel.GRID:
        raise ValidationFailed(fields={"area": _("调解组织不能设在网格")})
    for value in specialities or []:
        _choice(value, DisputeType, "specialities", _("擅长领域"))
    org, _created = MediationOrg.objects.update_or_create(code=code, defaults={
        "name": name, "kind": kind, "level": AREA_TO_LEVEL[AreaLevel(area.level)], "area": area,
        "specialities": list(specialities or []), "phone": phone, "address": address, "active": True,
    })
    return org


@transaction.atomic
def mediator_ensure(*, org: MediationOrg, name: str, user: User | None = None, grade: str = MediatorGrade.REGULAR,
                    specialities: list[str] | None = None, languages: list[str] | None = None,
                    is_expert: bool = False, phone: str = "", actor: Any = None) -> Mediator:
    """A mediator of ``org``; a mediator with a login gets the mediator role on the organisation's area."""
    _choice(grade, MediatorGrade, "grade", _("级别"))
    for value in specialities or []:
        _choice(value, DisputeType, "specialities", _("擅长领域"))
    for value in languages or [Language.CHINESE]:
        _choice(value, Language, "languages", _("工作语言"))
    lookup = {"org": org, "user": user} if user is not None else {"org": org, "name": name, "user": None}
    mediator, _created = Mediator.objects.update_or_create(**lookup, defaults={
        "name": name, "grade": grade, "specialities": list(specialities or []),
        "languages": list(languages or [Language.CHINESE]), "is_expert": is_expert, "phone": phone, "active": True,
    })
    if user is not None:
        role_grant(user=user, role=Role.MEDIATOR, area=org.area, actor=actor)
        user.__dict__.pop("_tongxin_scope", None)
        user.__dict__.pop("_tongxin_mediator_orgs", None)
    return mediator


# --- intake -------------------------------------------------------------------------------------

@dataclass
class PartyIn:
    name: str
    kind: str = PartyKind.PERSON
    side: str = PartySide.APPLICANT
    phone: str = ""
    id_number: str = ""


def _parties(parties: list[Any]) -> list[Party]:
    if not parties:
        raise ValidationFailed(fields={"parties": _("至少填写一名当事人")})
    if len(parties) > MAX_PARTIES:
        raise ValidationFailed(fields={"parties": _("当事人最多 %(max)s 名") % {"max": MAX_PARTIES}})
    result = []
    for i, raw in enumerate(parties):
        p = raw if isinstance(raw, PartyIn) else PartyIn(**(raw if isinstance(raw, dict) else raw.dict()))
        name = _text(p.name, f"parties[{i}].name", label=_("当事人姓名"), max_chars=100)
        kind = _choice(p.kind, PartyKind, f"parties[{i}].kind", _("当事人类型"))
        side = _choice(p.side, PartySide, f"parties[{i}].side", _("当事方"))
        phone = (p.phone or "").strip().replace(" ", "")
        if phone and not (phone.replace("-", "").lstrip("+").isdigit() and 5 <= len(phone) <= 20):
            raise ValidationFailed(fields={f"parties[{i}].phone": _("电话号码格式不正确")})
        id_number = (p.id_number or "").strip().upper()
        if id_number and (len(id_number) > 30 or not id_number.replace("X", "").isalnum()):
            raise ValidationFailed(fields={f"parties[{i}].id_number": _("证件号码格式不正确")})
        party = Party(kind=kind, side=side, name=name)
        personal.party_set_phone(party, phone)
        personal.party_set_id_number(party, id_number)
        result.append(party)
    return result


def _area_for(org: MediationOrg, area_code: str | None) -> Area:
    if not area_code:
        return org.area
    area = Area.objects.filter(code=str(area_code)).first()
    if area is None:
        raise ValidationFailed(fields={"area_code": _("区域 %(area_code)s 不存在") % {"area_code": area_code}})
    if not area.path.startswith(org.area_path):
        raise ValidationFailed(fields={"area_code": _("纠纷发生地不在「%(org)s」的辖区内") % {"org": org.name}})
    return area


def _amount(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValidationFailed(fields={"amount": _("涉及金额必须是数字")}) from None
    if amount < 0 or amount >= Decimal("1e12") or not amount.is_finite():
        raise ValidationFailed(fields={"amount": _("涉及金额超出范围")})
    return amount.quantize(Decimal("0.01"))


def _new_case(*, actor: Any, org: MediationOrg, role: str, title: str, description: str, dispute_type: str,
              source: str, area: Area, address: str, amount: Any, people_count: Any, risk_violence: bool,
              risk_group: bool, risk_petition: bool, parties: list[Party], note: str,
              work_order: Any = None) -> DisputeCase:
    title = _text(title, "title", label=_("案由"), max_chars=200)
    description = _text(description, "description", label=_("纠纷简要情况"))
    dispute_type = _choice(dispute_type, DisputeType, "dispute_type", _("纠纷类型"))
    source = _choice(source, Source, "source", _("来源"))
    address = _text(address, "address", label=_("地址"), max_chars=200, required=False)
    note = _text(note, "note", label=_("说明"), required=False)
    try:
        people = int(people_count if people_count not in (None, "") else 2)
    except (TypeError, ValueError):
        raise ValidationFailed(fields={"people_count": _("涉及人数必须是整数")}) from None
    if not 1 <= people <= 100000:
        raise ValidationFailed(fields={"people_count": _("涉及人数应在 1 到 100000 之间")})
    now = timezone.now()
    case = DisputeCase.objects.create(
        number=_allocate_number(now), title=title, description=description, dispute_type=dispute_type, source=source,
        amount=_amount(amount), people_count=people, risk_violence=bool(risk_violence), risk_group=bool(risk_group),
        risk_petition=bool(risk_petition), area=area, area_path=area.path, address=address, status=Status.RECEIVED,
        received_org=org, owner_org=org, received_level=org.level, level=org.level,
        max_depth=LEVEL_DEPTH[Level(org.level)], received_by=actor, received_at=now,
        follow_up_days=follow_up_days_default(), source_work_order=work_order,
    )
    for party in parties:
        party.case = case
    Party.objects.bulk_create(parties)
    data: dict[str, Any] = {"source": source, "org": org.name}
    if work_order is not None:
        data["work_order"] = work_order.number
    CaseEvent.objects.create(case=case, action=Action.RECEIVE, from_status="", to_status=Status.RECEIVED, actor=actor,
                             actor_role=role, actor_label=getattr(actor, "display_name", "") or actor.get_username(),
                             org=org, at=now, note=note, data=data)
    return case


@transaction.atomic
def case_create(
    *, actor: Any, org_id: Any, title: str, description: str, dispute_type: str, source: str,
    parties: list[Any], area_code: str | None = None, address: str = "", amount: Any = None, people_count: Any = 2,
    risk_violence: bool = False, risk_group: bool = False, risk_petition: bool = False, note: str = "",
) -> DisputeCase:
    """受理 (首接首办): a mediator records a dispute at their organisation, which owns it from now on."""
    org = _org(org_id, "org_id")
    if org.pk not in mediator_org_ids(actor) or actor_scope(actor).area_role_covers({Role.MEDIATOR}, org.area_path) is None:
        raise PermissionDenied(_("只有该调解组织的调解员可以受理案件"))
    return _new_case(actor=actor, org=org, role=Role.MEDIATOR, title=title, description=description,
                     dispute_type=dispute_type, source=source, area=_area_for(org, area_code), address=address,
                     amount=amount, people_count=people_count, risk_violence=risk_violence, risk_group=risk_group,
                     risk_petition=risk_petition, parties=_parties(parties), note=note)


@transaction.atomic
def case_from_work_order(*, actor: Any, order_id: Any, org_id: Any, dispute_type: str, title: str = "",
                         note: str = "") -> DisputeCase:
    """A 12345 work order that turns out to be a dispute becomes a case at ``org_id``. The order is read
    through the actor's jurisdiction (404 outside it); the order's timeline gets a comment naming the
    case (workorders.services.work_order_comment, so the actor needs a 12345 centre role there)."""
    order = work_order_get(actor=actor, order_id=order_id)
    if order is None:
        raise NotFound(_("未找到该工单"))
    if CaseWorkOrderLink.objects.filter(work_order=order, direction=CaseWorkOrderLink.FROM_ORDER).exists():
        raise Conflict(_("该工单已转为矛盾纠纷案件"), fields={"order_id": _("已转过")})
    org = _org(org_id, "org_id")
    if not order.area_path.startswith(org.area_path):
        raise ValidationFailed(fields={"org_id": _("工单所在区域不在「%(org)s」的辖区内") % {"org": org.name}})
    applicant = Party(kind=PartyKind.PERSON, side=PartySide.APPLICANT, name=order.citizen_name or "匿名诉求人")
    personal.party_set_phone(applicant, order.citizen_phone)
    parties = [applicant]
    case = _new_case(actor=actor, org=org, role="workorder_transfer", title=title or order.title or order.content[:40],
                     description=order.content, dispute_type=dispute_type, source=Source.HOTLINE, area=order.area,
                     address=order.address, amount=None, people_count=2, risk_violence=False, risk_group=False,
                     risk_petition=False, parties=parties, note=note, work_order=order)
    CaseWorkOrderLink.objects.create(case=case, work_order=order, direction=CaseWorkOrderLink.FROM_ORDER,
                                     created_at=case.received_at)
    workorder_services.work_order_comment(
        order_id=order.pk, actor=actor, text=f"已转为矛盾纠纷案件 {case.number}，由「{org.name}」首接办理", source="mediation",
    )
    transaction.on_commit(lambda: _notify_org(org, kind="mediation_received", title=f"新案件 {case.number}（由工单转入）",
                                              case=case))
    return case


# --- the three ways -----------------------------------------------------------------------------

def _simple(action: Action, *, case_id: Any, actor: Any, note: str, version: int | None,
            required: bool = False, label: str = "") -> DisputeCase:
    case = _locked(case_id, actor, version=version)
    transition, role = check_transition(case, action, actor)
    note = _text(note, "note", label=label or _("说明"), required=required)
    apply_transition(case, action, actor=actor, role=role, transition=transition, note=note)
    return case


@transaction.atomic
def case_mediate(*, case_id: Any, actor: Any, note: str = "", version: int | None = None) -> DisputeCase:
    """即知即调: the receiving organisation starts mediating at once."""
    return _simple(Action.MEDIATE, case_id=case_id, actor=actor, note=note, version=version)


@transaction.atomic
def case_handover_request(*, case_id: Any, actor: Any, kind: str, to_org_id: Any, reason: str,
                          version: int | None = None) -> Handover:
    """分流 (a triage centre routes to a unit at its level or below) or 上报 (exactly one level up, never
    skipping). The case stays with its owner until the other side accepts (首接首办)."""
    kind = _choice(kind, HandoverKind, "kind", _("移交方式"))
    action = Action.ROUTE if kind == HandoverKind.ROUTE else Action.ESCALATE
    case = _locked(case_id, actor, version=version)
    transition, role = check_transition(case, action, actor)
    reason = _text(reason, "reason", label=_("移交理由"))
    target = _org(to_org_id, "to_org_id")
    depth, target_depth = LEVEL_DEPTH[Level(case.level)], LEVEL_DEPTH[Level(target.level)]
    if target.pk == case.owner_org_id:
        raise ValidationFailed(fields={"to_org_id": _("不能移交给本组织")})
    if not case.area_path.startswith(target.area_path):
        raise ValidationFailed(fields={"to_org_id": _("纠纷发生地不在「%(org)s」的辖区内") % {"org": target.name}})
    if kind == HandoverKind.ESCALATE:
        if depth == 0:
            raise ValidationFailed(fields={"to_org_id": _("市级已是最高层级，不能再上报")})
        if target_depth != depth - 1:
            raise ValidationFailed(fields={"to_org_id": _("只能逐级上报到%(level)s组织，不能越级") % {
                "level": Level(_level_at(depth - 1)).label}})
    else:
        if case.owner_org.kind not in TRIAGE_KINDS:
            raise PermissionDenied(_("只有综治中心或市矛调中心可以分流案件；其他组织请上报上一级"))
        if target_depth < depth:
            raise ValidationFailed(fields={"to_org_id": _("分流只能到同级或下级组织；向上请使用逐级上报")})
    now = timezone.now()
    handover = Handover.objects.create(case=case, kind=kind, from_org=case.owner_org, to_org=target, reason=reason,
                                       previous_status=case.status, requested_by=actor, requested_at=now)
    apply_transition(case, action, actor=actor, role=role, transition=transition, note=reason,
                     data={"to_org": target.name, "to_org_id": target.pk, "to_level": target.level})
    transaction.on_commit(lambda: _notify_org(target, kind="mediation_handover",
                                              title=f"待接收案件 {case.number}（{HandoverKind(kind).label}）", case=case))
    return handover


def _level_at(depth: int) -> str:
    return next(str(level) for level, d in LEVEL_DEPTH.items() if d == depth)


def case_route(*, case_id: Any, actor: Any, to_org_id: Any, reason: str, version: int | None = None) -> Handover:
    return case_handover_request(case_id=case_id, actor=actor, kind=HandoverKind.ROUTE, to_org_id=to_org_id,
                                 reason=reason, version=version)


def case_escalate(*, case_id: Any, actor: Any, to_org_id: Any, reason: str, version: int | None = None) -> Handover:
    return case_handover_request(case_id=case_id, actor=actor, kind=HandoverKind.ESCALATE, to_org_id=to_org_id,
                                 reason=reason, version=version)


def _pending(case: DisputeCase) -> Handover:
    handover = (case.handovers.select_for_update(of=("self",)).filter(status=HandoverStatus.PENDING)
                .select_related("to_org", "from_org").first())
    if handover is None:  # the status says hand-over; the row must exist (both are written together)
        raise Conflict(_("没有待接收的移交"))
    return handover


@transaction.atomic
def case_handover_accept(*, case_id: Any, actor: Any, note: str = "", version: int | None = None) -> DisputeCase:
    """The receiving organisation accepts: it owns the case from now on."""
    case = _locked(case_id, actor, version=version)
    if case.status != Status.HANDOVER:
        check_transition(case, Action.ACCEPT_HANDOVER, actor)  # raises the 409
    handover = _pending(case)
    transition, role = check_transition(case, Action.ACCEPT_HANDOVER, actor, target_org_id=handover.to_org_id)
    note = _text(note, "note", label=_("说明"), required=False)
    now = timezone.now()
    handover.status, handover.decided_by, handover.decided_at, handover.decision_note = (
        HandoverStatus.ACCEPTED, actor, now, note)
    handover.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    target = handover.to_org
    case.owner_org, case.level = target, target.level
    case.max_depth = min(case.max_depth, LEVEL_DEPTH[Level(target.level)])
    apply_transition(case, Action.ACCEPT_HANDOVER, actor=actor, role=role, transition=transition, note=note,
                     org_id=target.pk, data={"from_org": handover.from_org.name, "kind": handover.kind},
                     update_fields=["owner_org", "level", "max_depth"])
    return case


@transaction.atomic
def case_handover_reject(*, case_id: Any, actor: Any, note: str, version: int | None = None) -> DisputeCase:
    """The receiving organisation declines, with a reason: the case goes back to its owner, as it was."""
    case = _locked(case_id, actor, version=version)
    if case.status != Status.HANDOVER:
        check_transition(case, Action.REJECT_HANDOVER, actor)
    handover = _pending(case)
    transition, role = check_transition(case, Action.REJECT_HANDOVER, actor, target_org_id=handover.to_org_id)
    note = _text(note, "note", label=_("退回理由"))
    handover.status, handover.decided_by, handover.decided_at, handover.decision_note = (
        HandoverStatus.REJECTED, actor, timezone.now(), note)
    handover.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    apply_transition(case, Action.REJECT_HANDOVER, actor=actor, role=role, transition=transition, note=note,
                     org_id=handover.to_org_id, restore_to=handover.previous_status,
                     data={"to_org": handover.to_org.name})
    return case


@transaction.atomic
def case_joint_start(*, case_id: Any, actor: Any, leader_id: Any, note: str = "", version: int | None = None) -> DisputeCase:
    """联管联调: a hard case gets a case leader (包案领导), who may then act on it with the owner."""
    case = _locked(case_id, actor, version=version)
    transition, role = check_transition(case, Action.START_JOINT, actor)
    try:
        leader = User.objects.filter(pk=int(leader_id), is_active=True).first()
    except (TypeError, ValueError):
        leader = None
    if leader is None:
        raise ValidationFailed(fields={"leader_id": _("包案领导不存在")})
    if actor_scope(leader).area_role_covers({Role.LEADER, Role.MEDIATOR}, case.area_path) is None:
        raise ValidationFailed(fields={"leader_id": _("包案领导须在纠纷发生地有领导或调解员职责")})
    note = _text(note, "note", label=_("说明"), required=False)
    case.case_leader = leader
    apply_transition(case, Action.START_JOINT, actor=actor, role=role, transition=transition, note=note,
                     data={"leader": str(leader), "leader_id": leader.pk}, update_fields=["case_leader"])
    return case


@transaction.atomic
def case_session_record(*, case_id: Any, actor: Any, kind: str = SessionKind.SESSION, at: datetime | None = None,
                        place: str, attendees: str = "", notes: str = "", mediator_ids: list[Any] | None = None,
                        version: int | None = None) -> Session:
    """A mediation session, or (joint cases) a joint meeting or visit: time, place, mediators, attendees,
    notes or decisions."""
    kind = _choice(kind, SessionKind, "kind", _("记录类型"))
    action = {SessionKind.SESSION: Action.SESSION, SessionKind.JOINT_MEETING: Action.JOINT_MEETING,
              SessionKind.JOINT_VISIT: Action.JOINT_VISIT}[SessionKind(kind)]
    case = _locked(case_id, actor, version=version)
    transition, role = check_transition(case, action, actor)
    place = _text(place, "place", label=_("地点"), max_chars=200)
    attendees = _text(attendees, "attendees", label=_("参加人员"), required=kind != SessionKind.SESSION)
    notes = _text(notes, "notes", label=_("记录"), required=True)
    now = timezone.now()
    at = at or now
    if timezone.is_naive(at):
        raise ValidationFailed(fields={"at": _("时间必须带时区")})
    if at > now + timedelta(minutes=5):
        raise ValidationFailed(fields={"at": _("不能记录尚未发生的活动")})
    ids = []
    for value in mediator_ids or []:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            raise ValidationFailed(fields={"mediator_ids": _("无效的调解员 %(value)s") % {"value": value}}) from None
    mediators = list(Mediator.objects.filter(pk__in=ids, active=True))
    if len(mediators) != len(set(ids)):
        raise ValidationFailed(fields={"mediator_ids": _("有调解员不存在或不在岗")})
    session = Session.objects.create(case=case, kind=kind, org=case.owner_org, at=at, place=place, attendees=attendees,
                                     notes=notes, recorded_by=actor)
    session.mediators.set(mediators)
    apply_transition(case, action, actor=actor, role=role, transition=transition, note=notes,
                     data={"session_id": session.pk, "place": place, "at": at.isoformat(), "attendees": attendees,
                           "mediators": [m.name for m in mediators]})
    return session


# --- outcomes -----------------------------------------------------------------------------------

ALLOWED_SCAN_TYPES = {"application/pdf", "image/jpeg", "image/png"}
MAX_SCAN_BYTES = 10 * 1024 * 1024


def _conclude(case: DisputeCase, now: datetime) -> list[str]:
    if case.concluded_at is None:
        case.concluded_at, case.concluded_level = now, case.level
        return ["concluded_at", "concluded_level"]
    return []


@transaction.atomic
def case_agree(*, case_id: Any, actor: Any, text: str, scan: Any = None, follow_up_days: int | None = None,
               version: int | None = None) -> DisputeCase:
    """调解协议: the agreement text (and the signed scan); follow-ups fall due every N days from now."""
    case = _locked(case_id, actor, version=version)
    transition, role = check_transition(case, Action.AGREE, actor)
    text = _text(text, "text", label=_("协议内容"), max_chars=20000)
    days = follow_up_days if follow_up_days is not None else follow_up_days_default()
    if not isinstance(days, int) or not 1 <= days <= 365:
        raise ValidationFailed(fields={"follow_up_days": _("回访间隔应在 1 到 365 天之间")})
    fields = ["agreement_text", "agreed_at", "follow_up_days", "next_follow_up_at"]
    if scan is not None:
        if getattr(scan, "size", 0) > MAX_SCAN_BYTES:
            raise ValidationFailed(fields={"scan": _("扫描件不能超过 10 MB")})
        head = scan.read(8)
        scan.seek(0)
        if not (head.startswith(b"%PDF-") or head.startswith(b"\xff\xd8\xff") or head.startswith(b"\x89PNG")):
            raise ValidationFailed(fields={"scan": _("扫描件须为 PDF、JPEG 或 PNG")})
        case.agreement_scan.save(f"{case.number}.bin", scan, save=False)
        fields.append("agreement_scan")
    now = timezone.now()
    case.agreement_text, case.agreed_at, case.follow_up_days = text, now, days
    case.next_follow_up_at = now + timedelta(days=days)
    fields += _conclude(case, now)
    apply_transition(case, Action.AGREE, actor=actor, role=role, transition=transition, note=text[:500],
                     data={"follow_up_days": days, "scan": bool(scan)}, update_fields=fields)
    return case


@transaction.atomic
def case_confirm(*, case_id: Any, actor: Any, court: str, number: str, confirmed_at: datetime | None = None,
                 version: int | None = None) -> DisputeCase:
    """司法确认: the court confirmed the agreement (recorded when obtained)."""
    case = _locked(case_id, actor, version=version)
    transition, role = check_transition(case, Action.CONFIRM, actor)
    if case.judicial_confirmed_at is not None:
        raise Conflict(_("该协议已记录司法确认"), fields={"number": case.judicial_number})
    court = _text(court, "court", label=_("确认法院"), max_chars=100)
    number = _text(number, "number", label=_("确认文书号"), max_chars=60)
    case.judicial_confirmed_at, case.judicial_court, case.judicial_number = confirmed_at or timezone.now(), court, number
    apply_transition(case, Action.CONFIRM, actor=actor, role=role, transition=transition, note=f"{court} {number}",
                     update_fields=["judicial_confirmed_at", "judicial_court", "judicial_number"])
    return case


@transaction.atomic
def case_fail(*, case_id: Any, actor: Any, guidance: str, note: str, version: int | None = None) -> DisputeCase:
    """调解不成: the parties are guided to litigation, arbitration, petition or an administrative body."""
    case = _locked(case_id, actor, version=version)
    transition, role = check_transition(case, Action.FAIL, actor)
    guidance = _choice(guidance, FailureGuidance, "guidance", _("引导途径"))
    note = _text(note, "note", label=_("调解不成说明"))
    case.failure_guidance, case.failure_note = guidance, note
    fields = ["failure_guidance", "failure_note", *_conclude(case, timezone.now())]
    apply_transition(case, Action.FAIL, actor=actor, role=role, transition=transition, note=note,
                     data={"guidance": guidance}, update_fields=fields)
    return case


@transaction.atomic
def case_follow_up(*, case_id: Any, actor: Any, note: str, stable: bool = True, version: int | None = None) -> FollowUp:
    """回访: record the visit; the next one falls due ``follow_up_days`` from now."""
    case = _locked(case_id, actor, version=version)
    transition, role = check_transition(case, Action.FOLLOW_UP, actor)
    note = _text(note, "note", label=_("回访情况"))
    now = timezone.now()
    follow_up = FollowUp.objects.create(case=case, due_at=case.next_follow_up_at or now, done_at=now,
                                        stable=bool(stable), note=note, by=actor)
    case.next_follow_up_at = now + timedelta(days=case.follow_up_days)
    apply_transition(case, Action.FOLLOW_UP, actor=actor, role=role, transition=transition, note=note,
                     data={"stable": bool(stable), "late": follow_up.done_at > follow_up.due_at},
                     update_fields=["next_follow_up_at"])
    return follow_up


@transaction.atomic
def case_close(*, case_id: Any, actor: Any, note: str = "", version: int | None = None) -> DisputeCase:
    """结案: closed as stable once enough follow-ups found it stable (the last one included)."""
    case = _locked(case_id, actor, version=version)
    transition, role = check_transition(case, Action.CLOSE, actor)
    follow_ups = list(case.follow_ups.order_by("done_at", "id"))
    needed = follow_ups_to_close()
    if sum(1 for f in follow_ups if f.stable) < needed or (follow_ups and not follow_ups[-1].stable):
        raise ValidationFailed(fields={"follow_ups": _("结案前须至少 %(needed)s 次回访确认稳定，且最近一次回访为稳定") % {
            "needed": needed}})
    note = _text(note, "note", label=_("说明"), required=False)
    case.closed_at, case.next_follow_up_at = timezone.now(), None
    apply_transition(case, Action.CLOSE, actor=actor, role=role, transition=transition, note=note,
                     update_fields=["closed_at", "next_follow_up_at"])
    return case


@transaction.atomic
def case_reopen(*, case_id: Any, actor: Any, note: str, version: int | None = None) -> DisputeCase:
    """The agreement is not being kept (a follow-up found it unstable): mediate again. The case leaves the
    concluded cases until it is concluded again (agreement or failure), then counts at that moment."""
    case = _locked(case_id, actor, version=version)
    transition, role = check_transition(case, Action.REOPEN, actor)
    note = _text(note, "note", label=_("重新调解理由"))
    previous = {"agreed_at": case.agreed_at.isoformat() if case.agreed_at else None,
                "concluded_at": case.concluded_at.isoformat() if case.concluded_at else None}
    case.concluded_at, case.concluded_level, case.next_follow_up_at = None, "", None
    apply_transition(case, Action.REOPEN, actor=actor, role=role, transition=transition, note=note, data=previous,
                     update_fields=["concluded_at", "concluded_level", "next_follow_up_at"])
    return case


@transaction.atomic
def case_withdraw(*, case_id: Any, actor: Any, note: str, version: int | None = None) -> DisputeCase:
    """撤回: the applicant withdraws (not counted in any target)."""
    return _simple(Action.WITHDRAW, case_id=case_id, actor=actor, note=note, version=version, required=True,
                   label=_("撤回说明"))


@transaction.atomic
def case_raise_work_order(*, case_id: Any, actor: Any, content: str, kind: str = Kind.HELP,
                          category_code: str | None = None, version: int | None = None) -> Any:
    """A case asks a department to act: a 12345 work order (workorders.services.work_order_create), linked
    both ways. Mediators of the case's area may create it (workorders' CREATE_ROLES, channel walk_in)."""
    case = _locked(case_id, actor, version=version)
    transition, role = check_transition(case, Action.RAISE_WORK_ORDER, actor)
    content = _text(content, "content", label=_("转办内容"))
    party = case.parties.order_by("id").first()
    order = workorder_services.work_order_create(
        actor=actor, channel=Channel.WALK_IN, kind=kind, content=content, title=f"矛盾纠纷案件 {case.number} 转办",
        area_code=case.area.code, category_code=category_code, citizen_name=party.name if party else "",
        citizen_phone=personal.party_phone(party) if party else "", note=f"由矛盾纠纷案件 {case.number}（{case.owner_org.name}）转办",
    )
    CaseWorkOrderLink.objects.create(case=case, work_order=order, direction=CaseWorkOrderLink.RAISED,
                                     created_at=timezone.now())
    apply_transition(case, Action.RAISE_WORK_ORDER, actor=actor, role=role, transition=transition, note=content[:500],
                     data={"work_order": order.number, "work_order_id": order.pk})
    return order


# --- personal data ------------------------------------------------------------------------------

@dataclass(frozen=True)
class RevealedParty:
    """A party's clear values, opened for one audited reveal; never stored."""

    pk: int
    name: str
    phone: str
    id_number: str


@transaction.atomic
def party_reveal(*, actor: Any, case_id: Any, party_id: Any) -> RevealedParty:
    """Show a party's phone and ID number to a mediator of the case's area: one audit row per reveal.
    Leaders and supervisors read masked data only. The values are decrypted here, after the checks and in
    the audit row's transaction (a missing key fails the reveal, and then no audit row is written)."""
    case = cases_visible_to(actor).filter(pk=case_id).first() if str(case_id).isdigit() else None
    if case is None:
        raise NotFound(_("未找到该案件"))
    party = case.parties.filter(pk=party_id).first() if str(party_id).isdigit() else None
    if party is None:
        raise NotFound(_("未找到该当事人"))
    scope = actor_scope(actor)
    if not scope.is_admin and scope.area_role_covers({Role.MEDIATOR}, case.area_path) is None:
        raise PermissionDenied(_("只有辖区调解员可以查看当事人完整信息"))
    audit_record(actor=actor, event_type=AuditEventType.PERSONAL_DATA_REVEAL, object_type="mediation_party",
                 object_id=party.pk, data={"case": case.number, "fields": ["phone", "id_number"]})
    return RevealedParty(pk=party.pk, name=party.name, phone=personal.party_phone(party),
                         id_number=personal.party_id_number(party))


def parties_rekey(*, batch_size: int = 500, dry_run: bool = False) -> dict[str, int]:
    """Key rotation (``tongxin pii rekey``): reseal every party's phone and ID number under the first key
    of TONGXIN_DATA_KEYS and recompute the digest with it. One transaction per batch of rows (locked,
    walked by primary key), so a long run never holds the whole table and can be interrupted and run
    again: rows already under the first key are counted but not written (idempotent)."""
    batch_size = max(1, int(batch_size))
    counts = {"examined": 0, "resealed": 0, "batches": 0}
    sealed = Party.objects.exclude(id_number_enc="", phone_enc="").order_by("pk")
    last = 0
    while True:
        with transaction.atomic():
            rows = list((sealed if dry_run else sealed.select_for_update()).filter(pk__gt=last)[:batch_size])
            if not rows:
                return counts
            changed = [party for party in rows if personal.party_rekey(party)]
            if changed and not dry_run:
                Party.objects.bulk_update(changed, list(personal.SEALED_COLUMNS))
        counts["examined"] += len(rows)
        counts["resealed"] += len(changed)
        counts["batches"] += 1
        last = rows[-1].pk
