"""Reads of the map page (/dashboard/map/): the child areas of one area with their outlines (simplified for
the drill level, cached), their numbers in a period, the orders as points and as a heat grid, and the grid
numbers (格内解决率, patrol coverage) rolled up the tree.

Scoping: the area comes from ``dashboard_area`` (the viewer's home areas and below; anything else is
None, and the views answer 404); the points and the heat are built from ``work_order_list``, so they hold
only orders the viewer may see. The counts per area are sums of the dashboard's ``Rollup`` rows (one
indexed query for all the children, whatever the number of orders), the same numbers as the city screen
and the lists behind them (``orders_href``).

Payload caps:
- outlines: simplified with a tolerance of 1/600 of the shown area's width (about one pixel of a
  desktop map framed on it) and rounded to 5 decimals (about 1 m); cached per area for an hour.
- points: at most ``MAX_POINTS``; beyond that a systematic sample (every k-th order by id), flagged
  ``sampled`` with the total, so the map never draws a misleading "all".
- heat: every order of the period, counted in cells of 1/``HEAT_CELLS`` of the area's width (at most
  HEAT_CELLS² cells, a few hundred in practice): the heat is complete even when the points are sampled.
"""

from __future__ import annotations

import logging
import math
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.db.models import BooleanField, Case, Count, F, Q, Value, When
from django.db.models.functions import Floor, Mod
from django.utils import timezone

from .models import COUNTERS
from .selectors import (
    Period,
    local_midnight,
    orders_href,
    period_to_date,
    rates,
    rollup_by_area,
    rollup_total,
)

logger = logging.getLogger(__name__)

MAX_POINTS = 2000
HEAT_CELLS = 80
SIMPLIFY_FRACTION = 1 / 600
GEO_TTL = 3600
# Patrols and field reports change slowly; the numbers are the same for every viewer of an area (they
# hold counts, no orders): one minute, like the rollups' fold.
GRID_TTL = 60
# The counters the map shows (the colouring uses "accepted" or "overdue").
MAP_COUNTERS = ("accepted", "replied", "called_back", "satisfied", "open", "overdue")


@dataclass(frozen=True)
class MapScope:
    """The area shown and the period: what every map read takes."""

    area: Any
    period: Period


def map_scope(*, area: Any, period_kind: str = "month", today: date | None = None) -> MapScope:
    today = today or timezone.localdate()
    return MapScope(area=area, period=period_to_date(period_kind, today))


def map_children(area: Any) -> list[Any]:
    """The areas one level down (the regions the map colours), or none for a grid."""
    from tongxin.regions.models import Area

    return list(Area.objects.filter(parent_id=area.pk).defer("boundary").order_by("code"))


# --- outlines --------------------------------------------------------------------------------------

def _round(coords: Any, digits: int = 5) -> Any:
    if coords and isinstance(coords[0], (int, float)):
        return [round(float(coords[0]), digits), round(float(coords[1]), digits)]
    return [_round(c, digits) for c in coords]


def simplify_tolerance(area: Any) -> float:
    """Degrees: 1/600 of the area's width (about a pixel of the map framed on it)."""
    if area.min_lng is None or area.max_lng is None:
        return 0.001
    return max((area.max_lng - area.min_lng) * SIMPLIFY_FRACTION, 0.00001)


def _feature(row: dict[str, Any], tolerance: float) -> dict[str, Any] | None:
    from tongxin.regions.geometry import simplify

    try:
        geometry = simplify(row["boundary"], tolerance)
    except (ValueError, TypeError, KeyError, AttributeError):
        logger.warning("area %s: boundary cannot be simplified", row["code"])
        return None
    if not geometry.get("coordinates"):
        return None
    return {"type": "Feature", "properties": {"code": row["code"], "name": row["name"], "level": row["level"]},
            "geometry": {"type": geometry["type"], "coordinates": _round(geometry["coordinates"])}}


def map_geometry(area: Any) -> dict[str, Any]:
    """The outlines of the child areas (or of the area itself when it has none) and of the area, as a
    GeoJSON FeatureCollection plus the area's own outline (``frame``), simplified for the drill level.
    Cached per area for an hour: boundaries change a few times a year."""
    from tongxin.regions.models import Area

    key = f"dashboard:map:geo:v1:{area.pk}:{area.path}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    tolerance = simplify_tolerance(area)
    fields = ("code", "name", "level", "boundary")
    rows = list(Area.objects.filter(parent_id=area.pk).exclude(boundary__isnull=True).order_by("code").values(*fields))
    own = Area.objects.filter(pk=area.pk).exclude(boundary__isnull=True).values(*fields).first()
    if not rows and own:
        rows = [own]
    features = [f for f in (_feature(r, tolerance) for r in rows) if f]
    frame = _feature(own, tolerance) if own else None
    bbox = None
    if area.min_lng is not None:
        bbox = [[area.min_lat, area.min_lng], [area.max_lat, area.max_lng]]
    collection = {"type": "FeatureCollection", "features": features, "frame": frame, "bbox": bbox,
                  "tolerance": tolerance}
    cache.set(key, collection, GEO_TTL)
    return collection


# --- numbers ---------------------------------------------------------------------------------------

def _numbers(in_period: dict[str, int], state: dict[str, int]) -> dict[str, Any]:
    r = rates(in_period)
    return {"accepted": in_period["accepted"], "replied": in_period["replied"], "open": state["open"],
            "overdue": state["overdue"], "completion_rate": r["completion_rate"],
            "satisfaction_rate": r["satisfaction_rate"]}


def _empty() -> dict[str, int]:
    return dict.fromkeys(COUNTERS, 0)


def map_numbers(scope: MapScope, children: list[Any] | None = None) -> dict[str, Any]:
    """The area's numbers and each child's: accepted and replied in the period (day of acceptance),
    open and overdue now; links to the lists behind them. Three indexed queries on the rollups."""
    area, period = scope.area, scope.period
    children = map_children(area) if children is None else children
    ids = [c.pk for c in children]
    in_period = rollup_by_area(ids, period.start, period.end) if ids else {}
    now_state = rollup_by_area(ids, None, None) if ids else {}
    total = _numbers(rollup_total(area.pk, period.start, period.end), rollup_total(area.pk, None, None))
    total["hrefs"] = _hrefs(area.code, period)
    rows = []
    for child in children:
        row = _numbers(in_period.get(child.pk, _empty()), now_state.get(child.pk, _empty()))
        row.update({"code": child.code, "name": child.name, "level": child.level, "drill": child.level != "grid",
                    "hrefs": _hrefs(child.code, period)})
        rows.append(row)
    return {"total": total, "children": rows,
            "max": {"accepted": max([r["accepted"] for r in rows], default=0),
                    "overdue": max([r["overdue"] for r in rows], default=0)}}


def _hrefs(code: str, period: Period) -> dict[str, str]:
    return {"accepted": orders_href(area_code=code, metric="accepted", start=period.start, end=period.end),
            "overdue": orders_href(area_code=code, metric="overdue")}


# --- grid numbers (tongxin.grids) -------------------------------------------------------------------

GRID_FIELDS = ("raised", "settled_in_grid", "settled_rate", "patrols", "patrol_days", "coverage")


def _grid_source() -> Any | None:
    try:
        from tongxin.grids.selectors import grid_numbers
    except ImportError:
        return None
    return grid_numbers


def map_grid_numbers(scope: MapScope, children: list[Any]) -> dict[str, Any] | None:
    """Requests raised, settled inside the grid (格内解决率) and patrol coverage of the area and of each
    child, from ``tongxin.grids.selectors.grid_numbers`` (which rolls each area's subtree up itself, in
    one grouped query per measure), cached for GRID_TTL seconds per area and period. None when the grids
    app cannot provide them (the panel says so)."""
    source = _grid_source()
    if source is None:
        return None
    area, period = scope.area, scope.period
    key = f"dashboard:map:grid:v1:{area.pk}:{period.start}:{period.end}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    # Inside a request's transaction a failed query must not break it (PostgreSQL): a savepoint. Outside
    # one, no transaction at all — on SQLite a top-level atomic() would take the write lock for a read.
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with guard:
            numbers = source(areas=[area, *children], start=local_midnight(period.start),
                             end=local_midnight(period.end))
    except (DatabaseError, TypeError, AttributeError, LookupError, ValueError) as error:
        # The grids app is being built alongside: a missing table or a changed signature must not take
        # the map down; the panel shows that the grid numbers are unavailable.
        logger.warning("grid numbers unavailable: %s", error)
        return None

    def fields(pk: int) -> dict[str, Any] | None:
        n = numbers.get(pk)
        return None if n is None else {f: getattr(n, f, None) for f in GRID_FIELDS}

    result = {"total": fields(area.pk), "children": {c.code: fields(c.pk) for c in children}}
    cache.set(key, result, GRID_TTL)
    return result


# --- points and heat --------------------------------------------------------------------------------

def _period_orders(actor: Any, scope: MapScope) -> Any:
    from tongxin.workorders.choices import NOT_COUNTED
    from tongxin.workorders.selectors import WorkOrderFilters, work_order_list

    period = scope.period
    filters = WorkOrderFilters(area_code=scope.area.code, accepted_from=local_midnight(period.start),
                               accepted_to=local_midnight(period.end))
    return (work_order_list(actor=actor, filters=filters).exclude(status__in=list(NOT_COUNTED))
            .filter(lat__isnull=False, lng__isnull=False).order_by())


def _overdue_q(now: datetime) -> Q:
    from tongxin.workorders.choices import WITH_DEPARTMENT

    return Q(status__in=list(WITH_DEPARTMENT), due_at__lt=now)


def map_points(*, actor: Any, scope: MapScope, now: datetime | None = None,
               max_points: int = MAX_POINTS) -> dict[str, Any]:
    """The orders accepted in the period that have a location, as ``[lat, lng, overdue(0/1), id]``; at
    most ``max_points`` (a systematic sample by id beyond that), and the heat grid of all of them."""
    now = now or timezone.now()
    orders = _period_orders(actor, scope)
    total = orders.count()
    stride = max(1, math.ceil(total / max_points)) if total else 1
    sample = orders
    if stride > 1:
        sample = orders.annotate(_m=Mod("id", stride)).filter(_m=0)
    rows = (sample.annotate(_late=Case(When(_overdue_q(now), then=Value(True)), default=Value(False),
                                       output_field=BooleanField()))
            .values_list("lat", "lng", "_late", "id").order_by("id")[:max_points])
    points = [[round(lat, 5), round(lng, 5), 1 if late else 0, pk] for lat, lng, late, pk in rows]
    overdue_total = orders.filter(_overdue_q(now)).count()
    return {"total": total, "shown": len(points), "sampled": stride > 1, "stride": stride,
            "overdue": overdue_total, "points": points, "heat": map_heat(orders, scope.area)}


def map_heat(orders: Any, area: Any) -> dict[str, Any]:
    """Counts of orders per cell of a HEAT_CELLS-wide grid over the area's box, one GROUP BY:
    ``{"cell": degrees, "cells": [[lat, lng, count], …], "max": n}`` (cell centres)."""
    if area.min_lng is None or area.max_lng is None:
        return {"cell": None, "cells": [], "max": 0}
    width = max(area.max_lng - area.min_lng, area.max_lat - area.min_lat, 0.0001)
    cell = width / HEAT_CELLS
    min_lng, min_lat = area.min_lng, area.min_lat
    rows = (orders.annotate(
        _cx=Floor((F("lng") - min_lng) / cell),
        _cy=Floor((F("lat") - min_lat) / cell))
        .values("_cx", "_cy").annotate(_n=Count("id")).order_by())
    cells = [[round(min_lat + (int(r["_cy"]) + 0.5) * cell, 5), round(min_lng + (int(r["_cx"]) + 0.5) * cell, 5),
              r["_n"]] for r in rows]
    return {"cell": round(cell, 6), "cells": cells, "max": max([c[2] for c in cells], default=0)}


# --- everything the page fetches -------------------------------------------------------------------

def map_data(*, actor: Any, scope: MapScope, crumbs: list[Any]) -> dict[str, Any]:
    """The page's data for one area and period: outlines, numbers per child, grid numbers (no points:
    those come from ``map_points``, a second request the page makes in parallel)."""
    children = map_children(scope.area)
    numbers = map_numbers(scope, children)
    grid = map_grid_numbers(scope, children)
    area, period = scope.area, scope.period
    return {
        "area": {"code": area.code, "name": area.name, "level": area.level},
        "period": {"kind": period.kind, "start": period.start.isoformat(),
                   "end": date.fromordinal(period.end.toordinal() - 1).isoformat()},
        "crumbs": [{"code": a.code, "name": a.name} for a in crumbs],
        "geo": map_geometry(area),
        "total": numbers["total"], "children": numbers["children"], "max": numbers["max"],
        "grid": grid,
    }
