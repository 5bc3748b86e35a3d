"""The grid workers' field pages (phone-sized, light: no map tiles, Leaflet only where a map is drawn)
and the leaders' opinion page. Views stay thin: parse a form, call one service or selector, render.
Anything outside the actor's grids or subtree answers 404."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongxin.core.forms import run_service
from tongxin.web.chips import category_chips
from tongxin.workorders.selectors import intake_category

from . import forms as f
from . import selectors, services
from .choices import ReportStatus


def _require_worker(request: HttpRequest) -> None:
    if not selectors.is_grid_worker(request.user):
        raise Http404(_("您不是网格员"))


def _require_reader(request: HttpRequest) -> None:
    if not selectors.can_read(request.user):
        raise Http404(_("您没有网格数据的查看权限"))


def _grid_choices(user: Any) -> list[tuple[str, str]]:
    return [(str(g.pk), g.name) for g in selectors.worker_grids(user)]


def _choices(form: Any, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


def _flash_errors(request: HttpRequest, form: Any) -> None:
    for errors in form.errors.values():
        messages.error(request, " ".join(str(e) for e in errors))


def _today() -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
    return start, start + timedelta(days=1)


def _month() -> tuple[datetime, datetime]:
    today = timezone.localdate()
    start = timezone.make_aware(datetime.combine(today.replace(day=1), time.min))
    return start, timezone.make_aware(datetime.combine(today, time.min)) + timedelta(days=1)


def _boundary(grid: Any) -> Any:
    from tongxin.regions.models import Area

    return Area.objects.filter(pk=grid.pk).values_list("boundary", flat=True).first()


# --- home and grid pages ---------------------------------------------------------------------------

@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """网格员首页: my grids, today's patrol, recent reports, shortcuts. Leaders go to the opinions."""
    if not selectors.is_grid_worker(request.user):
        if selectors.can_read(request.user):
            return redirect("grids:opinions")
        raise Http404(_("您不是网格员"))
    grids = list(selectors.worker_grids(request.user)[:50])
    start, end = _today()
    numbers = selectors.grid_numbers(areas=grids, start=start, end=end) if grids else {}
    patrol = selectors.patrol_open(actor=request.user)
    form = f.PatrolStartForm()
    _choices(form, "grid_id").choices = _grid_choices(request.user)
    reports = list(selectors.reports_visible_to(request.user).filter(worker_id=request.user.pk)[:10])
    today_patrols = list(selectors.patrols_visible_to(request.user).filter(
        worker_id=request.user.pk, started_at__gte=start, started_at__lt=end)[:10])
    return render(request, "grids/home.html", {
        "grids": [(g, numbers.get(g.pk)) for g in grids], "patrol": patrol, "start_form": form,
        "reports": reports, "today_patrols": today_patrols, "tab": "home",
    })


@login_required
@require_GET
def grid_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A grid: its boundary, roster (when the regions domain offers it) and numbers of today and this month."""
    _require_reader(request)
    grid = selectors.grid_get(actor=request.user, grid_id=pk)
    if grid is None:
        raise Http404(_("未找到该网格"))
    today = selectors.grid_numbers(areas=[grid], start=_today()[0], end=_today()[1])[grid.pk]
    month = selectors.grid_numbers(areas=[grid], start=_month()[0], end=_month()[1])[grid.pk]
    reports = list(selectors.reports_visible_to(request.user).filter(grid=grid)[:10])
    return render(request, "grids/grid.html", {
        "grid": grid, "today": today, "month": month, "roster": selectors.grid_roster(grid, actor=request.user), "reports": reports,
        "map": {"boundary": _boundary(grid), "route": []}, "tab": "home",
    })


# --- patrols ---------------------------------------------------------------------------------------

@login_required
@require_POST
def patrol_start(request: HttpRequest) -> HttpResponse:
    _require_worker(request)
    form = f.PatrolStartForm(request.POST)
    _choices(form, "grid_id").choices = _grid_choices(request.user)
    ok, patrol = run_service(form, lambda d: services.patrol_start(
        actor=request.user, grid_id=d["grid_id"], lat=d["lat"], lng=d["lng"], datum=d["datum"] or "wgs84",
        accuracy=d["accuracy"]), not_found=_("未找到该网格"))
    if ok:
        return redirect("grids:patrol", pk=patrol.pk)
    _flash_errors(request, form)
    return redirect("grids:home")


@login_required
@require_GET
def patrol_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The patrol page: the grid boundary and the route as vectors, check-in and end (the worker's own)."""
    _require_reader(request)
    patrol = selectors.patrol_get(actor=request.user, patrol_id=pk)
    if patrol is None:
        raise Http404(_("未找到该巡查"))
    own = patrol.worker_id == request.user.pk and patrol.ended_at is None
    checkins = list(patrol.checkins.all())
    return render(request, "grids/patrol.html", {
        "patrol": patrol, "own": own, "checkins": checkins, "checkin_form": f.CheckinForm(),
        "end_form": f.PatrolEndForm(), "map": {"boundary": _boundary(patrol.grid), "route": selectors.patrol_route(patrol)},
        "reports": list(patrol.reports.all()), "tab": "patrol",
    })


@login_required
@require_POST
def patrol_checkin(request: HttpRequest, pk: int) -> HttpResponse:
    _require_worker(request)
    form = f.CheckinForm(request.POST)
    ok, _checkin = run_service(form, lambda d: services.patrol_checkin(
        actor=request.user, patrol_id=pk, lat=d["lat"], lng=d["lng"], datum=d["datum"] or "wgs84",
        accuracy=d["accuracy"], note=d["note"]), not_found=_("未找到该巡查"))
    if ok:
        messages.success(request, _("已打卡") if _checkin.inside_grid else _("已打卡（位置在网格外）"))
    else:
        _flash_errors(request, form)
    return redirect("grids:patrol", pk=pk)


@login_required
@require_POST
def patrol_end(request: HttpRequest, pk: int) -> HttpResponse:
    _require_worker(request)
    form = f.PatrolEndForm(request.POST)
    ok, patrol = run_service(form, lambda d: services.patrol_end(actor=request.user, patrol_id=pk, note=d["note"]),
                             not_found=_("未找到该巡查"))
    if ok:
        messages.success(request, _("巡查已结束，里程 %(km).2f 公里") % {"km": patrol.distance_m / 1000})
    else:
        _flash_errors(request, form)
    return redirect("grids:patrol", pk=pk)


@login_required
@require_GET
def patrol_list(request: HttpRequest) -> HttpResponse:
    _require_reader(request)
    qs = selectors.patrols_visible_to(request.user)
    if selectors.is_grid_worker(request.user):
        qs = qs.filter(worker_id=request.user.pk)
    page = Paginator(qs, 20).get_page(request.GET.get("page"))
    return render(request, "grids/patrol_list.html", {"page": page, "tab": "patrol"})


# --- field reports ---------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def report_new(request: HttpRequest) -> HttpResponse:
    _require_worker(request)
    form = f.ReportForm(request.POST or None, request.FILES or None)
    choices = _grid_choices(request.user)
    patrol = selectors.patrol_open(actor=request.user)
    _choices(form, "grid_id").choices = [("", _("（巡查中的网格）") if patrol else _("请选择")), *choices]
    if patrol:
        form.fields["grid_id"].initial = str(patrol.grid_id)
    if request.method == "POST":
        ok, report = run_service(form, lambda d: services.field_report_create(
            actor=request.user, text=d["text"], photo=d["photo"], grid_id=d["grid_id"], lat=d["lat"], lng=d["lng"],
            datum=d["datum"] or "wgs84", category_code=d["category_code"], category_suggested=d["category_suggested"],
        ), not_found=_("未找到该网格"))
        if ok:
            return redirect("grids:report", pk=report.pk)
    return render(request, "grids/report_new.html", {"form": form, "patrol": patrol, "one_grid": len(choices) == 1,
                                                     "tab": "report"},
                  status=422 if form.is_bound and form.errors else 200)


@login_required
@require_GET
def report_suggest(request: HttpRequest) -> HttpResponse:
    """The category suggestion beside the text (htmx): nothing at all when the classifier is away."""
    _require_worker(request)
    return render(request, "grids/_suggest.html", {"chips": category_chips(request.GET.get("text"))})


@login_required
@require_GET
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_reader(request)
    report = selectors.report_get(actor=request.user, report_id=pk)
    if report is None:
        raise Http404(_("未找到该事件"))
    can_handle = (report.status == ReportStatus.OPEN
                  and selectors.worker_grids(request.user).filter(pk=report.grid_id).exists())
    category = intake_category(report.category_code) if report.category_code else None
    return render(request, "grids/report.html", {
        "report": report, "can_handle": can_handle, "settle_form": f.SettleForm(), "category": category,
        "raise_form": f.RaiseForm(initial={"category_code": report.category_code}), "tab": "report",
    })


@login_required
@require_POST
def report_settle(request: HttpRequest, pk: int) -> HttpResponse:
    _require_worker(request)
    form = f.SettleForm(request.POST, request.FILES)
    ok, _report = run_service(form, lambda d: services.field_report_settle(
        actor=request.user, report_id=pk, result_text=d["result_text"], result_photo=d["result_photo"]),
        not_found=_("未找到该事件"))
    if ok:
        messages.success(request, _("已自办结"))
        return redirect("grids:report", pk=pk)
    report = selectors.report_get(actor=request.user, report_id=pk)
    return render(request, "grids/report.html", {
        "report": report, "can_handle": True, "settle_form": form,
        "raise_form": f.RaiseForm(initial={"category_code": report.category_code if report else ""}), "tab": "report",
    }, status=422)


@login_required
@require_POST
def report_raise(request: HttpRequest, pk: int) -> HttpResponse:
    _require_worker(request)
    form = f.RaiseForm(request.POST)
    ok, report = run_service(form, lambda d: services.field_report_raise(
        actor=request.user, report_id=pk, kind=d["kind"], category_code=d["category_code"]),
        not_found=_("未找到该事件"))
    if ok:
        messages.success(request, _("已上报为工单 %(number)s") % {"number": report.work_order_number})
        return redirect("grids:report", pk=pk)
    return render(request, "grids/report.html", {
        "report": selectors.report_get(actor=request.user, report_id=pk), "can_handle": True,
        "settle_form": f.SettleForm(), "raise_form": form, "tab": "report",
    }, status=422)


@login_required
@require_GET
def report_photo(request: HttpRequest, pk: int, which: str) -> HttpResponseBase:
    """A report's photo, only to those who may read the report (the files are not public media)."""
    _require_reader(request)
    report = selectors.report_get(actor=request.user, report_id=pk)
    field = {"photo": "photo", "result": "result_photo"}.get(which)
    if report is None or field is None or not getattr(report, field):
        raise Http404(_("未找到该照片"))
    response = FileResponse(getattr(report, field).open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"
    return response


@login_required
@require_GET
def report_list(request: HttpRequest) -> HttpResponse:
    _require_reader(request)
    qs = selectors.reports_visible_to(request.user)
    status = request.GET.get("status") or ""
    if status in ReportStatus.values:
        qs = qs.filter(status=status)
    page = Paginator(qs, 20).get_page(request.GET.get("page"))
    return render(request, "grids/report_list.html", {"page": page, "status": status,
                                                      "query": f"status={status}" if status else "",
                                                      "statuses": ReportStatus.choices, "tab": "report"})


# --- opinions --------------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def opinion_new(request: HttpRequest) -> HttpResponse:
    _require_worker(request)
    form = f.OpinionForm(request.POST or None)
    _choices(form, "grid_id").choices = _grid_choices(request.user)
    _choices(form, "topic_code").choices = [("", _("请选择"))] + [(t.code, t.name) for t in selectors.opinion_topics()]
    patrol = selectors.patrol_open(actor=request.user)
    if patrol:
        form.fields["grid_id"].initial = str(patrol.grid_id)
    if request.method == "POST":
        ok, _opinion = run_service(form, lambda d: services.opinion_create(
            actor=request.user, grid_id=d["grid_id"], topic_code=d["topic_code"], text=d["text"],
            address=d["address"]), not_found=_("未找到该网格"))
        if ok:
            messages.success(request, _("已记录社情民意"))
            return redirect("grids:opinion_new")
    return render(request, "grids/opinion_new.html", {"form": form, "tab": "opinion"},
                  status=422 if form.is_bound and form.errors else 200)


@login_required
@require_GET
def opinion_list(request: HttpRequest) -> HttpResponse:
    """社情民意 for leaders (and grid workers, of their grids): text, topic, area subtree, dates."""
    _require_reader(request)
    form = f.OpinionFilterForm(request.GET or None)
    _choices(form, "topic").choices = [("", _("全部主题"))] + [(t.code, t.name) for t in selectors.opinion_topics(active_only=False)]
    areas = list(selectors.reader_areas(request.user)[:500])
    _choices(form, "area").choices = [("", _("全部辖区"))] + [(a.code, ("　" * a.depth) + a.name) for a in areas]
    d = form.cleaned_data if form.is_bound and form.is_valid() else {}
    by_code = {a.code: a for a in areas}
    area = by_code.get(d.get("area") or "")
    filters = selectors.OpinionFilters(q=(d.get("q") or "").strip(), topic_code=d.get("topic") or "",
                                       area_path=area.path if area else None, date_from=d.get("date_from"),
                                       date_to=d.get("date_to"))
    qs = selectors.opinion_list(actor=request.user, filters=filters)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "grids/opinion_list.html", {"form": form, "page": page, "total": page.paginator.count,
                                                       "query": query.urlencode(), "tab": "opinion",
                                                       "is_worker": selectors.is_grid_worker(request.user)})

