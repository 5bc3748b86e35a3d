"""The grids API (tag "grids"): my grids, patrols (start, check in, end, read), field reports (create
with a photo, settle on the spot, raise a work order), opinions (create, search) and the per-area
numbers. Views stay thin: parse, call one service or selector, shape the answer."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Form, Path, Query, Router
from ninja.files import UploadedFile
from ninja.responses import Status as HttpStatus

from tongxin.core.errors import NotFound, PermissionDenied, ValidationFailed
from tongxin.regions.selectors import area_get_by_code

from . import selectors, services
from .schemas import (
    ERRORS,
    MAX_ID,
    CheckinIn,
    CheckinOut,
    GridOut,
    NumbersOut,
    OpinionIn,
    OpinionOut,
    OpinionQuery,
    PatrolEndIn,
    PatrolOut,
    PatrolStartIn,
    RaiseIn,
    ReportOut,
)

router = Router(tags=["grids"])
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


def actor(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _patrol_out(patrol: Any) -> dict[str, Any]:
    return {
        "id": patrol.pk, "grid_id": patrol.grid_id, "grid_name": patrol.grid.name, "worker_id": patrol.worker_id,
        "started_at": patrol.started_at, "ended_at": patrol.ended_at, "distance_m": patrol.distance_m,
        "note": patrol.note, "checkins": [CheckinOut.from_orm(c).dict() for c in patrol.checkins.all()],
    }


def _report_out(report: Any) -> dict[str, Any]:
    def url(which: str, present: Any) -> str | None:
        return reverse("grids:report_photo", args=[report.pk, which]) if present else None

    return {
        "id": report.pk, "grid_id": report.grid_id, "status": report.status, "text": report.text, "lat": report.lat,
        "lng": report.lng, "category_code": report.category_code, "created_at": report.created_at,
        "result_text": report.result_text, "settled_at": report.settled_at, "work_order_id": report.work_order_id,
        "work_order_number": report.work_order_number, "photo_url": url("photo", report.photo),
        "result_photo_url": url("result", report.result_photo),
    }


def _opinion_out(o: Any) -> dict[str, Any]:
    return {"id": o.pk, "grid_id": o.grid_id, "grid_name": o.grid.name, "topic_code": o.topic.code,
            "topic_name": o.topic.name, "text": o.text, "address": o.address, "created_at": o.created_at}


def _patrol(request: HttpRequest, patrol_id: int) -> Any:
    patrol = selectors.patrol_get(actor=actor(request), patrol_id=patrol_id)
    if patrol is None:
        raise NotFound(_("未找到该巡查"))
    return patrol


@router.get("/grids/mine", response={200: list[GridOut], **ERRORS}, summary="The grids I work in")
def grids_mine(request: HttpRequest) -> list[Any]:
    return [{"id": g.pk, "code": g.code, "name": g.name} for g in selectors.worker_grids(actor(request))]


@router.post("/grids/patrols", response={201: PatrolOut, **ERRORS}, summary="开始巡查")
def patrol_start(request: HttpRequest, payload: PatrolStartIn) -> HttpStatus:
    patrol = services.patrol_start(actor=actor(request), grid_id=payload.grid_id, lat=payload.lat, lng=payload.lng,
                                   datum=payload.datum, accuracy=payload.accuracy)
    return HttpStatus(201, _patrol_out(patrol))


@router.get("/grids/patrols/{patrol_id}", response={200: PatrolOut, **ERRORS}, summary="A patrol with its route")
def patrol_get(request: HttpRequest, patrol_id: Id) -> dict[str, Any]:
    return _patrol_out(_patrol(request, patrol_id))


@router.post("/grids/patrols/{patrol_id}/checkins", response={201: CheckinOut, **ERRORS}, summary="打卡")
def patrol_checkin(request: HttpRequest, patrol_id: Id, payload: CheckinIn) -> HttpStatus:
    checkin = services.patrol_checkin(actor=actor(request), patrol_id=patrol_id, lat=payload.lat, lng=payload.lng,
                                      datum=payload.datum, accuracy=payload.accuracy, note=payload.note)
    return HttpStatus(201, CheckinOut.from_orm(checkin).dict())


@router.post("/grids/patrols/{patrol_id}/end", response={200: PatrolOut, **ERRORS}, summary="结束巡查")
def patrol_end(request: HttpRequest, patrol_id: Id, payload: PatrolEndIn) -> dict[str, Any]:
    return _patrol_out(services.patrol_end(actor=actor(request), patrol_id=patrol_id, note=payload.note))


@router.post("/grids/reports", response={201: ReportOut, **ERRORS}, summary="网格员上报 (multipart, one photo)")
def report_create(
    request: HttpRequest, text: Form[str], grid_id: Form[int | None] = None, lat: Form[float | None] = None,
    lng: Form[float | None] = None, datum: Form[str] = "wgs84", category_code: Form[str] = "",
    photo: File[UploadedFile] = None,  # type: ignore[assignment]
) -> HttpStatus:
    report = services.field_report_create(actor=actor(request), text=text, photo=photo, grid_id=grid_id, lat=lat,
                                          lng=lng, datum=datum, category_code=category_code)
    return HttpStatus(201, _report_out(report))


@router.get("/grids/reports/{report_id}", response={200: ReportOut, **ERRORS}, summary="A field report")
def report_get(request: HttpRequest, report_id: Id) -> dict[str, Any]:
    report = selectors.report_get(actor=actor(request), report_id=report_id)
    if report is None:
        raise NotFound(_("未找到该事件"))
    return _report_out(report)


@router.post("/grids/reports/{report_id}/settle", response={200: ReportOut, **ERRORS},
             summary="自办结 (multipart, with the result photo)")
def report_settle(request: HttpRequest, report_id: Id, result_text: Form[str],
                  result_photo: File[UploadedFile] = None) -> dict[str, Any]:  # type: ignore[assignment]
    return _report_out(services.field_report_settle(actor=actor(request), report_id=report_id,
                                                    result_text=result_text, result_photo=result_photo))


@router.post("/grids/reports/{report_id}/raise", response={200: ReportOut, **ERRORS}, summary="上报为工单 (channel grid)")
def report_raise(request: HttpRequest, report_id: Id, payload: RaiseIn) -> dict[str, Any]:
    return _report_out(services.field_report_raise(actor=actor(request), report_id=report_id, kind=payload.kind,
                                                   category_code=payload.category_code))


@router.post("/grids/opinions", response={201: OpinionOut, **ERRORS}, summary="记录社情民意")
def opinion_create(request: HttpRequest, payload: OpinionIn) -> HttpStatus:
    opinion = services.opinion_create(actor=actor(request), grid_id=payload.grid_id, topic_code=payload.topic_code,
                                      text=payload.text, address=payload.address)
    return HttpStatus(201, _opinion_out(opinion))


def _area_path(actor_: Any, code: str) -> str | None:
    if not code:
        return None
    area = area_get_by_code(code)
    if area is None:
        raise ValidationFailed(fields={"area_code": _("区域代码 %(code)s 不存在") % {"code": code}})
    return area.path


@router.get("/grids/opinions", response={200: list[OpinionOut], **ERRORS}, summary="Search opinions (社情民意)")
def opinion_list(request: HttpRequest, query: Query[OpinionQuery]) -> list[Any]:
    if not selectors.can_read(actor(request)):
        raise PermissionDenied(_("您没有网格数据的查看权限"))
    filters = selectors.OpinionFilters(q=query.q.strip(), topic_code=query.topic,
                                       area_path=_area_path(actor(request), query.area_code),
                                       date_from=query.date_from, date_to=query.date_to)
    return [_opinion_out(o) for o in selectors.opinion_list(actor=actor(request), filters=filters)[: query.limit]]


@router.get("/grids/numbers", response={200: list[NumbersOut], **ERRORS},
            summary="Per-area grid numbers (see docs/grids.md for the definitions)")
def numbers(request: HttpRequest, area_code: str, date_from: str = "", date_to: str = "") -> list[Any]:
    """The numbers of the area and of its children, over [date_from, date_to] (local days; default:
    this month to today). Leaders and supervisors read their own subtree only."""
    from tongxin.accounts.selectors import actor_scope
    from tongxin.regions.models import Area

    area = area_get_by_code(area_code[:32])
    scope = actor_scope(actor(request))
    if area is None or not (scope.is_admin or scope.area_role_covers(selectors.READER_ROLES, area.path)):
        raise NotFound(_("未找到该区域"))
    from datetime import date as date_cls

    try:
        today = timezone.localdate()
        start_day = date_cls.fromisoformat(date_from) if date_from else today.replace(day=1)
        end_day = date_cls.fromisoformat(date_to) if date_to else today
    except ValueError:
        raise ValidationFailed(fields={"date_from": _("日期格式应为 YYYY-MM-DD")}) from None
    if end_day < start_day:
        raise ValidationFailed(fields={"date_to": _("截止日期不能早于起始日期")})
    start = timezone.make_aware(datetime.combine(start_day, time.min))
    end = timezone.make_aware(datetime.combine(end_day, time.min)) + timedelta(days=1)
    areas = [area, *Area.objects.filter(parent=area).defer("boundary").order_by("code")]
    result = selectors.grid_numbers(areas=areas, start=start, end=end)
    return [{"area_code": a.code, "area_name": a.name, **result[a.pk].__dict__} for a in areas]
