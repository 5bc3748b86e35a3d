"""Reads of the grids domain: the actor's grids, patrols, reports and opinions scoped by jurisdiction,
and the per-area numbers (``grid_numbers``) that the map page calls.

Definitions of the numbers (docs/grids.md repeats them). The period is the half-open [start, end);
an area's numbers cover its whole subtree (the area itself and everything below it, by ``Area.path``).

- raised (诉求总数): work orders accepted in the period and located in the subtree (any channel;
  merged, withdrawn, invalid and police-transferred orders never count, as in the work-order KPIs)
  + field reports settled on the spot in the period (their ``settled_at``) in the subtree's grids.
- settled_in_grid (格内解决): field reports settled on the spot in the period. (A work order of
  channel ``grid`` closed by the grid itself is not modelled: such orders go to departments.)
- settled_rate (格内解决率): settled_in_grid / raised, None when raised is 0.
- patrols (巡查次数): patrols ended in the period (``ended_at`` in the period) in the subtree's grids.
- patrol_days (巡查天数): distinct (grid, local calendar day of ``ended_at``) pairs among those patrols.
- coverage (巡查覆盖率): grids of the subtree with at least one such patrol / grids of the subtree;
  None when the subtree holds no grid.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from tongxin.accounts.choices import Role
from tongxin.accounts.selectors import actor_scope
from tongxin.regions.choices import AreaLevel
from tongxin.regions.models import Area
from tongxin.workorders.selectors import work_order_counts_by_area

from .choices import ReportStatus
from .models import FieldReport, Opinion, OpinionTopic, Patrol

# Who reads what: grid workers their own grids, leaders (and the centre's supervisors) their subtree.
READER_ROLES = frozenset({Role.LEADER, Role.SUPERVISOR})


# --- the numbers ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class GridNumbers:
    raised: int            # work orders located in the area in the period (any channel) + reports settled on the spot
    settled_in_grid: int   # field reports settled on the spot in the period
    settled_rate: float | None   # settled_in_grid / raised, None when raised == 0 (格内解决率)
    patrols: int           # patrols ended in the period
    patrol_days: int       # distinct (grid, day) pairs with at least one patrol ended that day
    coverage: float | None  # share of the grids under the area with ≥1 patrol in the period, None if no grids


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _prefixes(path: str) -> list[str]:
    """Every ancestor path of a materialised path, itself included: "/1/7/42/" → "/1/", "/1/7/", "/1/7/42/"."""
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def _roll_up(counts: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Counts keyed by a row's path → counts keyed by every ancestor path (each row adds to all of them)."""
    totals: dict[str, int] = defaultdict(int)
    for path, n in counts:
        for prefix in _prefixes(path or ""):
            totals[prefix] += n
    return totals


def _common_prefix(paths: Sequence[str]) -> str | None:
    """The path of the deepest common ancestor of ``paths``; None at the root (the city, or several roots)."""
    parts = [p.strip("/").split("/") for p in paths]
    common: list[str] = []
    for level in zip(*parts, strict=False):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    if len(common) <= 1:
        return None
    return "/" + "/".join(common) + "/"


def _common_prefix_q(paths: Sequence[str], field_name: str) -> Q:
    """One prefix match on the deepest common ancestor of ``paths`` (no filter at the root): a single
    LIKE that an index can use, whatever the number of areas; rows outside the asked areas are grouped
    too and simply not picked."""
    prefix = _common_prefix(paths)
    return Q(**{f"{field_name}__startswith": prefix}) if prefix else Q()


def _paths_q(paths: Iterable[str], field_name: str) -> Q:
    """Rows whose ``field_name`` path lies under any of ``paths`` (outermost paths only)."""
    paths = sorted(set(paths))
    outer = [p for p in paths if not any(p != o and p.startswith(o) for o in paths)]
    q = Q(pk__in=[])
    for path in outer:
        q |= Q(**{f"{field_name}__startswith": path})
    return q


def grid_numbers(*, areas: Sequence[Area], start: datetime, end: datetime) -> dict[int, GridNumbers]:
    """For each given area (any level: a grid, a community, a town, a district, the city), the numbers of
    its whole subtree, rolled up through the materialised path ``Area.path``: one grouped query per
    measure (the area tree under the common ancestor, work orders, settled reports, patrols, patrol days),
    whatever the number of areas."""
    areas = [a for a in areas if a is not None]
    if not areas:
        return {}
    paths = [a.path for a in areas]
    # Every area under the common ancestor, once: the paths of the work orders' areas and the grids.
    tree = list(Area.objects.filter(_common_prefix_q(paths, "path")).values_list("pk", "path", "level"))
    path_of = {pk: path for pk, path, _level in tree}
    order_rows = work_order_counts_by_area(area_path=_common_prefix(paths), start=start, end=end)
    orders = _roll_up((path_of.get(pk, ""), n) for pk, n in order_rows)
    settled_rows = (
        FieldReport.objects.filter(_common_prefix_q(paths, "grid_path"), status=ReportStatus.SETTLED,
                                   settled_at__gte=start, settled_at__lt=end)
        .values("grid_path").annotate(n=Count("id")).order_by()
    )
    settled = _roll_up((r["grid_path"], r["n"]) for r in settled_rows)
    ended = Patrol.objects.filter(_common_prefix_q(paths, "grid_path"), ended_at__gte=start, ended_at__lt=end)
    patrols = _roll_up((r["grid_path"], r["n"]) for r in ended.values("grid_path").annotate(n=Count("id")).order_by())
    day_rows = (
        ended.annotate(day=TruncDate("ended_at", tzinfo=timezone.get_current_timezone()))
        .values_list("grid_path", "day").distinct().order_by()
    )
    day_pairs = list(day_rows)
    patrol_days = _roll_up((path, 1) for path, _day in day_pairs)
    covered = _roll_up((path, 1) for path in {path for path, _day in day_pairs})
    grids = _roll_up((path, 1) for _pk, path, level in tree if level == AreaLevel.GRID)
    result = {}
    for area in areas:
        p = area.path
        raised = orders.get(p, 0) + settled.get(p, 0)
        result[area.pk] = GridNumbers(
            raised=raised, settled_in_grid=settled.get(p, 0), settled_rate=_rate(settled.get(p, 0), raised),
            patrols=patrols.get(p, 0), patrol_days=patrol_days.get(p, 0),
            coverage=_rate(covered.get(p, 0), grids.get(p, 0)),
        )
    return result


# --- whose grids ----------------------------------------------------------------------------------

def _served_grid_ids(user: Any) -> list[int]:
    """Grids the user serves in the roster (网格长/网格员/网格警…), when the regions domain offers the
    roster (``regions.selectors.grids_served_by``); none until then."""
    from tongxin.regions import selectors as regions_selectors

    served = getattr(regions_selectors, "grids_served_by", None)
    if served is None:
        return []
    return [g.pk if hasattr(g, "pk") else int(g) for g in served(user)]


def worker_grids(actor: Any) -> QuerySet[Area]:
    """The grids a grid worker works in: the grids in their role's area subtrees, and the grids they
    serve in the roster. Admins: every grid."""
    scope = actor_scope(actor)
    qs = Area.objects.filter(level=AreaLevel.GRID).defer("boundary")
    if scope.is_admin:
        return qs.order_by("path")
    paths = scope.area_roles.get(Role.GRID_WORKER, ())
    q = _paths_q(paths, "path") if paths else Q(pk__in=[])
    served = _served_grid_ids(actor) if getattr(actor, "is_authenticated", False) else []
    if served:
        q |= Q(pk__in=served)
    return qs.filter(q).order_by("path")


def is_grid_worker(actor: Any) -> bool:
    scope = actor_scope(actor)
    return scope.is_admin or scope.has_role(Role.GRID_WORKER) or bool(_served_grid_ids(actor))


def can_read(actor: Any) -> bool:
    scope = actor_scope(actor)
    return scope.is_admin or bool(scope.roles & READER_ROLES) or is_grid_worker(actor)


def _visible_q(actor: Any, field_name: str = "grid_path") -> Q | None:
    """None for admins (everything); else rows in the actor's grids or in their reader subtrees."""
    scope = actor_scope(actor)
    if scope.is_admin:
        return None
    paths = [p for role in READER_ROLES for p in scope.area_roles.get(role, ())]
    paths += list(scope.area_roles.get(Role.GRID_WORKER, ()))
    q = _paths_q(paths, field_name)
    served = _served_grid_ids(actor) if getattr(actor, "is_authenticated", False) else []
    if served:
        q |= Q(**{f"{field_name.replace('_path', '')}_id__in": served})
    return q


def _scoped(qs: QuerySet[Any], actor: Any) -> QuerySet[Any]:
    q = _visible_q(actor)
    return qs if q is None else qs.filter(q)


def patrols_visible_to(actor: Any) -> QuerySet[Patrol]:
    return _scoped(Patrol.objects.select_related("grid", "worker").defer("grid__boundary"), actor)


def reports_visible_to(actor: Any) -> QuerySet[FieldReport]:
    return _scoped(FieldReport.objects.select_related("grid", "worker").defer("grid__boundary"), actor)


def opinions_visible_to(actor: Any) -> QuerySet[Opinion]:
    return _scoped(Opinion.objects.select_related("grid", "topic", "author").defer("grid__boundary"), actor)


def _get(qs: QuerySet[Any], pk: Any) -> Any:
    try:
        return qs.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        return None


def patrol_get(*, actor: Any, patrol_id: Any) -> Patrol | None:
    return _get(patrols_visible_to(actor), patrol_id)  # type: ignore[no-any-return]


def report_get(*, actor: Any, report_id: Any) -> FieldReport | None:
    return _get(reports_visible_to(actor), report_id)  # type: ignore[no-any-return]


def opinion_get(*, actor: Any, opinion_id: Any) -> Opinion | None:
    return _get(opinions_visible_to(actor), opinion_id)  # type: ignore[no-any-return]


def patrol_open(*, actor: Any) -> Patrol | None:
    """The actor's own patrol in progress, if any."""
    if not getattr(actor, "is_authenticated", False):
        return None
    return Patrol.objects.select_related("grid").filter(worker=actor, ended_at__isnull=True).first()


def patrol_route(patrol: Patrol) -> list[dict[str, Any]]:
    return [
        {"lat": c.lat, "lng": c.lng, "at": timezone.localtime(c.at).strftime("%H:%M"), "inside": c.inside_grid}
        for c in patrol.checkins.all()
    ]


def grid_get(*, actor: Any, grid_id: Any) -> Area | None:
    """A grid the actor works in or reads (leaders: any grid in their subtree)."""
    try:
        pk = int(grid_id)
    except (TypeError, ValueError):
        return None
    grid = Area.objects.filter(pk=pk, level=AreaLevel.GRID).first()
    if grid is None:
        return None
    scope = actor_scope(actor)
    if scope.is_admin or scope.area_role_covers(READER_ROLES | {Role.GRID_WORKER}, grid.path):
        return grid
    return grid if pk in _served_grid_ids(actor) else None


@dataclass(frozen=True)
class RosterRow:
    duty: str
    name: str
    phone_masked: str
    is_me: bool


def grid_roster(grid: Area, *, actor: Any = None) -> list[RosterRow] | None:
    """The grid's roster (一格一长一警一专多兼) from the regions domain, phones masked; None while the
    regions domain offers no roster."""
    from tongxin.core.masking import mask_phone
    from tongxin.regions import selectors as regions_selectors

    roster = getattr(regions_selectors, "grid_roster", None)
    if roster is None:
        return None
    me = getattr(actor, "pk", None)
    return [
        RosterRow(duty=str(getattr(m, "get_duty_display", lambda: "")()), name=getattr(m, "name", str(m)),
                  phone_masked=mask_phone(getattr(m, "phone", "")), is_me=me is not None and getattr(m, "user_id", None) == me)
        for m in roster(grid)
    ]


@dataclass(frozen=True)
class OpinionFilters:
    q: str = ""
    topic_code: str = ""
    area_path: str | None = None
    date_from: Any = None  # a date, inclusive
    date_to: Any = None    # a date, inclusive


def opinion_list(*, actor: Any, filters: OpinionFilters) -> QuerySet[Opinion]:
    """Opinions the actor may read, filtered by text (content or address), topic, area subtree, dates."""
    qs = opinions_visible_to(actor)
    if filters.q:
        qs = qs.filter(Q(text__icontains=filters.q) | Q(address__icontains=filters.q))
    if filters.topic_code:
        qs = qs.filter(topic__code=filters.topic_code)
    if filters.area_path:
        qs = qs.filter(grid_path__startswith=filters.area_path)
    if filters.date_from:
        qs = qs.filter(created_at__date__gte=filters.date_from)
    if filters.date_to:
        qs = qs.filter(created_at__date__lte=filters.date_to)
    return qs.order_by("-created_at", "-id")


def opinion_topics(*, active_only: bool = True) -> list[OpinionTopic]:
    qs = OpinionTopic.objects.all()
    return list(qs.filter(active=True) if active_only else qs)


def reader_areas(actor: Any) -> QuerySet[Area]:
    """Areas above the grid level the actor may filter by (their subtrees), for the opinion page."""
    scope = actor_scope(actor)
    qs = Area.objects.exclude(level=AreaLevel.GRID).defer("boundary")
    if scope.is_admin:
        return qs.order_by("path")
    paths = [p for role in READER_ROLES | {Role.GRID_WORKER} for p in scope.area_roles.get(role, ())]
    return qs.filter(_paths_q(paths, "path")).order_by("path")
