"""我的数据: today's and this month's volume and KPIs, for the user's department (a handler) or the
centre (dispatcher, supervisor, leader: their areas), with this month's daily volume as a chart
(ECharts, served from static/vendor). Every figure comes from ``kpi_summary`` (the single definition
of each KPI) and ``order_volume_by_day``, scoped to the user."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from tongxin.accounts.choices import Role
from tongxin.accounts.models import Department
from tongxin.accounts.selectors import actor_scope
from tongxin.workorders.queues import handler_department_ids, order_volume_by_day
from tongxin.workorders.selectors import kpi_summary

NUMBERS_ROLES = frozenset({Role.DISPATCHER, Role.SUPERVISOR, Role.LEADER})
KPI_LABELS = [
    ("sign_on_time_rate", gettext_lazy("及时签收率")), ("on_time_rate", gettext_lazy("按时办结率")),
    ("completion_rate", gettext_lazy("办结率")), ("satisfaction_rate", gettext_lazy("满意率")),
    ("return_rate", gettext_lazy("退单率")), ("repeat_rate", gettext_lazy("重复诉求率")),
]


def _period(row: dict[str, Any]) -> dict[str, Any]:
    kpis = [{"key": k, "label": label, "value": None if row[k] is None else round(row[k] * 100, 1)}
            for k, label in KPI_LABELS]
    return {"accepted": row["accepted"], "replied": row["replied"], "called_back": row["called_back"], "kpis": kpis}


@login_required
@require_GET
def numbers_page(request: HttpRequest) -> HttpResponse:
    scope = actor_scope(request.user)
    centre = scope.is_admin or any(scope.area_roles.get(r) for r in NUMBERS_ROLES)
    departments = handler_department_ids(request.user)
    if not centre and not departments:
        raise Http404(_("没有可查看的数据"))
    department_id: int | None = None
    if not centre:
        try:
            department_id = int(request.GET.get("department", departments[0]))
        except (TypeError, ValueError):
            department_id = departments[0]
        if department_id not in departments:
            raise Http404(_("没有可查看的数据"))
    now = timezone.localtime()
    today = timezone.make_aware(datetime.combine(now.date(), time.min))
    month = today.replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    kw: dict[str, Any] = {"actor": request.user, "department_id": department_id}
    today_row = kpi_summary(start=today, end=today + timedelta(days=1), **kw)[0]
    month_row = kpi_summary(start=month, end=next_month, **kw)[0]
    by_department = (kpi_summary(actor=request.user, start=month, end=next_month, group_by="department")
                     if centre else [])
    volume = dict(order_volume_by_day(actor=request.user, start=month, end=next_month, department_id=department_id))
    days = [(month + timedelta(days=i)).date() for i in range((next_month - month).days)]
    chart = {"days": [d.strftime("%m-%d") for d in days], "counts": [volume.get(d, 0) for d in days],
             "title": str(_("本月每日受理量"))}
    names = dict(Department.objects.filter(pk__in=departments).values_list("pk", "name")) if not centre else {}
    return render(request, "web/numbers/page.html", {
        "nav": "numbers", "centre": centre, "scope_label": names.get(department_id, "") if department_id is not None else _("本辖区"),
        "departments": [(pk, names.get(pk, pk)) for pk in departments] if not centre else [],
        "department_id": department_id, "today": _period(today_row), "month": _period(month_row),
        "by_department": [{**row, **_period(row)} for row in by_department],
        "chart": chart, "month_label": now.strftime("%Y-%m"),
    })
