"""Reads of the area tree, and point → area lookup with a spatial index."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from shapely import STRtree
from shapely.geometry import Point, shape
from shapely.prepared import prep

from .models import Area


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


@dataclass
class _Locator:
    tree: STRtree
    entries: list[tuple[int, int, object]]  # (area id, depth, prepared geometry)
    built_at: float


_locator: _Locator | None = None
_lock = threading.Lock()
_TTL_SECONDS = 300.0


def invalidate_locator() -> None:
    global _locator
    _locator = None


def _build_locator() -> _Locator:
    geoms = []
    entries = []
    for pk, depth, boundary in Area.objects.exclude(boundary__isnull=True).values_list("pk", "depth", "boundary"):
        if not boundary:
            continue
        geom = shape(boundary)
        geoms.append(geom)
        entries.append((pk, depth, prep(geom)))
    return _Locator(tree=STRtree(geoms), entries=entries, built_at=time.monotonic())


def area_locate_id(lng: float, lat: float) -> int | None:
    """The deepest area whose boundary contains the WGS-84 point, or None. The index is built once per
    process and rebuilt after an import (and every five minutes, for imports in other processes)."""
    global _locator
    locator = _locator
    if locator is None or time.monotonic() - locator.built_at > _TTL_SECONDS:
        with _lock:
            locator = _locator
            if locator is None or time.monotonic() - locator.built_at > _TTL_SECONDS:
                locator = _locator = _build_locator()
    if not locator.entries:
        return None
    point = Point(lng, lat)
    best: tuple[int, int] | None = None
    for index in locator.tree.query(point):
        pk, depth, prepared = locator.entries[int(index)]
        if (best is None or depth > best[1]) and prepared.contains(point):  # type: ignore[attr-defined]
            best = (pk, depth)
    return best[0] if best else None


def area_locate(lng: float, lat: float) -> Area | None:
    pk = area_locate_id(lng, lat)
    return Area.objects.filter(pk=pk).first() if pk else None
