"""The work-order API: intake, list, detail, one POST per action, attachments, KPIs, categories.

Views stay thin: they parse, call one service or selector, and shape the answer. Every read starts
from the actor's jurisdiction (outside it: 404, as if the order did not exist); every write is a
service call that locks the row, checks ``version``, the transition table and the actor's role.
Citizens' names and phones are masked in every answer except ``/citizen``, which is audited.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from django.db.models import Prefetch, Q, prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Path, Query, Router
from ninja.files import UploadedFile
from ninja.responses import Status as HttpStatus
from pydantic import AwareDatetime

from tongxin.accounts.choices import CENTRE_ROLES, Role
from tongxin.accounts.selectors import actor_scope
from tongxin.core.errors import NotFound, PermissionDenied, ValidationFailed
from tongxin.core.masking import mask_name, mask_phone

from . import selectors, services
from .choices import Action, AssignmentRole, Channel, ExtensionStatus, Kind, Status, Urgency
from .models import Category, ExtensionRequest, WorkOrder, WorkOrderAssignment
from .privacy import work_order_citizen_reveal
from .schemas import (
    ERRORS,
    MAX_ID,
    AttachmentOut,
    CallbackIn,
    CategoryNode,
    CitizenOut,
    CommentIn,
    DispatchIn,
    DispatchSuggestionOut,
    ExtensionRequestIn,
    KpiOut,
    MergeIn,
    NoteIn,
    RedoIn,
    ReplyIn,
    RequiredNoteIn,
    ResolveOnCallIn,
    ReturnIn,
    TextIn,
    WorkOrderCreated,
    WorkOrderCreateIn,
    WorkOrderDetail,
    WorkOrderPage,
)
from .workflow import TRANSITIONS, actor_role_for, allowed_actions

router = Router(tags=["work-orders"])

OrderId = Annotated[int, Path(ge=1, le=MAX_ID, description="The order's `id` (not its `number`).")]
DETAIL = {200: WorkOrderDetail, **ERRORS}


def actor(request: HttpRequest) -> Any:
    """The user Ninja's authentication resolved for this request (session or token)."""
    return request.auth  # type: ignore[attr-defined]


# --- shaping answers ----------------------------------------------------------------------------

def _department(department: Any) -> dict[str, Any] | None:
    if department is None:
        return None
    return {"id": department.pk, "code": department.code, "name": department.name}


def _category(category: Any) -> dict[str, Any] | None:
    if category is None:
        return None
    return {"id": category.pk, "code": category.code, "name": category.name, "level": category.level}


def _area(area: Any) -> dict[str, Any]:
    return {"code": area.code, "name": area.name, "level": area.level}


def _ref(order: Any) -> dict[str, Any] | None:
    if order is None:
        return None
    return {"id": order.pk, "number": order.number, "status": order.status}


def _list_item(order: WorkOrder, now: datetime) -> dict[str, Any]:
    return {
        "id": order.pk, "number": order.number, "version": order.version, "status": order.status,
        "status_label": str(Status(order.status).label), "channel": order.channel, "kind": order.kind,
        "urgency": order.urgency, "title": order.title, "summary": order.content[:120],
        "category": _category(order.category), "area": _area(order.area),
        "lead_department": _department(order.lead_department),
        "citizen_name": mask_name(order.citizen_name), "citizen_phone": mask_phone(order.citizen_phone),
        "anonymous": order.anonymous, "is_repeat": order.is_repeat, "accepted_at": order.accepted_at,
        "sign_due_at": order.sign_due_at, "due_at": order.due_at, "sla": selectors.order_sla(order, now),
    }


def _allowed_actions(
    order: WorkOrder, actor: Any, assignments: list[WorkOrderAssignment], pending: ExtensionRequest | None,
) -> list[str]:
    """The actions of the transition table this actor may take now. The role check is the workflow's
    own; the preconditions below mirror the services' so that a page shows no button that would fail."""
    scope = actor_scope(actor)
    now = timezone.now()
    mine = set(scope.department_roles.get(Role.HANDLER, ()))
    co_pending = [a for a in assignments if a.active and a.role == AssignmentRole.CO and a.replied_at is None]
    result: list[str] = []
    for action in allowed_actions(order.status):
        transition = TRANSITIONS[(Status(order.status), action)]
        if actor_role_for(order, action, transition, scope) is None:
            continue
        if action in {Action.APPROVE_EXTENSION, Action.DENY_EXTENSION} and pending is None:
            continue
        if action == Action.REQUEST_EXTENSION and (pending is not None or order.due_at is None or now >= order.due_at):
            continue
        if action == Action.CO_REPLY and not any(a.department_id in mine for a in co_pending):
            continue
        if action == Action.REPLY and co_pending:
            continue
        if action == Action.REDO and order.lead_department_id is None:
            continue
        if action == Action.FORCE_DISPATCH and not any(a.role == AssignmentRole.LEAD for a in assignments):
            continue
        result.append(str(action))
    return result


def _detail(order: WorkOrder, actor: Any, *, fresh: bool = False) -> dict[str, Any]:
    """The full answer for one order. ``fresh``: the order was created in this request, so it has no
    assignments, attachments, extension or links yet (saves five queries on the intake path)."""
    now = timezone.now()
    timeline = selectors.work_order_timeline(order)
    assignments: list[WorkOrderAssignment] = []
    attachments: list[Any] = []
    linked: list[dict[str, Any]] = []
    pending: ExtensionRequest | None = None
    if not fresh:
        # Prefetched: actor_role_for reads order.assignments.all() again for every co-handler action.
        prefetch_related_objects([order], Prefetch(
            "assignments", queryset=WorkOrderAssignment.objects.select_related("department").order_by("assigned_at", "id")
        ))
        assignments = list(order.assignments.all())
        attachments = list(order.attachments.order_by("uploaded_at", "id"))
        pending = ExtensionRequest.objects.filter(order=order, status=ExtensionStatus.PENDING).first()
        linked = [
            dict(row) for row in WorkOrder.objects.filter(Q(redo_of=order) | Q(merged_into=order))
            .order_by("id").values("id", "number", "status", "redo_of_id", "merged_into_id")
        ]
    return {
        "id": order.pk, "number": order.number, "version": order.version,
        "status": order.status, "status_label": str(Status(order.status).label),
        "channel": order.channel, "channel_label": str(Channel(order.channel).label),
        "kind": order.kind, "kind_label": str(Kind(order.kind).label),
        "urgency": order.urgency, "urgency_label": str(Urgency(order.urgency).label),
        "title": order.title, "content": order.content, "category": _category(order.category),
        "lat": order.lat, "lng": order.lng, "address": order.address, "area": _area(order.area),
        "citizen_name": mask_name(order.citizen_name), "citizen_phone": mask_phone(order.citizen_phone),
        "anonymous": order.anonymous, "is_repeat": order.is_repeat, "external_id": order.external_id,
        "lead_department": _department(order.lead_department),
        "accepted_at": order.accepted_at, "dispatched_at": order.dispatched_at, "signed_at": order.signed_at,
        "replied_at": order.replied_at, "closed_at": order.closed_at,
        "sign_due_at": order.sign_due_at, "sign_warn_at": order.sign_warn_at,
        "due_at": order.due_at, "due_warn_at": order.due_warn_at,
        "sla": selectors.order_sla(order, now),
        "reply_text": order.reply_text, "satisfaction": order.satisfaction,
        "unsatisfied_cause": order.unsatisfied_cause, "callback_at": order.callback_at,
        "timeline": [
            {
                "id": e.pk, "action": e.action, "action_label": _action_label(e.action),
                "from_status": e.from_status, "to_status": e.to_status, "actor_id": e.actor_id,
                "actor_label": e.actor_label, "actor_role": e.actor_role, "department": _department(e.department),
                "at": e.at, "note": e.note, "data": e.data,
            }
            for e in timeline
        ],
        "assignments": [
            {
                "id": a.pk, "department": _department(a.department), "role": a.role, "active": a.active,
                "assigned_at": a.assigned_at, "sign_due_at": a.sign_due_at, "signed_at": a.signed_at,
                "returned_at": a.returned_at, "return_reason": a.return_reason, "replied_at": a.replied_at,
                "reply_text": a.reply_text,
            }
            for a in assignments
        ],
        "pending_extension": None if pending is None else {
            "id": pending.pk, "status": pending.status, "department_id": pending.department_id,
            "requested_by_id": pending.requested_by_id, "requested_at": pending.requested_at,
            "previous_due_at": pending.previous_due_at, "requested_due_at": pending.requested_due_at,
            "reason": pending.reason,
        },
        "allowed_actions": _allowed_actions(order, actor, assignments, pending),
        "attachments": [_attachment(a) for a in attachments],
        "links": {
            "merged_into": _ref(order.merged_into) if order.merged_into_id else None,
            "redo_of": _ref(order.redo_of) if order.redo_of_id else None,
            "redos": [_link(x) for x in linked if x["redo_of_id"] == order.pk],
            "merged_orders": [_link(x) for x in linked if x["merged_into_id"] == order.pk],
        },
    }


def _link(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "number": row["number"], "status": row["status"]}


def _action_label(action: str) -> str:
    try:
        return str(Action(action).label)
    except ValueError:
        return action


def _attachment(attachment: Any) -> dict[str, Any]:
    return {
        "id": attachment.pk, "name": attachment.name, "content_type": attachment.content_type,
        "size": attachment.size, "url": attachment.file.url, "uploaded_at": attachment.uploaded_at,
    }


def _visible(actor: Any, order_id: int) -> WorkOrder:
    order = selectors.work_order_get(actor=actor, order_id=order_id)
    if order is None:
        raise NotFound()
    return order


def _reloaded(order_id: int) -> WorkOrder:
    """The order after an action the actor was allowed to take: read without the jurisdiction filter,
    because the action itself may have moved it (a return leaves the department's scope)."""
    return WorkOrder.objects.select_related("category", "area", "lead_department", "merged_into", "redo_of").get(
        pk=order_id
    )


def _acted(request: HttpRequest, order_id: int) -> dict[str, Any]:
    return _detail(_reloaded(order_id), actor(request))


# --- intake, list, detail -----------------------------------------------------------------------

def _created(request: HttpRequest, order: WorkOrder) -> dict[str, Any]:
    """The 201 body of intake (schemas.WorkOrderCreated), from the order in memory: no query."""
    return {
        "id": order.pk, "number": order.number, "version": order.version, "status": order.status,
        "status_label": str(Status(order.status).label), "channel": order.channel, "accepted_at": order.accepted_at,
        "area": _area(order.area), "lat": order.lat, "lng": order.lng, "is_repeat": order.is_repeat,
        "external_id": order.external_id,
        "links": {"self": f"{request.path.rstrip('/')}/{order.pk}"},
    }


@router.post("/work-orders", response={201: WorkOrderCreated, **ERRORS}, summary="受理 Create a work order")
def work_order_create(request: HttpRequest, payload: WorkOrderCreateIn) -> HttpResponse:
    """Record a request from any channel. Intake roles (operator, dispatcher, supervisor, grid worker)
    within their area; a grid worker only through channel `grid`. The order is placed in the deepest
    area containing its location, or in `area_code`, or in the city. Answers 201 with the new order's
    id, number, version and status; its full detail is at `links.self`."""
    order = services.work_order_create(actor=actor(request), **payload.dict())
    # Rendered here rather than validated by Ninja against WorkOrderCreated on the way out (a tenth of
    # the request's CPU): tests/test_api pins this body to the schema the OpenAPI document declares.
    from tongxin.api import api  # the API that mounts this router (imported here: it imports us)

    return api.create_response(request, _created(request, order), status=201)


Ordering = Literal["accepted_at", "-accepted_at", "due_at", "-due_at", "sign_due_at", "number", "-number"]


@router.get("/work-orders", response={200: WorkOrderPage, **ERRORS}, summary="List work orders")
def work_order_list(
    request: HttpRequest,
    status: Annotated[list[Status] | None, Query(description="Repeat for several: ?status=dispatched&status=in_progress")] = None,
    channel: Channel | None = None,
    kind: Kind | None = None,
    urgency: Urgency | None = None,
    category_code: Annotated[str | None, Query(description="The category and everything below it.")] = None,
    area_code: Annotated[str | None, Query(description="The area and everything below it.")] = None,
    lead_department_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    citizen_phone: Annotated[str | None, Query(max_length=20, description="Exact, unmasked number (operators, dispatchers and supervisors only).")] = None,
    q: Annotated[str | None, Query(max_length=100, description="Text in title, content or address.")] = None,
    number: Annotated[str | None, Query(max_length=20)] = None,
    accepted_from: Annotated[AwareDatetime | None, Query(description="Inclusive; ISO 8601 with time zone (encode + as %2B).")] = None,
    accepted_to: Annotated[AwareDatetime | None, Query(description="Exclusive; ISO 8601 with time zone.")] = None,
    sla: Annotated[Literal["warning", "overdue"] | None, Query(description="Orders with a department whose completion clock is yellow or red (ordered by deadline).")] = None,
    ordering: Ordering = "-accepted_at",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Orders in the user's jurisdiction, newest first. Names and phones are masked."""
    if citizen_phone and not actor_scope(actor(request)).roles & CENTRE_ROLES:
        # An exact-phone filter would let anyone who sees masked numbers (138****5678) recover them by
        # trying the 10,000 middles: only the roles entitled to reveal the caller may search by phone.
        raise PermissionDenied(_("只有话务、派单和督办人员可以按来电号码查询"), fields={"citizen_phone": _("无权按来电号码查询")})
    if accepted_from and accepted_to and accepted_from >= accepted_to:
        raise ValidationFailed(fields={"accepted_to": _("结束时间必须晚于开始时间")})
    filters = selectors.WorkOrderFilters(
        status=[str(s) for s in status] if status else None, channel=channel, kind=kind, urgency=urgency,
        category_code=category_code, area_code=area_code, lead_department_id=lead_department_id,
        citizen_phone=citizen_phone.strip() if citizen_phone else None, q=q.strip() if q else None,
        accepted_from=accepted_from, accepted_to=accepted_to, sla=sla, number=number,
    )
    qs = selectors.work_order_list(actor=actor(request), filters=filters, ordering=ordering)
    now = timezone.now()
    return {"count": qs.count(), "items": [_list_item(o, now) for o in qs[offset:offset + limit]]}


@router.get("/work-orders/{order_id}", response=DETAIL, summary="Work order detail")
def work_order_detail(request: HttpRequest, order_id: OrderId) -> dict[str, Any]:
    """The order with its timeline (from its events), SLA lights, assignments, pending extension,
    the actions this user may take now and its links."""
    return _detail(_visible(actor(request), order_id), actor(request))


@router.get("/work-orders/{order_id}/citizen", response={200: CitizenOut, **ERRORS}, summary="Reveal the citizen (audited)")
def work_order_citizen(request: HttpRequest, order_id: OrderId, response: HttpResponse) -> dict[str, Any]:
    """The unmasked name and phone, for the roles that call citizens back: operators, dispatchers and
    supervisors of the order's area, and handlers of its lead department. Every reveal writes an audit
    event (personal_data_reveal) in the same transaction; the answer must not be cached."""
    reveal = work_order_citizen_reveal(actor=actor(request), order_id=order_id, via="api")
    response["Cache-Control"] = "no-store"
    return {"order_id": reveal.order_id, "number": reveal.number, "citizen_name": reveal.citizen_name,
            "citizen_phone": reveal.citizen_phone, "anonymous": reveal.anonymous}


@router.get("/work-orders/{order_id}/dispatch-suggestion", response={200: DispatchSuggestionOut, **ERRORS},
            summary="Dispatch catalogue suggestion")
def work_order_dispatch_suggestion(request: HttpRequest, order_id: OrderId) -> dict[str, Any]:
    """The most specific line of the dispatch catalogue for the order's category and area."""
    order = _visible(actor(request), order_id)
    suggestion = selectors.dispatch_suggest(category_id=order.category_id, area_path=order.area_path)
    if suggestion is None:
        reason = _("派单目录中没有匹配的规则，请手动选择承办单位") if order.category_id else _("工单尚未分类，请先选择诉求分类")
        return {"lead": None, "co": [], "reason": reason, "rule_id": None}
    return {"lead": _department(suggestion.lead), "co": [_department(d) for d in suggestion.co],
            "reason": suggestion.reason, "rule_id": suggestion.rule_id}


@router.post("/work-orders/{order_id}/attachments", response={201: AttachmentOut, **ERRORS}, summary="Attach a file")
def work_order_attachment_add(request: HttpRequest, order_id: OrderId, file: File[UploadedFile]) -> HttpStatus[dict[str, Any]]:
    """multipart/form-data with one `file`: JPEG, PNG, GIF, WebP or PDF (sniffed from the bytes), at
    most 5 MB, on an open order. Pass the returned id in `attachment_ids` of a reply."""
    attachment = services.attachment_add(order_id=order_id, actor=actor(request), upload=file)
    return HttpStatus(201, _attachment(attachment))


# --- actions: one POST each ---------------------------------------------------------------------

@router.post("/work-orders/{order_id}/dispatch", response=DETAIL, summary="派单 Dispatch")
def work_order_dispatch(request: HttpRequest, order_id: OrderId, payload: DispatchIn) -> dict[str, Any]:
    """To a lead department (default: the dispatch catalogue's suggestion) and co-handlers; starts the
    sign-off and completion clocks. Needs a category."""
    services.work_order_dispatch(order_id=order_id, actor=actor(request), **payload.dict())
    return _acted(request, order_id)


@router.post("/work-orders/{order_id}/sign", response=DETAIL, summary="签收 Sign")
def work_order_sign(request: HttpRequest, order_id: OrderId, payload: NoteIn) -> dict[str, Any]:
    """The lead department acknowledges the order."""
    services.work_order_sign(order_id=order_id, actor=actor(request), **payload.dict())
    return _acted(request, order_id)


@router.post("/work-orders/{order_id}/return", response=DETAIL, summary="退单 Return")
def work_order_return(request: HttpRequest, order_id: OrderId, payload: ReturnIn) -> dict[str, Any]:
    """The lead department declines, with a reason and an explanation; the centre decides next."""
    services.work_order_return(order_id=order_id, actor=actor(request), **payload.dict())
    return _acted(request, order_id)


@router.post("/work-orders/{order_id}/reassign", response=DETAIL, summary="改派 Reassign")
def work_order_reassign(request: HttpRequest, order_id: OrderId, payload: DispatchIn) -> dict[str, Any]:
    """To another lead department; the clocks restart."""
    services.work_order_reassign(order_id=order_id, actor=actor(request), **payload.dict())
    return _acted(request, order_id)


@router.post("/work-orders/{order_id}/force-dispatch", response=DETAIL, summary="强制派单 Force dispatch")
def work_order_force_dispatch(request: HttpRequest, order_id: OrderId, payload: RequiredNoteIn) -> dict[str, Any]:
    """The centre insists the department that returned the order handles it; the clocks restart."""
    services.work_order_force_dispatch(order_id=order_id, actor=actor(request), **payload.dict())
    return _acted(request, order_id)


@router.post("/work-orders/{order_id}/request-extension", response=DETAIL, summary="申请延期 Request an extension")
def work_order_request_extension(request: HttpRequest, order_id: OrderId, payload: ExtensionRequestIn) -> dict[str, Any]:
    """Before the completion deadline, to a later one (at most 90 days more); one pending at a time."""
    services.work_order_request_extension(order_id=order_id, actor=actor(request), **payload.dict())
    return _acted(request, order_id)


@router.post("/work-orders/{order_id}/approve-extension", response=DETAIL, summary="批准延期 Approve the extension")
def work_order_approve_extension(request: HttpRequest, order_id: OrderId, payload: NoteIn) -> dict[str, Any]:
    """The completion deadline moves to the requested one."""
    services.work_order_decide_extension(order_id=order_id, actor=actor(request), approve=True, **payload.dict())
    return _acted(request, order_id)


@router.post("/work-orders/{order_id}/deny-extension", response=DETAIL, summary="驳回延期 Deny the extension")
def work_order_deny_extension(request: HttpRequest, order_id: OrderId, payload: RequiredNoteIn) -> dict[str, Any]:
    """With a reason; the deadline stays."""
    services.work_order_decide_extension(order_id=order_id, actor=actor(request), approve=False, **payload.dict())
    return _acted(request, order_id)


@router.post("/work-orders/{order_id}/remind", response=DETAIL, summary="催办 Remind")
def work_order_remind(request: HttpRequest, order_id: OrderId, payload: NoteIn) -> dict[str, Any]:
    """A reminder to the lead department."""
    services.work_order_remind(order_id=order_id, actor=actor(request), **payload.dict())
    return _acted(request, order_id)


@router.post("/work-orders/{order_id}/supervise", response=DETAIL, summary="督办 Supervise")
def work_order_supervise(request: HttpRequest, order_id: OrderId, payload: RequiredNoteIn) -> dict[str, Any]:
    """A formal supervision notice (supervisors only)."""
    services.work_order_supervise(order_id=order_id, actor=actor(request), **payload.dict())
    return _acted(request, order_id)


@router.post("/work-orders/{order_id}/co-reply", response=DETAIL, summary="协办答复 Co-handler reply")
def work_order_co_reply(request: HttpRequest, order_id: OrderId, payload: TextIn) -> dict[str, Any]:
    """A co-handling department reports its part to the lead (once)."""
    services.work_order_co_reply(order_id=order_id, actor=actor(request), **payload.dict())
    return _acted(request, order_id)


@router.post("/work-orders/{order_id}/reply", response=DETAIL, summary="办结答复 Reply")
def work_order_reply(request: HttpRequest, order_id: OrderId, payload: ReplyIn) -> dict[str, Any]:
    """The lead department's answer to the citizen; every co-handler must have replied first."""
    services.work_order_reply(order_id=order_id, actor=actor(request), **payload.dict())
    return _acted(request, order_id)


@router.post("/work-orders/{order_id}/resolve-on-call", response=DETAIL, summary="直接办结 Resolve on the call")
def work_order_resolve_on_call(request: HttpRequest, order_id: OrderId, payload: ResolveOnCallIn) -> dict[str, Any]:
    """The centre answers itself (e.g. from the knowledge base) and becomes the lead."""
    services.work_order_resolve_on_call(order_id=order_id, actor=actor(request), **payload.dict())
    return _acted(request, order_id)


@router.post("/work-orders/{order_id}/callback", response=DETAIL, summary="回访 Callback")
def work_order_callback(request: HttpRequest, order_id: OrderId, payload: CallbackIn) -> dict[str, Any]:
    """Record the citizen's satisfaction and close the order."""
    services.work_order_callback(order_id=order_id, actor=actor(request), **payload.dict())
    return _acted(request, order_id)


@router.post("/work-orders/{order_id}/redo", response={201: WorkOrderDetail, **ERRORS}, summary="重办 Redo")
def work_order_redo(request: HttpRequest, order_id: OrderId, payload: RedoIn) -> HttpStatus[dict[str, Any]]:
    """Unsatisfied for a cause the department controls: this order closes and a NEW linked order is
    dispatched to the same departments. Answers 201 with the new order."""
    redo = services.work_order_redo(order_id=order_id, actor=actor(request), **payload.dict())
    return HttpStatus(201, _acted(request, redo.pk))


@router.post("/work-orders/{order_id}/merge", response=DETAIL, summary="并单 Merge into the original")
def work_order_merge(request: HttpRequest, order_id: OrderId, payload: MergeIn) -> dict[str, Any]:
    """This order is a duplicate of `into_id`: it ends, linked to the original."""
    services.work_order_merge(order_id=order_id, actor=actor(request), **payload.dict())
    return _acted(request, order_id)


@router.post("/work-orders/{order_id}/withdraw", response=DETAIL, summary="撤单 Withdraw")
def work_order_withdraw(request: HttpRequest, order_id: OrderId, payload: RequiredNoteIn) -> dict[str, Any]:
    """The citizen withdraws the request."""
    services.work_order_withdraw(order_id=order_id, actor=actor(request), **payload.dict())
    return _acted(request, order_id)


@router.post("/work-orders/{order_id}/mark-invalid", response=DETAIL, summary="标记无效 Mark invalid")
def work_order_mark_invalid(request: HttpRequest, order_id: OrderId, payload: RequiredNoteIn) -> dict[str, Any]:
    """Not a real request (a prank, a silent call, an advertisement)."""
    services.work_order_mark_invalid(order_id=order_id, actor=actor(request), **payload.dict())
    return _acted(request, order_id)


@router.post("/work-orders/{order_id}/transfer-police", response=DETAIL, summary="转110 Transfer to the police")
def work_order_transfer_police(request: HttpRequest, order_id: OrderId, payload: RequiredNoteIn) -> dict[str, Any]:
    """A police matter, recorded as transferred to 110."""
    services.work_order_transfer_police(order_id=order_id, actor=actor(request), **payload.dict())
    return _acted(request, order_id)


@router.post("/work-orders/{order_id}/comment", response=DETAIL, summary="补充说明 Add to the request")
def work_order_comment(request: HttpRequest, order_id: OrderId, payload: CommentIn) -> dict[str, Any]:
    """The citizen adds information to an open order (recorded by the centre, or through a connected
    app). The status does not change; the department sees it in the timeline."""
    services.work_order_comment(order_id=order_id, actor=actor(request), **payload.dict())
    return _acted(request, order_id)


# --- KPIs ---------------------------------------------------------------------------------------

def _kpi_definitions() -> dict[str, dict[str, str]]:
    """The definitions written once, in the selectors' docstring: ``- name (标签): text`` items."""
    text = selectors.__doc__ or ""
    found: dict[str, dict[str, str]] = {}
    for name, label, body in re.findall(r"^- (\w+) \(([^)]+)\): (.*?)(?=^- |^\S|\Z)", text, flags=re.M | re.S):
        found[name] = {"label": label, "definition": " ".join(body.split())}
    return found


KPI_DEFINITIONS = _kpi_definitions()


@router.get("/kpis", response={200: KpiOut, **ERRORS}, summary="KPIs", tags=["kpis"])
def kpis(
    request: HttpRequest,
    start: Annotated[date | None, Query(description="First day (default: the 1st of this month).")] = None,
    end: Annotated[date | None, Query(description="Last day, inclusive (default: the last day of this month).")] = None,
    group_by: Literal["department", "category", "area"] | None = None,
    area_code: Annotated[str | None, Query(description="Only this area's subtree; with group_by=area, its children are the groups.")] = None,
    department_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only orders led by this department.")] = None,
    category_code: Annotated[str | None, Query(description="Only this category's subtree.")] = None,
) -> dict[str, Any]:
    """The six KPIs over orders accepted in the period within the user's jurisdiction: overall, or one
    row per lead department, level-1 category or child area. Rates are 0–1 (null when nothing to
    count); `definitions` states what each one counts."""
    today = timezone.localdate()
    start = start or today.replace(day=1)
    if end is None:
        first_of_next = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        end = first_of_next - timedelta(days=1)
    if end < start:
        raise ValidationFailed(fields={"end": _("结束日期不能早于开始日期")})
    if (end - start).days > 3660:
        raise ValidationFailed(fields={"end": _("统计区间不能超过 10 年")})
    tz = timezone.get_current_timezone()
    rows = selectors.kpi_summary(
        actor=actor(request), start=datetime.combine(start, time.min, tzinfo=tz),
        end=datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz), group_by=group_by,
        area_code=area_code, department_id=department_id, category_code=category_code,
    )
    return {"start": start, "end": end, "group_by": group_by, "definitions": KPI_DEFINITIONS, "rows": rows}


# --- categories ---------------------------------------------------------------------------------

@router.get("/categories", response={200: list[CategoryNode], **ERRORS}, summary="Categories", tags=["reference"])
def categories(
    request: HttpRequest,
    q: Annotated[str | None, Query(max_length=50, description="Matches the name, its pinyin initials (ljql) or the keywords.")] = None,
    tree: Annotated[bool, Query(description="Nested: level-1 categories with their children (matches and their ancestors when q is given).")] = False,
    include_inactive: bool = False,
) -> list[dict[str, Any]]:
    """The three-level category tree, flat (ordered by path) or nested."""
    qs = Category.objects.all() if include_inactive else Category.objects.filter(active=True)
    rows: list[dict[str, Any]] = [
        dict(row) for row in
        qs.order_by("path").values("id", "code", "name", "level", "parent_id", "path", "keywords", "initials")
    ]
    by_id = {r["id"]: r for r in rows}
    for row in rows:
        ancestors = [int(p) for p in row["path"].strip("/").split("/") if p]
        row["path_names"] = [by_id[pk]["name"] for pk in ancestors if pk in by_id]
    selected = rows
    if q and q.strip():
        needle = q.strip().lower()
        selected = [r for r in rows if needle in r["name"].lower() or needle in r["initials"]
                    or needle in r["keywords"].lower()]

    def shape(row: dict[str, Any]) -> dict[str, Any]:
        parent = by_id.get(row["parent_id"])
        return {"id": row["id"], "code": row["code"], "name": row["name"], "level": row["level"],
                "parent_code": parent["code"] if parent else None, "path": row["path_names"],
                "keywords": row["keywords"], "initials": row["initials"], "children": []}

    if not tree:
        return [shape(r) for r in selected]
    keep: set[int] = set()
    for row in selected:
        keep.update(int(p) for p in row["path"].strip("/").split("/") if p)
    nodes = {r["id"]: shape(r) for r in rows if r["id"] in keep}
    roots: list[dict[str, Any]] = []
    for row in rows:  # ordered by path: every parent comes before its children
        node = nodes.get(row["id"])
        if node is None:
            continue
        parent = nodes.get(row["parent_id"])
        (parent["children"] if parent else roots).append(node)
    return roots

