"""Work queues of the workbench pages: what each desk has to do next. Every read starts from
``work_orders_visible_to(actor)``, so an order outside the actor's jurisdiction never appears and
answers 404 on its page. Lists prefetch what their cards show, so a list takes a fixed number of
queries whatever its length.

- department queue (承办台): the actor's handler departments, by tab;
- dispatch board (派单/督办): returned orders, pending extension requests, orders about to breach and
  breached, in the actor's areas;
- callback desk (回访): replied orders awaiting callback, in the actor's areas.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from tongxin.accounts.choices import Role
from tongxin.accounts.selectors import actor_scope

from .choices import NOT_COUNTED, AssignmentRole, ExtensionStatus, Status
from .models import ExtensionRequest, WorkOrder, WorkOrderAssignment
from .selectors import work_orders_visible_to

QUEUE_TABS = ("to_sign", "in_progress", "awaiting_co", "returned", "done")
DISPATCH_SECTIONS = ("returned", "extensions", "due_soon", "overdue")
CENTRE_ROLES = frozenset({Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR})


def handler_department_ids(actor: Any) -> tuple[int, ...]:
    return tuple(actor_scope(actor).department_roles.get(Role.HANDLER, ()))


def with_card_data(qs: QuerySet[WorkOrder]) -> QuerySet[WorkOrder]:
    """What a workbench card shows: category, area, lead, active assignments with their departments,
    the pending extension request, the attachments. Five queries for the whole list."""
    return qs.select_related("category", "area", "lead_department").defer("area__boundary").prefetch_related(
        Prefetch("assignments", queryset=WorkOrderAssignment.objects.filter(active=True)
                 .select_related("department").order_by("role", "id"), to_attr="active_assignments"),
        Prefetch("extension_requests", queryset=ExtensionRequest.objects.filter(status=ExtensionStatus.PENDING),
                 to_attr="pending_extensions"),
        Prefetch("attachments", to_attr="attachment_list"),
    )


def _pending_co(department_ids: Any = None) -> Any:
    q = Q(order=OuterRef("pk"), role=AssignmentRole.CO, active=True, replied_at__isnull=True)
    if department_ids is not None:
        q &= Q(department_id__in=department_ids)
    return Exists(WorkOrderAssignment.objects.filter(q))


def _queue_filter(tab: str, mine: tuple[int, ...]) -> Q:
    lead = Q(lead_department_id__in=mine)
    if tab == "to_sign":
        return lead & Q(status=Status.DISPATCHED)
    if tab == "in_progress":
        return lead & Q(status=Status.IN_PROGRESS)
    if tab == "awaiting_co":
        # Mine as lead, waiting on a co-handler; or mine as co-handler, still to reply to the lead.
        return Q(status__in=[Status.DISPATCHED, Status.IN_PROGRESS]) & (
            (lead & Q(_pending_co())) | Q(_pending_co(mine))
        )
    if tab == "returned":
        return Q(Exists(WorkOrderAssignment.objects.filter(
            order=OuterRef("pk"), department_id__in=mine, role=AssignmentRole.LEAD, returned_at__isnull=False)))
    if tab == "done":
        return lead & Q(status__in=[Status.REPLIED, Status.CLOSED])
    raise ValueError(tab)


_QUEUE_ORDER = {"to_sign": ("sign_due_at", "id"), "in_progress": ("due_at", "id"), "awaiting_co": ("due_at", "id"),
                "returned": ("-accepted_at", "-id"), "done": ("-replied_at", "-id")}


def department_queue(*, actor: Any, tab: str, limit: int = 50) -> list[WorkOrder]:
    """One tab of the department queue (承办台), most urgent first."""
    mine = handler_department_ids(actor)
    if not mine or tab not in QUEUE_TABS:
        return []
    qs = work_orders_visible_to(actor).filter(_queue_filter(tab, mine)).order_by(*_QUEUE_ORDER[tab])
    return list(with_card_data(qs)[:limit])


def department_queue_counts(*, actor: Any) -> dict[str, int]:
    """How many orders each tab holds: one aggregate query."""
    mine = handler_department_ids(actor)
    if not mine:
        return dict.fromkeys(QUEUE_TABS, 0)
    aggregates = {tab: Count("id", filter=_queue_filter(tab, mine)) for tab in QUEUE_TABS}
    return work_orders_visible_to(actor).aggregate(**aggregates)


def workbench_order_get(*, actor: Any, order_id: Any) -> WorkOrder | None:
    """One order with its card data, if the actor may see it (else None: the page answers 404)."""
    try:
        pk = int(order_id)
    except (TypeError, ValueError):
        return None
    return with_card_data(work_orders_visible_to(actor).filter(pk=pk)).first()


def _centre_orders(actor: Any) -> QuerySet[WorkOrder]:
    """The orders of the actor's areas (centre roles): a handler's department orders are not the centre's
    business here, even when the same user holds both roles."""
    scope = actor_scope(actor)
    if scope.is_admin:
        return WorkOrder.objects.all()
    paths = [p for role in CENTRE_ROLES for p in scope.area_roles.get(role, ())]
    if not paths:
        return WorkOrder.objects.none()
    q = Q()
    for path in paths:
        q |= Q(area_path__startswith=path)
    return work_orders_visible_to(actor).filter(q)


def dispatch_board(*, actor: Any, section: str, limit: int = 50, now: datetime | None = None) -> list[WorkOrder]:
    """One section of the dispatch and supervision board (派单/督办)."""
    now = now or timezone.now()
    qs = _centre_orders(actor)
    active = [Status.DISPATCHED, Status.IN_PROGRESS]
    if section == "returned":
        qs = qs.filter(status=Status.RETURNED).order_by("accepted_at", "id")
    elif section == "extensions":
        qs = qs.filter(status=Status.IN_PROGRESS).filter(Exists(ExtensionRequest.objects.filter(
            order=OuterRef("pk"), status=ExtensionStatus.PENDING))).order_by("due_at", "id")
    elif section == "due_soon":
        qs = qs.filter(status__in=active, due_warn_at__lte=now, due_at__gte=now).order_by("due_at", "id")
    elif section == "overdue":
        qs = qs.filter(status__in=active, due_at__lt=now).order_by("due_at", "id")
    else:
        return []
    return list(with_card_data(qs)[:limit])


def dispatch_board_counts(*, actor: Any, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    active = [Status.DISPATCHED, Status.IN_PROGRESS]
    pending = Exists(ExtensionRequest.objects.filter(order=OuterRef("pk"), status=ExtensionStatus.PENDING))
    return _centre_orders(actor).aggregate(
        returned=Count("id", filter=Q(status=Status.RETURNED)),
        extensions=Count("id", filter=Q(status=Status.IN_PROGRESS) & Q(pending)),
        due_soon=Count("id", filter=Q(status__in=active, due_warn_at__lte=now, due_at__gte=now)),
        overdue=Count("id", filter=Q(status__in=active, due_at__lt=now)),
    )


def centre_order_by_number(*, actor: Any, number: str) -> WorkOrder | None:
    """An order of the actor's areas by its 13-digit number (to name a merge target)."""
    number = (number or "").strip()
    if not number:
        return None
    return _centre_orders(actor).filter(number=number).first()


def callback_queue(*, actor: Any, limit: int = 50) -> list[WorkOrder]:
    """Replied orders awaiting callback (回访), the longest waiting first."""
    qs = _centre_orders(actor).filter(status=Status.REPLIED).order_by("replied_at", "id")
    return list(with_card_data(qs)[:limit])


def callback_queue_count(*, actor: Any) -> int:
    return _centre_orders(actor).filter(status=Status.REPLIED).count()


def order_volume_by_day(
    *, actor: Any, start: datetime, end: datetime, department_id: int | None = None,
) -> list[tuple[Any, int]]:
    """Orders accepted per local day in [start, end), visible to the actor (the counted ones, as in the
    KPIs), optionally of one lead department."""
    qs = work_orders_visible_to(actor).exclude(status__in=NOT_COUNTED).filter(accepted_at__gte=start, accepted_at__lt=end)
    if department_id:
        qs = qs.filter(lead_department_id=department_id)
    rows = (qs.annotate(day=TruncDate("accepted_at", tzinfo=timezone.get_current_timezone()))
            .values("day").annotate(n=Count("id")).order_by("day"))
    return [(row["day"], row["n"]) for row in rows]


def centre_orders_by_ids(*, actor: Any, ids: list[Any], limit: int = 100) -> list[WorkOrder]:
    """The orders among ``ids`` that lie in the actor's areas (others are silently not there), for
    bulk actions."""
    pks = []
    for value in ids[:limit]:
        try:
            pks.append(int(value))
        except (TypeError, ValueError):
            continue
    return list(_centre_orders(actor).filter(pk__in=pks).select_related("lead_department").order_by("due_at", "id"))


def is_centre_user(actor: Any, roles: frozenset[str] | set[str] = CENTRE_ROLES) -> bool:
    scope = actor_scope(actor)
    return scope.is_admin or any(scope.area_roles.get(role) for role in roles)
