"""Reads of work orders: always through the actor's jurisdiction, and the KPI definitions.

KPI definitions (the single source; docs/workorders.md repeats them). The period filters on the time
named in each definition; merged, withdrawn, invalid and transferred orders never count.

- sign_on_time_rate (及时签收率): lead assignments made in the period that were signed, or whose
  sign-off deadline has passed unsigned; numerator: signed no later than the sign-off deadline. An
  assignment returned before its deadline is left out (returning promptly is not a late sign-off).
- completion_rate (办结率): orders accepted in the period that have been replied to (replied or
  closed) over all orders accepted in the period.
- on_time_rate (按时办结率): orders accepted in the period and replied to, replied no later than the
  completion deadline in force (after approved extensions), over orders replied to that had a
  completion deadline (an order answered on the call, or by the centre after a return, has none and
  is left out).
- satisfaction_rate (满意率): (satisfied + basically satisfied) over orders called back, among the
  orders accepted in the period.
- return_rate (退单率): lead assignments made in the period that were returned, over all lead
  assignments made in the period.
- repeat_rate (重复诉求率): orders accepted in the period that repeat an earlier request of the same
  caller in the same category within 30 days, over all orders accepted in the period.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from tongxin.accounts.choices import Role
from tongxin.accounts.selectors import actor_scope

from .choices import NOT_COUNTED, AssignmentRole, Satisfaction, SlaState, Status
from .models import Category, DispatchRule, WorkOrder, WorkOrderAssignment, WorkOrderEvent

if TYPE_CHECKING:
    from tongxin.regions.models import Area


def work_orders_visible_to(actor: Any) -> QuerySet[WorkOrder]:
    """Every order the actor may see: orders in the areas of their area-scoped roles, and orders their
    departments hold or have held (lead or co-handler). Admins see all; nobody else sees anything."""
    scope = actor_scope(actor)
    if scope.is_admin:
        return WorkOrder.objects.all()
    q = scope.area_q("area_path") or Q(pk__in=[])
    department_ids = scope.department_roles.get(Role.HANDLER, ())
    if department_ids:
        q |= Q(Exists(WorkOrderAssignment.objects.filter(order=OuterRef("pk"), department_id__in=department_ids)))
    return WorkOrder.objects.filter(q)


def work_order_get(*, actor: Any, order_id: Any) -> WorkOrder | None:
    try:
        pk = int(order_id)
    except (TypeError, ValueError):
        return None
    return (
        work_orders_visible_to(actor)
        .select_related("category", "area", "lead_department", "merged_into", "redo_of")
        .filter(pk=pk)
        .first()
    )


def sla_state(due_at: datetime | None, warn_at: datetime | None, *, now: datetime | None = None, stopped: bool = False) -> str:
    if due_at is None or stopped:
        return SlaState.NONE
    now = now or timezone.now()
    if now > due_at:
        return SlaState.OVERDUE
    if warn_at is not None and now >= warn_at:
        return SlaState.WARNING
    return SlaState.NORMAL


def order_sla(order: WorkOrder, now: datetime | None = None) -> dict[str, str]:
    """Traffic lights of the two clocks: sign-off runs while dispatched, completion while with the
    department."""
    now = now or timezone.now()
    return {
        "sign": sla_state(order.sign_due_at, order.sign_warn_at, now=now, stopped=order.status != Status.DISPATCHED),
        "completion": sla_state(order.due_at, order.due_warn_at, now=now,
                                stopped=order.status not in {Status.DISPATCHED, Status.IN_PROGRESS}),
    }


@dataclass
class WorkOrderFilters:
    status: list[str] | None = None
    channel: str | None = None
    kind: str | None = None
    urgency: str | None = None
    category_code: str | None = None
    area_code: str | None = None
    lead_department_id: int | None = None
    citizen_phone: str | None = None
    q: str | None = None
    accepted_from: datetime | None = None
    accepted_to: datetime | None = None
    sla: str | None = None  # "warning" | "overdue": orders with a department whose clock is in that state
    number: str | None = None


def work_order_list(*, actor: Any, filters: WorkOrderFilters, ordering: str = "-accepted_at") -> QuerySet[WorkOrder]:
    qs = work_orders_visible_to(actor).select_related("category", "area", "lead_department")
    f = filters
    if f.status:
        qs = qs.filter(status__in=f.status)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.urgency:
        qs = qs.filter(urgency=f.urgency)
    if f.number:
        qs = qs.filter(number=f.number)
    if f.category_code:
        category = Category.objects.filter(code=f.category_code).first()
        qs = qs.filter(category__path__startswith=category.path) if category else qs.none()
    if f.area_code:
        from tongxin.regions.selectors import area_get_by_code

        area = area_get_by_code(f.area_code)
        qs = qs.filter(area_path__startswith=area.path) if area else qs.none()
    if f.lead_department_id:
        qs = qs.filter(lead_department_id=f.lead_department_id)
    if f.citizen_phone:
        qs = qs.filter(citizen_phone=f.citizen_phone)
    if f.q:
        qs = qs.filter(Q(content__contains=f.q) | Q(title__contains=f.q) | Q(address__contains=f.q))
    if f.accepted_from:
        qs = qs.filter(accepted_at__gte=f.accepted_from)
    if f.accepted_to:
        qs = qs.filter(accepted_at__lt=f.accepted_to)
    if f.sla in {SlaState.WARNING, SlaState.OVERDUE}:
        now = timezone.now()
        active = [Status.DISPATCHED, Status.IN_PROGRESS]
        if f.sla == SlaState.OVERDUE:
            qs = qs.filter(status__in=active, due_at__lt=now)
            ordering = "due_at"
        else:
            qs = qs.filter(status__in=active, due_warn_at__lte=now, due_at__gte=now)
            ordering = "due_at"
    allowed = {"accepted_at", "-accepted_at", "due_at", "-due_at", "sign_due_at", "number", "-number"}
    if ordering not in allowed:
        ordering = "-accepted_at"
    return qs.order_by(ordering, "id" if not ordering.startswith("-") else "-id")


def department_overdue_queue(*, department_id: int, limit: int = 20, now: datetime | None = None) -> list[WorkOrder]:
    """A department's overdue orders, most overdue first (uses the (lead, status, due) index)."""
    now = now or timezone.now()
    return list(
        WorkOrder.objects.filter(
            lead_department_id=department_id, status__in=[Status.DISPATCHED, Status.IN_PROGRESS], due_at__lt=now
        ).select_related("category").order_by("due_at", "id")[:limit]
    )


def work_order_counts_by_area(*, area_path: str | None, start: datetime, end: datetime) -> list[tuple[int, int]]:
    """(area id, count) of the counted work orders (status not in ``NOT_COUNTED``) accepted in [start, end)
    whose area lies under ``area_path`` (every area when None): one grouped query, by the area id (an
    integer groups faster than the path string); areas without orders are absent.

    Unscoped, like ``department_overdue_queue``: for aggregate figures (grids' per-grid numbers) whose
    callers have already decided which areas the actor may see. One prefix on ``area_path`` lets the
    index serve it whatever the number of areas asked; the caller picks its areas from the rows."""
    qs = WorkOrder.objects.filter(accepted_at__gte=start, accepted_at__lt=end)
    if area_path:
        qs = qs.filter(area_path__startswith=area_path)
    rows = qs.exclude(status__in=NOT_COUNTED).values_list("area_id").annotate(n=Count("id")).order_by()
    return [(area_id, n) for area_id, n in rows]


def work_order_timeline(order: WorkOrder) -> list[WorkOrderEvent]:
    """The order's history, rebuilt from its append-only events alone."""
    return list(order.events.select_related("department").order_by("at", "id"))


def work_order_caller_history(*, actor: Any, phone: str, limit: int = 10) -> list[WorkOrder]:
    return list(work_orders_visible_to(actor).filter(citizen_phone=phone).order_by("-accepted_at")[:limit])


# --- dispatch catalogue -------------------------------------------------------------------------

@dataclass
class DispatchSuggestion:
    rule_id: int
    lead: Any
    co: list[Any]
    reason: str


def dispatch_suggest(*, category_id: int | None, area_path: str) -> DispatchSuggestion | None:
    """The most specific matching catalogue line: deeper category first, then deeper area, then the
    higher priority (DispatchRule's docstring)."""
    category_ids: list[int | None] = [None]
    category_depth: dict[int | None, int] = {None: 0}
    if category_id is not None:
        category = Category.objects.filter(pk=category_id).only("path").first()
        if category is not None:
            chain = [int(p) for p in category.path.strip("/").split("/") if p]
            for depth, pk in enumerate(chain, start=1):
                category_ids.append(pk)
                category_depth[pk] = depth
    area_chain = [int(p) for p in area_path.strip("/").split("/") if p]
    area_depth: dict[int | None, int] = {None: 0, **{pk: d for d, pk in enumerate(area_chain, start=1)}}
    rules = (
        DispatchRule.objects.filter(active=True, lead_department__active=True)
        .filter(Q(category__isnull=True) | Q(category_id__in=[c for c in category_ids if c is not None]))
        .filter(Q(area__isnull=True) | Q(area_id__in=area_chain))
        .select_related("lead_department", "category", "area")
        .prefetch_related("co_departments")
    )
    best = None
    best_key: tuple[int, int, int, int] | None = None
    for rule in rules:
        key = (category_depth.get(rule.category_id, 0), area_depth.get(rule.area_id, 0), rule.priority, -rule.pk)
        if best_key is None or key > best_key:
            best, best_key = rule, key
    if best is None:
        return None
    reason = f"派单目录：{best.category.name if best.category else '全部分类'} × {best.area.name if best.area else '全部区域'}"
    return DispatchSuggestion(
        rule_id=best.pk, lead=best.lead_department,
        co=[d for d in best.co_departments.all() if d.active], reason=reason,
    )


# --- KPIs -----------------------------------------------------------------------------------------

KPI_NAMES = ("sign_on_time_rate", "on_time_rate", "completion_rate", "satisfaction_rate", "return_rate", "repeat_rate")


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _order_kpis(orders: QuerySet[WorkOrder], group_by: str | None) -> dict[Any, dict[str, int]]:
    replied = Q(replied_at__isnull=False)
    aggregates = {
        "accepted": Count("id"),
        "replied": Count("id", filter=replied),
        "replied_on_time": Count("id", filter=replied & Q(due_at__isnull=False) & Q(replied_at__lte=F("due_at"))),
        "replied_timed": Count("id", filter=replied & Q(due_at__isnull=False)),
        "called_back": Count("id", filter=~Q(satisfaction="")),
        "satisfied": Count("id", filter=Q(satisfaction__in=[Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED])),
        "repeat": Count("id", filter=Q(is_repeat=True)),
    }
    if group_by:
        return {row[group_by]: row for row in orders.values(group_by).annotate(**aggregates).order_by()}
    return {None: orders.aggregate(**aggregates)}


def _assignment_kpis(assignments: QuerySet[WorkOrderAssignment], group_by: str | None, now: datetime) -> dict[Any, dict[str, int]]:
    signed = Q(signed_at__isnull=False)
    lapsed = Q(signed_at__isnull=True, sign_due_at__lt=now) & ~Q(returned_at__lt=F("sign_due_at"))
    aggregates = {
        "assignments": Count("id"),
        "returned": Count("id", filter=Q(returned_at__isnull=False)),
        "sign_decided": Count("id", filter=signed | lapsed),
        "signed_on_time": Count("id", filter=signed & Q(signed_at__lte=F("sign_due_at"))),
    }
    if group_by:
        return {row[group_by]: row for row in assignments.values(group_by).annotate(**aggregates).order_by()}
    return {None: assignments.aggregate(**aggregates)}


def _rates(o: dict[str, int], a: dict[str, int]) -> dict[str, Any]:
    return {
        "accepted": o.get("accepted", 0),
        "replied": o.get("replied", 0),
        "called_back": o.get("called_back", 0),
        "sign_on_time_rate": _rate(a.get("signed_on_time", 0), a.get("sign_decided", 0)),
        "on_time_rate": _rate(o.get("replied_on_time", 0), o.get("replied_timed", 0)),
        "completion_rate": _rate(o.get("replied", 0), o.get("accepted", 0)),
        "satisfaction_rate": _rate(o.get("satisfied", 0), o.get("called_back", 0)),
        "return_rate": _rate(a.get("returned", 0), a.get("assignments", 0)),
        "repeat_rate": _rate(o.get("repeat", 0), o.get("accepted", 0)),
    }


def kpi_summary(
    *, actor: Any, start: datetime, end: datetime, group_by: str | None = None, area_code: str | None = None,
    department_id: int | None = None, category_code: str | None = None, now: datetime | None = None,
) -> list[dict[str, Any]]:
    """KPIs over orders accepted in [start, end) visible to the actor, overall or grouped by
    ``department`` (the lead), ``category`` (level-1) or ``area`` (children of the area filter, or of
    the city). Two aggregate queries whatever the group count."""
    now = now or timezone.now()
    counted = work_orders_visible_to(actor).exclude(status__in=NOT_COUNTED)
    orders = counted.filter(accepted_at__gte=start, accepted_at__lt=end)
    # The assignment KPIs filter on when the assignment was made, as defined above: an order accepted
    # before the period may be dispatched (or reassigned) inside it.
    assignments = WorkOrderAssignment.objects.filter(
        role=AssignmentRole.LEAD, assigned_at__gte=start, assigned_at__lt=end, order__in=counted
    )
    if area_code:
        from tongxin.regions.selectors import area_get_by_code

        area = area_get_by_code(area_code)
        orders = orders.filter(area_path__startswith=area.path) if area else orders.none()
        assignments = assignments.filter(order__area_path__startswith=area.path) if area else assignments.none()
    if department_id:
        orders = orders.filter(lead_department_id=department_id)
        assignments = assignments.filter(department_id=department_id)
    if category_code:
        category = Category.objects.filter(code=category_code).first()
        orders = orders.filter(category__path__startswith=category.path) if category else orders.none()
        assignments = assignments.filter(order__category__path__startswith=category.path) if category else assignments.none()
    if group_by is None:
        row = _rates(_order_kpis(orders, None)[None], _assignment_kpis(assignments, None, now)[None])
        return [{"key": None, "label": "合计", **row}]
    if group_by == "department":
        o = _order_kpis(orders, "lead_department_id")
        a = _assignment_kpis(assignments, "department_id", now)
        from tongxin.accounts.models import Department

        names = dict(Department.objects.filter(pk__in=set(o) | set(a)).values_list("pk", "name"))
        keys = sorted(k for k in set(o) | set(a) if k is not None)
        return [{"key": k, "label": names.get(k, str(k)), **_rates(o.get(k, {}), a.get(k, {}))} for k in keys]
    if group_by in {"category", "area"}:
        return _grouped_by_tree(orders, assignments, group_by, now, area_code)
    raise ValueError(group_by)


def _grouped_by_tree(orders: QuerySet[WorkOrder], assignments: QuerySet[WorkOrderAssignment], group_by: str, now: datetime,
                     area_code: str | None) -> list[dict[str, Any]]:
    """Group by level-1 category or by the child areas of the filter area: aggregate per leaf id in
    SQL, then roll the (few thousand at most) leaves up to their ancestor in Python."""
    if group_by == "category":
        o = _order_kpis(orders, "category_id")
        a = _assignment_kpis(assignments, "order__category_id", now)
        nodes = {c.pk: c for c in Category.objects.all().only("pk", "name", "path", "code")}

        def bucket(pk: Any) -> Any:
            node = nodes.get(pk)
            return int(node.path.strip("/").split("/")[0]) if node else None

        labels = {pk: n.name for pk, n in nodes.items()}
    else:
        from tongxin.regions.models import Area
        from tongxin.regions.selectors import area_get_by_code, area_root

        parent = area_get_by_code(area_code) if area_code else area_root()
        o = _order_kpis(orders, "area_id")
        a = _assignment_kpis(assignments, "order__area_id", now)
        areas = {x.pk: x for x in Area.objects.filter(pk__in=set(o) | set(a)).only("pk", "path")}
        depth = parent.path.count("/") if parent else 1
        children = {x.pk: x for x in Area.objects.filter(parent=parent).only("pk", "name")} if parent else {}

        def bucket(pk: Any) -> Any:
            node = areas.get(pk)
            if node is None:
                return None
            parts = node.path.strip("/").split("/")
            return int(parts[depth - 1]) if len(parts) >= depth else (parent.pk if parent else None)

        labels = {pk: c.name for pk, c in children.items()}
        if parent:
            labels[parent.pk] = f"{parent.name}（本级）"
    merged_o: dict[Any, dict[str, int]] = {}
    merged_a: dict[Any, dict[str, int]] = {}
    for source, target in ((o, merged_o), (a, merged_a)):
        for pk, row in source.items():
            key = bucket(pk)
            acc = target.setdefault(key, {})
            for name, value in row.items():
                if isinstance(value, int) and name not in {"category_id", "area_id", "order__category_id", "order__area_id"}:
                    acc[name] = acc.get(name, 0) + value
    keys = [k for k in set(merged_o) | set(merged_a)]
    rows = [{"key": k, "label": labels.get(k, "未分类" if k is None else str(k)),
             **_rates(merged_o.get(k, {}), merged_a.get(k, {}))} for k in keys]
    return sorted(rows, key=lambda r: -r["accepted"])


# --- reference data read by every intake, kept per process -------------------------------------
#
# Intake looks up the category by its code and the area the point falls in (by id), and falls back to
# the city: three small rows that change a few times a year. Each worker keeps the rows it has read
# for TONGXIN_INTAKE_CACHE_SECONDS (default 60); saving or deleting a category or an area empties the
# cache of the process that saved it. A stale entry never writes a wrong order: the PostgreSQL intake
# statement re-checks the category (exists, active) and the area (exists, same path) and, when either
# changed, intake reads them again (services.work_order_create). Unknown codes are not remembered.

_intake_cache: dict[str, Any] = {}
_intake_lock = threading.Lock()
_AREA_FIELDS = ("id", "code", "name", "level", "parent_id", "path", "depth")


def invalidate_intake_cache(*_args: Any, **_kwargs: Any) -> None:
    with _intake_lock:
        _intake_cache.clear()


for _sender in ("workorders.Category", "regions.Area"):
    post_save.connect(invalidate_intake_cache, sender=_sender, dispatch_uid=f"intake-cache-{_sender}-save")
    post_delete.connect(invalidate_intake_cache, sender=_sender, dispatch_uid=f"intake-cache-{_sender}-delete")


def _intake_tables() -> dict[str, Any]:
    tables = _intake_cache
    if tables and tables["until"] > time.monotonic():
        return tables
    with _intake_lock:
        ttl = float(getattr(settings, "TONGXIN_INTAKE_CACHE_SECONDS", 0) or 0)
        _intake_cache.clear()
        _intake_cache.update(until=time.monotonic() + ttl, category=_BoundedDict(), area=_BoundedDict(),
                             area_code=_BoundedDict())
        return _intake_cache


class _BoundedDict(dict):  # type: ignore[type-arg]
    """A dict that empties itself rather than grow past a few thousand entries (areas of a big city)."""

    LIMIT = 20_000

    def remember(self, key: Any, value: Any) -> Any:
        if value is not None:
            if len(self) >= self.LIMIT:
                self.clear()
            self[key] = value
        return value


def intake_category(code: str, *, cached: bool = True) -> Category | None:
    """The active category with this code (an instance shared with other requests: read it only)."""
    if not cached:
        return Category.objects.filter(code=code, active=True).first()
    table = _intake_tables()["category"]
    hit = table.get(code)
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    return table.remember(code, Category.objects.filter(code=code, active=True).first())  # type: ignore[no-any-return]


def intake_area(*, pk: int | None = None, code: str | None = None, cached: bool = True) -> Area | None:
    """An area by id or code, or the city (neither given), without its boundary; shared: read it only."""
    from tongxin.regions.models import Area

    kind, key = ("area", pk) if pk is not None else ("area_code", code) if code is not None else ("area", "root")
    if cached:
        hit = _intake_tables()[kind].get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
    qs = Area.objects.only(*_AREA_FIELDS)
    if pk is not None:
        area = qs.filter(pk=pk).first()
    elif code is not None:
        area = qs.filter(code=code).first()
    else:
        area = qs.filter(parent__isnull=True).order_by("id").first()
    return _intake_tables()[kind].remember(key, area) if cached else area  # type: ignore[no-any-return]
