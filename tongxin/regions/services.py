"""Writes to the area tree. The materialised path is maintained here and nowhere else."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from tongxin.core.audit import audit_record
from tongxin.core.choices import AuditEventType
from tongxin.core.datums import Datum
from tongxin.core.errors import ValidationFailed

from .choices import LEVEL_ORDER, AreaLevel
from .geometry import geometry_summary, geometry_to_wgs84
from .models import Area
from .selectors import invalidate_locator


def _check_level(level: str, parent: Area | None) -> None:
    if level not in AreaLevel.values:
        raise ValidationFailed(fields={"level": f"未知层级 {level}"})
    if parent is None:
        if level != AreaLevel.CITY:
            raise ValidationFailed(fields={"parent": "只有市级区域可以没有上级"})
        return
    if LEVEL_ORDER.index(AreaLevel(level)) <= LEVEL_ORDER.index(AreaLevel(parent.level)):
        raise ValidationFailed(fields={"level": f"{AreaLevel(level).label}不能位于{parent.get_level_display()}之下"})


def _apply_boundary(area: Area, boundary: dict[str, Any] | None) -> None:
    area.boundary = boundary
    if boundary:
        for key, value in geometry_summary(boundary).items():
            setattr(area, key, value)
    else:
        area.min_lng = area.min_lat = area.max_lng = area.max_lat = None


@transaction.atomic
def area_upsert(
    *, code: str, name: str, level: str, parent: Area | None, boundary: dict[str, Any] | None = None,
    generated: bool = False, keep_boundary: bool = True,
) -> Area:
    """Create or update an area by its code. A re-import keeps the primary key, so every reference
    (work orders, roles, departments) survives. Moving an area re-roots its subtree's paths."""
    _check_level(level, parent)
    area = Area.objects.select_for_update().filter(code=code).first()
    if area is None:
        area = Area(code=code)
    old_path = area.path
    if old_path and parent is not None and parent.path.startswith(old_path):
        raise ValidationFailed(fields={"parent": "不能把区域移到它自己或它的下级之下"})
    area.name = name
    area.level = level
    area.parent = parent
    area.generated = generated
    if boundary is not None or not keep_boundary:
        _apply_boundary(area, boundary)
    area.save()
    new_path = (parent.path if parent else "/") + f"{area.pk}/"
    if new_path != old_path:
        area.path = new_path
        area.depth = new_path.count("/") - 2
        area.save(update_fields=["path", "depth"])
        if old_path:
            for child in Area.objects.filter(path__startswith=old_path).exclude(pk=area.pk):
                child.path = new_path + child.path[len(old_path):]
                child.depth = child.path.count("/") - 2
                child.save(update_fields=["path", "depth"])
    transaction.on_commit(invalidate_locator)
    return area


@transaction.atomic
def area_import_town_codes(*, rows: Iterable[dict[str, str]], city_code: str, actor: Any = None) -> dict[str, int]:
    """Import towns from the statistics-code CSV layout (code, name, areaCode, areaName, cityCode, ...).
    Districts must exist already (from the boundary import); rows of other cities are skipped."""
    created = updated = skipped = 0
    districts = {a.code: a for a in Area.objects.filter(level=AreaLevel.DISTRICT)}
    for row in rows:
        code = (row.get("code") or "").strip()
        district_code = (row.get("areaCode") or "").strip()
        if not code or not district_code.startswith(city_code[:4]):
            skipped += 1
            continue
        district = districts.get(district_code)
        if district is None:
            raise ValidationFailed(fields={"areaCode": f"区县 {district_code} 不存在，请先导入区县"})
        exists = Area.objects.filter(code=code).exists()
        area_upsert(code=code, name=row["name"].strip(), level=AreaLevel.TOWN, parent=district)
        if exists:
            updated += 1
        else:
            created += 1
    audit_record(actor=actor, event_type=AuditEventType.AREA_IMPORTED, object_type="area",
                 data={"source": "town_codes", "created": created, "updated": updated})
    return {"created": created, "updated": updated, "skipped": skipped}


def read_csv_text(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


@transaction.atomic
def area_import_geojson(
    *, collection: dict[str, Any], datum: Datum | str, level: str, parent: Area, actor: Any = None,
    code_property: str = "adcode", name_property: str = "name",
) -> dict[str, int]:
    """Import (or update by code) one level of areas from a GeoJSON FeatureCollection whose
    coordinates are in ``datum``; they are stored in WGS-84."""
    if collection.get("type") != "FeatureCollection":
        raise ValidationFailed(fields={"file": "不是 GeoJSON FeatureCollection"})
    created = updated = 0
    for index, feature in enumerate(collection.get("features") or []):
        props = feature.get("properties") or {}
        code = str(props.get(code_property) or "").strip()
        name = str(props.get(name_property) or "").strip()
        if not code or not name:
            raise ValidationFailed(fields={f"features[{index}]": f"缺少 {code_property} 或 {name_property}"})
        try:
            boundary = geometry_to_wgs84(feature["geometry"], datum)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationFailed(fields={f"features[{index}].geometry": f"几何无效：{exc}"}) from exc
        exists = Area.objects.filter(code=code).exists()
        area_upsert(code=code, name=name, level=level, parent=parent, boundary=boundary)
        created += not exists
        updated += exists
    audit_record(actor=actor, event_type=AuditEventType.AREA_IMPORTED, object_type="area",
                 data={"source": "geojson", "level": level, "created": created, "updated": updated})
    return {"created": created, "updated": updated}
