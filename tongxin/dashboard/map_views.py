"""The map page (/dashboard/map/) and its two data endpoints. The same people as the dashboard (leaders,
supervisors, dispatchers in their areas; admins the city); an area outside the viewer's answers 404, as
for an area that does not exist. Mounted by one line in dashboard/urls.py (``*map_views.urlpatterns``)."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from .maps import map_children, map_data, map_grid_numbers, map_numbers, map_points, map_scope
from .selectors import area_breadcrumbs, dashboard_home_areas
from .views import _area_or_404, _period_kind, period_choices


def tile_settings() -> dict[str, str]:
    """An optional tile layer (e.g. 天地图 with a key): ``TONGXIN_MAP_TILE_URL`` and
    ``TONGXIN_MAP_TILE_ATTRIBUTION``, from the settings or the environment. Without a URL the map draws the
    outlines on a plain background and loads nothing from outside."""
    url = getattr(settings, "TONGXIN_MAP_TILE_URL", None) or os.environ.get("TONGXIN_MAP_TILE_URL", "")
    attribution = (getattr(settings, "TONGXIN_MAP_TILE_ATTRIBUTION", None)
                   or os.environ.get("TONGXIN_MAP_TILE_ATTRIBUTION", ""))
    return {"url": url, "attribution": attribution}


def map_i18n() -> dict[str, str]:
    """The few words map.js writes (tooltips, legend, status line), in the request's language."""
    return {
        "accepted": _("受理量"), "overdue": _("超期数"), "orders": _("件"), "drill": _("点击进入下一级"),
        "failed": _("地图数据加载失败，请刷新重试。"), "points": _("工单点位"), "sampled": _("已抽样显示"),
        "total": _("共"), "shown": _("显示"), "late": _("超期"), "none": _("本期没有带坐标的工单"),
        "legend_accepted": _("受理量（件）"), "legend_overdue": _("超期未办结（件）"), "heat": _("热力图"),
        "order": _("工单"),
    }


def _json(data: dict[str, Any]) -> JsonResponse:
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "separators": (",", ":")})
    response["Cache-Control"] = "private, max-age=60"
    return response


@login_required
@require_GET
def map_page(request: HttpRequest) -> HttpResponse:
    area = _area_or_404(request)
    kind = _period_kind(request)
    scope = map_scope(area=area, period_kind=kind)
    children = map_children(area)
    numbers = map_numbers(scope, children)
    grid = map_grid_numbers(scope, children)
    rows = [{**row, "grid": (grid or {}).get("children", {}).get(row["code"])} for row in numbers["children"]]
    return render(request, "dashboard/map.html", {
        "nav": "map", "area": area, "crumbs": area_breadcrumbs(request.user, area), "period_kind": kind,
        "periods": period_choices(), "homes": dashboard_home_areas(request.user), "numbers": numbers,
        "rows": rows, "grid": grid, "period": scope.period, "period_end": scope.period.end - timedelta(days=1),
        "map_config": {"area": area.code, "period": kind, "tiles": tile_settings(),
                       "data_url": reverse("dashboard:map_data"), "points_url": reverse("dashboard:map_points"),
                       "order_url": reverse("order_detail", args=[0])}, "map_i18n": map_i18n(),
    })


@login_required
@require_GET
def map_data_view(request: HttpRequest) -> JsonResponse:
    """Outlines (simplified for the level, cached), numbers per child area, grid numbers."""
    area = _area_or_404(request)
    scope = map_scope(area=area, period_kind=_period_kind(request))
    return _json(map_data(actor=request.user, scope=scope, crumbs=area_breadcrumbs(request.user, area)))


@login_required
@require_GET
def map_points_view(request: HttpRequest) -> JsonResponse:
    """The period's orders as points (capped, sampled beyond the cap) and as a heat grid (all of them)."""
    area = _area_or_404(request)
    scope = map_scope(area=area, period_kind=_period_kind(request))
    return _json(map_points(actor=request.user, scope=scope))


urlpatterns = [
    path("map/", map_page, name="map"),
    path("map/data/", map_data_view, name="map_data"),
    path("map/points/", map_points_view, name="map_points"),
]
