"""Every write of the residents domain: households, residents, merchants, their codes, the resident's
SMS login, reports (which become work orders through the engine's intake) and ratings (which go
through the engine's callback or redo, so they count in the satisfaction KPIs).

Residents are not staff users: the engine records their requests as the *channel owner*, a staff
account with the operator role over the whole city (like an Open311 key's owner), named by
TONGXIN_RESIDENTS_CHANNEL_USER. The resident's own identity is this domain's (Report, Rating).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import math
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from tongxin.accounts.choices import Role
from tongxin.core.audit import audit_record
from tongxin.core.choices import AuditEventType
from tongxin.core.errors import (
    ApplicationError,
    Conflict,
    NotFound,
    Unauthenticated,
    ValidationFailed,
    require_text,
)
from tongxin.core.masking import mask_name, mask_phone
from tongxin.core.sms import get_sms_backend
from tongxin.workorders import services as workorder_services
from tongxin.workorders.choices import DEPARTMENT_CONTROLLABLE_CAUSES, Channel, Kind, Satisfaction, Status

from . import conf, ratelimit, receipts
from .choices import ChangeAction, CodeKind, PointSource, RecordType, ReportState
from .models import (
    Building,
    Household,
    LoginCode,
    Merchant,
    Rating,
    RecordChange,
    Report,
    ReportUpload,
    Resident,
)
from .photos import photo_prepare
from .receipts import Claims
from .tokens import token_make

logger = logging.getLogger(__name__)

PHONE_RE = re.compile(r"^1[2-9][0-9]{9}$")  # mainland mobile numbers; 12x is unassigned and the demo uses it
ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")
RESIDENT_KINDS = (Kind.HELP, Kind.COMPLAINT, Kind.SUGGESTION, Kind.INQUIRY, Kind.PRAISE)
MAX_REPORT_CHARS = 2000
MAX_RATING_NOTE = 500


# --- identity numbers and phones ------------------------------------------------------------------

# GB 11643-1999: the first two digits name the province (GB/T 2260); 71/81/82/83 are the residence
# permits of Taiwan, Hong Kong and Macau residents.
ID_PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43",
    "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82", "83",
})
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # 2^(17-i) mod 11
ID_CHECK = "10X98765432"
MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")  # the staff pages: assigned mainland mobile prefixes only
# A landline with its area code: 010 and 02x are three digits, every other area code four.
LANDLINE_RE = re.compile(r"^(010|02[0-9]|0[3-9][0-9]{2})-?([1-9][0-9]{6,7})$")
EARLIEST_BIRTH = date(1900, 1, 1)


def normalise_phone(phone: str | None, field: str = "phone") -> str:
    """The resident's login phone (the SMS pages): 11 digits starting 1; the demo's 12x numbers pass."""
    value = re.sub(r"[\s-]", "", phone or "").removeprefix("+86")
    if not PHONE_RE.match(value):
        raise ValidationFailed(fields={field: _("请输入 11 位手机号码")})
    return value


def mobile_normalise(value: str | None, field: str = "phone", *, required: bool = False, keep: str = "") -> str:
    """A mobile number typed by staff: spaces, dashes and +86 dropped; ``1[3-9]`` and 11 digits. ``keep``
    (the number already stored) is accepted as it is, so an old record can be edited."""
    phone = re.sub(r"[\s-]", "", value or "").removeprefix("+86")
    if not phone:
        if required:
            raise ValidationFailed(fields={field: _("手机号不能为空")})
        return ""
    if keep and phone == keep:
        return phone
    if not MOBILE_RE.match(phone):
        raise ValidationFailed(fields={field: _("手机号应为 11 位数字，以 13–19 开头")})
    return phone


def contact_phone_normalise(value: str | None, field: str = "contact_phone", *, keep: str = "") -> str:
    """A contact number: a mobile, or a landline with its area code (stored as ``0477-8581234``)."""
    raw = re.sub(r"[\s()（）]", "", value or "").removeprefix("+86")
    if not raw:
        return ""
    if keep and raw == keep:
        return raw
    if raw.startswith("0"):
        match = LANDLINE_RE.match(raw)
        if not match:
            raise ValidationFailed(fields={field: _("固定电话应带区号，例如 0477-8581234")})
        return f"{match.group(1)}-{match.group(2)}"
    return mobile_normalise(raw, field)


@dataclass(frozen=True)
class IdNumber:
    """A checked resident ID number (居民身份证号码, GB 11643-1999)."""

    number: str
    birth_date: date

    @property
    def region(self) -> str:
        return self.number[:6]


def id_parse(id_number: str | None, *, field: str = "id_number", today: date | None = None) -> IdNumber:
    """Check an 18-character ID number: format, province prefix, the birth date it carries (a real day,
    from 1900, not in the future) and the ISO 7064 MOD 11-2 check character."""
    value = (id_number or "").strip().upper()
    if not ID_RE.match(value):
        raise ValidationFailed(fields={field: _("身份证号应为 18 位（最后一位可为 X）")})
    if value[:2] not in ID_PROVINCES:
        raise ValidationFailed(fields={field: _("身份证号前两位不是有效的省级行政区划代码")})
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise ValidationFailed(fields={field: _("身份证号中的出生日期不存在")}) from None
    if born < EARLIEST_BIRTH or born > (today or timezone.localdate()):
        raise ValidationFailed(fields={field: _("身份证号中的出生日期不合理")})
    check = ID_CHECK[sum(int(c) * w for c, w in zip(value[:17], ID_WEIGHTS, strict=True)) % 11]
    if value[17] != check:
        raise ValidationFailed(fields={field: _("身份证号校验位不正确")})
    return IdNumber(number=value, birth_date=born)


def _normalise_id(id_number: str) -> str:
    return id_parse(id_number).number


def id_digest(id_number: str) -> str:
    """Keyed digest (HMAC-SHA256, key derived from SECRET_KEY): without the key, the 10^n space of ID
    numbers cannot be searched against a leaked table."""
    return salted_hmac("tongxin.residents.id-number", _normalise_id(id_number), algorithm="sha256").hexdigest()


def id_mask(id_number: str) -> str:
    """150602199001011234 -> 1506**********1234."""
    value = _normalise_id(id_number)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def resident_id_matches(*, resident: Resident, id_number: str) -> bool:
    try:
        digest = id_digest(id_number)
    except ValidationFailed:
        return False
    return bool(resident.id_digest) and constant_time_compare(digest, resident.id_digest)


# --- checks shared by the records ---------------------------------------------------------------------

def _floor_area(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        area = Decimal(str(value).strip()).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValidationFailed(fields={"floor_area": _("面积必须是数字（平方米）")}) from None
    if not Decimal("0") < area < Decimal("100000"):
        raise ValidationFailed(fields={"floor_area": _("面积必须大于 0 且小于 100000 平方米")})
    return area


def _short(value: Any, field: str, label: str, max_chars: int, *, required: bool = False) -> str:
    return require_text(value, field, label=label, max_chars=max_chars, required=required)


def _small_int(value: Any, field: str, label: str, low: int, high: int) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValidationFailed(fields={field: _("%(label)s必须是整数") % {"label": label}}) from None
    if not low <= number <= high:
        raise ValidationFailed(fields={field: _("%(label)s应在 %(low)s 到 %(high)s 之间") % {
            "label": label, "low": low, "high": high}})
    return number


def _birth_date(value: Any, field: str = "birth_date") -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValidationFailed(fields={field: _("出生日期格式应为 YYYY-MM-DD")}) from None
    if value < EARLIEST_BIRTH or value > timezone.localdate():
        raise ValidationFailed(fields={field: _("出生日期不合理")})
    return value


def _point(lat: Any, lng: Any, *, field: str = "lat") -> tuple[float, float] | None:
    """(lng, lat) in WGS-84 from two inputs; both empty: None."""
    if lat in (None, "") and lng in (None, ""):
        return None
    try:
        flat, flng = float(lat), float(lng)
    except (TypeError, ValueError):
        raise ValidationFailed(fields={field: _("位置坐标无效")}) from None
    if not (-90 <= flat <= 90 and -180 <= flng <= 180) or math.isnan(flat) or math.isnan(flng):
        raise ValidationFailed(fields={field: _("位置坐标无效")})
    return flng, flat


def _footprint(value: Any) -> dict[str, Any] | None:
    """A GeoJSON Polygon or MultiPolygon (WGS-84), valid and small (a building, not a district)."""
    if value in (None, "", {}):
        return None
    from shapely.geometry import mapping, shape

    try:
        geometry = json.loads(value) if isinstance(value, str) else value
        if isinstance(geometry, dict) and geometry.get("type") == "Feature":
            geometry = geometry.get("geometry")
        polygon = shape(geometry)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError):
        raise ValidationFailed(fields={"footprint": _("轮廓应为 GeoJSON 多边形")}) from None
    if polygon.geom_type not in ("Polygon", "MultiPolygon") or polygon.is_empty:
        raise ValidationFailed(fields={"footprint": _("轮廓应为 GeoJSON 多边形")})
    if not polygon.is_valid:
        raise ValidationFailed(fields={"footprint": _("轮廓多边形自相交或不闭合")})
    min_lng, min_lat, max_lng, max_lat = polygon.bounds
    if min_lng < -180 or max_lng > 180 or min_lat < -90 or max_lat > 90:
        raise ValidationFailed(fields={"footprint": _("轮廓坐标超出经纬度范围（应为 WGS-84）")})
    if max_lng - min_lng > 0.05 or max_lat - min_lat > 0.05:  # ~5 km: not a building
        raise ValidationFailed(fields={"footprint": _("轮廓范围过大，不像一栋楼")})
    return dict(mapping(polygon))


def _place_areas(*, area: Any, grid: Any, actor: Any) -> tuple[Any, Any]:
    """The community and grid of a record: the grid (when given) must lie in the community, and an actor
    (a staff page; None for the importer and the demo) must be allowed to write there."""
    from tongxin.regions.choices import AreaLevel

    if area is None:
        raise ValidationFailed(fields={"area": _("请选择所属社区")})
    if area.level == AreaLevel.GRID and grid is None:
        area, grid = area.parent, area  # a grid given as the area: its community is the area
    if area.level not in (AreaLevel.COMMUNITY, AreaLevel.GRID):
        raise ValidationFailed(fields={"area": _("所属区域应为社区（嘎查/村）")})
    if grid is not None and (grid.level != AreaLevel.GRID or not grid.path.startswith(area.path)):
        raise ValidationFailed(fields={"grid": _("所选网格不属于该社区")})
    if actor is not None:
        from .selectors import info_can_write_at

        if not info_can_write_at(actor, area=area, grid=grid):
            field = "grid" if grid is None or not info_can_write_at(actor, area=area, grid=None) else "area"
            raise ValidationFailed(fields={field: _("不在您的管辖范围内（网格员须选择自己的网格）")})
    return area, grid


# --- the change history -------------------------------------------------------------------------------

# Personal data in the history is kept masked, as the pages show it: a resident's name and phone, a
# merchant's contact person and number. (A shop's or building's name is not personal.)
MASKS: dict[type, dict[str, Any]] = {}


def _masks(obj: Any) -> dict[str, Any]:
    if not MASKS:
        MASKS.update({Resident: {"name": mask_name, "phone": mask_phone},
                      Merchant: {"contact_name": mask_name, "contact_phone": mask_phone}})
    return MASKS.get(type(obj), {})


def _shown(field: str, value: Any, masks: dict[str, Any] | None = None) -> Any:
    """A value as the history keeps it: JSON, personal data masked, a related record by its name."""
    if value is None or isinstance(value, bool | int | float | str):
        if masks and field in masks and isinstance(value, str):
            return masks[field](value)
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if hasattr(value, "pk"):
        return str(getattr(value, "name", value))
    if isinstance(value, dict):
        return "GeoJSON"
    return str(value)


def _apply(obj: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Set ``values`` on ``obj`` and return what changed, ``{field: [before, after]}`` (masked)."""
    masks = _masks(obj)
    changes: dict[str, list[Any]] = {}
    for field, new in values.items():
        old = getattr(obj, field)
        same = (getattr(old, "pk", old) == getattr(new, "pk", new))
        if not same:
            changes[field] = [_shown(field, old, masks), _shown(field, new, masks)]
            setattr(obj, field, new)
    return changes


def _history(*, actor: Any, record_type: str, object_id: int, action: str, changes: dict[str, Any],
             note: str = "") -> RecordChange:
    label = ""
    if actor is not None and getattr(actor, "pk", None) is not None:
        label = getattr(actor, "display_name", "") or actor.get_username()
    return RecordChange.objects.create(
        actor_id=getattr(actor, "pk", None), actor_label=label or "system", object_type=record_type,
        object_id=object_id, action=action, changes=changes, note=note[:200])


def _created(obj: Any, fields: list[str]) -> dict[str, list[Any]]:
    masks = _masks(obj)
    return {f: [None, _shown(f, getattr(obj, f), masks)] for f in fields if getattr(obj, f) not in (None, "", False)}


# --- buildings --------------------------------------------------------------------------------------------

BUILDING_FIELDS = ["area", "grid", "name", "address", "floors", "units", "lat", "lng", "footprint"]


def _building_values(*, name: Any, address: Any, floors: Any, units: Any, lat: Any, lng: Any,
                     footprint: Any) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    checks = {
        "name": lambda: _short(name, "name", _("楼栋名称"), 40, required=True),
        "address": lambda: _short(address, "address", _("地址"), 300),
        "floors": lambda: _small_int(floors, "floors", _("层数"), 1, 200),
        "units": lambda: _small_int(units, "units", _("单元数"), 1, 99),
        "point": lambda: _point(lat, lng),
        "footprint": lambda: _footprint(footprint),
    }
    for key, check in checks.items():
        try:
            values[key] = check()
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationFailed(fields=errors)
    point = values.pop("point")
    if point is None and values["footprint"]:
        from shapely.geometry import shape

        inner = shape(values["footprint"]).representative_point()
        point = (round(inner.x, 6), round(inner.y, 6))
    values["lng"], values["lat"] = point if point else (None, None)
    return values


@transaction.atomic
def building_create(*, area: Any, name: str, grid: Any = None, address: str = "", floors: Any = None,
                    units: Any = None, lat: Any = None, lng: Any = None, footprint: Any = None,
                    actor: Any = None) -> Building:
    """Register a building of a community; its name is unique there."""
    area, grid = _place_areas(area=area, grid=grid, actor=actor)
    values = _building_values(name=name, address=address, floors=floors, units=units, lat=lat, lng=lng,
                              footprint=footprint)
    if Building.objects.filter(area=area, name=values["name"]).exists():
        raise ValidationFailed(fields={"name": _("本社区已有同名楼栋")})
    building = Building.objects.create(area=area, grid=grid, **values)
    _history(actor=actor, record_type=RecordType.BUILDING, object_id=building.pk, action=ChangeAction.CREATED,
             changes=_created(building, BUILDING_FIELDS))
    return building


@transaction.atomic
def building_update(*, building: Building, actor: Any = None, grid: Any = None, name: Any = None,
                    address: Any = "", floors: Any = None, units: Any = None, lat: Any = None, lng: Any = None,
                    footprint: Any = None) -> Building:
    """Edit a building (its community stays). A new name is copied to its households' building text."""
    building = Building.objects.select_for_update().get(pk=building.pk)
    area, grid = _place_areas(area=building.area, grid=grid, actor=actor)
    values = _building_values(name=name, address=address, floors=floors, units=units, lat=lat, lng=lng,
                              footprint=footprint)
    if Building.objects.filter(area=area, name=values["name"]).exclude(pk=building.pk).exists():
        raise ValidationFailed(fields={"name": _("本社区已有同名楼栋")})
    changes = _apply(building, {"grid": grid, **values})
    if changes:
        building.save()
        if "name" in changes:
            Household.objects.filter(building_ref=building).update(building=building.name)
        _history(actor=actor, record_type=RecordType.BUILDING, object_id=building.pk,
                 action=ChangeAction.UPDATED, changes=changes)
    return building


def _building_named(*, area: Any, grid: Any, name: str, actor: Any) -> Building | None:
    """The community's building of that name, registered on first mention (a household names it)."""
    if not name:
        return None
    building = Building.objects.filter(area=area, name=name).first()
    if building is None:
        building = Building.objects.create(area=area, grid=grid, name=name)
        _history(actor=actor, record_type=RecordType.BUILDING, object_id=building.pk,
                 action=ChangeAction.CREATED, changes=_created(building, BUILDING_FIELDS),
                 note=_("随住户登记自动建立"))
    return building


# --- households -----------------------------------------------------------------------------------------

HOUSEHOLD_FIELDS = ["area", "grid", "address", "building", "unit", "room", "floor_area"]


def _household_values(*, area: Any, grid: Any, address: Any, building: Any, unit: Any, room: Any,
                      floor_area: Any, actor: Any) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    checks = {
        "address": lambda: _short(address, "address", _("地址"), 300, required=True),
        "unit": lambda: _short(unit, "unit", _("单元"), 40),
        "room": lambda: _short(room, "room", _("门牌号"), 40),
        "floor_area": lambda: _floor_area(floor_area),
        "building_name": lambda: (building.name if isinstance(building, Building)
                                  else _short(building, "building", _("楼栋"), 40)),
    }
    for key, check in checks.items():
        try:
            values[key] = check()
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationFailed(fields=errors)
    if isinstance(building, Building) and building.area_id != area.pk:
        raise ValidationFailed(fields={"building": _("所选楼栋不属于该社区")})
    name = values.pop("building_name")
    ref = building if isinstance(building, Building) else _building_named(area=area, grid=grid, name=name, actor=actor)
    values["building"], values["building_ref"] = name, ref
    return values


def _household_duplicate(*, area: Any, values: dict[str, Any], exclude: int | None = None) -> None:
    if not values["room"]:
        return  # a bungalow or a farmyard has no door number to compare
    twins = Household.objects.filter(area=area, building=values["building"], unit=values["unit"], room=values["room"])
    if exclude:
        twins = twins.exclude(pk=exclude)
    if twins.exists():
        raise ValidationFailed(fields={"room": _("本社区已登记该楼栋、单元、门牌号的住户")})


@transaction.atomic
def household_create(*, area: Any, address: str, building: str | Building = "", unit: str = "", room: str = "",
                     floor_area: Any = None, grid: Any = None, actor: Any = None,
                     action: str = ChangeAction.CREATED) -> Household:
    """Register a household. ``building`` is a Building of the community or a building name (registered
    as a Building on first mention); the door (building, unit, room) is unique in the community."""
    area, grid = _place_areas(area=area, grid=grid, actor=actor)
    values = _household_values(area=area, grid=grid, address=address, building=building, unit=unit, room=room,
                               floor_area=floor_area, actor=actor)
    _household_duplicate(area=area, values=values)
    household = Household.objects.create(area=area, grid=grid, **values)
    _history(actor=actor, record_type=RecordType.HOUSEHOLD, object_id=household.pk, action=action,
             changes=_created(household, HOUSEHOLD_FIELDS))
    return household


@transaction.atomic
def household_update(*, household: Household, actor: Any = None, address: Any, grid: Any = None,
                     building: str | Building = "", unit: Any = "", room: Any = "", floor_area: Any = None,
                     action: str = ChangeAction.UPDATED) -> Household:
    """Edit a household (its community stays; its code is untouched). Only what changed is recorded."""
    household = Household.objects.select_for_update().get(pk=household.pk)
    area, grid = _place_areas(area=household.area, grid=grid, actor=actor)
    values = _household_values(area=area, grid=grid, address=address, building=building, unit=unit, room=room,
                               floor_area=floor_area, actor=actor)
    _household_duplicate(area=area, values=values, exclude=household.pk)
    changes = _apply(household, {"grid": grid, **values})
    changes.pop("building_ref", None)  # the building's name is the change people read
    if changes:
        household.save()
        _history(actor=actor, record_type=RecordType.HOUSEHOLD, object_id=household.pk, action=action,
                 changes=changes)
    return household


# --- residents --------------------------------------------------------------------------------------------

RESIDENT_FIELDS = ["name", "phone", "id_masked", "birth_date", "is_owner", "active"]


def _resident_values(*, household: Household, name: Any, phone: Any, id_number: Any, birth_date: Any,
                     current: Resident | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    try:
        values["name"] = _short(name, "name", _("姓名"), 60, required=True)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    try:
        values["phone"] = mobile_normalise(phone, "phone", keep=current.phone if current else "")
        if values["phone"]:
            twins = Resident.objects.filter(household=household, phone=values["phone"])
            if current is not None:
                twins = twins.exclude(pk=current.pk)
            if twins.exists():
                errors["phone"] = _("该手机号已登记在本户")
    except ValidationFailed as exc:
        errors.update(exc.fields)
    parsed = None
    if (id_number or "").strip():
        try:
            parsed = id_parse(id_number)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    try:
        typed_birth = _birth_date(birth_date)
    except ValidationFailed as exc:
        errors.update(exc.fields)
        typed_birth = None
    if parsed is not None:
        if typed_birth is not None and typed_birth != parsed.birth_date:
            errors["birth_date"] = _("出生日期与身份证号不一致")
        digest = id_digest(parsed.number)
        twins = Resident.objects.filter(id_digest=digest, active=True)
        if current is not None:
            twins = twins.exclude(pk=current.pk)
        if twins.exists():
            errors["id_number"] = _("该身份证号已登记在其他住户（一人只登记一处，请先迁出原住户）")
        values.update(id_digest=digest, id_masked=id_mask(parsed.number), birth_date=parsed.birth_date)
    elif current is not None and current.id_digest:
        values["birth_date"] = current.birth_date  # read from the ID number on file: not typed over
        if typed_birth is not None and typed_birth != current.birth_date:
            errors["birth_date"] = _("出生日期与已登记的身份证号不一致")
    else:
        values["birth_date"] = typed_birth
    if errors:
        raise ValidationFailed(fields=errors)
    return values


@transaction.atomic
def resident_add(*, household: Household, name: str, phone: str = "", id_number: str = "", birth_date: Any = None,
                 is_owner: bool = False, id_checked: bool = False, actor: Any = None,
                 action: str = ChangeAction.CREATED) -> Resident:
    """Register a person in a household. With an ID number, the birth date is read from it (a typed one
    must agree); ``id_checked`` (staff saw the ID card) marks the person verified."""
    if actor is not None:
        _place_areas(area=household.area, grid=household.grid, actor=actor)
    values = _resident_values(household=household, name=name, phone=phone, id_number=id_number,
                              birth_date=birth_date, current=None)
    if id_checked and not values.get("id_digest"):
        raise ValidationFailed(fields={"id_checked": _("核验实名须先填写身份证号")})
    resident = Resident.objects.create(household=household, is_owner=bool(is_owner),
                                       verified_at=timezone.now() if id_checked else None, **values)
    changes = _created(resident, RESIDENT_FIELDS)
    _history(actor=actor, record_type=RecordType.RESIDENT, object_id=resident.pk, action=action,
             changes=changes, note=_("已当面核验身份证") if id_checked else "")
    return resident


@transaction.atomic
def resident_update(*, resident: Resident, actor: Any = None, name: Any, phone: Any = "", id_number: Any = "",
                    birth_date: Any = None, is_owner: bool = False, active: bool = True, id_checked: bool = False,
                    household: Household | None = None, action: str = ChangeAction.UPDATED) -> Resident:
    """Edit a person. A blank ``id_number`` keeps the one on file; a new ID number or phone clears the
    verification (it was of the old data) unless ``id_checked`` again. ``household`` moves the person
    (within the actor's area)."""
    resident = Resident.objects.select_for_update().select_related("household").get(pk=resident.pk)
    target = household or resident.household
    if actor is not None:
        _place_areas(area=target.area, grid=target.grid, actor=actor)
    values = _resident_values(household=target, name=name, phone=phone, id_number=id_number,
                              birth_date=birth_date, current=resident)
    if id_checked and not (values.get("id_digest") or resident.id_digest):
        raise ValidationFailed(fields={"id_checked": _("核验实名须先填写身份证号")})
    changes = _apply(resident, {"household": target, **values, "is_owner": bool(is_owner), "active": bool(active)})
    changes.pop("id_digest", None)  # the masked number says the same, without the digest
    if "household" in changes:
        changes["household"] = [changes["household"][0], target.address]
    note = ""
    if id_checked:
        resident.verified_at = timezone.now()
        note = _("已当面核验身份证")
    elif resident.verified_at is not None and ({"id_masked", "phone"} & changes.keys()):
        resident.verified_at = None
        changes["verified_at"] = [_("已核验"), _("待重新核验")]
    if changes or id_checked:
        resident.save()
        _history(actor=actor, record_type=RecordType.RESIDENT, object_id=resident.pk,
                 action=ChangeAction.VERIFIED if id_checked and not changes else action, changes=changes, note=note)
    return resident


# --- merchants ---------------------------------------------------------------------------------------------

MERCHANT_FIELDS = ["area", "grid", "name", "licence_number", "address", "contact_name", "contact_phone"]
LICENCE_RE = re.compile(r"^([0-9A-HJ-NPQRTUWXY]{18}|[0-9]{15})$")  # 统一社会信用代码 (GB 32100) or an old licence


def _merchant_values(*, name: Any, address: Any, licence_number: Any, contact_name: Any, contact_phone: Any,
                     current: Merchant | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    checks = {
        "name": lambda: _short(name, "name", _("商户名称"), 120, required=True),
        "address": lambda: _short(address, "address", _("地址"), 300, required=True),
        "licence_number": lambda: _short(licence_number, "licence_number", _("执照号"), 40).upper(),
        "contact_name": lambda: _short(contact_name, "contact_name", _("联系人"), 60),
        "contact_phone": lambda: contact_phone_normalise(contact_phone, keep=current.contact_phone if current else ""),
    }
    for key, check in checks.items():
        try:
            values[key] = check()
        except ValidationFailed as exc:
            errors.update(exc.fields)
    licence = values.get("licence_number", "")
    if licence and not LICENCE_RE.match(licence) and not (current and licence == current.licence_number):
        errors["licence_number"] = _("统一社会信用代码应为 18 位（数字或大写字母，不含 I、O、Z、S、V），旧执照号为 15 位数字")
    if errors:
        raise ValidationFailed(fields=errors)
    return values


@transaction.atomic
def merchant_create(*, name: str, address: str, area: Any, licence_number: str = "", grid: Any = None,
                    contact_name: str = "", contact_phone: str = "", actor: Any = None) -> Merchant:
    area, grid = _place_areas(area=area, grid=grid, actor=actor)
    values = _merchant_values(name=name, address=address, licence_number=licence_number, contact_name=contact_name,
                              contact_phone=contact_phone, current=None)
    merchant = Merchant.objects.create(area=area, grid=grid, **values)
    _history(actor=actor, record_type=RecordType.MERCHANT, object_id=merchant.pk, action=ChangeAction.CREATED,
             changes=_created(merchant, MERCHANT_FIELDS))
    return merchant


@transaction.atomic
def merchant_update(*, merchant: Merchant, actor: Any = None, name: Any, address: Any, grid: Any = None,
                    licence_number: Any = "", contact_name: Any = "", contact_phone: Any = "") -> Merchant:
    merchant = Merchant.objects.select_for_update().get(pk=merchant.pk)
    _area, grid = _place_areas(area=merchant.area, grid=grid, actor=actor)
    values = _merchant_values(name=name, address=address, licence_number=licence_number, contact_name=contact_name,
                              contact_phone=contact_phone, current=merchant)
    changes = _apply(merchant, {"grid": grid, **values})
    if changes:
        merchant.save()
        _history(actor=actor, record_type=RecordType.MERCHANT, object_id=merchant.pk, action=ChangeAction.UPDATED,
                 changes=changes)
    return merchant


@transaction.atomic
def personal_data_reveal(*, actor: Any, record: Resident | Merchant, field: str) -> str:
    """The full phone of a resident or a merchant's contact, for a staff member who may read the record;
    audited (查看个人信息) in the same transaction. The ID number cannot be revealed: it is not stored."""
    value = getattr(record, field, "")
    audit_record(actor=actor, event_type=AuditEventType.PERSONAL_DATA_REVEAL,
                 object_type=type(record)._meta.model_name or "", object_id=record.pk,
                 data={"field": field, "masked": mask_phone(value)})
    return value


# --- codes ------------------------------------------------------------------------------------------

def code_kind(place: Household | Merchant) -> str:
    return CodeKind.HOUSEHOLD if isinstance(place, Household) else CodeKind.MERCHANT


def code_token(place: Household | Merchant) -> str:
    """The token printed on the place's current sticker (none while revoked)."""
    if place.code_revoked_at is not None:
        raise Conflict(_("该二维码已停用，请先重新生成"), code="code_revoked")
    return token_make(code_kind(place), place.pk, place.code_version)


def code_url(place: Household | Merchant, base: str = "") -> str:
    return f"{base.rstrip('/')}/r/{code_token(place)}/"


@transaction.atomic
def code_reissue(*, place: Household | Merchant, actor: Any = None) -> str:
    """A new sticker (the old one was lost or damaged): bump the version, so every earlier copy stops
    working, clear any revocation, and return the new token."""
    model = type(place)
    locked = model.objects.select_for_update().get(pk=place.pk)
    locked.code_version += 1
    locked.code_revoked_at = None
    locked.save(update_fields=["code_version", "code_revoked_at"])
    place.code_version, place.code_revoked_at = locked.code_version, None
    audit_record(actor=actor, event_type=AuditEventType.TOKEN_CREATED, object_type=f"{model._meta.model_name}_code",
                 object_id=place.pk, data={"version": locked.code_version})
    return code_token(place)


@transaction.atomic
def code_revoke(*, place: Household | Merchant, actor: Any = None) -> None:
    """Stop the place's code until it is re-issued (the household moved out, a sticker was abused)."""
    model = type(place)
    locked = model.objects.select_for_update().get(pk=place.pk)
    locked.code_version += 1
    locked.code_revoked_at = timezone.now()
    locked.save(update_fields=["code_version", "code_revoked_at"])
    place.code_version, place.code_revoked_at = locked.code_version, locked.code_revoked_at
    audit_record(actor=actor, event_type=AuditEventType.TOKEN_REVOKED, object_type=f"{model._meta.model_name}_code",
                 object_id=place.pk, data={"version": locked.code_version})


# --- SMS login ----------------------------------------------------------------------------------------

def _code_digest(phone: str, code: str) -> str:
    return salted_hmac("tongxin.residents.login-code", f"{phone}:{code}", algorithm="sha256").hexdigest()


def _phones_of(place: Household | Merchant) -> set[str]:
    if isinstance(place, Household):
        return set(Resident.objects.filter(household=place, active=True).values_list("phone", flat=True))
    return {place.contact_phone} if place.contact_phone else set()


def login_code_request(*, place: Household | Merchant, phone: str, ip: str) -> None:
    """Send a one-time code to ``phone`` if it is registered at the scanned place. The answer is the
    same either way (the page must not tell a stranger who lives there); the rate limits count both."""
    phone = normalise_phone(phone)
    ratelimit.hit("code_ip", ip, message=_("本网络请求验证码过于频繁"), field="phone")
    ratelimit.hit("code_phone", phone, message=_("验证码已发送，请稍后再重新获取"), field="phone")
    ratelimit.hit("code_phone_day", phone, message=_("该号码今日获取验证码次数已达上限"), field="phone")
    if phone not in _phones_of(place):
        return
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = timezone.now()
    with transaction.atomic():
        # A new code replaces any earlier one of the same phone and place.
        LoginCode.objects.filter(phone=phone, used_at__isnull=True).update(used_at=now)
        LoginCode.objects.create(phone=phone, kind=code_kind(place), target_id=place.pk,
                                 digest=_code_digest(phone, code),
                                 expires_at=now + timedelta(seconds=conf.login_code_seconds()))
    minutes = max(conf.login_code_seconds() // 60, 1)
    transaction.on_commit(lambda: get_sms_backend().send(
        phone=phone, text=f"【同心·码上生活】您的验证码是 {code}，{minutes} 分钟内有效。如非本人操作请忽略。"))


@dataclass(frozen=True)
class LoginResult:
    kind: str
    target_id: int
    resident_id: int | None  # None for a merchant's contact
    code_version: int


def login_code_verify(*, place: Household | Merchant, phone: str, code: str, ip: str) -> LoginResult:
    """Check the code; on success mark it used and return who is now signed in, bound to the place."""
    phone = normalise_phone(phone)
    ratelimit.hit("login_ip", ip, message=_("验证次数过多"), field="code")
    code = (code or "").strip()
    wrong = ValidationFailed(_("验证码错误或已过期，请重新获取"), fields={"code": _("验证码错误或已过期")})
    if not re.fullmatch(r"[0-9]{6}", code):
        raise ValidationFailed(fields={"code": _("请输入 6 位数字验证码")})
    now = timezone.now()
    failure: ValidationFailed | None = None
    # The wrong attempt must be counted even though the call fails: record it, commit, then raise.
    with transaction.atomic():
        login = (
            LoginCode.objects.select_for_update()
            .filter(phone=phone, kind=code_kind(place), target_id=place.pk, used_at__isnull=True, expires_at__gt=now)
            .order_by("-created_at").first()
        )
        if login is None or login.attempts >= conf.login_code_attempts():
            failure = wrong
        elif not constant_time_compare(login.digest, _code_digest(phone, code)):
            login.attempts += 1
            left = conf.login_code_attempts() - login.attempts
            if left <= 0:
                login.used_at = now  # spent: a new code must be requested
                failure = ValidationFailed(_("验证码错误次数过多，请重新获取"), fields={"code": _("错误次数过多，请重新获取")})
            else:
                wrong_left = _("验证码错误，还可尝试 %(left)s 次") % {"left": left}
                failure = ValidationFailed(wrong_left, fields={"code": wrong_left})
            login.save(update_fields=["attempts", "used_at"])
            audit_record(actor=None, event_type=AuditEventType.LOGIN_FAILED, object_type="resident_login",
                         object_id=login.pk, data={"phone": mask_phone(phone), "attempts": login.attempts})
        else:
            login.used_at = now
            login.save(update_fields=["used_at"])
    if failure is not None:
        raise failure
    resident_id = None
    if isinstance(place, Household):
        resident = Resident.objects.filter(household=place, phone=phone, active=True).first()
        if resident is None:
            raise wrong
        resident_id = resident.pk
        if resident.id_digest and resident.verified_at is None:
            # The code reached the phone registered with this ID number: the person is who staff
            # registered (实名: an ID on file and control of its phone). Without an ID, nothing to verify.
            with transaction.atomic():
                if Resident.objects.filter(pk=resident.pk, verified_at__isnull=True).update(verified_at=now):
                    _history(actor=None, record_type=RecordType.RESIDENT, object_id=resident.pk,
                             action=ChangeAction.VERIFIED, changes={}, note=_("本人手机短信验证登录"))
    return LoginResult(kind=code_kind(place), target_id=place.pk, resident_id=resident_id,
                       code_version=place.code_version)


def login_codes_purge(*, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete one-time codes expired for longer than ``older_than`` (digests only, but no use keeping them)."""
    deleted, _ = LoginCode.objects.filter(expires_at__lt=timezone.now() - older_than).delete()
    return deleted


# --- the channel owner ------------------------------------------------------------------------------------

_owner_cache: dict[str, tuple[float, Any]] = {}
OWNER_CACHE_SECONDS = 30.0


def channel_owner() -> Any:
    """The channel owner, remembered per process for 30 seconds (every report needs it, and the engine
    caches the scope on the user object): a deactivation or a role change is seen within that time."""
    import time

    from tongxin.accounts.models import User

    name = conf.channel_owner_username()
    cached = _owner_cache.get(name)
    if cached is not None and time.monotonic() - cached[0] < OWNER_CACHE_SECONDS:
        return cached[1]
    owner = User.objects.filter(username=name, is_active=True).first()
    if owner is None:
        raise Conflict(_("居民诉求渠道尚未配置（缺少渠道账号），请联系管理员"), code="channel_not_configured")
    _owner_cache[name] = (time.monotonic(), owner)
    return owner


@transaction.atomic
def channel_owner_ensure(*, area: Any) -> Any:
    """Create (once) the staff account residents' requests are recorded as: no password (nobody signs in
    with it), operator over ``area`` (the city), so the engine places, routes and calls back its orders
    like any operator's."""
    from tongxin.accounts.models import RoleAssignment, User
    from tongxin.accounts.services import role_grant

    user, created = User.objects.get_or_create(
        username=conf.channel_owner_username(), defaults={"display_name": "码上生活（居民自助）"})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    _owner_cache.clear()
    if not RoleAssignment.objects.filter(user=user, role=Role.OPERATOR, area=area).exists():
        role_grant(user=user, role=Role.OPERATOR, area=area)
    return user


# --- reports -------------------------------------------------------------------------------------------------

@dataclass
class Reporter:
    """Who is reporting, from the resident session: the place (household or merchant) and the person."""

    household: Household | None
    merchant: Merchant | None
    resident: Resident | None
    name: str
    phone: str

    @property
    def place(self) -> Household | Merchant:
        return self.household or self.merchant  # type: ignore[return-value]


# The receipt number (ADR 0010): R + local date + 8 characters of an alphabet without 0/O, 1/I/L.
RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# Magic bytes of the photo types accepted, and the type Pillow's header must then agree with.
PHOTO_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"GIF87a", "image/gif"),
               (b"GIF89a", "image/gif"))
PHOTO_HEADER_TYPES = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "GIF": "image/gif",
                      "WEBP": "image/webp"}


def receipt_number(at: datetime | None = None) -> str:
    """A new receipt number, e.g. ``R261202-K7Q4M2XD``: random, so it tells nobody how many reports
    the city received (unique in the table; a collision is drawn again)."""
    day = timezone.localtime(at or timezone.now()).strftime("%y%m%d")
    return f"R{day}-" + "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(8))


def photo_header_check(upload: Any, *, field: str = "photos") -> tuple[bytes, str]:
    """The request's cheap check of one photo: size, the type from its magic bytes, and the header read
    by Pillow without decoding a pixel (format allowed and the same as the magic bytes, ≤ the pixel
    limit: a decompression bomb is refused here). Returns the bytes and their content type. The full
    decode happens in ``report_register`` (``photo_prepare``)."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    size = getattr(upload, "size", None) or 0
    if size > conf.MAX_PHOTO_BYTES:
        raise ValidationFailed(fields={field: _("照片不能超过 %(mb)s MB") % {"mb": conf.MAX_PHOTO_BYTES // (1024 * 1024)}})
    if size == 0:
        raise ValidationFailed(fields={field: _("照片文件为空")})
    data = upload.read(conf.MAX_PHOTO_BYTES + 1)
    if len(data) > conf.MAX_PHOTO_BYTES:
        raise ValidationFailed(fields={field: _("照片不能超过 %(mb)s MB") % {"mb": conf.MAX_PHOTO_BYTES // (1024 * 1024)}})
    sniffed = next((kind for magic, kind in PHOTO_MAGIC if data.startswith(magic)), None)
    if sniffed is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        sniffed = "image/webp"
    not_image = ValidationFailed(fields={field: _("文件不是有效的图片")})
    if sniffed is None:
        raise not_image
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:  # reads the header only: no pixel is decoded
                header_type, width, height = PHOTO_HEADER_TYPES.get(image.format or ""), image.width, image.height
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
                Image.DecompressionBombWarning):
            raise not_image from None
    if header_type != sniffed:
        raise not_image
    if width * height > conf.MAX_PHOTO_PIXELS:
        raise ValidationFailed(fields={field: _("照片像素过多，请缩小后再上传")})
    return data, sniffed


def report_create(
    *, reporter: Reporter | None = None, claims: Claims | None = None, content: str, photos: list[Any] | None = None,
    kind: str = Kind.HELP, lat: Any = None, lng: Any = None, point_source: str = PointSource.DEVICE,
    category_code: str = "", category_suggested: str = "", channel: str = Channel.QR, anonymous: bool = False,
) -> Report:
    """随手拍: check everything that is cheap (text, kind, point, the photos' number, size, type and
    header), then write the durable receipt in one transaction — the Report (``received``, no order)
    and the photos' bytes (``ReportUpload``) — and have ``report_register`` make the work order: a
    Huey task on commit, or right here after the commit (``conf.report_register_mode``). Returns the
    Report: in ``inline`` mode normally registered (its ``order`` set), else ``received``.

    Who reports is either ``reporter`` (a session already read: the phone pages) or the cookie's
    ``claims`` (the API, ADR 0011): on PostgreSQL the receipt's one statement then confirms the
    claims itself, elsewhere they are read first; a session that no longer holds raises
    Unauthenticated (401) and writes nothing. Input is checked before the session either way."""
    if (reporter is None) == (claims is None):
        raise TypeError("report_create needs exactly one of reporter and claims")
    errors: dict[str, str] = {}
    content = (content or "").strip()
    if not content:
        errors["content"] = _("请描述您遇到的问题")
    elif len(content) > MAX_REPORT_CHARS:
        errors["content"] = _("描述不能超过 %(max)s 个字（现有 %(n)s 个）") % {"max": MAX_REPORT_CHARS, "n": len(content)}
    if kind not in RESIDENT_KINDS:
        errors["kind"] = _("诉求类型无效")
    if channel not in (Channel.QR, Channel.APP):
        errors["channel"] = _("渠道无效")
    uploads = [p for p in (photos or []) if p is not None]
    if len(uploads) > conf.MAX_PHOTOS:
        errors["photos"] = _("最多上传 %(n)s 张照片") % {"n": conf.MAX_PHOTOS}
    try:
        point = _point(lat, lng)
    except ValidationFailed as exc:
        errors.update(exc.fields)
        point = None
    if point_source not in (PointSource.DEVICE, PointSource.MAP, PointSource.EXIF):  # exif: read by the page
        point_source = PointSource.DEVICE
    staged: list[ReportUpload] = []
    if "photos" not in errors:
        for index, upload in enumerate(uploads, start=1):
            name = (getattr(upload, "name", "") or "")[:60]
            try:
                data, content_type = photo_header_check(upload)
            except ValidationFailed as exc:
                errors["photos"] = f"{name}：{exc.fields.get('photos')}" if name else str(exc.fields.get("photos"))
                break
            staged.append(ReportUpload(index=index, name=name, content_type=content_type, data=data))
    if errors:
        raise ValidationFailed(fields=errors)
    fast = claims is not None and receipts.enabled()
    if claims is not None and not fast:
        from .session import session_load

        session = session_load(claims)
        if session is None:
            raise Unauthenticated(_("登录已失效，请重新扫码登录"))
        reporter = session.reporter()
    if reporter is not None:
        place = reporter.place
        claims_key = f"{code_kind(place)}{place.pk}:{reporter.resident.pk if reporter.resident else 0}"
    else:
        assert claims is not None
        claims_key = f"{claims.kind}{claims.place_id}:{claims.resident_id}"
    ratelimit.hit("report_resident", claims_key, message=_("提交过于频繁，请稍后再试"))
    channel_owner()  # 409 now, not a failed receipt later, when the channel is not configured
    inline = conf.report_register_mode() == "inline"
    values: dict[str, Any] = {
        "content": content, "kind": kind, "category_code": (category_code or "")[:32], "channel": channel,
        "anonymous": anonymous, "lat": point[1] if point else None, "lng": point[0] if point else None,
        "point_source": point_source if point else PointSource.NONE, "photos": len(staged),
        "category_suggested": (category_suggested or "")[:32],
    }
    if reporter is not None:
        values.update(household=reporter.household, merchant=reporter.merchant, resident=reporter.resident,
                      phone=reporter.phone, reporter_name=(reporter.name or "")[:60])
    report = _receipt_write(values=values, staged=staged, enqueue=not inline, claims=claims if fast else None)
    if inline:
        try:
            outcome = report_register(report_id=report.pk)
        except Exception:  # the receipt is safe: the sweep registers it later
            logger.exception("registering report %s failed; left for the sweep", report.pk)
        else:
            if outcome.report is not None:
                return outcome.report
    return report


def _receipt_write(*, values: dict[str, Any], staged: list[ReportUpload], enqueue: bool,
                   claims: Claims | None = None) -> Report:
    """The receipt's one transaction: the Report and its staged photos (and the task, on commit).
    With ``claims`` (PostgreSQL) one statement that also confirms the session (``receipts``); else the
    ORM in a transaction."""
    for attempt in range(3):
        try:
            if claims is not None:
                report = Report(receipt=receipt_number(), state=ReportState.RECEIVED, **values)
                # A statement is atomic by itself; inside a caller's transaction a savepoint keeps a
                # receipt number drawn twice from breaking the caller's transaction.
                in_block = transaction.get_connection().in_atomic_block
                with transaction.atomic() if in_block else contextlib.nullcontext():
                    written = receipts.receipt_insert(claims=claims, report=report, staged=staged)
                if not written:
                    raise Unauthenticated(_("登录已失效，请重新扫码登录"))
                if enqueue:
                    transaction.on_commit(functools.partial(_schedule_register, report.pk))
                return report
            with transaction.atomic():
                report = Report.objects.create(receipt=receipt_number(), state=ReportState.RECEIVED, **values)
                for upload in staged:
                    upload.report = report
                if staged:
                    ReportUpload.objects.bulk_create(staged)
                if enqueue:
                    transaction.on_commit(functools.partial(_schedule_register, report.pk))
            return report
        except IntegrityError:  # the receipt number was drawn twice (rare): draw again
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # the loop returns or raises


def _schedule_register(report_id: int) -> None:
    from .tasks import report_register_task

    report_register_task(report_id)


@dataclass(frozen=True)
class RegisterOutcome:
    """What ``report_register`` did: ``registered`` (this call made the order), ``failed`` (this call
    marked it failed), or ``skipped`` (nothing to do: already registered or failed, locked by another
    worker with ``skip_locked``, or gone)."""

    report: Report | None
    outcome: str


def report_register(*, report_id: int, skip_locked: bool = False) -> RegisterOutcome:
    """Make the work order of a receipt, exactly once (the Huey task, the sweep, inline mode, the
    admin's retry). An unexpected error rolls everything back, counts an attempt (the fifth marks the
    receipt failed) and is raised again, so Huey retries and the sweep comes back to it."""
    try:
        return _report_register(report_id=report_id, skip_locked=skip_locked)
    except Exception as exc:
        _register_attempt_failed(report_id, exc)
        raise


@transaction.atomic
def _report_register(*, report_id: int, skip_locked: bool) -> RegisterOutcome:
    # The lock makes two workers (the task and the sweep, a retried task) take turns; the second finds
    # ``order_id`` set and does nothing. ``of=self``: the household row is read, not locked.
    report = (Report.objects.select_for_update(skip_locked=skip_locked, of=("self",))
              .select_related("household", "merchant").filter(pk=report_id).first())
    if report is None or report.order_id is not None or report.state != ReportState.RECEIVED:
        return RegisterOutcome(report, "skipped")
    uploads = list(ReportUpload.objects.filter(report=report).order_by("index"))
    # The order's acceptance note is a stored record (docs/i18n.md): written in the server's language,
    # whether the worker or the resident's own request (inline mode) registers the receipt.
    with translation.override(settings.LANGUAGE_CODE):
        return _register_locked(report, uploads)


def _register_locked(report: Report, uploads: list[ReportUpload]) -> RegisterOutcome:
    """``report_register`` once the receipt is locked and its staged photos read."""
    prepared, dropped = [], []
    for upload in uploads:
        try:
            prepared.append(photo_prepare(ContentFile(bytes(upload.data), name=upload.name or "photo")))
        except ValidationFailed as exc:  # corrupt beyond its header: the resident already has the receipt
            dropped.append(_("第 %(i)s 张照片%(name)s无法识别（%(why)s），已舍弃") % {
                "i": upload.index, "name": f"（{upload.name}）" if upload.name else "", "why": exc.fields.get("photos", "")})
    point = (report.lng, report.lat) if report.lat is not None and report.lng is not None else None
    point_source = report.point_source
    if point is None:
        exif = next((p.point for p in prepared if p.point), None)
        point, point_source = (exif, PointSource.EXIF) if exif else (None, PointSource.NONE)
    place = report.household or report.merchant
    area_code = None
    if point is None and place is not None:  # placed at the household's community (not the area's boundary)
        area_code = type(place).objects.filter(pk=place.pk).values_list("area__code", flat=True).first()
    channel = report.channel or Channel.QR
    note = _("居民通过%(door)s提交（%(who)s），回执号 %(receipt)s") % {
        "door": _("一户一码") if channel == Channel.QR else _("移动端"),
        "who": _("住户") if report.household_id else _("商户"), "receipt": report.receipt}
    if dropped:
        note += "；" + "；".join(dropped)
    try:
        with transaction.atomic():
            owner = channel_owner()
            order = workorder_services.work_order_create(
                actor=owner, channel=channel, kind=report.kind or Kind.HELP, content=report.content,
                title=report.content.splitlines()[0][:40] if report.content else "", category_code=report.category_code or None,
                lat=point[1] if point else None, lng=point[0] if point else None, crs="wgs84",
                address=getattr(place, "address", ""), area_code=area_code,
                citizen_name="" if report.anonymous else report.reporter_name,
                citizen_phone="" if report.anonymous else report.phone, anonymous=report.anonymous, note=note,
            )
            for index, photo in enumerate(prepared, start=1):
                photo.content.name = f"photo-{index}.jpg"
                workorder_services.attachment_add(order_id=order.pk, actor=owner, upload=photo.content)
            report.order = order
            report.state = ReportState.REGISTERED
            report.registered_at = timezone.now()
            report.photos = len(prepared)
            report.lat, report.lng = (point[1], point[0]) if point else (None, None)
            report.point_source = point_source
            report.attempts += 1
            # The order now holds the text and the name (and retention anonymises them there): no second copy.
            report.content, report.reporter_name = "", ""
            report.save(update_fields=["order", "state", "registered_at", "photos", "lat", "lng", "point_source",
                                       "attempts", "content", "reporter_name"])
            ReportUpload.objects.filter(report=report).delete()
    except ApplicationError as exc:  # the engine refused (a retired category, no channel owner…): an operator acts
        report.state = ReportState.FAILED
        report.attempts += 1
        report.failure = _failure_text(exc)
        report.save(update_fields=["state", "attempts", "failure"])
        logger.warning("report %s (%s) failed to register: %s", report.pk, report.receipt, report.failure)
        return RegisterOutcome(report, "failed")
    return RegisterOutcome(report, "registered")


def _failure_text(exc: BaseException) -> str:
    if isinstance(exc, ApplicationError):
        fields = "；".join(f"{k}: {v}" for k, v in exc.fields.items())
        return f"{exc.code}: {exc.message}" + (f"（{fields}）" if fields else "")
    return f"{type(exc).__name__}: {exc}"[:2000]


def _register_attempt_failed(report_id: int, exc: BaseException) -> None:
    """Count an unexpected failure; the last allowed attempt marks the receipt failed (kept, visible)."""
    try:
        with transaction.atomic():
            report = (Report.objects.select_for_update()
                      .filter(pk=report_id, order__isnull=True, state=ReportState.RECEIVED).first())
            if report is None:
                return
            report.attempts += 1
            report.failure = _failure_text(exc)
            if report.attempts >= conf.REPORT_REGISTER_ATTEMPTS:
                report.state = ReportState.FAILED
            report.save(update_fields=["attempts", "failure", "state"])
    except Exception:  # the database itself is away: the receipt stays received for the sweep
        logger.exception("could not record the failed registration of report %s", report_id)


def report_register_sweep(*, older_than: timedelta | None = None, limit: int = 500) -> int:
    """Register receipts still ``received`` some time after they were written (their task was lost: an
    app worker killed between commit and enqueue, a task worker killed mid-run, a flushed queue).
    ``skip_locked``: one being registered right now is left to its worker. Returns how many it made."""
    cutoff = timezone.now() - (older_than if older_than is not None else timedelta(seconds=conf.report_sweep_seconds()))
    pending = list(Report.objects.filter(state=ReportState.RECEIVED, order__isnull=True, created_at__lt=cutoff)
                   .order_by("created_at").values_list("pk", flat=True)[:limit])
    made = 0
    for pk in pending:
        try:
            made += report_register(report_id=pk, skip_locked=True).outcome == "registered"
        except Exception:
            logger.exception("sweep: registering report %s failed", pk)
    return made


def report_retry(*, report_id: int) -> RegisterOutcome:
    """An operator retries a failed receipt after fixing its cause (the admin's 重新登记): back to
    ``received`` with a fresh count of attempts, then registered at once. The reason stays on the row
    until the retry succeeds or fails anew."""
    with transaction.atomic():
        updated = Report.objects.filter(pk=report_id, state=ReportState.FAILED, order__isnull=True).update(
            state=ReportState.RECEIVED, attempts=0)
    if not updated:
        return RegisterOutcome(Report.objects.filter(pk=report_id).first(), "skipped")
    return report_register(report_id=report_id)


# --- rating --------------------------------------------------------------------------------------------------

@transaction.atomic
def report_rate(
    *, report: Report, satisfaction: str, cause: str = "", note: str = "", reopen: bool = False,
) -> Rating:
    """The resident rates the reply. Recorded on the order by the engine: a callback (回访 → 办结) or,
    when unsatisfied for a cause the department controls and asked within the reopen window, a redo
    (重办: the original closes unsatisfied, a linked new order goes back to the department). Either way
    the satisfaction counts once in the KPIs."""
    from tongxin.workorders.selectors import work_order_get

    if report.order_id is None:  # a receipt not registered yet has nothing to rate
        raise Conflict(_("承办单位答复后才能评价"), code="not_replied")
    owner = channel_owner()
    order = work_order_get(actor=owner, order_id=report.order_id)
    if order is None:
        raise NotFound()
    if Rating.objects.filter(report=report).exists():
        raise Conflict(_("您已评价过这条诉求"), code="already_rated")
    if order.status != Status.REPLIED:
        raise Conflict(_("承办单位答复后才能评价"), code="not_replied")
    note = (note or "").strip()
    if len(note) > MAX_RATING_NOTE:
        raise ValidationFailed(fields={"note": _("说明不能超过 %(max)s 个字") % {"max": MAX_RATING_NOTE}})
    if satisfaction not in Satisfaction.values:
        raise ValidationFailed(fields={"satisfaction": _("请选择满意、基本满意或不满意")})
    if satisfaction == Satisfaction.UNSATISFIED and not cause:
        raise ValidationFailed(fields={"cause": _("请选择不满意的原因")})
    label = "居民自评" + (f"：{note}" if note else "")
    reopened = None
    if reopen:
        if satisfaction != Satisfaction.UNSATISFIED:
            raise ValidationFailed(fields={"reopen": _("只有不满意时才能申请重新办理")})
        if cause not in DEPARTMENT_CONTROLLABLE_CAUSES:
            raise ValidationFailed(fields={"reopen": _("该原因不能申请重新办理")})
        if order.replied_at and timezone.now() > order.replied_at + timedelta(days=conf.reopen_days()):
            raise ValidationFailed(fields={"reopen": _("答复已超过 %(days)s 天，不能再申请重新办理") % {
                "days": conf.reopen_days()}})
        reopened = workorder_services.work_order_redo(order_id=order.pk, actor=owner, cause=cause,
                                                      note=f"居民申请重新办理。{note}".strip())
    else:
        workorder_services.work_order_callback(order_id=order.pk, actor=owner, satisfaction=satisfaction,
                                               cause=cause or None, note=label)
    rating = Rating.objects.create(report=report, satisfaction=satisfaction, cause=cause or "", note=note,
                                   reopened_order=reopened)
    if reopened is not None:
        # The new order is the same request: it stays on the household's list in place of the old one.
        Report.objects.create(order=reopened, receipt=receipt_number(), state=ReportState.REGISTERED,
                              registered_at=timezone.now(), household=report.household, merchant=report.merchant,
                              resident=report.resident, phone=report.phone, kind=reopened.kind, channel=report.channel,
                              category_code=report.category_code, anonymous=report.anonymous, lat=report.lat,
                              lng=report.lng, point_source=report.point_source, photos=0)
    return rating
