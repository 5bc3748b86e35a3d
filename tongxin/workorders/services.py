"""Every write to work orders. Keyword-only, one transaction each, the audit event in the same
transaction, notifications scheduled after commit.

Each action service: lock the row through the actor's jurisdiction (outside it: 404), check the
optional ``version`` the client read (another user acted first: 409), check the transition table and
the actor's role (409 / 403), validate the input (422), then change and record.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.accounts.choices import Role
from tongxin.accounts.models import Department
from tongxin.accounts.selectors import ActorScope, actor_scope
from tongxin.core.datums import Datum, in_china_box, to_wgs84
from tongxin.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, require_text
from tongxin.core.images import SNIFF_BYTES, image_reencode, sniff
from tongxin.core.pgfast import statement_cursor
from tongxin.regions.models import Area
from tongxin.regions.selectors import area_locate_id

from . import sla
from .choices import (
    DEPARTMENT_CONTROLLABLE_CAUSES,
    TERMINAL_STATUSES,
    Action,
    AssignmentRole,
    Channel,
    ExtensionStatus,
    Kind,
    ReturnReason,
    Satisfaction,
    Status,
    UnsatisfiedCause,
    Urgency,
)
from .models import (
    Attachment,
    Category,
    DailyCounter,
    ExtensionRequest,
    WorkOrder,
    WorkOrderAssignment,
    WorkOrderEvent,
)
from .selectors import (
    dispatch_suggest,
    intake_area,
    intake_category,
    invalidate_intake_cache,
    work_orders_visible_to,
)
from .workflow import apply_transition, check_transition

PHONE_RE = re.compile(r"^\+?[0-9][0-9-]{4,19}$")
# Who may record a new request, and through which channels.
INTAKE_ROLES = frozenset({Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR, Role.GRID_WORKER})
# Who may record a new order: the intake roles, and mediators, whose dispute cases raise work orders for
# departments (walk-in channel: the parties came to the mediation centre). Mediators take no other step.
CREATE_ROLES = INTAKE_ROLES | {Role.MEDIATOR}
REPEAT_WINDOW = timedelta(days=30)
MAX_NOTE_CHARS = 2000


# --- helpers ----------------------------------------------------------------------------------



def _choice(value: str | None, choices: Any, field: str, label: str, *, default: str | None = None) -> str:
    if value in (None, "") and default is not None:
        return default
    values = [member.value for member in choices]  # TextChoices and plain StrEnums (Datum) alike
    if value not in values:
        raise ValidationFailed(fields={field: _("%(label)s「%(value)s」无效，可选：%(values)s") % {"label": label, "value": value, "values": _("、").join(values)}})
    return str(value)


def _note(note: str | None) -> str:
    return require_text(note, "note", max_chars=MAX_NOTE_CHARS, required=False, label=_("说明"))


def _locked(order_id: Any, actor: Any, *, version: int | None = None) -> tuple[WorkOrder, ActorScope]:
    """Lock the order if the actor may see it; 404 otherwise, exactly as if it did not exist."""
    try:
        pk = int(order_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    scope = actor_scope(actor)
    order = (
        work_orders_visible_to(actor).select_for_update(of=("self",)).filter(pk=pk).first()
        if connection.features.has_select_for_update_of
        else work_orders_visible_to(actor).select_for_update().filter(pk=pk).first()
    )
    if order is None:
        raise NotFound()
    if version is not None and version != order.version:
        raise Conflict(
            _("该工单已被其他人处理（版本已变化），请刷新后重试"),
            code="stale_version", fields={"version": _("当前版本为 %(current)s，您提交的是 %(submitted)s") % {"current": order.version, "submitted": version}},
        )
    return order, scope


def _department(department_id: Any, field: str) -> Department:
    try:
        pk = int(department_id)
    except (TypeError, ValueError):
        raise ValidationFailed(fields={field: _("单位编号无效")}) from None
    department = Department.objects.filter(pk=pk, active=True).first()
    if department is None:
        raise ValidationFailed(fields={field: _("承办单位 %(department_id)s 不存在或已停用") % {"department_id": department_id}})
    return department


def _notify_department(order: WorkOrder, department_id: int | None, kind: str, title: str, dedupe_key: str | None = None) -> None:
    """Called inside the action's transaction, not on commit: the notifications commit with the action
    or not at all, so a worker killed just after the commit cannot leave an order dispatched and its
    department never told (found by bench/faults.py). Their SMS go through the outbox (sms_due)."""
    if department_id is None:
        return
    from tongxin.accounts.selectors import department_users
    from tongxin.accounts.services import notification_send

    notification_send(
        recipients=department_users(department_id), kind=kind, title=title, object_type="workorder",
        object_id=order.pk, url=f"/orders/{order.pk}/", dedupe_key=dedupe_key,
    )


def _allocate_number(day: date) -> str:
    """One atomic upsert per order (works on SQLite ≥ 3.35 and PostgreSQL); the row lock is held until
    commit, so this is the last statement of an intake transaction."""
    table = "workorders_dailycounter"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (day, last) VALUES (%s, 1) "  # noqa: S608 - constant table name
            f"ON CONFLICT (day) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [day],
        )
        (last,) = cursor.fetchone()
    return f"{day:%Y%m%d}{last:05d}"


# --- intake -------------------------------------------------------------------------------------

@dataclass
class Location:
    lat: float | None
    lng: float | None
    area: Area


def _resolve_location(*, lat: Any, lng: Any, crs: str | None, area_code: str | None, cached: bool = False) -> Location:
    if (lat is None) != (lng is None):
        missing = "lng" if lng is None else "lat"
        raise ValidationFailed(fields={missing: _("经度和纬度必须同时提供")})
    point: tuple[float, float] | None = None
    if lat is not None:
        try:
            flat, flng = float(lat), float(lng)
        except (TypeError, ValueError):
            raise ValidationFailed(fields={"lat": _("坐标必须是数字")}) from None
        if not (math.isfinite(flat) and math.isfinite(flng)):
            raise ValidationFailed(fields={"lat": _("坐标必须是有限数字")})
        datum = _choice(crs, Datum, "crs", _("坐标系"), default=Datum.WGS84) if not isinstance(crs, Datum) else crs
        if not in_china_box(flng, flat):
            raise ValidationFailed(fields={"lat": _("坐标 (%(flng)s, %(flat)s) 不在中国境内") % {"flng": flng, "flat": flat}})
        wlng, wlat = to_wgs84(flng, flat, datum)
        point = (round(wlng, 7), round(wlat, 7))
    area: Area | None = None
    if area_code:
        area = intake_area(code=str(area_code), cached=cached)
        if area is None:
            raise ValidationFailed(fields={"area_code": _("区域代码 %(area_code)s 不存在") % {"area_code": area_code}})
    elif point is not None:
        pk = area_locate_id(point[0], point[1])
        area = intake_area(pk=pk, cached=cached) if pk else None
    if area is None:
        area = intake_area(cached=cached)
    if area is None:
        raise ValidationFailed(fields={"area_code": _("系统尚未配置区域，请先导入区划")})
    return Location(lat=point[1] if point else None, lng=point[0] if point else None, area=area)


@dataclass
class _Intake:
    """A validated request, ready to be written: the order (without number and repeat flag) and the
    parts of its acceptance event."""

    order: WorkOrder
    role: str
    label: str
    note: str
    check_repeat: bool


def _intake_prepare(
    *, actor: Any, cached: bool, channel: str, kind: str, content: str, title: str, urgency: str,
    category_code: str | None, lat: Any, lng: Any, crs: str | None, address: str, area_code: str | None,
    citizen_name: str, citizen_phone: str, anonymous: bool, external_id: str, note: str, accepted_at: datetime | None,
) -> _Intake:
    """Validation and permission checks of intake, in their documented order; reads only."""
    scope = actor_scope(actor)
    channel = _choice(channel, Channel, "channel", _("渠道"))
    kind = _choice(kind, Kind, "kind", _("诉求类型"))
    urgency = _choice(urgency, Urgency, "urgency", _("紧急程度"), default=Urgency.NORMAL)
    content = require_text(content, "content", max_chars=settings.TONGXIN_MAX_CONTENT_CHARS, label=_("诉求内容"))
    title = require_text(title, "title", max_chars=200, required=False, label=_("标题"))
    address = require_text(address, "address", max_chars=300, required=False, label=_("地址"))
    external_id = require_text(external_id, "external_id", max_chars=64, required=False, label=_("外部编号"))
    category = None
    if category_code:
        category = intake_category(str(category_code), cached=cached)
        if category is None:
            raise ValidationFailed(fields={"category_code": _("分类 %(category_code)s 不存在或已停用") % {"category_code": category_code}})
    if anonymous:
        citizen_name, citizen_phone = "", ""
    citizen_name = require_text(citizen_name, "citizen_name", max_chars=60, required=False, label=_("诉求人姓名"))
    citizen_phone = (citizen_phone or "").strip().replace(" ", "")
    if citizen_phone and not PHONE_RE.match(citizen_phone):
        raise ValidationFailed(fields={"citizen_phone": _("电话号码格式不正确")})
    location = _resolve_location(lat=lat, lng=lng, crs=crs, area_code=area_code, cached=cached)
    role = scope.area_role_covers(CREATE_ROLES, location.area.path)
    if role is None and not scope.is_admin:
        if not scope.roles & CREATE_ROLES:
            raise PermissionDenied(_("您的角色不能受理诉求"))
        raise ValidationFailed(fields={"area_code": _("该位置不在您的管辖范围内")})
    if role == Role.GRID_WORKER and channel != Channel.GRID:
        raise ValidationFailed(fields={"channel": _("网格员上报的渠道必须为 grid")})
    if role == Role.MEDIATOR and channel != Channel.WALK_IN:
        raise ValidationFailed(fields={"channel": _("调解员转办的渠道必须为 walk_in")})
    now = accepted_at or timezone.now()
    order = WorkOrder(
        number="", channel=channel, kind=kind, urgency=urgency, status=Status.ACCEPTED, title=title,
        content=content, category=category, lat=location.lat, lng=location.lng, address=address,
        area=location.area, area_path=location.area.path, citizen_name=citizen_name, citizen_phone=citizen_phone,
        anonymous=anonymous, is_repeat=False, external_id=external_id,
        accepted_by=actor if getattr(actor, "pk", None) else None, accepted_at=now,
    )
    return _Intake(order=order, role=role or Role.ADMIN, label=_label(actor), note=_note(note),
                   check_repeat=bool(citizen_phone and category is not None))


def _intake_event_values(intake: _Intake) -> dict[str, Any]:
    """The acceptance event's fields (by attribute name), for both ways of writing it."""
    order = intake.order
    return {
        "action": Action.ACCEPT, "from_status": "", "to_status": Status.ACCEPTED, "actor_id": order.accepted_by_id,
        "actor_role": intake.role, "actor_label": intake.label, "department_id": None, "at": order.accepted_at,
        "note": intake.note, "data": {"channel": order.channel},
    }


def _intake_event(intake: _Intake) -> WorkOrderEvent:
    return WorkOrderEvent(order=intake.order, **_intake_event_values(intake))


def work_order_create(
    *, actor: Any, channel: str, kind: str, content: str, title: str = "", urgency: str = Urgency.NORMAL,
    category_code: str | None = None, lat: Any = None, lng: Any = None, crs: str | None = None,
    address: str = "", area_code: str | None = None, citizen_name: str = "", citizen_phone: str = "",
    anonymous: bool = False, external_id: str = "", note: str = "", accepted_at: datetime | None = None,
) -> WorkOrder:
    """受理: record a request from any channel. The order starts in ``accepted``, placed in the
    deepest area containing its location (or the picked area, or the city).

    One transaction: on PostgreSQL a single statement (``_insert_intake``: number, order, acceptance
    event and the repeat check), on other databases an atomic block of ORM statements."""
    fields = dict(
        channel=channel, kind=kind, content=content, title=title, urgency=urgency, category_code=category_code,
        lat=lat, lng=lng, crs=crs, address=address, area_code=area_code, citizen_name=citizen_name,
        citizen_phone=citizen_phone, anonymous=anonymous, external_id=external_id, note=note, accepted_at=accepted_at,
    )
    if connection.vendor == "postgresql":
        for cached in (True, False):
            intake = _intake_prepare(actor=actor, cached=cached, **fields)
            if _insert_intake(intake):
                return intake.order
            # The category or the area changed since this process read it: read them again, once.
            invalidate_intake_cache()
    return _work_order_create_orm(actor=actor, fields=fields)


@transaction.atomic
def _work_order_create_orm(*, actor: Any, fields: dict[str, Any]) -> WorkOrder:
    intake = _intake_prepare(actor=actor, cached=False, **fields)
    order = intake.order
    if intake.check_repeat and order.category_id is not None:  # check_repeat implies a category
        now = order.accepted_at
        order.is_repeat = WorkOrder.objects.filter(
            citizen_phone=order.citizen_phone, category_id=order.category_id, accepted_at__gte=now - REPEAT_WINDOW,
            accepted_at__lte=now,
        ).exists()
    order.number = _allocate_number(timezone.localtime(order.accepted_at).date())
    order.save()
    _intake_event(intake).save()
    return order


# The PostgreSQL intake statement. Data-modifying CTEs run on one snapshot and commit together (the
# statement is its own transaction, or part of the caller's): the guard re-checks the reference rows
# read from the per-process cache; the counter upsert (ADR 0002) numbers the order; the order row
# takes the number and the repeat flag (an earlier order of the same caller and category within 30
# days, as the ORM path computes it); the acceptance event follows. When the guard fails nothing is
# written, not even the counter, and the statement returns no row.
_INTAKE_SQL: dict[tuple[Any, ...], str] = {}
# A concrete field always has a column; django-stubs types Field.column as str | None (for the
# non-concrete ones), hence the casts to str where the columns are collected.
_WO_FIELDS = [f for f in WorkOrder._meta.concrete_fields if not f.primary_key]
_EV_FIELDS = [f for f in WorkOrderEvent._meta.concrete_fields if not f.primary_key and f.attname != "order_id"]


def _intake_sql(db: Any, wo_columns: tuple[str, ...], ev_columns: tuple[str, ...], *, guard_category: bool,
                check_repeat: bool) -> str:
    """The statement for these columns (a NULL column is left out, so that the statement stays short
    and its parameters few enough for the driver's query cache); built once per shape."""
    key = (wo_columns, ev_columns, guard_category, check_repeat)
    sql = _INTAKE_SQL.get(key)
    if sql is not None:
        return sql
    qn = db.ops.quote_name
    wo, ev, counter = WorkOrder._meta.db_table, WorkOrderEvent._meta.db_table, DailyCounter._meta.db_table
    wo_values = []
    for column in wo_columns:
        if column == "number":
            wo_values.append("%s || CASE WHEN n.last < 100000 THEN lpad(n.last::text, 5, '0') ELSE n.last::text END")
        elif column == "is_repeat" and check_repeat:
            wo_values.append(
                f"EXISTS (SELECT 1 FROM {qn(wo)} r WHERE r.citizen_phone = %s AND r.category_id = %s "  # noqa: S608
                "AND r.accepted_at >= %s AND r.accepted_at <= %s)"
            )
        else:
            wo_values.append("%s")
    # Only model metadata (table and column names) is formatted into the SQL; every value is a parameter.
    guard = [f"EXISTS (SELECT 1 FROM {qn(Area._meta.db_table)} WHERE id = %s AND path = %s)"]  # noqa: S608
    if guard_category:
        guard.append(f"EXISTS (SELECT 1 FROM {qn(Category._meta.db_table)} WHERE id = %s AND active)")  # noqa: S608
    sql = _INTAKE_SQL[key] = (
        f"WITH n AS (INSERT INTO {qn(counter)} AS c (day, last) SELECT %s, 1 WHERE {' AND '.join(guard)} "  # noqa: S608
        "ON CONFLICT (day) DO UPDATE SET last = c.last + 1 RETURNING c.last), "
        f"o AS (INSERT INTO {qn(wo)} ({', '.join(qn(c) for c in wo_columns)}) "
        f"SELECT {', '.join(wo_values)} FROM n RETURNING id, number, is_repeat), "
        f"e AS (INSERT INTO {qn(ev)} ({qn('order_id')}, {', '.join(qn(c) for c in ev_columns)}) "
        f"SELECT o.id, {', '.join(['%s'] * len(ev_columns))} FROM o RETURNING id) "
        "SELECT o.id, o.number, o.is_repeat FROM o, e"
    )
    return sql


def _insert_intake(intake: _Intake) -> bool:
    """Write the order and its acceptance event in one statement; False if the guard failed."""
    db = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: every ``connection.x`` is a thread-local lookup
    order = intake.order
    now = order.accepted_at
    day = timezone.localtime(now).date()
    params: list[Any] = [day, order.area_id, order.area_path]
    if order.category_id is not None:
        params.append(order.category_id)
    wo_columns: list[str] = []
    for f in _WO_FIELDS:
        if f.attname == "number":
            params.append(f"{day:%Y%m%d}")
        elif f.attname == "is_repeat" and intake.check_repeat:
            params += [order.citizen_phone, order.category_id, now - REPEAT_WINDOW, now]
        else:
            value = getattr(order, f.attname)
            if value is None:
                continue
            params.append(f.get_db_prep_save(value, db))
        wo_columns.append(cast(str, f.column))
    event = _intake_event_values(intake)
    ev_columns: list[str] = []
    for f in _EV_FIELDS:
        value = event[f.attname]
        if value is not None:
            params.append(f.get_db_prep_save(value, db))
            ev_columns.append(cast(str, f.column))
    sql = _intake_sql(db, tuple(wo_columns), tuple(ev_columns), guard_category=order.category_id is not None,
                      check_repeat=intake.check_repeat)
    with statement_cursor(db) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    order.pk, order.number, order.is_repeat = row
    order._state.adding = False
    order._state.db = db.alias
    return True


def _label(actor: Any) -> str:
    if actor is None:
        return "系统"
    return getattr(actor, "display_name", "") or actor.get_username()


# --- dispatch and the department's side ---------------------------------------------------------

def _assign(order: WorkOrder, lead: Department, co: list[Department], now: datetime) -> None:
    """Start the clocks and (re)create the assignments: the previous lead row is kept, inactive."""
    limits = sla.limits_for(category_id=order.category_id, kind=order.kind, urgency=order.urgency)
    sign_clock = sla.clock(now, limits.sign, limits.warning_ratio)
    due_clock = sla.clock(now, limits.completion, limits.warning_ratio)
    WorkOrderAssignment.objects.filter(order=order, active=True).update(active=False)
    # Fresh clocks supersede an extension the previous lead left pending: approving it later would
    # move the new lead's deadline to a date asked for another clock (possibly an earlier one), and it
    # would block the new lead's own request (one pending request per order).
    ExtensionRequest.objects.filter(order=order, status=ExtensionStatus.PENDING).update(
        status=ExtensionStatus.DENIED, decided_at=now, decision_note="工单已重新派单，原延期申请自动失效"
    )
    WorkOrderAssignment.objects.create(
        order=order, department=lead, role=AssignmentRole.LEAD, assigned_at=now, sign_due_at=sign_clock.due_at
    )
    WorkOrderAssignment.objects.bulk_create(
        WorkOrderAssignment(order=order, department=d, role=AssignmentRole.CO, assigned_at=now) for d in co
    )
    order.lead_department = lead
    order.dispatched_at = now
    order.signed_at = None
    order.sign_due_at, order.sign_warn_at = sign_clock.due_at, sign_clock.warn_at
    order.due_at, order.due_warn_at = due_clock.due_at, due_clock.warn_at
    order.sign_reminded_for = order.due_reminded_for = order.supervised_for = None


ASSIGN_FIELDS = [
    "lead_department", "dispatched_at", "signed_at", "sign_due_at", "sign_warn_at", "due_at", "due_warn_at",
    "sign_reminded_for", "due_reminded_for", "supervised_for",
]


def _departments_from(lead_department_id: Any, co_department_ids: list[Any] | None, order: WorkOrder) -> tuple[Department, list[Department]]:
    if lead_department_id in (None, ""):
        suggestion = dispatch_suggest(category_id=order.category_id, area_path=order.area_path)
        if suggestion is None:
            raise ValidationFailed(fields={"lead_department_id": _("派单目录中没有匹配的承办单位，请手动选择")})
        lead = suggestion.lead
        co = list(suggestion.co) if co_department_ids is None else []
    else:
        lead = _department(lead_department_id, "lead_department_id")
        co = []
    for index, pk in enumerate(co_department_ids or []):
        department = _department(pk, f"co_department_ids[{index}]")
        if department.pk == lead.pk:
            raise ValidationFailed(fields={f"co_department_ids[{index}]": _("协办单位不能与主办单位相同")})
        if department not in co:
            co.append(department)
    return lead, co


@transaction.atomic
def work_order_dispatch(
    *, order_id: Any, actor: Any, lead_department_id: Any = None, co_department_ids: list[Any] | None = None,
    note: str = "", version: int | None = None,
) -> WorkOrder:
    """派单: to the chosen lead (or the catalogue's suggestion) and co-handlers; starts both clocks."""
    order, scope = _locked(order_id, actor, version=version)
    transition, role = check_transition(order, Action.DISPATCH, scope)
    if order.category_id is None:
        raise ValidationFailed(fields={"category_code": _("派单前必须选择诉求分类")})
    lead, co = _departments_from(lead_department_id, co_department_ids, order)
    now = timezone.now()
    _assign(order, lead, co, now)
    apply_transition(order, Action.DISPATCH, actor=actor, role=role, transition=transition, note=_note(note),
                     data={"lead_department_id": lead.pk, "co_department_ids": [d.pk for d in co]},
                     department_id=lead.pk, at=now, update_fields=ASSIGN_FIELDS)
    _notify_department(order, lead.pk, "dispatched", f"新工单 {order.number} 待签收")
    return order


@transaction.atomic
def work_order_reassign(
    *, order_id: Any, actor: Any, lead_department_id: Any = None, co_department_ids: list[Any] | None = None,
    note: str = "", version: int | None = None,
) -> WorkOrder:
    """改派: to another department; the clocks restart for the new lead."""
    order, scope = _locked(order_id, actor, version=version)
    transition, role = check_transition(order, Action.REASSIGN, scope)
    lead, co = _departments_from(lead_department_id, co_department_ids, order)
    now = timezone.now()
    previous = order.lead_department_id
    _assign(order, lead, co, now)
    apply_transition(order, Action.REASSIGN, actor=actor, role=role, transition=transition, note=_note(note),
                     data={"lead_department_id": lead.pk, "previous_department_id": previous,
                           "co_department_ids": [d.pk for d in co]},
                     department_id=lead.pk, at=now, update_fields=ASSIGN_FIELDS)
    _notify_department(order, lead.pk, "dispatched", f"改派工单 {order.number} 待签收")
    return order


@transaction.atomic
def work_order_force_dispatch(*, order_id: Any, actor: Any, note: str, version: int | None = None) -> WorkOrder:
    """强制派单: the centre insists the returning department handles it; the clocks restart."""
    order, scope = _locked(order_id, actor, version=version)
    transition, role = check_transition(order, Action.FORCE_DISPATCH, scope)
    note = require_text(note, "note", max_chars=MAX_NOTE_CHARS, label=_("强制派单理由"))
    returned = (
        WorkOrderAssignment.objects.filter(order=order, role=AssignmentRole.LEAD).order_by("-assigned_at", "-id").first()
    )
    if returned is None:
        raise Conflict(_("该工单没有可强制派回的单位"))
    co = [a.department for a in WorkOrderAssignment.objects.filter(order=order, role=AssignmentRole.CO, assigned_at=returned.assigned_at)]
    now = timezone.now()
    _assign(order, returned.department, co, now)
    apply_transition(order, Action.FORCE_DISPATCH, actor=actor, role=role, transition=transition, note=note,
                     data={"lead_department_id": returned.department_id}, department_id=returned.department_id,
                     at=now, update_fields=ASSIGN_FIELDS)
    dept_id = returned.department_id
    _notify_department(order, dept_id, "force_dispatched", f"工单 {order.number} 被强制派回，请签收办理")
    return order


def _lead_assignment(order: WorkOrder) -> WorkOrderAssignment:
    assignment = WorkOrderAssignment.objects.filter(order=order, role=AssignmentRole.LEAD, active=True).first()
    if assignment is None:  # the table guarantees a lead in these states; this is a broken invariant
        raise Conflict(_("工单缺少主办单位"))
    return assignment


@transaction.atomic
def work_order_sign(*, order_id: Any, actor: Any, note: str = "", version: int | None = None) -> WorkOrder:
    """签收: the lead department acknowledges the order."""
    order, scope = _locked(order_id, actor, version=version)
    transition, role = check_transition(order, Action.SIGN, scope)
    now = timezone.now()
    assignment = _lead_assignment(order)
    assignment.signed_at = now
    assignment.save(update_fields=["signed_at"])
    order.signed_at = now
    apply_transition(order, Action.SIGN, actor=actor, role=role, transition=transition, note=_note(note),
                     data={"on_time": bool(order.sign_due_at and now <= order.sign_due_at)},
                     department_id=order.lead_department_id, at=now, update_fields=["signed_at"])
    return order


@transaction.atomic
def work_order_return(*, order_id: Any, actor: Any, reason: str, note: str, version: int | None = None) -> WorkOrder:
    """退单: the lead department declines, with a reason from the list and an explanation."""
    order, scope = _locked(order_id, actor, version=version)
    transition, role = check_transition(order, Action.RETURN, scope)
    reason = _choice(reason, ReturnReason, "reason", _("退单原因"))
    note = require_text(note, "note", max_chars=MAX_NOTE_CHARS, label=_("退单说明"))
    now = timezone.now()
    assignment = _lead_assignment(order)
    assignment.returned_at, assignment.return_reason, assignment.active = now, reason, False
    assignment.save(update_fields=["returned_at", "return_reason", "active"])
    WorkOrderAssignment.objects.filter(order=order, active=True).update(active=False)
    department_id = order.lead_department_id
    order.lead_department = None
    order.sign_due_at = order.sign_warn_at = order.due_at = order.due_warn_at = None
    apply_transition(order, Action.RETURN, actor=actor, role=role, transition=transition, note=note,
                     data={"reason": reason}, department_id=department_id, at=now,
                     update_fields=["lead_department", "sign_due_at", "sign_warn_at", "due_at", "due_warn_at"])
    return order


@transaction.atomic
def work_order_request_extension(
    *, order_id: Any, actor: Any, requested_due_at: datetime, reason: str, version: int | None = None,
) -> ExtensionRequest:
    """申请延期: only before the completion deadline, to a later date, one pending request at a time."""
    order, scope = _locked(order_id, actor, version=version)
    transition, role = check_transition(order, Action.REQUEST_EXTENSION, scope)
    reason = require_text(reason, "reason", max_chars=MAX_NOTE_CHARS, label=_("延期理由"))
    now = timezone.now()
    if not isinstance(requested_due_at, datetime) or timezone.is_naive(requested_due_at):
        raise ValidationFailed(fields={"requested_due_at": _("请提供带时区的日期时间")})
    if order.due_at is None or now >= order.due_at:
        raise Conflict(_("已超过办结期限，不能再申请延期"), code="deadline_passed")
    if requested_due_at <= order.due_at:
        raise ValidationFailed(fields={"requested_due_at": _("申请的期限必须晚于当前办结期限")})
    if requested_due_at > order.due_at + timedelta(days=90):
        raise ValidationFailed(fields={"requested_due_at": _("单次延期不能超过 90 天")})
    if ExtensionRequest.objects.filter(order=order, status=ExtensionStatus.PENDING).exists():
        raise Conflict(_("已有待审批的延期申请"), code="extension_pending")
    assert order.lead_department_id is not None  # REQUEST_EXTENSION is allowed only while a lead handles it
    request = ExtensionRequest.objects.create(
        order=order, department_id=order.lead_department_id, requested_by=actor, requested_at=now,
        previous_due_at=order.due_at, requested_due_at=requested_due_at, reason=reason,
    )
    apply_transition(order, Action.REQUEST_EXTENSION, actor=actor, role=role, transition=transition, note=reason,
                     data={"extension_id": request.pk, "requested_due_at": requested_due_at.isoformat()},
                     department_id=order.lead_department_id, at=now)
    return request


@transaction.atomic
def work_order_decide_extension(
    *, order_id: Any, actor: Any, approve: bool, note: str = "", version: int | None = None,
) -> WorkOrder:
    """批准/驳回延期. Approval moves the completion deadline (and its warning) to the requested date."""
    action = Action.APPROVE_EXTENSION if approve else Action.DENY_EXTENSION
    order, scope = _locked(order_id, actor, version=version)
    transition, role = check_transition(order, action, scope)
    request = ExtensionRequest.objects.select_for_update().filter(order=order, status=ExtensionStatus.PENDING).first()
    if request is None:
        raise Conflict(_("没有待审批的延期申请"), code="no_pending_extension")
    note = _note(note)
    if not approve and not note:
        raise ValidationFailed(fields={"note": _("驳回延期必须说明理由")})
    now = timezone.now()
    request.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.DENIED
    request.decided_by, request.decided_at, request.decision_note = actor, now, note
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    fields: list[str] = []
    if approve:
        start = order.dispatched_at or order.accepted_at
        limits = sla.limits_for(category_id=order.category_id, kind=order.kind, urgency=order.urgency)
        order.due_at = request.requested_due_at
        order.due_warn_at = sla.warn_between(start, order.due_at, limits.completion.unit, limits.warning_ratio)
        order.due_reminded_for = order.supervised_for = None
        fields = ["due_at", "due_warn_at", "due_reminded_for", "supervised_for"]
    apply_transition(order, action, actor=actor, role=role, transition=transition, note=note,
                     data={"extension_id": request.pk, "due_at": order.due_at.isoformat() if order.due_at else None},
                     department_id=order.lead_department_id, at=now, update_fields=fields)
    return order


@transaction.atomic
def work_order_remind(*, order_id: Any, actor: Any, note: str = "", version: int | None = None) -> WorkOrder:
    """催办: a reminder to the lead department (also raised by the SLA sweep)."""
    order, scope = _locked(order_id, actor, version=version)
    transition, role = check_transition(order, Action.REMIND, scope)
    apply_transition(order, Action.REMIND, actor=actor, role=role, transition=transition, note=_note(note),
                     department_id=order.lead_department_id)
    dept = order.lead_department_id
    _notify_department(order, dept, "remind", f"催办：工单 {order.number}")
    return order


@transaction.atomic
def work_order_supervise(*, order_id: Any, actor: Any, note: str, version: int | None = None) -> WorkOrder:
    """督办: a formal supervision notice with its text."""
    order, scope = _locked(order_id, actor, version=version)
    transition, role = check_transition(order, Action.SUPERVISE, scope)
    note = require_text(note, "note", max_chars=MAX_NOTE_CHARS, label=_("督办意见"))
    apply_transition(order, Action.SUPERVISE, actor=actor, role=role, transition=transition, note=note,
                     department_id=order.lead_department_id)
    dept = order.lead_department_id
    _notify_department(order, dept, "supervise", f"督办：工单 {order.number}")
    return order


@transaction.atomic
def work_order_co_reply(*, order_id: Any, actor: Any, text: str, version: int | None = None) -> WorkOrder:
    """协办答复: a co-handling department reports its part to the lead (not to the citizen)."""
    order, scope = _locked(order_id, actor, version=version)
    transition, role = check_transition(order, Action.CO_REPLY, scope)
    text = require_text(text, "text", max_chars=settings.TONGXIN_MAX_CONTENT_CHARS, label=_("协办答复"))
    mine = set(scope.department_roles.get(Role.HANDLER, ()))
    assignment = (
        WorkOrderAssignment.objects.select_for_update()
        .filter(order=order, role=AssignmentRole.CO, active=True, department_id__in=mine).first()
    )
    if assignment is None:
        raise PermissionDenied(_("您所在单位不是该工单的协办单位"))
    if assignment.replied_at is not None:
        raise Conflict(_("本单位已提交协办答复"), code="already_replied")
    now = timezone.now()
    assignment.replied_at, assignment.reply_text = now, text
    assignment.save(update_fields=["replied_at", "reply_text"])
    apply_transition(order, Action.CO_REPLY, actor=actor, role=role, transition=transition, note=text,
                     department_id=assignment.department_id, at=now)
    return order


def _attachments(order: WorkOrder, attachment_ids: list[Any] | None) -> list[int]:
    ids: list[int] = []
    for index, value in enumerate(attachment_ids or []):
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            raise ValidationFailed(fields={f"attachment_ids[{index}]": _("附件编号无效")}) from None
    found = set(Attachment.objects.filter(order=order, pk__in=ids).values_list("pk", flat=True))
    for index, pk in enumerate(ids):
        if pk not in found:
            raise ValidationFailed(fields={f"attachment_ids[{index}]": _("附件 %(pk)s 不属于该工单") % {"pk": pk}})
    return ids


@transaction.atomic
def work_order_reply(
    *, order_id: Any, actor: Any, text: str, attachment_ids: list[Any] | None = None, version: int | None = None,
) -> WorkOrder:
    """办结答复: the lead reports the result to the citizen; every co-handler must have replied first."""
    order, scope = _locked(order_id, actor, version=version)
    transition, role = check_transition(order, Action.REPLY, scope)
    text = require_text(text, "text", max_chars=settings.TONGXIN_MAX_CONTENT_CHARS, label=_("答复内容"))
    pending = WorkOrderAssignment.objects.filter(
        order=order, role=AssignmentRole.CO, active=True, replied_at__isnull=True
    ).select_related("department")
    if pending:
        names = "、".join(a.department.name for a in pending)
        raise Conflict(_("协办单位尚未答复：%(names)s") % {"names": names}, code="co_handlers_pending")
    ids = _attachments(order, attachment_ids)
    now = timezone.now()
    order.reply_text, order.replied_at = text, now
    apply_transition(order, Action.REPLY, actor=actor, role=role, transition=transition, note=text,
                     data={"attachment_ids": ids, "on_time": bool(order.due_at and now <= order.due_at)},
                     department_id=order.lead_department_id, at=now, update_fields=["reply_text", "replied_at"])
    return order


@transaction.atomic
def work_order_resolve_on_call(
    *, order_id: Any, actor: Any, text: str, knowledge_article_id: Any = None, version: int | None = None,
) -> WorkOrder:
    """直接办结: the centre answers on the call (e.g. from the knowledge base). The centre becomes the
    lead, so the order is called back and counted like any other."""
    order, scope = _locked(order_id, actor, version=version)
    transition, role = check_transition(order, Action.RESOLVE_ON_CALL, scope)
    text = require_text(text, "text", max_chars=settings.TONGXIN_MAX_CONTENT_CHARS, label=_("答复内容"))
    from tongxin.accounts.choices import DepartmentKind

    centre = Department.objects.filter(kind=DepartmentKind.CENTRE, active=True).order_by("id").first()
    now = timezone.now()
    order.reply_text, order.replied_at = text, now
    order.lead_department = centre
    apply_transition(order, Action.RESOLVE_ON_CALL, actor=actor, role=role, transition=transition, note=text,
                     data={"knowledge_article_id": knowledge_article_id}, department_id=centre.pk if centre else None,
                     at=now, update_fields=["reply_text", "replied_at", "lead_department"])
    return order


# --- callback and redo --------------------------------------------------------------------------

def _callback_fields(satisfaction: str, cause: str | None) -> tuple[str, str]:
    satisfaction = _choice(satisfaction, Satisfaction, "satisfaction", _("满意度"))
    if satisfaction == Satisfaction.UNSATISFIED:
        cause = _choice(cause, UnsatisfiedCause, "cause", _("不满意原因"))
    elif cause:
        raise ValidationFailed(fields={"cause": _("只有不满意时才填写原因")})
    return satisfaction, cause or ""


@transaction.atomic
def work_order_callback(
    *, order_id: Any, actor: Any, satisfaction: str, cause: str | None = None, note: str = "",
    version: int | None = None,
) -> WorkOrder:
    """回访 → 办结: record the caller's satisfaction and close."""
    order, scope = _locked(order_id, actor, version=version)
    transition, role = check_transition(order, Action.CALLBACK, scope)
    satisfaction, cause = _callback_fields(satisfaction, cause)
    now = timezone.now()
    order.satisfaction, order.unsatisfied_cause, order.callback_at, order.closed_at = satisfaction, cause, now, now
    apply_transition(order, Action.CALLBACK, actor=actor, role=role, transition=transition, note=_note(note),
                     data={"satisfaction": satisfaction, "cause": cause}, department_id=order.lead_department_id,
                     at=now, update_fields=["satisfaction", "unsatisfied_cause", "callback_at", "closed_at"])
    return order


@transaction.atomic
def work_order_redo(
    *, order_id: Any, actor: Any, cause: str, note: str, version: int | None = None,
) -> WorkOrder:
    """重办: the caller is unsatisfied for a cause the department controls. The original closes with
    that callback (so the satisfaction KPIs count it once) and a new order, linked by ``redo_of``, is
    dispatched straight to the same departments with fresh clocks and the reason in its note.
    Returns the new order."""
    order, scope = _locked(order_id, actor, version=version)
    transition, role = check_transition(order, Action.REDO, scope)
    satisfaction, cause = _callback_fields(Satisfaction.UNSATISFIED, cause)
    if cause not in DEPARTMENT_CONTROLLABLE_CAUSES:
        raise ValidationFailed(fields={"cause": _("该原因不属于承办单位可控原因，不能重办，请直接回访办结")})
    note = require_text(note, "note", max_chars=MAX_NOTE_CHARS, label=_("重办理由"))
    if order.lead_department_id is None:
        raise Conflict(_("工单没有主办单位，不能重办"))
    now = timezone.now()
    order.satisfaction, order.unsatisfied_cause, order.callback_at, order.closed_at = satisfaction, cause, now, now
    lead = Department.objects.get(pk=order.lead_department_id)
    co = [a.department for a in WorkOrderAssignment.objects.filter(order=order, role=AssignmentRole.CO, active=True)
          .select_related("department")]
    redo = WorkOrder(
        number=_allocate_number(timezone.localtime(now).date()), channel=order.channel, kind=order.kind,
        urgency=order.urgency, status=Status.DISPATCHED, title=order.title, content=order.content,
        category_id=order.category_id, lat=order.lat, lng=order.lng, address=order.address, area_id=order.area_id,
        area_path=order.area_path, citizen_name=order.citizen_name, citizen_phone=order.citizen_phone,
        anonymous=order.anonymous, is_repeat=False, external_id=order.external_id, accepted_by=actor,
        accepted_at=now, redo_of=order,
    )
    redo.save()  # the assignments need its primary key
    _assign(redo, lead, co, now)
    redo.save(update_fields=ASSIGN_FIELDS)
    WorkOrderEvent.objects.bulk_create([
        WorkOrderEvent(order=redo, action=Action.ACCEPT, from_status="", to_status=Status.ACCEPTED, actor=actor,
                       actor_role=role, actor_label=_label(actor), at=now, note=note,
                       data={"redo_of": order.pk, "redo_of_number": order.number, "cause": cause}),
        WorkOrderEvent(order=redo, action=Action.DISPATCH, from_status=Status.ACCEPTED, to_status=Status.DISPATCHED,
                       actor=actor, actor_role=role, actor_label=_label(actor), department_id=lead.pk, at=now,
                       note=f"重办：{UnsatisfiedCause(cause).label}。{note}",
                       data={"lead_department_id": lead.pk, "co_department_ids": [d.pk for d in co], "redo": True}),
    ])
    apply_transition(order, Action.REDO, actor=actor, role=role, transition=transition, note=note,
                     data={"satisfaction": satisfaction, "cause": cause, "redo_order_id": redo.pk,
                           "redo_order_number": redo.number},
                     department_id=order.lead_department_id, at=now,
                     update_fields=["satisfaction", "unsatisfied_cause", "callback_at", "closed_at"])
    _notify_department(redo, lead.pk, "redo", f"重办工单 {redo.number} 待签收")
    return redo


# --- set aside ----------------------------------------------------------------------------------

@transaction.atomic
def work_order_merge(*, order_id: Any, actor: Any, into_id: Any, note: str = "", version: int | None = None) -> WorkOrder:
    """并单: a duplicate joins its original; the duplicate ends, the original records it."""
    order, scope = _locked(order_id, actor, version=version)
    transition, role = check_transition(order, Action.MERGE, scope)
    try:
        into_pk = int(into_id)
    except (TypeError, ValueError):
        raise ValidationFailed(fields={"into_id": _("目标工单编号无效")}) from None
    if into_pk == order.pk:
        raise ValidationFailed(fields={"into_id": _("不能并入自身")})
    original = work_orders_visible_to(actor).select_for_update().filter(pk=into_pk).first()
    if original is None:
        raise ValidationFailed(fields={"into_id": _("目标工单不存在或不在您的管辖范围内")})
    if original.status in {Status.MERGED, Status.WITHDRAWN, Status.INVALID, Status.TRANSFERRED}:
        raise ValidationFailed(fields={"into_id": _("目标工单状态为「%(status)s」，不能并入") % {"status": Status(original.status).label}})
    now = timezone.now()
    order.merged_into = original
    WorkOrderAssignment.objects.filter(order=order, active=True).update(active=False)
    apply_transition(order, Action.MERGE, actor=actor, role=role, transition=transition, note=_note(note),
                     data={"into_id": original.pk, "into_number": original.number}, at=now,
                     update_fields=["merged_into"])
    original.version += 1
    original.save(update_fields=["version"])
    WorkOrderEvent.objects.create(
        order=original, action=Action.MERGE, from_status=original.status, to_status=original.status, actor=actor,
        actor_role=role, actor_label=_label(actor), at=now, note=_note(note),
        data={"merged_from_id": order.pk, "merged_from_number": order.number},
    )
    return order


def _set_aside(action: Action, *, order_id: Any, actor: Any, note: str, version: int | None, label: str) -> WorkOrder:
    order, scope = _locked(order_id, actor, version=version)
    transition, role = check_transition(order, action, scope)
    note = require_text(note, "note", max_chars=MAX_NOTE_CHARS, label=label)
    now = timezone.now()
    WorkOrderAssignment.objects.filter(order=order, active=True).update(active=False)
    order.closed_at = now
    apply_transition(order, action, actor=actor, role=role, transition=transition, note=note, at=now,
                     department_id=order.lead_department_id, update_fields=["closed_at"])
    return order


@transaction.atomic
def work_order_withdraw(*, order_id: Any, actor: Any, note: str, version: int | None = None) -> WorkOrder:
    """撤单: the citizen withdraws the request."""
    return _set_aside(Action.WITHDRAW, order_id=order_id, actor=actor, note=note, version=version, label=_("撤单原因"))


@transaction.atomic
def work_order_mark_invalid(*, order_id: Any, actor: Any, note: str, version: int | None = None) -> WorkOrder:
    """无效: not a real request (a prank, a silent call, an advertisement)."""
    return _set_aside(Action.MARK_INVALID, order_id=order_id, actor=actor, note=note, version=version, label=_("无效原因"))


@transaction.atomic
def work_order_transfer_police(*, order_id: Any, actor: Any, note: str, version: int | None = None) -> WorkOrder:
    """转110: a police matter, recorded as transferred to 110."""
    return _set_aside(Action.TRANSFER_POLICE, order_id=order_id, actor=actor, note=note, version=version, label=_("转警说明"))


@transaction.atomic
def work_order_comment(*, order_id: Any, actor: Any, text: str, source: str = "", version: int | None = None) -> WorkOrder:
    """补充说明: the citizen adds information to an open order (by phone, or through a connected app such
    as an Open311 client). The status does not change; the department sees it in the timeline."""
    order, scope = _locked(order_id, actor, version=version)
    transition, role = check_transition(order, Action.COMMENT, scope)
    text = require_text(text, "text", max_chars=settings.TONGXIN_MAX_CONTENT_CHARS, label=_("补充说明"))
    source = require_text(source, "source", max_chars=40, required=False, label=_("来源"))
    apply_transition(order, Action.COMMENT, actor=actor, role=role, transition=transition, note=text,
                     data={"source": source} if source else {}, department_id=order.lead_department_id)
    return order


# --- attachments --------------------------------------------------------------------------------

ALLOWED_CONTENT_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"}
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MAX_ATTACHMENT_PIXELS = 40_000_000  # 40 megapixels: any phone photo; a decompression bomb claims far more


def _reencode_image(upload: Any) -> tuple[Any, str]:
    """Our own encoding of the image's pixels (tongxin.core.images: the claimed size checked before any
    pixel is allocated, EXIF orientation applied): whatever else rode in the bytes (a script appended to
    a JPEG, metadata, EXIF location) is gone. JPEG and WebP stay so; PNG and GIF (its first frame)
    become PNG."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    image = image_reencode(upload, field="file", label=_("图片附件"), max_pixels=MAX_ATTACHMENT_PIXELS,
                           output="same", quality=90, optimize=True)
    return SimpleUploadedFile("image", image.data, content_type=image.content_type), image.content_type


@transaction.atomic
def attachment_add(*, order_id: Any, actor: Any, upload: Any) -> Attachment:
    """Attach a file to an order the actor may see and that is still open. The type is sniffed from
    the bytes (the declared type is ignored); the stored name is random. Only those who take part in
    the order may attach: intake roles of its area, handlers of its active departments, admins (a
    leader reads only)."""
    order, scope = _locked(order_id, actor)
    if not (
        scope.is_admin or scope.area_role_covers(INTAKE_ROLES, order.area_path)
        or WorkOrderAssignment.objects.filter(
            order=order, active=True, department_id__in=scope.department_roles.get(Role.HANDLER, ())
        ).exists()
    ):
        raise PermissionDenied(_("您的角色不能为该工单添加附件"))
    if order.status in TERMINAL_STATUSES:
        raise Conflict(_("工单已结束，不能再添加附件"))
    if upload is None:
        raise ValidationFailed(fields={"file": _("请选择文件")})
    if upload.size > MAX_ATTACHMENT_BYTES:
        raise ValidationFailed(fields={"file": _("文件不能超过 %(mb)s MB") % {"mb": MAX_ATTACHMENT_BYTES // (1024 * 1024)}})
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    content_type = sniff(head)
    if content_type not in ALLOWED_CONTENT_TYPES:
        raise ValidationFailed(fields={"file": _("只接受 JPEG、PNG、GIF、WebP 图片或 PDF 文件")})
    import secrets

    ext = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp", "application/pdf": "pdf"}
    original_name = (getattr(upload, "name", "") or "file")[-200:]
    if content_type != "application/pdf":
        upload, content_type = _reencode_image(upload)
    upload.name = f"{secrets.token_hex(16)}.{ext[content_type]}"
    return Attachment.objects.create(
        order=order, file=upload, name=original_name, content_type=content_type, size=upload.size,
        uploaded_by=actor if getattr(actor, "pk", None) else None,
    )

