"""Reads of the residents domain: what a scanned code opens, a household's own requests (never
another's: 404), the public board (located, anonymised), and the staff's lists for printing codes."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from tongxin.accounts.choices import Role
from tongxin.accounts.selectors import actor_scope
from tongxin.core.errors import NotFound
from tongxin.workorders.choices import Status
from tongxin.workorders.selectors import work_orders_visible_to

from .choices import RESIDENT_STATUS_LABELS, CodeKind, CodeState
from .models import Building, Household, Merchant, Report, Resident
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


@dataclass(frozen=True)
class PendingOrder:
    """What the resident sees of a receipt whose work order is not made yet: the attributes the pages
    and the API read from an order, from the receipt's own fields (status ``received``, 已收到)."""

    title: str
    content: str
    accepted_at: datetime
    pk: None = None
    number: str = ""
    status: str = "received"
    category: None = None
    reply_text: str = ""
    replied_at: None = None
    satisfaction: str = ""
    lead_department: None = None


@dataclass
class ReportRow:
    report: Report
    order: Any  # the WorkOrder, or a PendingOrder while the receipt waits for its worker
    status_label: str
    can_rate: bool

    @property
    def registered(self) -> bool:
        return self.report.order_id is not None


def pending_order(report: Report) -> PendingOrder:
    content = report.content or ""
    return PendingOrder(title=content.splitlines()[0][:40] if content else "", content=content,
                        accepted_at=report.created_at)


def report_row(report: Report, order: Any = None) -> ReportRow:
    """A report as the resident reads it: the order's status once registered, else 已收到."""
    if report.order_id is None or order is None:
        return ReportRow(report=report, order=pending_order(report), status_label=resident_status_label("received"),
                         can_rate=False)
    rated = hasattr(report, "rating")
    return ReportRow(report=report, order=order, status_label=resident_status_label(order.status),
                     can_rate=order.status == Status.REPLIED and not rated)


def _orders_for(reports: list[Report]) -> dict[int, Any]:
    from .services import channel_owner

    ids = [r.order_id for r in reports if r.order_id is not None]
    if not ids:
        return {}
    owner = channel_owner()
    orders = work_orders_visible_to(owner).select_related("category").filter(pk__in=ids)
    return {o.pk: o for o in orders}


def report_list(*, place: Household | Merchant, limit: int = 50) -> list[ReportRow]:
    """The place's own requests, newest first: registered ones with the engine's status in the
    resident's words, receipts still waiting for their order as 已收到."""
    reports = list(Report.objects.filter(**_place_filter(place)).select_related("rating").order_by("-created_at")[:limit])
    orders = _orders_for(reports) if reports else {}
    rows = []
    for report in reports:
        order = orders.get(report.order_id) if report.order_id is not None else None
        if report.order_id is not None and order is None:
            continue  # an order the channel may no longer see (cannot happen for its own; as before)
        rows.append(report_row(report, order))
    return rows


def report_get(*, place: Household | Merchant, report_id: Any) -> ReportRow:
    """One of the place's requests by the report's id (the id of the first answer: the order may not
    exist yet); any other — another household's, or none — is 404."""
    try:
        pk = int(report_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    report = Report.objects.filter(pk=pk, **_place_filter(place)).select_related("rating").first()
    if report is None:
        raise NotFound()
    if report.order_id is None:
        return report_row(report)
    order = _orders_for([report]).get(report.order_id)
    if order is None:
        raise NotFound()
    return report_row(report, order)


def report_id_of_order(order_id: Any) -> int | None:
    """The request (report) that carries an order: where a reopened order appears on the resident's list."""
    if order_id is None:
        return None
    return Report.objects.filter(order_id=order_id).values_list("pk", flat=True).first()


def reports_failed(*, limit: int = 200) -> list[Report]:
    """Receipts whose order could not be made (for staff: the admin lists them too), oldest first."""
    from .choices import ReportState

    return list(Report.objects.filter(state=ReportState.FAILED).order_by("created_at")[:limit])


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
                  status_label=resident_status_label(status), category=category or _("未分类"),
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


# --- reads other rooms call (participation, points, regions' pages) ------------------------------------

def _area_of(value: Any) -> Any:
    """An Area from an Area or its pk (a missing pk: None, which then matches nothing)."""
    if value is None or hasattr(value, "path"):
        return value
    from tongxin.regions.models import Area

    return Area.objects.filter(pk=value).only("id", "path").first()


def households_in_scope(*, area: Any = None, grid: Any = None, building: Any = None) -> QuerySet[Household]:
    """Households of an area's subtree (by its materialised path: a district, a town, a community, or a
    grid), of one grid, of one building (a Building or its pk); any combination narrows. No argument:
    every household."""
    qs = Household.objects.all()
    if area is not None:
        area = _area_of(area)
        if area is None:
            return qs.none()
        qs = qs.filter(Q(area__path__startswith=area.path) | Q(grid__path__startswith=area.path))
    if grid is not None:
        qs = qs.filter(grid_id=getattr(grid, "pk", grid))
    if building is not None:
        qs = qs.filter(building_ref_id=getattr(building, "pk", building))
    return qs


def buildings_in_scope(*, area: Any = None, grid: Any = None) -> QuerySet[Building]:
    """Buildings of an area's subtree (community or above, or a grid by path) and/or of one grid."""
    qs = Building.objects.all()
    if area is not None:
        area = _area_of(area)
        if area is None:
            return qs.none()
        qs = qs.filter(Q(area__path__startswith=area.path) | Q(grid__path__startswith=area.path))
    if grid is not None:
        qs = qs.filter(grid_id=getattr(grid, "pk", grid))
    return qs


def adult_cutoff(on: date, years: int = 18) -> date:
    """The latest birth date of a person aged ``years`` on ``on``. Someone born on 29 February comes of
    age on 1 March in a common year (the cutoff falls back to 28 February)."""
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # on is 29 February and the earlier year is not a leap year
        return on.replace(year=on.year - years, day=28)


def adult_residents_of(households: QuerySet[Household], *, on: date) -> QuerySet[Resident]:
    """Active residents of ``households`` aged 18 or more on ``on``. A resident whose birth date is
    unknown is left out: eligibility must be provable."""
    return Resident.objects.filter(household__in=households, active=True, birth_date__isnull=False,
                                   birth_date__lte=adult_cutoff(on))


def owners_of(households: QuerySet[Household]) -> QuerySet[Resident]:
    """Active residents of ``households`` registered as owners (业主) of their household's property."""
    return Resident.objects.filter(household__in=households, active=True, is_owner=True)


def resident_get(pk: Any) -> Resident | None:
    try:
        return Resident.objects.select_related("household").filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class ReportConfirmation:
    report_id: int
    resident_id: int | None
    household_id: int | None
    order_id: int
    confirmed_at: datetime


def report_confirmations(*, since: datetime, until: datetime) -> list[ReportConfirmation]:
    """Residents' reports whose work order was closed (办结) in ``[since, until)`` with a real outcome.

    In the engine, a request set aside ends in its own status — merged into another (并单: a duplicate),
    withdrawn, invalid (无效), transferred to 110 — never in ``closed``, so ``closed`` alone is a valid
    outcome, whatever the satisfaction. One exception: an order closed because the resident asked for a
    redo (重办) is not finished; its new order carries its own report and counts when *it* closes, so the
    request is confirmed once. The order's ``closed_at`` is when it was confirmed; points award on it.
    """
    rows = (
        Report.objects.filter(order__status=Status.CLOSED, order__closed_at__gte=since, order__closed_at__lt=until)
        .filter(order__redos__isnull=True)
        .order_by("order__closed_at", "id")
        .values_list("id", "resident_id", "household_id", "order_id", "order__closed_at")
    )
    return [ReportConfirmation(report_id=r, resident_id=res, household_id=h, order_id=o, confirmed_at=at)
            for r, res, h, o, at in rows if at is not None]  # closed orders always carry closed_at


# --- staff side ------------------------------------------------------------------------------------

def places_manageable_by(actor: Any, model: type[Household] | type[Merchant]) -> QuerySet[Any]:
    """Households or merchants whose area lies in the actor's code-managing roles' areas (admins: all)."""
    scope = actor_scope(actor)
    if scope.is_admin:
        return model.objects.all()
    paths = [p for role in CODE_ROLES for p in scope.area_roles.get(role, ())]
    if not paths:
        return model.objects.none()

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


# --- basic information (基础信息) for staff -----------------------------------------------------------------

# Who keeps basic information: grid workers (and community staff holding that role) in their area,
# admins everywhere; leaders read it. Anything outside answers 404, like a missing record.
INFO_WRITE_ROLES = frozenset({Role.GRID_WORKER})
INFO_READ_ROLES = frozenset({Role.GRID_WORKER, Role.LEADER})


def _info_paths(actor: Any, roles: frozenset[str]) -> list[str]:
    scope = actor_scope(actor)
    return [p for role in roles for p in scope.area_roles.get(role, ())]


def info_can_read(actor: Any) -> bool:
    return actor_scope(actor).is_admin or bool(_info_paths(actor, INFO_READ_ROLES))


def info_can_write(actor: Any) -> bool:
    return actor_scope(actor).is_admin or bool(_info_paths(actor, INFO_WRITE_ROLES))


def info_can_write_at(actor: Any, *, area: Any, grid: Any = None) -> bool:
    """May ``actor`` write a record of this community (and grid)? A grid worker's scope is often one
    grid: then the record must be in that grid."""
    if actor_scope(actor).is_admin:
        return True
    target = grid.path if grid is not None else area.path
    return any(target.startswith(p) for p in _info_paths(actor, INFO_WRITE_ROLES))


def info_can_edit(actor: Any, record: Any) -> bool:
    """May ``actor`` edit this record (a building, household, merchant, or a resident by its household)?"""
    place = record.household if isinstance(record, Resident) else record
    return info_can_write_at(actor, area=place.area, grid=place.grid)


def _info_q(actor: Any, prefix: str = "") -> Q | None:
    paths = _info_paths(actor, INFO_READ_ROLES)
    if not paths:
        return None
    q = Q()
    for path in paths:
        q |= Q(**{f"{prefix}area__path__startswith": path}) | Q(**{f"{prefix}grid__path__startswith": path})
    return q


def _info_scoped(actor: Any, model: Any, prefix: str = "") -> QuerySet[Any]:
    if actor_scope(actor).is_admin:
        return model.objects.all()
    q = _info_q(actor, prefix)
    return model.objects.filter(q) if q is not None else model.objects.none()


def households_visible_to(actor: Any) -> QuerySet[Household]:
    return _info_scoped(actor, Household)


def buildings_visible_to(actor: Any) -> QuerySet[Building]:
    return _info_scoped(actor, Building)


def residents_visible_to(actor: Any) -> QuerySet[Resident]:
    return _info_scoped(actor, Resident, "household__")


def merchants_visible_to(actor: Any) -> QuerySet[Merchant]:
    return _info_scoped(actor, Merchant)


def _get_scoped(qs: QuerySet[Any], pk: Any) -> Any:
    try:
        found = qs.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise NotFound()
    return found


def household_get(*, actor: Any, pk: Any) -> Household:
    return _get_scoped(households_visible_to(actor).select_related("area", "grid", "building_ref"), pk)


def building_get(*, actor: Any, pk: Any) -> Building:
    return _get_scoped(buildings_visible_to(actor).select_related("area", "grid"), pk)


def resident_get_for(*, actor: Any, pk: Any) -> Resident:
    return _get_scoped(residents_visible_to(actor).select_related("household__area", "household__grid"), pk)


def merchant_get(*, actor: Any, pk: Any) -> Merchant:
    return _get_scoped(merchants_visible_to(actor).select_related("area", "grid"), pk)


def info_areas(actor: Any) -> tuple[list[Any], list[Any]]:
    """(communities, grids) the actor may write records in, for the forms' choices."""
    from tongxin.regions.choices import AreaLevel
    from tongxin.regions.models import Area

    areas = Area.objects.defer("boundary").filter(level__in=[AreaLevel.COMMUNITY, AreaLevel.GRID])
    if not actor_scope(actor).is_admin:
        paths = _info_paths(actor, INFO_WRITE_ROLES)
        if not paths:
            return [], []
        q = Q()
        for path in paths:
            q |= Q(path__startswith=path)
            # A grid worker's community (the parent of the grid) is where its records belong.
            q |= Q(level=AreaLevel.COMMUNITY, pk__in=[int(x) for x in path.strip("/").split("/")[-2:-1]])
        areas = areas.filter(q)
    rows = list(areas.order_by("path")[:2000])
    return ([a for a in rows if a.level == AreaLevel.COMMUNITY], [a for a in rows if a.level == AreaLevel.GRID])


def record_history(*, record_type: str, object_id: int, limit: int = 100) -> list[Any]:
    """The change records of one record, newest first (the caller has already read the record)."""
    from .models import RecordChange

    return list(RecordChange.objects.filter(object_type=record_type, object_id=object_id)
                .order_by("-at", "-id")[:limit])


def info_search(*, actor: Any, kind: str, query: str = "", grid: Any = None, building: Any = None,
                limit: int = 50) -> QuerySet[Any]:
    """The staff list of one kind of record, scoped to the actor, filtered by a free-text query: the
    address, building, room or name; a resident also by the last four digits of the phone (never by
    the full number in a URL) — or by a typed ID number (through its digest)."""
    query = (query or "").strip()[:60]
    qs: QuerySet[Any]
    if kind == "resident":
        qs = residents_visible_to(actor).select_related("household")
        if query:
            q = Q(name__icontains=query) | Q(household__address__icontains=query)
            if query.isdigit() and len(query) == 4:
                q |= Q(phone__endswith=query)
            if len(query) == 18:
                from tongxin.core.errors import ValidationFailed

                from .services import id_digest

                with contextlib.suppress(ValidationFailed):
                    q |= Q(id_digest=id_digest(query))
            qs = qs.filter(q)
        if grid is not None:
            qs = qs.filter(household__grid_id=grid)
        if building is not None:
            qs = qs.filter(household__building_ref_id=building)
        return qs.order_by("household__address", "id")[:limit]
    if kind == "building":
        qs = buildings_visible_to(actor).select_related("area", "grid")
        if query:
            qs = qs.filter(Q(name__icontains=query) | Q(address__icontains=query))
        if grid is not None:
            qs = qs.filter(grid_id=grid)
        from django.db.models import Count

        return qs.annotate(household_count=Count("households")).order_by("area__path", "name")[:limit]
    if kind == "merchant":
        qs = merchants_visible_to(actor).select_related("area", "grid")
        if query:
            qs = qs.filter(Q(name__icontains=query) | Q(address__icontains=query))
        if grid is not None:
            qs = qs.filter(grid_id=grid)
        return qs.order_by("name", "id")[:limit]
    qs = households_visible_to(actor).select_related("area", "grid")
    if query:
        qs = qs.filter(Q(address__icontains=query) | Q(building__icontains=query) | Q(room__icontains=query))
    if grid is not None:
        qs = qs.filter(grid_id=grid)
    if building is not None:
        qs = qs.filter(building_ref_id=building)
    from django.db.models import Count

    return qs.annotate(resident_count=Count("residents", filter=Q(residents__active=True))).order_by(
        "building", "unit", "room", "id")[:limit]


# --- the public board's outlines (issue #5) -------------------------------------------------------------------

OUTLINE_CACHE_SECONDS = 3600  # boundaries change a few times a year
OUTLINE_DIGITS = 4  # ~10 m: more than a simplified city-wide outline can show


def _rounded(coords: Any) -> Any:
    if coords and isinstance(coords[0], int | float):
        return [round(float(coords[0]), OUTLINE_DIGITS), round(float(coords[1]), OUTLINE_DIGITS)]
    return [_rounded(c) for c in coords]


def board_outlines() -> dict[str, Any]:
    """The district (旗/区) outlines under the board's points: a GeoJSON FeatureCollection, each
    boundary simplified to about 1/500 of the city's width (a few hundred metres for Ordos) — the board
    shows where requests are, not where a border runs. Cached; a new boundary import shows within
    the hour (the key carries the districts' ids, so a new district shows at once)."""
    from django.core.cache import cache

    from tongxin.regions.choices import AreaLevel
    from tongxin.regions.geometry import simplify
    from tongxin.regions.models import Area

    districts = list(Area.objects.filter(level=AreaLevel.DISTRICT, boundary__isnull=False)
                     .order_by("code").values_list("id", flat=True))
    key = "residents:board:outlines:v1:" + ",".join(map(str, districts))[:200] + f":{len(districts)}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    rows = list(Area.objects.filter(pk__in=districts).order_by("code")
                .values("code", "name", "boundary", "min_lng", "max_lng"))
    width = max([(r["max_lng"] or 0) - (r["min_lng"] or 0) for r in rows] + [0.0])
    city = Area.objects.filter(level=AreaLevel.CITY).exclude(min_lng__isnull=True).values("min_lng", "max_lng").first()
    if city:
        width = max(width, (city["max_lng"] or 0) - (city["min_lng"] or 0))
    tolerance = max(width / 500, 0.0005)
    features = []
    for row in rows:
        if not row["boundary"]:
            continue
        try:
            geometry = simplify(row["boundary"], tolerance)
        except (ValueError, TypeError, KeyError, AttributeError):
            continue  # a broken boundary is the importer's to report; the board just leaves it out
        if not geometry.get("coordinates"):
            continue
        features.append({"type": "Feature", "properties": {"code": row["code"], "name": row["name"]},
                         "geometry": {"type": geometry["type"], "coordinates": _rounded(geometry["coordinates"])}})
    collection = {"type": "FeatureCollection", "features": features}
    cache.set(key, collection, OUTLINE_CACHE_SECONDS)
    return collection
