"""Reads of the area tree, and point → area lookup with a spatial index."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Max

from tongxin.core.datums import Datum, to_wgs84

from .choices import AreaLevel, GridDuty
from .locator import AreaInfo, Locator, build_locator
from .models import Area, GridMember


def area_get_by_code(code: str) -> Area | None:
    return Area.objects.filter(code=code).first()


def area_root() -> Area | None:
    return Area.objects.filter(parent__isnull=True).order_by("id").first()


def area_ancestor_ids(area: Area) -> list[int]:
    """Primary keys from the root down to the area itself, read from the path (no query)."""
    return [int(part) for part in area.path.strip("/").split("/") if part]


def area_ancestors(area: Area) -> list[Area]:
    ids = area_ancestor_ids(area)
    by_id = Area.objects.in_bulk(ids)
    return [by_id[i] for i in ids if i in by_id]


_locator: Locator | None = None
_locator_checked_at = 0.0
_locator_signature: tuple[Any, ...] | None = None
_lock = threading.Lock()
_CHECK_SECONDS = 300.0


def invalidate_locator() -> None:
    """Drop this process's index (the import services call it on commit)."""
    global _locator
    _locator = None


def _signature() -> tuple[Any, ...]:
    """Cheap to read, changes with every write to the tree: the index is rebuilt only when it does."""
    row = Area.objects.aggregate(n=Count("pk"), top=Max("pk"), changed=Max("updated_at"))
    return (row["n"], row["top"], row["changed"])


def _build_locator() -> Locator:
    areas: dict[int, AreaInfo] = {}
    for pk, code, name, level, path, depth in Area.objects.values_list("pk", "code", "name", "level", "path", "depth"):
        areas[pk] = AreaInfo(pk=pk, code=code, name=name, level=level, path=path, depth=depth)
    rows: list[tuple[int, str, Any]] = list(
        Area.objects.exclude(boundary__isnull=True).values_list("pk", "path", "boundary"))
    return build_locator(rows, areas)


def area_locator() -> Locator:
    """This process's index: built on first use; every five minutes one aggregate query checks whether
    another process has changed the tree, and only then is it rebuilt."""
    global _locator, _locator_checked_at, _locator_signature
    locator = _locator
    if locator is not None and time.monotonic() - _locator_checked_at < _CHECK_SECONDS:
        return locator
    with _lock:
        locator = _locator
        now = time.monotonic()
        if locator is not None and now - _locator_checked_at < _CHECK_SECONDS:
            return locator
        signature = _signature()
        if locator is None or signature != _locator_signature:
            locator = _locator = _build_locator()
            _locator_signature = signature
        _locator_checked_at = now
        return locator


def area_locate_id(lng: float, lat: float, datum: Datum | str = "wgs84") -> int | None:
    """The primary key of the deepest area whose boundary contains the point, or None. The point is in
    WGS-84 unless ``datum`` says otherwise. A few microseconds per call (tongxin/regions/locator.py)."""
    locator = _locator
    if locator is None or time.monotonic() - _locator_checked_at >= _CHECK_SECONDS:
        locator = area_locator()
    if datum != "wgs84":  # a StrEnum compares equal to its value
        lng, lat = to_wgs84(lng, lat, datum)
    return locator.locate(float(lng), float(lat))


def area_locate(lng: float, lat: float, datum: Datum | str = Datum.WGS84) -> Area | None:
    pk = area_locate_id(lng, lat, datum)
    return Area.objects.filter(pk=pk).first() if pk else None


def area_locate_path(lng: float, lat: float, datum: Datum | str = Datum.WGS84) -> list[dict[str, Any]]:
    """The path from the city down to the deepest area containing the point — [{code, name, level,
    depth}, …] — or [] when the point is outside every area. No query once the index is built."""
    locator = area_locator()
    if datum != Datum.WGS84:
        lng, lat = to_wgs84(lng, lat, datum)
    pk = locator.locate(float(lng), float(lat))
    if pk is None:
        return []
    leaf = locator.areas.get(pk)
    if leaf is None:  # the index was built from rows read a moment apart; never in practice
        return []
    path = []
    for ancestor_pk in (int(part) for part in leaf.path.strip("/").split("/") if part):
        info = locator.areas.get(ancestor_pk)
        if info is not None:
            path.append({"code": info.code, "name": info.name, "level": info.level, "depth": info.depth})
    return path


def area_locate_many(points: Iterable[tuple[float, float]], datum: Datum | str = Datum.WGS84) -> list[int | None]:
    """Vectorised lookup of many (lng, lat) points: the primary key of the deepest containing area of
    each, or None. For imports and rollups; uses shapely 2's array API."""
    coords = list(points)
    if datum != Datum.WGS84:
        coords = [to_wgs84(lng, lat, datum) for lng, lat in coords]
    if not coords:
        return []
    xs = [float(c[0]) for c in coords]
    ys = [float(c[1]) for c in coords]
    return area_locator().locate_many(xs, ys)


# --- the grid roster ------------------------------------------------------------------------------------

def grid_roster(grid: Area, *, include_inactive: bool = False) -> list[GridMember]:
    """The grid's members: leader, officer, full-time, then part-time, by name. Phones are stored in
    full; whoever shows them masks them (``mask_phone``) unless revealed through the audited service."""
    qs = GridMember.objects.filter(grid_id=grid.pk).select_related("user")
    if not include_inactive:
        qs = qs.filter(active=True)
    order = {duty: index for index, duty in enumerate(GridDuty.values)}
    return sorted(qs, key=lambda m: (not m.active, order.get(m.duty, 9), m.name, m.pk))


def grids_served_by(user: Any) -> list[Area]:
    """The grids a staff account serves on the roster (active memberships), by path."""
    if user is None or getattr(user, "pk", None) is None:
        return []
    return list(
        Area.objects.filter(level=AreaLevel.GRID, members__user_id=user.pk, members__active=True)
        .defer("boundary").distinct().order_by("path")
    )


def grid_member_get(pk: Any) -> GridMember | None:
    try:
        key = int(pk)
    except (TypeError, ValueError):
        return None
    return GridMember.objects.select_related("grid", "user").defer("grid__boundary").filter(pk=key).first()
