"""Daily, weekly and monthly reports per area (and per department) from the rollups: an Excel workbook
(openpyxl) with the KPI definitions on a sheet of their own, a printable page, and the periodic job that
writes the city's and each district's reports to VAR_DIR/reports/<area code>/<kind>-<start>.xlsx."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import COUNTERS
from .rollups import DIM_MAX_DEPTH
from .selectors import (
    RATE_LABELS,
    RATES,
    Period,
    _labels,
    period_whole,
    rates,
    rollup_by_area,
    rollup_by_day,
    rollup_by_key,
    rollup_total,
)

KINDS = ("daily", "weekly", "monthly")
KIND_LABELS = {"daily": gettext_lazy("日报"), "weekly": gettext_lazy("周报"), "monthly": gettext_lazy("月报")}
COUNTER_LABELS = {
    "accepted": gettext_lazy("受理量"), "replied": gettext_lazy("办结量"), "replied_timed": gettext_lazy("有时限办结量"),
    "replied_on_time": gettext_lazy("按时办结量"), "called_back": gettext_lazy("回访量"),
    "satisfied": gettext_lazy("满意量"), "repeat": gettext_lazy("重复诉求量"), "open": gettext_lazy("未办结（当前）"),
    "overdue": gettext_lazy("超期（当前）"), "assignments": gettext_lazy("主办派单数"), "returned": gettext_lazy("退单数"),
    "sign_decided": gettext_lazy("应签收数"), "signed_on_time": gettext_lazy("按时签收数"),
}
TABLE_COUNTERS = ("accepted", "replied", "replied_on_time", "called_back", "satisfied", "assignments", "returned")
TABLE_RATES = ("sign_on_time_rate", "on_time_rate", "completion_rate", "satisfaction_rate", "return_rate", "repeat_rate")


def definitions() -> list[dict[str, str]]:
    """The KPI definitions, read from workorders.selectors (their single source), then the dashboard's."""
    import tongxin.workorders.selectors as source

    text = source.__doc__ or ""
    out = [{"key": m.group(1), "label": m.group(2), "text": " ".join(m.group(3).split())}
           for m in re.finditer(r"^- (\w+) \(([^)]+)\): (.*?)(?=^- |\Z)", text, flags=re.S | re.M)]
    out += [
        {"key": "accepted", "label": str(_("受理量")), "text": str(_(
            "按受理时间（本地日期）计入的诉求数，不含并单、撤单、无效和转110的工单。"))},
        {"key": "open", "label": str(_("未办结（当前）")), "text": str(_(
            "统计时点尚未办结（回访结束）的诉求，不按日期筛选。"))},
        {"key": "overdue", "label": str(_("超期（当前）")), "text": str(_(
            "统计时点在承办单位手中（已派单待签收或办理中）且已过办结时限的诉求。"))},
        {"key": "days", "label": str(_("计数日期")), "text": str(_(
            "工单类指标按受理日计数，派单类指标（及时签收率、退单率）按派单日计数；日期均为本地时间"
            "（TIME_ZONE）。数据每分钟从工单流转记录增量汇总，每晚全量重算核对。"))},
    ]
    return out


def _row(label: str, counters: dict[str, int]) -> dict[str, Any]:
    r = rates(counters)
    return {"label": label, "counters": counters, "rates": r,
            "percents": {k: None if v is None else round(v * 100, 1) for k, v in r.items()}}


def report_data(*, area: Any, kind: str, day: date, department_id: int | None = None) -> dict[str, Any]:
    """The numbers of one report: the period containing ``day`` and the one before, for the area (or one
    department within it), with breakdowns by child area, department, category, channel and day."""
    from tongxin.regions.models import Area

    period: Period = period_whole(kind, day)
    dim, key = ("department", str(department_id)) if department_id else ("all", "")
    department_name = ""
    if department_id:
        department_name = _labels("department", [key]).get(key, key)
        if area.path.count("/") - 2 > DIM_MAX_DEPTH:
            dim, key = "all", ""  # below the town level only totals are kept (docs/dashboard.md)
    current = rollup_total(area.pk, period.start, period.end, dim=dim, key=key)
    previous = rollup_total(area.pk, period.prev_start, period.prev_end, dim=dim, key=key)
    by_day = rollup_by_day(area.pk, period.start, period.end, dim=dim, key=key)
    days = [period.start + timedelta(days=i) for i in range(period.days)]
    data: dict[str, Any] = {
        "area": {"code": area.code, "name": area.name}, "kind": kind, "kind_label": str(KIND_LABELS[kind]),
        "department": department_name, "department_id": department_id,
        "start": period.start, "end": period.end - timedelta(days=1),
        "prev_start": period.prev_start, "prev_end": period.prev_end - timedelta(days=1),
        "generated_at": timezone.localtime(), "summary": [_row(str(_("本期")), current), _row(str(_("上期")), previous)],
        "by_day": [_row(d.isoformat(), by_day.get(d, dict.fromkeys(COUNTERS, 0))) for d in days],
        "by_area": [], "by_department": [], "by_category": [], "by_channel": [],
    }
    if not department_id:
        children = list(Area.objects.filter(parent_id=area.pk).defer("boundary").order_by("code"))
        sums = rollup_by_area([c.pk for c in children], period.start, period.end)
        data["by_area"] = [_row(c.name, sums.get(c.pk, dict.fromkeys(COUNTERS, 0))) for c in children]
        if area.path.count("/") - 2 <= DIM_MAX_DEPTH:
            for dim_name, target in (("department", "by_department"), ("category", "by_category"),
                                     ("channel", "by_channel")):
                rows = rollup_by_key(area.pk, dim_name, period.start, period.end)
                labels = _labels(dim_name, list(rows))
                data[target] = sorted((_row(labels.get(k, k), v) for k, v in rows.items()),
                                      key=lambda r: -r["counters"]["accepted"])
    dates = f"{data['start']:%Y-%m-%d}"
    if period.days > 1:
        dates = _("%(start)s 至 %(end)s") % {"start": dates, "end": f"{data['end']:%Y-%m-%d}"}
    data["title"] = _("%(area)s%(department)s 12345诉求办理%(kind)s（%(dates)s）") % {
        "area": area.name, "department": department_name and " · " + department_name,
        "kind": data["kind_label"], "dates": dates}
    return data


def file_name(data: dict[str, Any]) -> str:
    suffix = f"-d{data['department_id']}" if data.get("department_id") else ""
    return f"{data['area']['code']}{suffix}-{data['kind']}-{data['start']:%Y-%m-%d}.xlsx"


def workbook(data: dict[str, Any]) -> Any:
    """The report as an openpyxl workbook: 概要, 每日, 分区域, 分承办单位, 分类别, 分渠道, 指标定义."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    book = Workbook()
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDE6F0")
    columns = [str(COUNTER_LABELS[c]) for c in TABLE_COUNTERS] + [str(RATE_LABELS[r]) for r in TABLE_RATES]

    def table(sheet: Any, first: str, rows: list[dict[str, Any]], start_row: int = 1) -> None:
        sheet.append([first, *columns])
        for cell in sheet[start_row]:
            cell.font, cell.fill = bold, head_fill
        for row in rows:
            sheet.append([row["label"], *[row["counters"][c] for c in TABLE_COUNTERS],
                          *[row["rates"][r] for r in TABLE_RATES]])
        for r in sheet.iter_rows(min_row=start_row + 1, min_col=len(TABLE_COUNTERS) + 2):
            for cell in r:
                cell.number_format = "0.0%"
        sheet.column_dimensions["A"].width = 24
        sheet.freeze_panes = sheet.cell(row=start_row + 1, column=2)

    summary = book.active
    summary.title = _("概要")
    summary.append([data["title"]])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append([_("本期：%(start)s 至 %(end)s；上期：%(prev_start)s 至 %(prev_end)s；生成时间：%(generated_at)s；"
                      "指标口径见「指标定义」") % {
        "start": f"{data['start']:%Y-%m-%d}", "end": f"{data['end']:%Y-%m-%d}",
        "prev_start": f"{data['prev_start']:%Y-%m-%d}", "prev_end": f"{data['prev_end']:%Y-%m-%d}",
        "generated_at": f"{data['generated_at']:%Y-%m-%d %H:%M}"}])
    summary.append([])
    table(summary, "", data["summary"], start_row=4)
    for title, key, first in ((_("每日"), "by_day", _("日期")), (_("分区域"), "by_area", _("区域")),
                              (_("分承办单位"), "by_department", _("承办单位")), (_("分类别"), "by_category", _("一级分类")),
                              (_("分渠道"), "by_channel", _("渠道"))):
        if key != "by_day" and not data[key]:
            continue
        table(book.create_sheet(title), first, data[key])
    sheet = book.create_sheet(_("指标定义"))
    sheet.append([_("指标"), _("代码"), _("定义")])
    for cell in sheet[1]:
        cell.font, cell.fill = bold, head_fill
    for d in definitions():
        sheet.append([d["label"], d["key"], d["text"]])
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = 20
    sheet.column_dimensions["C"].width = 100
    for row in sheet.iter_rows(min_row=2):
        row[2].alignment = Alignment(wrap_text=True, vertical="top")
    return book


def workbook_bytes(data: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    workbook(data).save(buffer)
    return buffer.getvalue()


def reports_dir() -> Path:
    return Path(settings.VAR_DIR) / "reports"


def report_files(area: Any) -> list[dict[str, Any]]:
    """Generated reports of the area and the areas below it, newest first."""
    from tongxin.regions.models import Area

    root = reports_dir()
    if not root.is_dir():
        return []
    codes = {d.name for d in root.iterdir() if d.is_dir()}
    areas = {a.code: a for a in Area.objects.filter(code__in=codes, path__startswith=area.path).defer("boundary")}
    files = []
    for code, a in areas.items():
        for path in (root / code).glob("*.xlsx"):
            kind, _sep, rest = path.stem.partition("-")
            files.append({"area": a.name, "code": code, "name": path.name, "kind": str(KIND_LABELS.get(kind, kind)),
                          "start": rest, "size": path.stat().st_size})
    return sorted(files, key=lambda f: (f["start"], f["code"]), reverse=True)


def due_reports(today: date) -> list[tuple[str, date]]:
    """The reports the job writes on ``today``: yesterday's daily; last week's on Mondays; last month's
    on the 1st."""
    due = [("daily", today - timedelta(days=1))]
    if today.weekday() == 0:
        due.append(("weekly", today - timedelta(days=7)))
    if today.day == 1:
        due.append(("monthly", (today - timedelta(days=1)).replace(day=1)))
    return due


def reports_generate(*, today: date | None = None, kinds: list[tuple[str, date]] | None = None) -> list[Path]:
    """Write the due reports of the city and of each district (idempotent: same names, rewritten)."""
    from tongxin.regions.models import Area
    from tongxin.regions.selectors import area_root

    today = today or timezone.localdate()
    root = area_root()
    if root is None:
        return []
    areas = [root, *Area.objects.filter(parent_id=root.pk).defer("boundary").order_by("code")]
    written = []
    for kind, day in kinds or due_reports(today):
        for area in areas:
            data = report_data(area=area, kind=kind, day=day)
            directory = reports_dir() / area.code
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"{kind}-{data['start']:%Y-%m-%d}.xlsx"
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(workbook_bytes(data))
            tmp.replace(path)  # atomic: a download never sees half a file
            written.append(path)
    return written


__all__ = ["KINDS", "RATES", "definitions", "report_data", "reports_generate", "workbook"]
