"""Pages of the city dashboard (一网统管): the normal page, the big screen, the lists behind the numbers,
the map's boundaries, hotspots and hot words, and the reports. Leaders, supervisors and dispatchers see
their area and below; admins the city; everybody else gets 404, as for a page that does not exist."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from . import reports
from .selectors import (
    ASSIGNMENT_METRICS,
    METRIC_LABELS,
    ORDER_METRICS,
    PERIODS,
    STATE_METRICS,
    area_breadcrumbs,
    chart_payload,
    dashboard_allowed,
    dashboard_area,
    dashboard_home_areas,
    metric_set,
    screen_data,
)


def period_choices() -> list[tuple[str, str]]:
    """The period menu in the request's language (the labels are lazy: never freeze them at import)."""
    return [(k, str(v)) for k, v in PERIODS.items()]
GAUGE_LABELS = (gettext_lazy("不出村（社区）"), gettext_lazy("不出镇（街道）"), gettext_lazy("诉访前化解"),
                gettext_lazy("市域内化解"))


def _area_or_404(request: HttpRequest) -> Any:
    if not dashboard_allowed(request.user):
        raise Http404(_("页面不存在"))
    area = dashboard_area(request.user, request.GET.get("area") or None)
    if area is None:
        raise Http404(_("页面不存在"))
    return area


def _period_kind(request: HttpRequest) -> str:
    kind = request.GET.get("period", "month")
    return kind if kind in PERIODS else "month"


def _context(request: HttpRequest, *, screen: bool) -> dict[str, Any]:
    area = _area_or_404(request)
    kind = _period_kind(request)
    data = screen_data(actor=request.user, area=area, period_kind=kind)
    crumbs = area_breadcrumbs(request.user, area)
    return {"nav": "dashboard", "data": data, "charts": chart_payload(data), "area": area, "crumbs": crumbs,
            "period_kind": kind, "periods": period_choices(), "screen": screen,
            "homes": dashboard_home_areas(request.user), "gauge_labels": GAUGE_LABELS}


@login_required
@require_GET
def dashboard_page(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/page.html", _context(request, screen=False))


@login_required
@require_GET
def screen_page(request: HttpRequest) -> HttpResponse:
    """The 1920×1080 screen: the same numbers, dark, redrawn every 60 s (htmx swaps #screen-body)."""
    context = _context(request, screen=True)
    template = "dashboard/_screen_body.html" if request.headers.get("HX-Request") else "dashboard/screen.html"
    return render(request, template, context)


@login_required
@require_GET
def dashboard_data(request: HttpRequest) -> JsonResponse:
    """The screen's numbers as JSON (what the benchmark times; also handy for other screens)."""
    area = _area_or_404(request)
    data = screen_data(actor=request.user, area=area, period_kind=_period_kind(request))
    return JsonResponse(data, json_dumps_params={"ensure_ascii": False})


@login_required
@require_GET
def dashboard_geo(request: HttpRequest) -> JsonResponse:
    """The child areas' stored boundaries (GeoJSON, WGS-84) for the map, or the area itself when it has
    no children. Cached: boundaries change a few times a year."""
    from tongxin.regions.models import Area

    area = _area_or_404(request)
    key = f"dashboard:geo:{area.pk}:{area.path}"
    collection = cache.get(key)
    if collection is None:
        rows = list(Area.objects.filter(parent_id=area.pk).exclude(boundary__isnull=True)
                    .values("code", "name", "level", "boundary"))
        if not rows:
            rows = list(Area.objects.filter(pk=area.pk).exclude(boundary__isnull=True)
                        .values("code", "name", "level", "boundary"))
        collection = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"name": r["name"], "code": r["code"], "level": r["level"]},
             "geometry": r["boundary"]} for r in rows]}
        cache.set(key, collection, 3600)
    response = JsonResponse(collection, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_GET
def dashboard_insight(request: HttpRequest) -> HttpResponse:
    """Hotspot warnings and hot words of the area (insight's selectors, the viewer as actor), as an htmx
    fragment; cached five minutes: clustering the week's requests is too slow for every refresh."""
    from tongxin.insight.hotspots import hotspot_list
    from tongxin.insight.hotwords import hot_word_list

    area = _area_or_404(request)
    key = f"dashboard:insight:{request.user.pk}:{area.code}"
    context = cache.get(key)
    if context is None:
        hotspots = hotspot_list(actor=request.user, area_code=area.code, days=7, limit=6)
        words = hot_word_list(actor=request.user, area_code=area.code, days=7, top=15)
        context = {
            "hotspots": [{"count": h["count"], "area": h["area"]["name"],
                          "category": h["category"]["name"] if h["category"] else _("未分类"),
                          "words": h["words"][:3], "orders": [o["id"] for o in h["orders"][:1]]} for h in hotspots],
            "words": [{"word": w["word"], "count": w.get("count", 0)} for w in words["words"]],
        }
        cache.set(key, context, 300)
    return render(request, "dashboard/_insight.html", context)


def _parse_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@login_required
@require_GET
def dashboard_orders(request: HttpRequest) -> HttpResponse:
    """The list behind a number: ?area=&metric=&from=&to=(inclusive)&dim=&key=. Counts exactly what the
    number counts (the tests compare them), over the orders the viewer may see."""
    area = _area_or_404(request)
    metric = request.GET.get("metric", "accepted")
    if metric not in ORDER_METRICS | ASSIGNMENT_METRICS:
        raise Http404(_("页面不存在"))
    start = _parse_day(request.GET.get("from"))
    to = _parse_day(request.GET.get("to"))
    end = to + timedelta(days=1) if to else None
    dim = request.GET.get("dim") if request.GET.get("dim") in {"channel", "category", "department"} else None
    key = request.GET.get("key") if dim else None
    kind, qs = metric_set(actor=request.user, area=area, metric=metric, start=start, end=end, dim=dim, key=key)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "dashboard/orders.html", {
        "nav": "dashboard", "area": area, "kind": kind, "page_obj": page, "metric": metric,
        "metric_label": METRIC_LABELS[metric], "start": start, "to": to, "dim": dim, "key": key,
        "state_metric": metric in STATE_METRICS, "query": query.urlencode() + "&" if query else "",
        "count": page.paginator.count,
    })


# --- reports -------------------------------------------------------------------------------------

REPORT_NAME = re.compile(r"^(daily|weekly|monthly)-\d{4}-\d{2}-\d{2}\.xlsx$")


def _report_params(request: HttpRequest) -> tuple[Any, str, date, int | None]:
    area = _area_or_404(request)
    kind = request.GET.get("kind", "daily")
    if kind not in reports.KINDS:
        kind = "daily"
    day = _parse_day(request.GET.get("date")) or (timezone.localdate() - timedelta(days=1))
    department = request.GET.get("department")
    return area, kind, day, int(department) if department and department.isdigit() else None


@login_required
@require_GET
def report_list(request: HttpRequest) -> HttpResponse:
    """Reports generated by the periodic job for the viewer's areas, newest first, and a form to make one
    (Excel or printable) for any area, department, kind and date."""
    from tongxin.accounts.selectors import department_list
    from tongxin.regions.models import Area

    area = _area_or_404(request)
    files = reports.report_files(area)
    areas = list(Area.objects.filter(path__startswith=area.path, level__in=["city", "district", "town"])
                 .defer("boundary").order_by("path")[:300])
    return render(request, "dashboard/reports.html", {
        "nav": "dashboard", "area": area, "files": files, "areas": areas, "kinds": reports.KIND_LABELS,
        "departments": department_list(), "yesterday": timezone.localdate() - timedelta(days=1),
    })


@login_required
@require_GET
def report_print(request: HttpRequest) -> HttpResponse:
    area, kind, day, department_id = _report_params(request)
    data = reports.report_data(area=area, kind=kind, day=day, department_id=department_id)
    return render(request, "dashboard/report_print.html", {"nav": "dashboard", "r": data,
                                                            "definitions": reports.definitions()})


@login_required
@require_GET
def report_xlsx(request: HttpRequest) -> HttpResponse:
    area, kind, day, department_id = _report_params(request)
    data = reports.report_data(area=area, kind=kind, day=day, department_id=department_id)
    content = reports.workbook_bytes(data)
    response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{reports.file_name(data)}"'
    return response


@login_required
@require_GET
def report_file(request: HttpRequest, area_code: str, name: str) -> FileResponse:
    """A generated report, if its area lies in the viewer's areas."""
    if not dashboard_allowed(request.user) or not REPORT_NAME.match(name):
        raise Http404(_("页面不存在"))
    area = dashboard_area(request.user, area_code)
    if area is None:
        raise Http404(_("页面不存在"))
    path = Path(settings.VAR_DIR) / "reports" / area.code / name
    if not path.is_file():
        raise Http404(_("页面不存在"))
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"{area.code}-{name}")
