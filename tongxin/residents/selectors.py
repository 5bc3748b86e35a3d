"""Reads of the residents domain: what a scanned code opens, a household's own requests (never
another's: 404), the public board (located, anonymised), and the staff's lists for printing codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from tongxin.accounts.choices import Role
from tongxin.accounts.selectors import actor_scope
from tongxin.core.errors import NotFound
from tongxin.workorders.choices import Status
from tongxin.workorders.selectors import work_orders_visible_to

from .choices import RESIDENT_STATUS_LABELS, CodeKind, CodeState
from .models import Household, Merchant, Report
from .tokens import token_parse

# Roles that may print and manage a place's code: the community's people and the centre.
CODE_ROLES = frozenset({Role.GRID_WORKER, Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR, Role.LEADER})
BOARD_DECIMALS = 3  # ~100 m: the board shows the neighbourhood of a request, not the doorstep


@dataclass(frozen=True)
class CodeResolution:
    state: str
    place: Household | Merchant | None = None


def code_resolve(token: str) -> CodeResolution:
    """What a scanned token opens. Forged or malformed, and a valid signature for an id that does not
    exist, look alike (``forged``); only a token we signed can be ``replaced`` or ``revoked``."""
    parsed = token_parse(token)
    if parsed is None:
        return CodeResolution(CodeState.FORGED)
    model = Household if parsed.kind == CodeKind.HOUSEHOLD else Merchant
    place = model.objects.filter(pk=parsed.id).first()  # not the area: its boundary is large
    if place is None:
        return CodeResolution(CodeState.FORGED)
    if place.code_revoked_at is not None:
        return CodeResolution(CodeState.REVOKED)
    if parsed.version != place.code_version:
        return CodeResolution(CodeState.REPLACED)
    return CodeResolution(CodeState.VALID, place)


def place_get(kind: str, pk: Any) -> Household | Merchant | None:
    model = Household if kind == CodeKind.HOUSEHOLD else Merchant
    try:
        return model.objects.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        return None


def _place_filter(place: Household | Merchant) -> dict[str, Any]:
    return {"household": place} if isinstance(place, Household) else {"merchant": place}


def resident_status_label(status: str) -> str:
    return str(RESIDENT_STATUS_LABELS.get(status, status))


@dataclass
class ReportRow:
    report: Report
    order: Any
    status_label: str
    can_rate: bool


def _orders_for(reports: list[Report]) -> dict[int, Any]:
    from .services import channel_owner

    owner = channel_owner()
    orders = work_orders_visible_to(owner).select_related("category").filter(pk__in=[r.order_id for r in reports])
    return {o.pk: o for o in orders}


def report_list(*, place: Household | Merchant, limit: int = 50) -> list[ReportRow]:
    """The place's own requests, newest first, with the engine's status in the resident's words."""
    reports = list(Report.objects.filter(**_place_filter(place)).select_related("rating").order_by("-created_at")[:limit])
    orders = _orders_for(reports) if reports else {}
    rows = []
    for report in reports:
        order = orders.get(report.order_id)
        if order is None:
            continue
        rated = hasattr(report, "rating")
        rows.append(ReportRow(report=report, order=order, status_label=resident_status_label(order.status),
                              can_rate=order.status == Status.REPLIED and not rated))
    return rows


def report_get(*, place: Household | Merchant, order_id: Any) -> ReportRow:
    """One of the place's requests; any other (another household's, or none) is 404."""
    try:
        pk = int(order_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    report = Report.objects.filter(order_id=pk, **_place_filter(place)).select_related("rating").first()
    if report is None:
        raise NotFound()
    order = _orders_for([report]).get(report.order_id)
    if order is None:
        raise NotFound()
    rated = hasattr(report, "rating")
    return ReportRow(report=report, order=order, status_label=resident_status_label(order.status),
                     can_rate=order.status == Status.REPLIED and not rated)


@dataclass(frozen=True)
class BoardItem:
    lat: float
    lng: float
    status: str
    status_label: str
    category: str
    accepted_on: str


def board_items(*, category_code: str = "", since: datetime | None = None, limit: int = 500) -> list[BoardItem]:
    """The public board: residents' located requests, newest first. Only the rounded point, the status,
    the category and the day: never the text (people write their names and numbers into it), never
    the reporter. Set-aside orders (merged, withdrawn, invalid, transferred) are left out."""
    from .services import channel_owner

    orders = (
        work_orders_visible_to(channel_owner())
        .filter(resident_report__lat__isnull=False)
        .exclude(status__in=[Status.MERGED, Status.WITHDRAWN, Status.INVALID, Status.TRANSFERRED])
        .select_related("category")
    )
    if category_code:
        orders = orders.filter(category__code__startswith=category_code)
    if since:
        orders = orders.filter(accepted_at__gte=since)
    rows = orders.order_by("-accepted_at").values_list(
        "resident_report__lat", "resident_report__lng", "status", "category__name", "accepted_at")[:limit]
    return [
        BoardItem(lat=round(lat, BOARD_DECIMALS), lng=round(lng, BOARD_DECIMALS), status=status,
                  status_label=resident_status_label(status), category=category or "未分类",
                  accepted_on=accepted.date().isoformat())
        for lat, lng, status, category, accepted in rows
        if lat is not None and lng is not None  # filtered above; says so to the type checker
    ]


def board_categories() -> list[tuple[str, str]]:
    """(code, name) of the categories that residents' located requests carry, for the board's filter."""
    from .services import channel_owner

    rows = (
        work_orders_visible_to(channel_owner()).filter(resident_report__lat__isnull=False, category__isnull=False)
        .values_list("category__code", "category__name").distinct().order_by("category__code")
    )
    return list(rows[:100])


# --- staff side ------------------------------------------------------------------------------------

def places_manageable_by(actor: Any, model: type[Household] | type[Merchant]) -> QuerySet[Any]:
    """Households or merchants whose area lies in the actor's code-managing roles' areas (admins: all)."""
    scope = actor_scope(actor)
    if scope.is_admin:
        return model.objects.all()
    paths = [p for role in CODE_ROLES for p in scope.area_roles.get(role, ())]
    if not paths:
        return model.objects.none()
    from django.db.models import Q

    q = Q()
    for path in paths:
        q |= Q(area__path__startswith=path) | Q(grid__path__startswith=path)  # a grid worker's own grid
    return model.objects.filter(q)


def buildings_manageable_by(actor: Any, *, limit: int = 500) -> list[dict[str, Any]]:
    """The buildings whose codes the actor may print: community, building, households (one grouped query)."""
    from django.db.models import Count

    rows = (
        places_manageable_by(actor, Household).filter(code_revoked_at__isnull=True)
        .values("area_id", "area__name", "building").annotate(households=Count("id"))
        .order_by("area__name", "building")
    )
    return list(rows[:limit])


def building_households(*, actor: Any, area_id: Any, building: str) -> list[Household]:
    """One building's households, in door order, for the print sheet (404 outside the actor's areas)."""
    rows = list(
        places_manageable_by(actor, Household).filter(area_id=area_id, building=building, code_revoked_at__isnull=True)
        .select_related("area").order_by("unit", "room", "id")
    )
    if not rows:
        raise NotFound()
    return rows
