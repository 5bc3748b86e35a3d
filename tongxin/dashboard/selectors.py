"""Reads of the city dashboard: who may see which area, the screen's numbers from the rollups, and the
sets of orders behind each number.

Every figure on the screen is a sum of ``Rollup`` rows (a few hundred rows per call, whatever the size of
the city) turned into a rate by the formulas of ``workorders.selectors.kpi_summary``; every figure
carries the link to the list of the orders (or assignments) it counts: ``orders_href``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote_plus, urlencode

from django.db.models import F, Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongxin.accounts.choices import Role
from tongxin.accounts.selectors import actor_scope

from .models import ASSIGNMENT_COUNTERS, COUNTERS, ORDER_COUNTERS, Rollup, RollupCursor
from .rollups import DIM_MAX_DEPTH

DASHBOARD_ROLES = frozenset({Role.LEADER, Role.SUPERVISOR, Role.DISPATCHER})
PERIODS = {"day": gettext_lazy("今日"), "week": gettext_lazy("本周"), "month": gettext_lazy("本月"),
           "year": gettext_lazy("本年")}
PREVIOUS = {"day": gettext_lazy("昨日"), "week": gettext_lazy("上周同期"), "month": gettext_lazy("上月同期"),
            "year": gettext_lazy("上年同期")}

# The rates: (numerator counter, denominator counter), as kpi_summary defines them.
RATES = {
    "completion_rate": ("replied", "accepted"),
    "on_time_rate": ("replied_on_time", "replied_timed"),
    "satisfaction_rate": ("satisfied", "called_back"),
    "sign_on_time_rate": ("signed_on_time", "sign_decided"),
    "return_rate": ("returned", "assignments"),
    "repeat_rate": ("repeat", "accepted"),
}
RATE_LABELS = {
    "completion_rate": gettext_lazy("办结率"), "on_time_rate": gettext_lazy("按时办结率"),
    "satisfaction_rate": gettext_lazy("满意率"), "sign_on_time_rate": gettext_lazy("及时签收率"),
    "return_rate": gettext_lazy("退单率"), "repeat_rate": gettext_lazy("重复诉求率"),
}
SCREEN_RATES = ("completion_rate", "on_time_rate", "satisfaction_rate", "sign_on_time_rate")
METRIC_LABELS = {
    "accepted": gettext_lazy("受理的诉求"), "replied": gettext_lazy("已办结（已答复）的诉求"),
    "replied_timed": gettext_lazy("有办结时限且已答复的诉求"), "replied_on_time": gettext_lazy("按时办结的诉求"),
    "called_back": gettext_lazy("已回访的诉求"), "satisfied": gettext_lazy("满意和基本满意的诉求"),
    "repeat": gettext_lazy("重复诉求"), "open": gettext_lazy("未办结的诉求"), "overdue": gettext_lazy("超期未办结的诉求"),
    "assignments": gettext_lazy("主办派单"), "returned": gettext_lazy("被退回的主办派单"),
    "sign_decided": gettext_lazy("已签收或签收期限已过的主办派单"), "signed_on_time": gettext_lazy("按时签收的主办派单"),
}
STATE_METRICS = frozenset({"open", "overdue"})  # counted now, whatever the day of acceptance


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def rates(counters: dict[str, int]) -> dict[str, float | None]:
    return {name: _rate(counters.get(n, 0), counters.get(d, 0)) for name, (n, d) in RATES.items()}


# --- who sees what --------------------------------------------------------------------------------

def dashboard_allowed(actor: Any) -> bool:
    scope = actor_scope(actor)
    return scope.is_admin or any(scope.area_roles.get(role) for role in DASHBOARD_ROLES)


def dashboard_home_areas(actor: Any) -> list[Any]:
    """The outermost areas the actor leads, supervises or dispatches for (admins: the city)."""
    from tongxin.regions.models import Area
    from tongxin.regions.selectors import area_root

    scope = actor_scope(actor)
    if scope.is_admin:
        root = area_root()
        return [root] if root else []
    paths = sorted({p for role in DASHBOARD_ROLES for p in scope.area_roles.get(role, ())})
    outer = [p for p in paths if not any(p != o and p.startswith(o) for o in paths)]
    by_path = {a.path: a for a in Area.objects.filter(path__in=outer).defer("boundary")}
    return [by_path[p] for p in outer if p in by_path]


def dashboard_area(actor: Any, code: str | None = None) -> Any | None:
    """The area the actor asked for (default: their first home area), if it lies inside one of their home
    areas; else None (the page answers 404, as for a missing area)."""
    from tongxin.regions.models import Area

    homes = dashboard_home_areas(actor)
    if not homes:
        return None
    if not code:
        return homes[0]
    area = Area.objects.filter(code=code).defer("boundary").first()
    if area is None or not any(area.path.startswith(h.path) for h in homes):
        return None
    return area


def area_breadcrumbs(actor: Any, area: Any) -> list[Any]:
    """From the actor's home area down to ``area`` (the drill-down path back up)."""
    from tongxin.regions.models import Area

    homes = dashboard_home_areas(actor)
    home = next((h for h in homes if area.path.startswith(h.path)), area)
    ids = [int(p) for p in area.path.strip("/").split("/") if p]
    start = home.path.count("/") - 2
    by_id = Area.objects.defer("boundary").in_bulk(ids[start:])
    return [by_id[i] for i in ids[start:] if i in by_id]


# --- periods --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """A range of local days [start, end) and the range it is compared with."""

    kind: str
    start: date
    end: date
    prev_start: date
    prev_end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def label(self) -> str:
        return str(PERIODS.get(self.kind, self.kind))

    @property
    def prev_label(self) -> str:
        return str(PREVIOUS.get(self.kind, ""))


def _shift_month(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    import calendar

    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def period_to_date(kind: str, today: date) -> Period:
    """The period so far (today included) and the same stretch of the period before: today vs yesterday,
    this week (from Monday) vs the same days of last week, this month vs the same days of last month,
    this year vs the same days of last year."""
    end = today + timedelta(days=1)
    if kind == "day":
        return Period(kind, today, end, today - timedelta(days=1), today)
    if kind == "week":
        start = today - timedelta(days=today.weekday())
        return Period(kind, start, end, start - timedelta(days=7), end - timedelta(days=7))
    if kind == "year":
        start = date(today.year, 1, 1)
        prev_start = date(today.year - 1, 1, 1)
        return Period(kind, start, end, prev_start, prev_start + (end - start))
    start = today.replace(day=1)
    prev_start = _shift_month(start, -1)
    prev_end = min(prev_start + (end - start), start)
    return Period("month", start, end, prev_start, prev_end)


def period_whole(kind: str, day: date) -> Period:
    """The whole calendar period containing ``day`` (for reports): the day, its ISO week, its month."""
    if kind == "daily":
        return Period(kind, day, day + timedelta(days=1), day - timedelta(days=1), day)
    if kind == "weekly":
        start = day - timedelta(days=day.weekday())
        return Period(kind, start, start + timedelta(days=7), start - timedelta(days=7), start)
    start = day.replace(day=1)
    end = _shift_month(start, 1)
    return Period("monthly", start, end, _shift_month(start, -1), start)


def local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# --- rollup reads ----------------------------------------------------------------------------------

def _sums() -> dict[str, Any]:
    return {c: Sum(c) for c in COUNTERS}


def _clean(row: Mapping[str, Any]) -> dict[str, int]:
    return {c: int(row.get(c) or 0) for c in COUNTERS}


def rollup_by_day(area_id: int, start: date, end: date, *, dim: str = "all", key: str = "") -> dict[date, dict[str, int]]:
    rows = (Rollup.objects.filter(area_id=area_id, dim=dim, key=key, day__gte=start, day__lt=end)
            .values("day", *COUNTERS))
    return {r["day"]: _clean(r) for r in rows}


def rollup_total(area_id: int, start: date | None, end: date | None, *, dim: str = "all", key: str = "") -> dict[str, int]:
    qs = Rollup.objects.filter(area_id=area_id, dim=dim, key=key)
    if start:
        qs = qs.filter(day__gte=start)
    if end:
        qs = qs.filter(day__lt=end)
    return _clean(qs.aggregate(**_sums()))


def rollup_by_key(area_id: int, dim: str, start: date, end: date) -> dict[str, dict[str, int]]:
    rows = (Rollup.objects.filter(area_id=area_id, dim=dim, day__gte=start, day__lt=end)
            .values("key").annotate(**_sums()).order_by())
    return {r["key"]: _clean(r) for r in rows}


def rollup_by_area(area_ids: list[int], start: date | None, end: date | None) -> dict[int, dict[str, int]]:
    qs = Rollup.objects.filter(area_id__in=area_ids, dim="all")
    if start:
        qs = qs.filter(day__gte=start)
    if end:
        qs = qs.filter(day__lt=end)
    return {r["area_id"]: _clean(r) for r in qs.values("area_id").annotate(**_sums()).order_by()}


def _add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {c: a.get(c, 0) + b.get(c, 0) for c in COUNTERS}


def _sum_days(by_day: dict[date, dict[str, int]], start: date, end: date) -> dict[str, int]:
    total = dict.fromkeys(COUNTERS, 0)
    for day, row in by_day.items():
        if start <= day < end:
            total = _add(total, row)
    return total


# --- links ---------------------------------------------------------------------------------------

def orders_href(*, area_code: str, metric: str, start: date | None = None, end: date | None = None,
                dim: str | None = None, key: str | None = None, area_override: str | None = None) -> str:
    """The list of the orders (or assignments) behind a number: /dashboard/orders/?…; ``end`` exclusive
    in the code, shown inclusive (``to``) in the address."""
    # The screen builds several hundred of these per call: the query string is joined by hand, quoting
    # only what is not already URL-safe, with the same result as urlencode() (test_orders_href_matches_urlencode).
    query = f"area={_quoted(area_override or area_code)}&metric={_quoted(metric)}"
    if metric not in STATE_METRICS:
        if start:
            query += f"&from={start.isoformat()}"
        if end:
            query += f"&to={(end - timedelta(days=1)).isoformat()}"
    if dim and dim != "all":
        query += f"&dim={_quoted(dim)}&key={_quoted(str(key))}"
    return f"{_orders_url()}?{query}"


_URL_SAFE = re.compile(r"[A-Za-z0-9_.~-]*")


def _quoted(value: str) -> str:
    return value if _URL_SAFE.fullmatch(value) else quote_plus(value)


@functools.cache
def _orders_url() -> str:
    return reverse("dashboard:orders")


def _number(value: int, href: str) -> dict[str, Any]:
    return {"value": value, "href": href}


def _rate_label(name: str) -> str:
    return str(RATE_LABELS[name])  # resolved in the active language on each call (cheap enough for ~10 names)


def _rate_block(name: str, counters: dict[str, int], prev: dict[str, int] | None, link: Any) -> dict[str, Any]:
    n, d = RATES[name]
    value = _rate(counters.get(n, 0), counters.get(d, 0))
    previous = _rate(prev.get(n, 0), prev.get(d, 0)) if prev is not None else None
    delta = round((value - previous) * 100, 1) if value is not None and previous is not None else None
    return {"key": name, "label": _rate_label(name), "value": value,
            "percent": None if value is None else round(value * 100, 1),
            "numerator": _number(counters.get(n, 0), link(n)), "denominator": _number(counters.get(d, 0), link(d)),
            "previous": None if previous is None else round(previous * 100, 1), "delta": delta,
            "href": link(n)}


# --- the screen ------------------------------------------------------------------------------------

def _labels(dim: str, keys: list[str]) -> dict[str, str]:
    if dim == "channel":
        from tongxin.workorders.choices import Channel

        names = {c.value: str(c.label) for c in Channel}
        return {k: names.get(k, k) for k in keys}
    if dim == "category":
        from tongxin.workorders.models import Category

        names = {str(pk): name for pk, name in Category.objects.filter(level=1).values_list("pk", "name")}
        return {k: names.get(k, _("未分类") if k == "0" else k) for k in keys}
    from tongxin.accounts.selectors import department_list

    names = {str(d.pk): d.name for d in department_list(active_only=False)}
    return {k: names.get(k, _("未派单") if k == "0" else k) for k in keys}


def breakdown(area: Any, dim: str, period: Period) -> list[dict[str, Any]] | None:
    """Rows of one dimension in the period, largest first (None below the town level)."""
    if area.path.count("/") - 2 > DIM_MAX_DEPTH:
        return None
    rows = rollup_by_key(area.pk, dim, period.start, period.end)
    labels = _labels(dim, list(rows))
    out = []
    for key, counters in rows.items():
        def link(metric: str, key: str = key) -> str:
            return orders_href(area_code=area.code, metric=metric, start=period.start, end=period.end, dim=dim, key=key)

        # The four rates the screen shows per row (the reports compute all six from the counters).
        blocks = {name: _rate_block(name, counters, None, link) for name in SCREEN_RATES}
        out.append({"key": key, "label": labels.get(key, key), "accepted": _number(counters["accepted"], link("accepted")),
                    "rates": blocks, "rate_list": [blocks[name] for name in SCREEN_RATES], "counters": counters})
    return sorted(out, key=lambda r: (-r["accepted"]["value"], r["label"]))


def children_map(area: Any, period: Period) -> list[dict[str, Any]]:
    """The child areas (the map's regions) with their volume in the period and their open and overdue
    orders now."""
    from tongxin.regions.models import Area

    children = list(Area.objects.filter(parent_id=area.pk).defer("boundary").order_by("code"))
    ids = [c.pk for c in children]
    in_period = rollup_by_area(ids, period.start, period.end)
    now_state = rollup_by_area(ids, None, None)
    rows = []
    for child in children:
        p = in_period.get(child.pk, dict.fromkeys(COUNTERS, 0))
        s = now_state.get(child.pk, dict.fromkeys(COUNTERS, 0))
        rows.append({
            "code": child.code, "name": child.name, "level": child.level,
            "accepted": _number(p["accepted"], orders_href(area_code=child.code, metric="accepted",
                                                            start=period.start, end=period.end)),
            "open": _number(s["open"], orders_href(area_code=child.code, metric="open")),
            "overdue": _number(s["overdue"], orders_href(area_code=child.code, metric="overdue")),
            "satisfaction_rate": _rate(p["satisfied"], p["called_back"]),
            "drill": child.level != "grid",
        })
    return rows


def live_feed(actor: Any, area: Any, limit: int = 12) -> list[dict[str, Any]]:
    """The newest requests of the area (no personal data: category, place, channel, status)."""
    from tongxin.workorders.selectors import WorkOrderFilters, work_order_list

    orders = work_order_list(actor=actor, filters=WorkOrderFilters(area_code=area.code)).only(
        "id", "number", "channel", "status", "accepted_at", "title", "category__name", "area__name",
        "lead_department__name")[:limit]
    return [{"id": o.pk, "number": o.number, "href": reverse("order_detail", args=[o.pk]),
             "at": timezone.localtime(o.accepted_at).strftime("%H:%M"),
             "date": timezone.localtime(o.accepted_at).strftime("%m-%d"),
             "category": o.category.name if o.category else _("未分类"), "area": o.area.name,
             "channel": o.get_channel_display(), "status": o.get_status_display()} for o in orders]


def mediation_gauges(actor: Any, area: Any, period: Period) -> list[dict[str, Any]] | None:
    """The four mediation targets (95/95/95/100) from the mediation app's selectors, when that app is
    installed; None otherwise (the screen shows 暂无数据)."""
    try:
        from tongxin.mediation.selectors import mediation_numbers
    except ImportError:
        return None
    from django.db import DatabaseError

    try:
        numbers = mediation_numbers(actor=actor, area_path=area.path, date_from=period.start,
                                    date_to=period.end - timedelta(days=1))
    except (DatabaseError, TypeError, AttributeError, LookupError):
        # The mediation app is being built alongside: a missing table or a changed signature must not
        # take the city screen down.
        return None
    targets = numbers.get("targets") or []
    if not any(t.get("denominator") for t in targets):
        return None
    last_day = period.end - timedelta(days=1)
    base = {"area_code": area.code, "date_from": f"{period.start:%Y-%m-%d}", "date_to": f"{last_day:%Y-%m-%d}"}

    def cases_url(target: str, met: bool | None = None) -> str:
        # The case list applies the same filters as the numbers (mediation.selectors.case_list).
        return "/mediation/?" + urlencode({**base, "target": target, **({"met": "yes"} if met else {})})

    return [{"key": t["key"], "label": t["label"], "rate": t["rate"],
             "percent": None if t["rate"] is None else round(t["rate"] * 100, 1),
             "goal": round(t["goal"] * 100), "met": t["met"], "numerator": t["numerator"],
             "denominator": t["denominator"], "numerator_url": cases_url(t["key"], met=True),
             "denominator_url": cases_url(t["key"])} for t in targets]


def screen_data(*, actor: Any, area: Any, period_kind: str = "month", now: datetime | None = None,
                trend_days: int = 30, with_feed: bool = True, with_mediation: bool = True) -> dict[str, Any]:
    """Everything on the screen for one area and period, from the rollups (plus the live feed and the
    mediation targets). A handful of indexed queries, whatever the number of orders."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    period = period_to_date(period_kind if period_kind in PERIODS else "month", today)
    trend_start = min(period.start, today - timedelta(days=trend_days - 1))
    first = min(trend_start, period.prev_start)
    by_day = rollup_by_day(area.pk, first, period.end)
    current = _sum_days(by_day, period.start, period.end)
    previous = _sum_days(by_day, period.prev_start, period.prev_end)
    today_row = by_day.get(today, dict.fromkeys(COUNTERS, 0))
    state = rollup_total(area.pk, None, None)

    def link_period(metric: str) -> str:
        return orders_href(area_code=area.code, metric=metric, start=period.start, end=period.end)

    def link_today(metric: str) -> str:
        return orders_href(area_code=area.code, metric=metric, start=today, end=today + timedelta(days=1))

    days = [trend_start + timedelta(days=i) for i in range((period.end - trend_start).days)]
    trend = {
        "days": [d.strftime("%m-%d") for d in days],
        "accepted": [by_day.get(d, {}).get("accepted", 0) for d in days],
        "replied": [by_day.get(d, {}).get("replied", 0) for d in days],
        "hrefs": [orders_href(area_code=area.code, metric="accepted", start=d, end=d + timedelta(days=1)) for d in days],
        **{name: [None if (r := rates(by_day.get(d, {}))[name]) is None else round(r * 100, 1) for d in days]
           for name in SCREEN_RATES},
    }
    cursor = RollupCursor.objects.filter(name="rollup").first()
    departments = breakdown(area, "department", period)
    return {
        "area": {"code": area.code, "name": area.name, "level": area.level},
        "period": {"kind": period.kind, "label": period.label, "prev_label": period.prev_label,
                   "start": period.start.isoformat(), "end": (period.end - timedelta(days=1)).isoformat(),
                   "prev_start": period.prev_start.isoformat(),
                   "prev_end": (period.prev_end - timedelta(days=1)).isoformat()},
        "today": {"accepted": _number(today_row["accepted"], link_today("accepted")),
                  "replied": _number(today_row["replied"], link_today("replied"))},
        "volume": {"accepted": _number(current["accepted"], link_period("accepted")),
                   "previous": _number(previous["accepted"], orders_href(
                       area_code=area.code, metric="accepted", start=period.prev_start, end=period.prev_end)),
                   "delta": (round((current["accepted"] - previous["accepted"]) / previous["accepted"] * 100, 1)
                             if previous["accepted"] else None)},
        "state": {"open": _number(state["open"], orders_href(area_code=area.code, metric="open")),
                  "overdue": _number(state["overdue"], orders_href(area_code=area.code, metric="overdue"))},
        "rates": [_rate_block(name, current, previous, link_period) for name in SCREEN_RATES],
        "trend": trend,
        "channels": breakdown(area, "channel", period),
        "categories": breakdown(area, "category", period),
        "departments": departments,
        "map": {"children": children_map(area, period), "geo": f"{reverse('dashboard:geo')}?area={area.code}"},
        "mediation": mediation_gauges(actor, area, period) if with_mediation else None,
        "feed": live_feed(actor, area) if with_feed else [],
        "freshness": {"clock": timezone.localtime(cursor.clock).strftime("%Y-%m-%d %H:%M") if cursor and cursor.clock else None},
    }


def chart_payload(data: dict[str, Any]) -> dict[str, Any]:
    """The subset of ``screen_data`` the charts draw (for json_script)."""
    def rows(items: list[dict[str, Any]] | None, limit: int = 12) -> list[dict[str, Any]]:
        return [{"name": r["label"], "value": r["accepted"]["value"], "href": r["accepted"]["href"]}
                for r in (items or [])[:limit]]

    departments = [{"name": r["label"], "accepted": r["accepted"]["value"],
                    "satisfaction": r["rates"]["satisfaction_rate"]["percent"],
                    "on_time": r["rates"]["on_time_rate"]["percent"], "href": r["accepted"]["href"]}
                   for r in (data["departments"] or [])[:10]]
    return {
        "trend": data["trend"], "channels": rows(data["channels"]), "categories": rows(data["categories"]),
        "departments": departments,
        "map": {"geo": data["map"]["geo"], "area": data["area"]["name"],
                "regions": [{"name": c["name"], "code": c["code"], "accepted": c["accepted"]["value"],
                             "overdue": c["overdue"]["value"], "drill": c["drill"],
                             "href": c["accepted"]["href"]} for c in data["map"]["children"]]},
        "mediation": data["mediation"],
        "rates": [{"key": r["key"], "label": r["label"], "percent": r["percent"]} for r in data["rates"]],
    }


# --- the sets behind the numbers ------------------------------------------------------------------

ORDER_METRICS = frozenset(ORDER_COUNTERS)
ASSIGNMENT_METRICS = frozenset(ASSIGNMENT_COUNTERS)


def _order_metric_q(metric: str, now: datetime) -> Q:
    from tongxin.workorders.choices import WITH_DEPARTMENT, Satisfaction, Status

    replied = Q(replied_at__isnull=False)
    return {
        "accepted": Q(),
        "replied": replied,
        "replied_timed": replied & Q(due_at__isnull=False),
        "replied_on_time": replied & Q(due_at__isnull=False, replied_at__lte=F("due_at")),
        "called_back": ~Q(satisfaction=""),
        "satisfied": Q(satisfaction__in=[Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED]),
        "repeat": Q(is_repeat=True),
        "open": ~Q(status=Status.CLOSED),
        "overdue": Q(status__in=list(WITH_DEPARTMENT), due_at__lt=now),
    }[metric]


def metric_set(*, actor: Any, area: Any, metric: str, start: date | None, end: date | None,
               dim: str | None = None, key: str | None = None, now: datetime | None = None) -> tuple[str, QuerySet[Any]]:
    """The orders (``"orders"``) or lead assignments (``"assignments"``) a number counts: the same
    definitions as the rollups, over the orders the actor may see. ``end`` exclusive."""
    from tongxin.workorders.choices import NOT_COUNTED, AssignmentRole
    from tongxin.workorders.models import Category, WorkOrderAssignment
    from tongxin.workorders.selectors import WorkOrderFilters, work_order_list

    now = now or timezone.now()
    if metric not in ORDER_METRICS | ASSIGNMENT_METRICS:
        raise ValueError(metric)
    dated = metric not in STATE_METRICS
    filters = WorkOrderFilters(area_code=area.code)
    if dim == "channel" and key:
        filters.channel = key
    category_none = department_none = False
    if dim == "category" and key is not None:
        if key == "0":
            category_none = True
        else:
            category = Category.objects.filter(pk=int(key)).only("code").first() if key.isdigit() else None
            filters.category_code = category.code if category else "__none__"
    if metric in ORDER_METRICS:
        if dim == "department" and key is not None:
            if key == "0":
                department_none = True
            elif key.isdigit():
                filters.lead_department_id = int(key)
        if dated and start:
            filters.accepted_from = local_midnight(start)
        if dated and end:
            filters.accepted_to = local_midnight(end)
        qs = work_order_list(actor=actor, filters=filters).exclude(status__in=list(NOT_COUNTED))
        if category_none:
            qs = qs.filter(category__isnull=True)
        if department_none:
            qs = qs.filter(lead_department__isnull=True)
        return "orders", qs.filter(_order_metric_q(metric, now))
    orders = work_order_list(actor=actor, filters=filters).exclude(status__in=list(NOT_COUNTED))
    if category_none:
        orders = orders.filter(category__isnull=True)
    assignments = WorkOrderAssignment.objects.filter(role=AssignmentRole.LEAD, order__in=orders.values("pk"))
    if start:
        assignments = assignments.filter(assigned_at__gte=local_midnight(start))
    if end:
        assignments = assignments.filter(assigned_at__lt=local_midnight(end))
    if dim == "department" and key is not None and key.isdigit():
        assignments = assignments.filter(department_id=int(key))
    signed = Q(signed_at__isnull=False)
    lapsed = Q(signed_at__isnull=True, sign_due_at__lt=now) & ~Q(returned_at__lt=F("sign_due_at"))
    q = {"assignments": Q(), "returned": Q(returned_at__isnull=False), "sign_decided": signed | lapsed,
         "signed_on_time": signed & Q(signed_at__lte=F("sign_due_at"))}[metric]
    return "assignments", (assignments.filter(q).select_related("order", "department", "order__category", "order__area")
                           .order_by("-assigned_at", "-id"))
