"""The area tree, read-only: /api/v1/areas, /api/v1/areas/{code} and /api/v1/areas/locate; the grid
roster under /api/v1/regions/… (tongxin/grids/roster_api.py: its scoping needs accounts, above regions).

Reference data every signed-in user may read. Boundaries can weigh hundreds of kilobytes, so they
are left out (and not even loaded) unless asked for with ``?boundary=1``.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router

from tongxin.core.datums import Datum, to_wgs84
from tongxin.core.errors import NotFound, ValidationFailed

from .choices import AreaLevel
from .models import Area
from .schemas import AreaDetail, AreaOut, LocateOut
from .selectors import area_ancestor_ids, area_locate_path

router = Router(tags=["reference"])

BoundaryFlag = Annotated[bool, Query(description="Include the GeoJSON boundary (?boundary=1).")]


def _queryset(boundary: bool) -> Any:
    qs = Area.objects.select_related("parent").annotate(
        has_children=Exists(Area.objects.filter(parent=OuterRef("pk")))
    )
    return qs if boundary else qs.defer("boundary", "parent__boundary")


def _shape(area: Area, boundary: bool) -> dict[str, Any]:
    bbox = None
    if area.min_lng is not None and area.min_lat is not None and area.max_lng is not None and area.max_lat is not None:
        bbox = [area.min_lng, area.min_lat, area.max_lng, area.max_lat]
    return {
        "code": area.code, "name": area.name, "level": area.level, "level_label": str(AreaLevel(area.level).label),
        "parent_code": area.parent.code if area.parent is not None else None, "depth": area.depth,
        "center_lng": area.center_lng, "center_lat": area.center_lat, "bbox": bbox,
        "has_children": bool(getattr(area, "has_children", False)), "generated": area.generated,
        "boundary": area.boundary if boundary else None,
    }


@router.get("/areas", response=list[AreaOut], summary="Areas")
def area_list(
    request: HttpRequest,
    parent: Annotated[str | None, Query(max_length=32, description="Code of the parent: its children (with level: its descendants of that level).")] = None,
    level: Annotated[AreaLevel | None, Query(description="Every area of this level (within parent's subtree when given).")] = None,
    boundary: BoundaryFlag = False,
) -> list[dict[str, Any]]:
    """Children of a parent, or every area of a level, or (with neither) the top of the tree."""
    qs = _queryset(boundary)
    if parent:
        parent_area = Area.objects.filter(code=parent).only("pk", "path").first()
        if parent_area is None:
            raise ValidationFailed(fields={"parent": f"区域代码 {parent} 不存在"})
        if level:
            qs = qs.filter(path__startswith=parent_area.path, level=level).exclude(pk=parent_area.pk)
        else:
            qs = qs.filter(parent=parent_area)
    elif level:
        qs = qs.filter(level=level)
    else:
        qs = qs.filter(parent__isnull=True)
    return [_shape(a, boundary) for a in qs.order_by("path")]


@router.get("/areas/locate", response=LocateOut, summary="Point → area path")
def area_locate_endpoint(
    request: HttpRequest,
    lng: Annotated[float, Query(ge=-180, le=180, description="Longitude in the crs given.")],
    lat: Annotated[float, Query(ge=-90, le=90)],
    crs: Annotated[Datum, Query(description="wgs84 (GPS, default), gcj02 (Amap, Tencent, WeChat) or bd09 (Baidu).")] = Datum.WGS84,
) -> dict[str, Any]:
    """The path from the city down to the deepest area (usually the grid) containing the point."""
    wlng, wlat = to_wgs84(lng, lat, crs)
    path = area_locate_path(wlng, wlat)
    if not path:
        raise NotFound(_("该坐标不在任何区域内"), code="outside_areas")
    return {"lng": round(wlng, 7), "lat": round(wlat, 7), "area": path[-1], "path": path}


@router.get("/areas/{code}", response=AreaDetail, summary="One area")
def area_detail(request: HttpRequest, code: str, boundary: BoundaryFlag = False) -> dict[str, Any]:
    """One area by its code, with its ancestors."""
    area = _queryset(boundary).filter(code=code[:32]).first()
    if area is None:
        raise NotFound("未找到该区域")
    ids = [pk for pk in area_ancestor_ids(area) if pk != area.pk]
    by_id = {a.pk: a for a in Area.objects.filter(pk__in=ids).only("pk", "code", "name", "level")}
    ancestors = [{"code": by_id[pk].code, "name": by_id[pk].name, "level": by_id[pk].level} for pk in ids if pk in by_id]
    return {**_shape(area, boundary), "ancestors": ancestors}
