"""Every write of the grids domain: patrols (start, check in, end), field reports (create, settle on the
spot, raise as a work order through the engine's intake) and residents' opinions.

Each function is one transaction. Objects outside the actor's grids answer NotFound, like missing
ones; acting on a colleague's patrol is PermissionDenied only when the actor can see it (a leader).
"""

from __future__ import annotations

import itertools
import math
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from shapely.geometry import Point, shape

from tongxin.core.datums import Datum, haversine_m, in_china_box, to_wgs84
from tongxin.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, require_text
from tongxin.regions.models import Area
from tongxin.workorders import services as workorder_services
from tongxin.workorders.choices import Channel, Kind
from tongxin.workorders.selectors import intake_category

from . import selectors
from .choices import ReportStatus
from .models import FieldReport, Opinion, OpinionTopic, Patrol, PatrolCheckin
from .photos import photo_prepare

MAX_REPORT_CHARS = 2000
MAX_OPINION_CHARS = 1000
MAX_ACCURACY_M = 5000.0  # a fix worse than 5 km says nothing about where the worker stands
GRID_KINDS = (Kind.HELP, Kind.COMPLAINT, Kind.REPORT, Kind.SUGGESTION, Kind.INQUIRY)


# --- helpers ---------------------------------------------------------------------------------------

def _point(lat: Any, lng: Any, datum: Any, *, required: bool) -> tuple[float, float] | None:
    """(lng, lat) in WGS-84 from what the page sent, converted from its datum; None when absent and
    not required. Errors name the field (``lat``, ``lng`` or ``datum``)."""
    if lat in (None, "") and lng in (None, ""):
        if required:
            raise ValidationFailed(fields={"lat": _("缺少位置：请允许浏览器获取定位后重试")})
        return None
    if lat in (None, "") or lng in (None, ""):
        raise ValidationFailed(fields={"lng" if lng in (None, "") else "lat": _("经度和纬度必须同时提供")})
    try:
        flat, flng = float(lat), float(lng)
    except (TypeError, ValueError):
        raise ValidationFailed(fields={"lat": _("坐标必须是数字")}) from None
    if not (math.isfinite(flat) and math.isfinite(flng)):
        raise ValidationFailed(fields={"lat": _("坐标必须是有限数字")})
    try:
        datum = Datum(str(datum or Datum.WGS84).lower())
    except ValueError:
        raise ValidationFailed(fields={"datum": _("坐标系只能是 wgs84、gcj02 或 bd09")}) from None
    if not in_china_box(flng, flat):
        raise ValidationFailed(fields={"lat": _("坐标 (%(flng)s, %(flat)s) 不在中国境内") % {"flng": flng, "flat": flat}})
    wlng, wlat = to_wgs84(flng, flat, datum)
    return round(wlng, 7), round(wlat, 7)


def _inside(grid: Area, point: tuple[float, float]) -> bool:
    if not grid.boundary:
        return True
    try:
        return bool(shape(grid.boundary).covers(Point(*point)))
    except Exception:  # a broken boundary must not stop a check-in
        return True


def _worker_grid(actor: Any, grid_id: Any) -> Area:
    if grid_id in (None, ""):
        raise ValidationFailed(fields={"grid_id": _("请选择网格")})
    try:
        pk = int(grid_id)
    except (TypeError, ValueError):
        raise ValidationFailed(fields={"grid_id": _("网格编号无效")}) from None
    grid = selectors.worker_grids(actor).filter(pk=pk).first()
    if grid is None:
        raise ValidationFailed(fields={"grid_id": _("该网格不是您负责的网格")})
    # The boundary was deferred in the list; read it for the inside-the-grid test.
    return Area.objects.get(pk=grid.pk)


def _require_worker(actor: Any) -> None:
    if not selectors.is_grid_worker(actor):
        raise PermissionDenied(_("只有网格员可以执行此操作"))


def _own_patrol(actor: Any, patrol_id: Any, *, lock: bool = True) -> Patrol:
    patrol = selectors.patrol_get(actor=actor, patrol_id=patrol_id)
    if patrol is None:
        raise NotFound(_("未找到该巡查"))
    if patrol.worker_id != actor.pk:
        raise PermissionDenied(_("只能操作自己的巡查"))
    if lock:
        patrol = Patrol.objects.select_for_update().select_related("grid").get(pk=patrol.pk)
    if patrol.ended_at is not None:
        raise Conflict(_("该巡查已结束"))
    return patrol


def _accuracy(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        accuracy = float(value)
    except (TypeError, ValueError):
        raise ValidationFailed(fields={"accuracy": _("定位精度必须是数字")}) from None
    if not math.isfinite(accuracy) or accuracy < 0:
        raise ValidationFailed(fields={"accuracy": _("定位精度无效")})
    if accuracy > MAX_ACCURACY_M:
        raise ValidationFailed(fields={"accuracy": _("定位精度太差（%(accuracy)s 米），请到开阔处重新定位") % {"accuracy": format(accuracy, ".0f")}})
    return round(accuracy, 1)


# --- patrols ---------------------------------------------------------------------------------------

@transaction.atomic
def patrol_start(*, actor: Any, grid_id: Any, lat: Any = None, lng: Any = None, datum: Any = Datum.WGS84,
                 accuracy: Any = None) -> Patrol:
    """开始巡查 in one of the actor's grids; with a location, the first check-in is recorded too.
    A worker has one patrol in progress at a time."""
    _require_worker(actor)
    grid = _worker_grid(actor, grid_id)
    point = _point(lat, lng, datum, required=False)
    acc = _accuracy(accuracy)
    if Patrol.objects.filter(worker=actor, ended_at__isnull=True).exists():
        raise Conflict(_("您有一次巡查尚未结束，请先结束它"))
    try:
        with transaction.atomic():
            patrol = Patrol.objects.create(worker=actor, grid=grid, grid_path=grid.path, started_at=timezone.now())
    except IntegrityError:  # a second tab started one at the same moment (the partial unique constraint)
        raise Conflict(_("您有一次巡查尚未结束，请先结束它")) from None
    if point is not None:
        PatrolCheckin.objects.create(patrol=patrol, at=patrol.started_at, lat=point[1], lng=point[0], accuracy_m=acc,
                                     datum=str(Datum(str(datum or "wgs84").lower())), inside_grid=_inside(grid, point))
    return patrol


@transaction.atomic
def patrol_checkin(*, actor: Any, patrol_id: Any, lat: Any, lng: Any, datum: Any = Datum.WGS84,
                   accuracy: Any = None, note: str = "") -> PatrolCheckin:
    """打卡: a point on the route of the actor's patrol in progress (converted to WGS-84)."""
    patrol = _own_patrol(actor, patrol_id)
    point = _point(lat, lng, datum, required=True)
    assert point is not None
    acc = _accuracy(accuracy)
    note = require_text(note, "note", label=_("备注"), max_chars=200, required=False)
    return PatrolCheckin.objects.create(
        patrol=patrol, at=timezone.now(), lat=point[1], lng=point[0], accuracy_m=acc, datum=str(Datum(str(datum or "wgs84").lower())),
        inside_grid=_inside(patrol.grid, point), note=note,
    )


def route_length_m(points: list[tuple[float, float]]) -> float:
    """Length in metres of the route through (lat, lng) points in order."""
    return sum(haversine_m(a[0], a[1], b[0], b[1]) for a, b in itertools.pairwise(points))


@transaction.atomic
def patrol_end(*, actor: Any, patrol_id: Any, note: str = "") -> Patrol:
    """结束巡查: stamps the end and stores the route length through the check-ins."""
    patrol = _own_patrol(actor, patrol_id)
    patrol.note = require_text(note, "note", label=_("巡查记录"), max_chars=500, required=False)
    points = list(patrol.checkins.order_by("at", "id").values_list("lat", "lng"))
    patrol.distance_m = round(route_length_m(points), 1)
    patrol.ended_at = timezone.now()
    patrol.save(update_fields=["note", "distance_m", "ended_at"])
    return patrol


# --- field reports ---------------------------------------------------------------------------------

def _required_photo(upload: Any, errors: dict[str, str], *, field: str, label: str, missing: str) -> Any:
    """The re-encoded photo, or None with the reason added to ``errors`` (none given, or not a usable
    image): a report's form shows every error at once."""
    if upload is None:
        errors[field] = missing
        return None
    try:
        return photo_prepare(upload, field=field, label=label)
    except ValidationFailed as exc:
        errors.update(exc.fields)
        return None


def _category_code(code: Any, field: str = "category_code") -> str:
    code = str(code or "").strip()
    if code and intake_category(code, cached=False) is None:
        raise ValidationFailed(fields={field: _("分类 %(code)s 不存在或已停用") % {"code": code}})
    return code


@transaction.atomic
def field_report_create(
    *, actor: Any, text: str, photo: Any = None, grid_id: Any = None, lat: Any = None, lng: Any = None,
    datum: Any = Datum.WGS84, category_code: str = "", category_suggested: str = "",
) -> FieldReport:
    """网格员上报: what the worker found, with a photo and the location. The grid defaults to the grid of
    the patrol in progress; the report joins that patrol when it is in the same grid."""
    _require_worker(actor)
    errors: dict[str, str] = {}
    open_patrol = selectors.patrol_open(actor=actor)
    grid: Area | None = None
    if grid_id in (None, ""):
        mine = list(selectors.worker_grids(actor).values_list("pk", flat=True)[:2])
        grid_id = open_patrol.grid_id if open_patrol else (mine[0] if len(mine) == 1 else None)
    try:
        grid = _worker_grid(actor, grid_id)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    try:
        text = require_text(text, "text", label=_("事件描述"), max_chars=MAX_REPORT_CHARS)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    try:
        point = _point(lat, lng, datum, required=False)
    except ValidationFailed as exc:
        errors.update(exc.fields)
        point = None
    try:
        category_code = _category_code(category_code)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    stored = _required_photo(photo, errors, field="photo", label=_("现场照片"), missing=_("请拍摄或选择一张现场照片"))
    if errors:
        raise ValidationFailed(fields=errors)
    assert grid is not None and stored is not None
    report = FieldReport(
        worker=actor, grid=grid, grid_path=grid.path, text=text,
        patrol=open_patrol if open_patrol and open_patrol.grid_id == grid.pk else None,
        lat=point[1] if point else None, lng=point[0] if point else None, category_code=category_code,
        category_suggested=str(category_suggested or "")[:40], created_at=timezone.now(),
    )
    report.photo.save("photo.jpg", stored, save=False)
    report.save()
    return report


def _open_report(actor: Any, report_id: Any) -> FieldReport:
    report = selectors.report_get(actor=actor, report_id=report_id)
    if report is None:
        raise NotFound(_("未找到该事件"))
    if not selectors.is_grid_worker(actor) or selectors.worker_grids(actor).filter(pk=report.grid_id).first() is None:
        raise PermissionDenied(_("只有该网格的网格员可以处置此事件"))
    report = FieldReport.objects.select_for_update().select_related("grid").get(pk=report.pk)
    if report.status != ReportStatus.OPEN:
        raise Conflict(_("该事件已处置"))
    return report


@transaction.atomic
def field_report_settle(*, actor: Any, report_id: Any, result_text: str, result_photo: Any = None) -> FieldReport:
    """自办结: settled on the spot by the grid worker, with the result and a photo of it. No work order;
    counted as settled inside the grid (grid_numbers.settled_in_grid)."""
    report = _open_report(actor, report_id)
    errors: dict[str, str] = {}
    try:
        result_text = require_text(result_text, "result_text", label=_("处置结果"), max_chars=MAX_REPORT_CHARS)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    stored = _required_photo(result_photo, errors, field="result_photo", label=_("处置后照片"),
                             missing=_("请拍摄处置后的照片"))
    if errors:
        raise ValidationFailed(fields=errors)
    assert stored is not None
    report.result_text = result_text
    report.result_photo.save("result.jpg", stored, save=False)
    report.status = ReportStatus.SETTLED
    report.settled_at = timezone.now()
    report.save(update_fields=["result_text", "result_photo", "status", "settled_at"])
    return report


@transaction.atomic
def field_report_raise(*, actor: Any, report_id: Any, kind: str = Kind.HELP, category_code: str = "",
                       urgency: str = "normal") -> FieldReport:
    """上报工单: the report becomes a work order of channel ``grid`` through the engine's intake, in the
    report's grid (its point kept), with the photo attached; the engine routes it like any other."""
    report = _open_report(actor, report_id)
    if kind not in GRID_KINDS:
        raise ValidationFailed(fields={"kind": _("诉求类型无效")})
    category_code = _category_code(category_code or report.category_code)
    order = workorder_services.work_order_create(
        actor=actor, channel=Channel.GRID, kind=kind, urgency=urgency, content=report.text,
        title=report.text.splitlines()[0][:40], category_code=category_code or None,
        lat=report.lat, lng=report.lng, crs="wgs84", area_code=report.grid.code,
        note=f"网格员上报（{report.grid.name}，事件 {report.pk}）",
    )
    if report.photo:
        with report.photo.open("rb") as source:
            from django.core.files.base import ContentFile

            workorder_services.attachment_add(order_id=order.pk, actor=actor,
                                              upload=ContentFile(source.read(), name="photo.jpg"))
    report.status = ReportStatus.RAISED
    report.category_code = category_code
    report.work_order_id = order.pk
    report.work_order_number = order.number
    report.raised_at = timezone.now()
    report.save(update_fields=["status", "category_code", "work_order_id", "work_order_number", "raised_at"])
    return report


# --- opinions --------------------------------------------------------------------------------------

@transaction.atomic
def opinion_create(*, actor: Any, grid_id: Any, topic_code: str, text: str, address: str = "") -> Opinion:
    """社情民意: a resident's opinion noted by the grid worker, tagged by an active topic."""
    _require_worker(actor)
    errors: dict[str, str] = {}
    grid = None
    try:
        grid = _worker_grid(actor, grid_id)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    topic = OpinionTopic.objects.filter(code=str(topic_code or ""), active=True).first()
    if topic is None:
        errors["topic_code"] = _("请选择主题") if not topic_code else _("主题不存在或已停用")
    for name, label, limit, required in (("text", _("内容"), MAX_OPINION_CHARS, True), ("address", _("住户地址"), 200, False)):
        try:
            value = require_text(text if name == "text" else address, name, label=label, max_chars=limit,
                                 required=required)
        except ValidationFailed as exc:
            errors.update(exc.fields)
            continue
        if name == "text":
            text = value
        else:
            address = value
    if errors:
        raise ValidationFailed(fields=errors)
    assert grid is not None and topic is not None
    return Opinion.objects.create(author=actor, grid=grid, grid_path=grid.path, topic=topic, text=text,
                                  address=address, created_at=timezone.now())


# --- forgotten patrols ------------------------------------------------------------------------------

STALE_PATROL_HOURS = 12


@transaction.atomic
def patrol_close_stale(*, now: Any = None, hours: int = STALE_PATROL_HOURS) -> int:
    """End the patrols left open longer than ``hours`` (a phone that died, a worker who forgot): stamped
    at their last check-in (or start), noted as closed by the system. Idempotent: a closed patrol is
    never touched again; running twice does nothing the second time."""
    now = now or timezone.now()
    closed = 0
    stale = Patrol.objects.select_for_update(skip_locked=True).filter(
        ended_at__isnull=True, started_at__lt=now - timedelta(hours=hours))
    for patrol in stale:
        points = list(patrol.checkins.order_by("at", "id").values_list("lat", "lng", "at"))
        patrol.distance_m = round(route_length_m([(p[0], p[1]) for p in points]), 1)
        patrol.ended_at = points[-1][2] if points else patrol.started_at
        patrol.note = (patrol.note + " " if patrol.note else "") + f"（超过 {hours} 小时未结束，系统自动结束）"
        patrol.save(update_fields=["distance_m", "ended_at", "note"])
        closed += 1
    return closed


@transaction.atomic
def opinion_topics_ensure() -> int:
    """The default topics (民生, 治安, 环境, 物业, 邻里, 其他) where missing, as the first migration seeds
    them; for a database emptied since (tests that flush, a restored dump). Returns how many it added."""
    from .choices import DEFAULT_OPINION_TOPICS

    added = 0
    for order, (code, name) in enumerate(DEFAULT_OPINION_TOPICS, start=1):
        added += OpinionTopic.objects.get_or_create(code=code, defaults={"name": name, "order": order})[1]
    return added
