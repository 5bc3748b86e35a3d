"""Seeding the working calendar from the ``chinesecalendar`` package.

The package ships the State Council's holiday schedules as data (``chinese_calendar.constants``), so a
new installation starts with every year the package knows instead of a calendar that warns on day one.
Years published after the package release are entered in the admin (docs/calendar.md).
"""

from __future__ import annotations

from datetime import date
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from django.db import transaction

from .audit import audit_record
from .choices import AuditEventType, CalendarDayKind
from .models import CalendarDay, CalendarYear, WorkingPeriod
from .workcalendar import DEFAULT_PERIODS, invalidate_calendar_cache

# chinesecalendar stores English names (its Holiday enum values); staff read Chinese. The package's own
# Chinese labels are abbreviated ("清明", "端午"), so we keep the usual full names here.
HOLIDAY_NAMES_ZH: dict[str, str] = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


def chinesecalendar_source() -> str:
    """The ``source`` recorded on each seeded year, e.g. "chinesecalendar 1.11.0"."""
    try:
        return f"chinesecalendar {version('chinesecalendar')}"
    except PackageNotFoundError:  # pragma: no cover - vendored copy without metadata
        return "chinesecalendar"


def holiday_name_zh(english: str) -> str:
    """The Chinese name of a chinesecalendar holiday, falling back to the package's own label."""
    if english in HOLIDAY_NAMES_ZH:
        return HOLIDAY_NAMES_ZH[english]
    from chinese_calendar.constants import Holiday

    try:
        return str(Holiday(english).chinese)
    except ValueError:
        return english


def chinesecalendar_years() -> list[int]:
    """The years whose schedule the installed chinesecalendar knows (2004–2026 for 1.11.0)."""
    from chinese_calendar import constants

    return sorted({day.year for day in constants.holidays} | {day.year for day in constants.workdays})


def chinesecalendar_exceptions(years: list[int]) -> dict[date, tuple[str, str]]:
    """``{date: (kind, Chinese name)}`` for the given years: weekday holidays and makeup workdays.

    Weekend holidays are left out: the weekly rule already makes them days off, and the model stores
    only exceptions to that rule.
    """
    from chinese_calendar import constants

    wanted = set(years)
    result: dict[date, tuple[str, str]] = {}
    for day, english in constants.holidays.items():
        if day.year in wanted and day.weekday() < 5:
            result[day] = (CalendarDayKind.HOLIDAY.value, holiday_name_zh(english))
    for day, english in constants.workdays.items():
        if day.year in wanted and day.weekday() >= 5:
            result[day] = (CalendarDayKind.WORKDAY.value, holiday_name_zh(english))
    return result


@transaction.atomic
def calendar_seed_from_chinesecalendar(*, years: list[int] | None = None, actor: Any = None) -> dict[str, Any]:
    """Write the package's holidays and makeup workdays (all its years, or ``years``) to the database.

    Idempotent: rows already equal are left alone, rows that differ are updated, rows for dates the
    package does not list (a locally declared day) are never deleted. Default working periods are created
    only when none exist, so a local schedule is never overwritten. One audit event records the run.
    Raises ``ValueError`` naming any requested year the package does not know, before writing anything.
    """
    available = chinesecalendar_years()
    if years is None:
        years = available
    years = sorted(set(years))
    missing = [year for year in years if year not in available]
    if missing:
        raise ValueError(
            f"chinesecalendar 不包含 {'、'.join(map(str, missing))} 年的节假日安排"
            f"（已知 {available[0]}–{available[-1]} 年），请在管理后台手工录入"
        )
    source = chinesecalendar_source()
    counts = dict.fromkeys(
        ("days_created", "days_updated", "days_unchanged", "years_created", "years_updated", "years_unchanged",
         "periods_created"),
        0,
    )

    wanted = chinesecalendar_exceptions(years)
    existing = {row.date: row for row in CalendarDay.objects.filter(date__in=list(wanted))}
    for day, (kind, name) in sorted(wanted.items()):
        row = existing.get(day)
        if row is None:
            CalendarDay.objects.create(date=day, kind=kind, name=name)
            counts["days_created"] += 1
        elif row.kind != kind or row.name != name:
            row.kind, row.name = kind, name
            row.save(update_fields=["kind", "name"])
            counts["days_updated"] += 1
        else:
            counts["days_unchanged"] += 1

    known = {row.year: row for row in CalendarYear.objects.filter(year__in=years)}
    for year in years:
        entry = known.get(year)
        if entry is None:
            CalendarYear.objects.create(year=year, source=source)
            counts["years_created"] += 1
        elif entry.source != source:
            # Keep ``entered_at``: it records when the year first became known, which is what people ask.
            entry.source = source
            entry.save(update_fields=["source"])
            counts["years_updated"] += 1
        else:
            counts["years_unchanged"] += 1

    if not WorkingPeriod.objects.exists():
        for start, end in DEFAULT_PERIODS:
            WorkingPeriod.objects.create(start=start, end=end)
            counts["periods_created"] += 1

    audit_record(
        actor=actor,
        event_type=AuditEventType.CALENDAR_CHANGED,
        object_type="core.calendar",
        object_id="seed",
        data={"action": "seed", "source": source, "years": years, **counts},
    )
    transaction.on_commit(invalidate_calendar_cache)
    return {"years": years, "source": source, **counts}
