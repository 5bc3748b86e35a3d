"""Writes to the area tree. The materialised path is maintained here and nowhere else."""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongxin.core.audit import audit_record
from tongxin.core.choices import AuditEventType
from tongxin.core.datums import Datum
from tongxin.core.errors import Conflict, NotFound, ValidationFailed, require_text
from tongxin.core.masking import mask_name, mask_phone

from .choices import GRID_ROSTER_CHANGED, LEVEL_ORDER, SINGLE_DUTIES, AreaLevel, GridDuty
from .geometry import geometry_summary, geometry_to_wgs84
from .imports import FeatureIn, ImportReport, validate_features
from .models import Area, GridMember
from .selectors import invalidate_locator


def _check_level(level: str, parent: Area | None) -> None:
    if level not in AreaLevel.values:
        raise ValidationFailed(fields={"level": _("未知层级 %(level)s") % {"level": level}})
    if parent is None:
        if level != AreaLevel.CITY:
            raise ValidationFailed(fields={"parent": _("只有市级区域可以没有上级")})
        return
    if LEVEL_ORDER.index(AreaLevel(level)) <= LEVEL_ORDER.index(AreaLevel(parent.level)):
        raise ValidationFailed(fields={"level": _("%(level)s不能位于%(parent_level)s之下") % {"level": AreaLevel(level).label, "parent_level": parent.get_level_display()}})


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
        raise ValidationFailed(fields={"parent": _("不能把区域移到它自己或它的下级之下")})
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
            raise ValidationFailed(fields={"areaCode": _("区县 %(district_code)s 不存在，请先导入区县") % {"district_code": district_code}})
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
        raise ValidationFailed(fields={"file": _("不是 GeoJSON FeatureCollection")})
    created = updated = 0
    for index, feature in enumerate(collection.get("features") or []):
        props = feature.get("properties") or {}
        code = str(props.get(code_property) or "").strip()
        name = str(props.get(name_property) or "").strip()
        if not code or not name:
            raise ValidationFailed(fields={f"features[{index}]": _("缺少 %(code_property)s 或 %(name_property)s") % {"code_property": code_property, "name_property": name_property}})
        try:
            boundary = geometry_to_wgs84(feature["geometry"], datum)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationFailed(fields={f"features[{index}].geometry": _("几何无效：%(exc)s") % {"exc": exc}}) from exc
        exists = Area.objects.filter(code=code).exists()
        area_upsert(code=code, name=name, level=level, parent=parent, boundary=boundary)
        created += not exists
        updated += exists
    audit_record(actor=actor, event_type=AuditEventType.AREA_IMPORTED, object_type="area",
                 data={"source": "geojson", "level": level, "created": created, "updated": updated})
    return {"created": created, "updated": updated}


# --- validated imports (GeoJSON, Shapefile) -----------------------------------------------------------

class ImportRejected(ValidationFailed):
    """The file has errors: nothing was saved. ``report`` says what and where."""

    code = "import_rejected"
    default_message = gettext_lazy("导入文件未通过校验，未保存任何内容")

    def __init__(self, report: ImportReport):
        super().__init__(_("导入文件未通过校验，未保存任何内容"), fields={"file": _("%(count)s 个错误，例如：%(first)s") % {
            "count": len(report.errors), "first": report.errors[0].message}})
        self.report = report


@transaction.atomic
def area_import_features(
    *, features: list[FeatureIn], datum: Datum | str, level: str, parent: Area | None = None,
    parent_property: str = "", code_property: str = "code", name_property: str = "name",
    dry_run: bool = False, actor: Any = None, source: str = "",
) -> ImportReport:
    """Validate every feature first (tongxin/regions/imports.py), then — unless ``dry_run`` — save them
    all in this one transaction, upserting by code so that primary keys and every reference survive.
    Errors refuse the whole file (:class:`ImportRejected`, with the report); warnings do not."""
    report = validate_features(features, datum=datum, level=level, parent=parent, parent_property=parent_property,
                               code_property=code_property, name_property=name_property)
    if dry_run:
        return report
    if report.errors:
        raise ImportRejected(report)
    for planned in report.planned:
        area_upsert(code=planned.code, name=planned.name, level=level, parent=planned.parent,
                    boundary=planned.boundary)
        report.created += not planned.exists
        report.updated += planned.exists
    report.saved = True
    audit_record(actor=actor, event_type=AuditEventType.AREA_IMPORTED, object_type="area",
                 data={"source": source or "features", "level": level, "crs": str(Datum(datum)),
                       "created": report.created, "updated": report.updated, "warnings": len(report.warnings)})
    return report


# --- the grid roster (一格一长一警一专多兼) --------------------------------------------------------------

_PHONE = re.compile(r"^1\d{10}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def _member_values(*, name: Any, phone: Any, duty: Any, since: Any, until: Any) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    try:
        values["name"] = require_text(name, "name", label=_("姓名"), max_chars=60)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    text = str(phone or "").strip().replace(" ", "")
    if not text:
        errors["phone"] = _("手机号不能为空")
    elif not (_PHONE.match(text) or _LANDLINE.match(text)):
        errors["phone"] = _("手机号应为 1 开头的 11 位数字，座机为区号-号码")
    values["phone"] = text
    if duty not in GridDuty.values:
        errors["duty"] = _("职责无效，可选：%(choices)s") % {
            "choices": "、".join(f"{v}（{label}）" for v, label in GridDuty.choices)}
    values["duty"] = duty
    for key, value, label in (("since", since, _("起始日期")), ("until", until, _("结束日期"))):
        if value in (None, ""):
            values[key] = None
        elif isinstance(value, datetime.date):
            values[key] = value
        else:
            try:
                values[key] = datetime.date.fromisoformat(str(value))
            except ValueError:
                errors[key] = _("%(label)s格式无效（YYYY-MM-DD）") % {"label": label}
    if values.get("since") and values.get("until") and values["until"] < values["since"]:
        errors["until"] = _("结束日期不能早于起始日期")
    if errors:
        raise ValidationFailed(fields=errors)
    return values


def _grid_for_roster(grid: Area) -> Area:
    pk = getattr(grid, "pk", None)
    area = Area.objects.select_for_update().filter(pk=pk).first() if pk is not None else None
    if area is None:
        raise ValidationFailed(fields={"grid": _("网格不存在")})
    if area.level != AreaLevel.GRID:
        raise ValidationFailed(fields={"grid": _("%(name)s是%(level)s，不是网格") % {
            "name": area.name, "level": area.get_level_display()}})
    return area


def _check_single_duty(grid: Area, duty: str, *, exclude_pk: int | None = None) -> None:
    if duty not in SINGLE_DUTIES:
        return
    holders = GridMember.objects.filter(grid=grid, duty=duty, active=True)
    holder = (holders.exclude(pk=exclude_pk) if exclude_pk is not None else holders).first()
    if holder is not None:
        raise ValidationFailed(fields={"duty": _("%(grid)s已有在岗的%(duty)s（%(name)s），请先调整或移除") % {
            "grid": grid.name, "duty": GridDuty(duty).label, "name": holder.name}})


def _check_phone(grid: Area, phone: str, duty: str, *, exclude_pk: int | None = None) -> None:
    same = GridMember.objects.filter(grid=grid, phone=phone, duty=duty, active=True)
    if (same.exclude(pk=exclude_pk) if exclude_pk is not None else same).exists():
        raise ValidationFailed(fields={"phone": _("该手机号已是%(grid)s的%(duty)s") % {
            "grid": grid.name, "duty": GridDuty(duty).label}})


def _roster_audit(*, actor: Any, member: GridMember, action: str, changes: dict[str, Any]) -> None:
    audit_record(actor=actor, event_type=GRID_ROSTER_CHANGED, object_type="grid_member", object_id=member.pk,
                 data={"action": action, "grid": member.grid.code, "duty": member.duty,
                       "name": mask_name(member.name), "changes": changes})


def _masked(field: str, value: Any) -> Any:
    if field == "phone":
        return mask_phone(value)
    if field == "name":
        return mask_name(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _user_check(user: Any) -> Any:
    if user is None:
        return None
    if getattr(user, "pk", None) is None or not getattr(user, "is_active", True):
        raise ValidationFailed(fields={"user": _("账号不存在或已停用")})
    return user


@transaction.atomic
def grid_member_assign(
    *, grid: Area, name: str, phone: str, duty: str, user: Any = None, since: Any = None, actor: Any = None,
) -> GridMember:
    """Put a person on a grid's roster. A grid has one active leader, officer and full-time worker at
    most (the constraint also guards two assignments racing: the grid row is locked first)."""
    grid = _grid_for_roster(grid)
    values = _member_values(name=name, phone=phone, duty=duty, since=since, until=None)
    _check_single_duty(grid, values["duty"])
    _check_phone(grid, values["phone"], values["duty"])
    member = GridMember.objects.create(
        grid=grid, name=values["name"], phone=values["phone"], duty=values["duty"], user=_user_check(user),
        since=values["since"] or timezone.localdate(), active=True,
    )
    _roster_audit(actor=actor, member=member, action="assigned",
                  changes={"phone": mask_phone(member.phone), "user": member.user_id, "since": member.since.isoformat()})
    return member


_UNSET: Any = object()


@transaction.atomic
def grid_member_update(
    *, member: GridMember, actor: Any = None, name: Any = _UNSET, phone: Any = _UNSET, duty: Any = _UNSET,
    user: Any = _UNSET, since: Any = _UNSET, until: Any = _UNSET,
) -> GridMember:
    """Change a member's name, phone, duty (e.g. a part-timer becomes the full-time worker), account or
    dates. Only the arguments given change; the audit row lists each change (personal data masked)."""
    current = GridMember.objects.select_for_update().filter(pk=member.pk).select_related("grid").first()
    if current is None:
        raise NotFound(_("未找到该网格成员"))
    if not current.active:
        raise Conflict(_("该成员已移出名册，不能再修改"), code="member_removed")
    grid = _grid_for_roster(current.grid)
    values = _member_values(
        name=current.name if name is _UNSET else name, phone=current.phone if phone is _UNSET else phone,
        duty=current.duty if duty is _UNSET else duty, since=current.since if since is _UNSET else since,
        until=current.until if until is _UNSET else until,
    )
    if values["since"] is None:
        raise ValidationFailed(fields={"since": _("起始日期不能为空")})
    values["user"] = current.user if user is _UNSET else _user_check(user)
    if values["duty"] != current.duty:
        _check_single_duty(grid, values["duty"], exclude_pk=current.pk)
    if values["duty"] != current.duty or values["phone"] != current.phone:
        _check_phone(grid, values["phone"], values["duty"], exclude_pk=current.pk)
    changes: dict[str, Any] = {}
    for key, value in values.items():
        old = getattr(current, key)
        if old != value:
            if key == "user":
                changes[key] = [getattr(old, "pk", None), getattr(value, "pk", None)]
            else:
                changes[key] = [_masked(key, old), _masked(key, value)]
            setattr(current, key, value)
    if changes:
        current.save()
        _roster_audit(actor=actor, member=current, action="updated", changes=changes)
    return current


@transaction.atomic
def grid_member_remove(*, member: GridMember, actor: Any = None, until: Any = None, reason: str = "") -> GridMember:
    """Take a person off the roster. The row stays (inactive, with its end date) as history."""
    current = GridMember.objects.select_for_update().filter(pk=member.pk).select_related("grid").first()
    if current is None:
        raise NotFound(_("未找到该网格成员"))
    if not current.active:
        raise Conflict(_("该成员已移出名册"), code="member_removed")
    values = _member_values(name=current.name, phone=current.phone, duty=current.duty, since=current.since,
                            until=until or timezone.localdate())
    reason = require_text(reason, "reason", label=_("原因"), max_chars=200, required=False)
    current.active = False
    current.until = values["until"]
    current.save()
    _roster_audit(actor=actor, member=current, action="removed",
                  changes={"until": current.until.isoformat() if current.until else None, "reason": reason})
    return current


@transaction.atomic
def grid_member_phone_reveal(*, member: GridMember, actor: Any) -> str:
    """The full phone of a roster member, for a reader of the roster; audited (查看个人信息) in the
    same transaction."""
    audit_record(actor=actor, event_type=AuditEventType.PERSONAL_DATA_REVEAL, object_type="grid_member",
                 object_id=member.pk, data={"field": "phone", "masked": mask_phone(member.phone),
                                            "grid": member.grid.code})
    return member.phone
