"""The working calendar and deadline arithmetic.

Time limits on the 12345 hotline are counted in *working* time: the clock runs only inside the working
periods (by default 08:30–12:00 and 14:30–18:00) of working days. A working day is a weekday that is not a
statutory holiday, or a weekend day declared a makeup workday (调休). The State Council publishes each
year's schedule in November or December of the year before, so the calendar lives in the database
(``CalendarDay``, ``CalendarYear``, ``WorkingPeriod``) and is loaded once per process by
:func:`load_calendar`.

The arithmetic itself is pure and has no Django import at module level, so it can be used by the
benchmark, by migrations-free scripts and by property tests. It is also hot: the SLA sweep and every
list page compute deadlines and remaining time for many orders, so each :class:`WorkCalendar` builds,
once and lazily, a table of how many working days precede each day from 1990 to 2100. A call then
costs a constant number of integer operations: position of the start on a "working-time axis",
plus the duration, mapped back to a date and time.

All arithmetic is done on local wall-clock time in ``calendar.tz`` (Asia/Shanghai has had no daylight
saving time since 1991, so wall-clock and elapsed time agree).
"""

from __future__ import annotations

import logging
import threading
import time as _time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from .choices import LimitUnit

logger = logging.getLogger("tongxin.calendar")

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_PERIODS: tuple[tuple[time, time], ...] = ((time(8, 30), time(12, 0)), (time(14, 30), time(18, 0)))

# The range covered by the precomputed table. Deadlines are at most weeks away; 1990 leaves room for
# imported historical orders, 2100 for anything a person could type.
RANGE_START = date(1990, 1, 1)
RANGE_END = date(2100, 12, 31)

_US_PER_SECOND = 1_000_000
_US_PER_DAY = 86_400 * _US_PER_SECOND


def _time_to_us(value: time) -> int:
    return ((value.hour * 60 + value.minute) * 60 + value.second) * _US_PER_SECOND + value.microsecond


def _timedelta_to_us(value: timedelta) -> int:
    return (value.days * 86_400 + value.seconds) * _US_PER_SECOND + value.microseconds


class _Tables:
    """The precomputed working-time axis of one calendar.

    Every working day contributes ``day_us`` microseconds to the axis, so a position is
    ``working_days_before[day] * day_us + offset within the day``; mapping a position back needs only a
    ``divmod`` and a lookup in ``working_midnights`` (no bisection, no loop over days).
    """

    __slots__ = ("base", "day_us", "n_days", "spans", "tz", "working_days_before", "working_midnights", "working_ordinals")

    def __init__(self, calendar: WorkCalendar) -> None:
        self.base = RANGE_START.toordinal()
        self.n_days = RANGE_END.toordinal() - self.base + 1
        # (start, end, working time before this span on the same day), all in microseconds.
        spans: list[tuple[int, int, int]] = []
        before = 0
        for start, end in calendar.periods:
            s, e = _time_to_us(start), _time_to_us(end)
            spans.append((s, e, before))
            before += e - s
        self.spans = tuple(spans)
        self.day_us = before
        # Weekdays from ordinals ((ordinal - 1) % 7 is Monday=0 … Sunday=6) and sets of ordinals keep the
        # build to a few milliseconds: every changed calendar (and every test calendar) builds its own.
        holidays = {day.toordinal() for day in calendar.holidays}
        workdays = {day.toordinal() for day in calendar.workdays}
        before_list = [0] * (self.n_days + 1)
        working_ordinals: list[int] = []
        count = 0
        for index, ordinal in enumerate(range(self.base, self.base + self.n_days)):
            before_list[index] = count
            if ordinal in workdays or ((ordinal - 1) % 7 < 5 and ordinal not in holidays):
                working_ordinals.append(ordinal)
                count += 1
        before_list[self.n_days] = count
        self.working_days_before = before_list
        self.working_ordinals = working_ordinals
        # Aware midnights of working days, created on first use (most are never needed).
        self.working_midnights: list[datetime | None] = [None] * count
        self.tz = calendar.tz

    def midnight(self, k: int) -> datetime:
        """The local midnight starting the ``k``-th working day of the range."""
        day = date.fromordinal(self.working_ordinals[k])
        value = datetime(day.year, day.month, day.day, tzinfo=self.tz)
        self.working_midnights[k] = value
        return value


@dataclass(frozen=True)
class WorkCalendar:
    """Which days are working days and which hours of them count.

    ``holidays`` are statutory holidays (weekday ones matter; weekend ones are harmless), ``workdays`` are
    makeup workdays (调休) on weekends, ``periods`` the working spans of every working day. A year not in
    ``known_years`` has had no schedule entered: it follows the weekly rule (plus whatever rows have been
    entered for it so far), and :meth:`is_known` says so, so that callers can warn.

    Instances are immutable and can be shared between threads; the lookup table is built on first use.
    """

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    periods: tuple[tuple[time, time], ...] = DEFAULT_PERIODS
    known_years: frozenset[int] = frozenset()
    tz: ZoneInfo = SHANGHAI
    _tables: _Tables | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Accept any iterable from callers (sets, lists, query results) but store immutable values, so
        # that the instance stays hashable and the table built from it can never go stale.
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        object.__setattr__(self, "known_years", frozenset(self.known_years))
        periods = tuple(sorted((start, end) for start, end in self.periods))
        if not periods:
            raise ValueError("a working calendar needs at least one working period")
        previous_end: time | None = None
        for start, end in periods:
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("working periods are local wall-clock times without tzinfo")
            if not start < end:
                raise ValueError(f"working period {start}–{end} must end after it starts")
            if previous_end is not None and start < previous_end:
                raise ValueError(f"working period starting {start} overlaps the previous one")
            previous_end = end
        object.__setattr__(self, "periods", periods)

    # --- the rules ------------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        """A makeup workday, or a Monday–Friday that is not a holiday."""
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def is_known(self, year: int) -> bool:
        """Whether the year's holidays and makeup workdays have been entered."""
        return year in self.known_years

    @property
    def daily_working_time(self) -> timedelta:
        """The length of one working day (7 hours with the default periods)."""
        return timedelta(microseconds=sum(_time_to_us(end) - _time_to_us(start) for start, end in self.periods))

    def is_working_time(self, moment: datetime) -> bool:
        """Whether ``moment`` lies in a working period of a working day, ends included (12:00 is the
        moment a morning deadline falls due, so it counts as inside)."""
        local = _to_local(moment, self.tz)
        if not self.is_working_day(local.date()):
            return False
        wall = local.time().replace(tzinfo=None)
        return any(start <= wall <= end for start, end in self.periods)

    # --- the table ------------------------------------------------------------------------------

    def _get_tables(self) -> _Tables:
        tables = self._tables
        if tables is None:
            # Two threads may build it at once; both results are identical, so the race is harmless.
            tables = _Tables(self)
            object.__setattr__(self, "_tables", tables)
        return tables

    def _position(self, local: datetime, tables: _Tables) -> int:
        """Microseconds of working time from RANGE_START to ``local`` (already in ``self.tz``)."""
        index = local.toordinal() - tables.base
        if not 0 <= index < tables.n_days:
            raise ValueError(f"{local:%Y-%m-%d} is outside the supported range {RANGE_START}..{RANGE_END}")
        before = tables.working_days_before
        done_days = before[index]
        position = done_days * tables.day_us
        if before[index + 1] == done_days:  # not a working day: the axis stands still all day
            return position
        tod = ((local.hour * 60 + local.minute) * 60 + local.second) * _US_PER_SECOND + local.microsecond
        for start, end, earlier in tables.spans:
            if tod < end:
                return position + earlier + (tod - start if tod > start else 0)
        return position + tables.day_us


def _to_local(moment: datetime, tz: ZoneInfo) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")
    if moment.tzinfo is tz:
        return moment
    return moment.astimezone(tz)


# --- deadline arithmetic --------------------------------------------------------------------------


def add_working_time(start: datetime, duration: timedelta, calendar: WorkCalendar) -> datetime:
    """The moment at which ``duration`` of working time has elapsed since ``start``.

    The clock runs only inside working periods of working days; a start outside working time begins
    counting at the next working moment. A result that lands exactly on the end of a period is that end
    (12:00, not 14:30): the deadline falls due when the morning's time runs out, not after lunch.
    A zero duration returns ``start`` itself (converted to ``calendar.tz``). Negative durations are refused:
    nothing in the hotline counts working time backwards, and a silent answer would hide a bug.
    """
    local = _to_local(start, calendar.tz)
    if duration.days < 0:
        raise ValueError("duration must not be negative")
    if not duration:
        return local
    tables = calendar._tables or calendar._get_tables()
    day_us = tables.day_us
    target = calendar._position(local, tables) + _timedelta_to_us(duration)
    # The result is the *first* instant at which the axis reaches ``target``: remainders run 1..day_us,
    # so a target that is an exact multiple of a day ends on the previous working day at 18:00.
    k, remainder = divmod(target - 1, day_us)
    remainder += 1
    midnights = tables.working_midnights
    if k >= len(midnights):
        raise ValueError(f"the deadline falls after {RANGE_END}, outside the supported range")
    midnight = midnights[k] or tables.midnight(k)
    for span_start, span_end, earlier in tables.spans:
        if remainder <= earlier + span_end - span_start:
            return midnight + timedelta(microseconds=span_start + remainder - earlier)
    raise AssertionError("unreachable: remainder is at most one working day")  # pragma: no cover


def add_working_days(start: datetime, days: int, calendar: WorkCalendar) -> datetime:
    """``days`` working days after ``start``: the same time of day ``days`` working days later when the
    start is inside working time (a working day is counted as the daily working duration, 7 hours by
    default, so the count does not depend on whether the order arrived in the morning or afternoon)."""
    return add_working_time(start, calendar.daily_working_time * days, calendar)


def deadline_after(start: datetime, value: float, unit: LimitUnit | str, calendar: WorkCalendar) -> datetime:
    """The deadline for a limit of ``value`` in ``unit`` (a ``LimitUnit``) starting at ``start``.

    Working hours and days follow the calendar; natural hours are plain elapsed time (used for urgent
    matters, e.g. a 2-hour response to a water outage, which does not wait for Monday).
    """
    unit_value = getattr(unit, "value", unit)
    if unit_value == "working_hours":
        return add_working_time(start, timedelta(hours=value), calendar)
    if unit_value == "working_days":
        # A fractional day (0.5 工作日) is honoured as that fraction of the daily working duration.
        return add_working_time(start, calendar.daily_working_time * value, calendar)
    if unit_value == "natural_hours":
        local = _to_local(start, calendar.tz)
        if value < 0:
            raise ValueError("duration must not be negative")
        # Elapsed time, not wall-clock time: add in UTC so that a zone with DST would still be right.
        return (local.astimezone(UTC) + timedelta(hours=value)).astimezone(calendar.tz)
    raise ValueError(f"unknown limit unit: {unit!r}")


def working_time_between(a: datetime, b: datetime, calendar: WorkCalendar) -> timedelta:
    """Working time elapsed from ``a`` to ``b`` (negative when ``b`` is before ``a``).

    Used for KPIs (how long did handling take, in working hours) and for yellow warnings (how much of
    the limit is left). Consistent with :func:`add_working_time`:
    ``working_time_between(s, add_working_time(s, d, c), c) == d`` for every ``d >= 0``.
    """
    tables = calendar._tables or calendar._get_tables()
    local_a = _to_local(a, calendar.tz)
    local_b = _to_local(b, calendar.tz)
    return timedelta(microseconds=calendar._position(local_b, tables) - calendar._position(local_a, tables))


# --- the calendar from the database -----------------------------------------------------------------

CACHE_SECONDS = 60.0

_cache_lock = threading.Lock()
# (calendar, monotonic time loaded); None once invalidated. ``_last`` survives invalidation so that a
# reload which finds the same rows can keep the instance whose table is already built.
_cached: tuple[WorkCalendar, float] | None = None
_last: WorkCalendar | None = None
# Bumped by every invalidation: a load that read the rows before a concurrent invalidation must not
# cache what it read, or a stale calendar would outlive the change for CACHE_SECONDS.
_generation = 0
_warned_years: set[int] = set()


def invalidate_calendar_cache() -> None:
    """Forget the cached calendar of this process (call after any change to the calendar tables).

    Other processes (web workers, the task consumer) pick the change up within ``CACHE_SECONDS``.
    """
    global _cached, _generation
    with _cache_lock:
        _cached = None
        _generation += 1


def _calendar_from_db() -> WorkCalendar:
    from django.conf import settings

    from .choices import CalendarDayKind
    from .models import CalendarDay, CalendarYear, WorkingPeriod

    holidays: set[date] = set()
    workdays: set[date] = set()
    for day, kind in CalendarDay.objects.values_list("date", "kind"):
        (workdays if kind == CalendarDayKind.WORKDAY else holidays).add(day)
    periods = tuple(WorkingPeriod.objects.order_by("start").values_list("start", "end")) or DEFAULT_PERIODS
    return WorkCalendar(
        holidays=frozenset(holidays),
        workdays=frozenset(workdays),
        periods=periods,
        known_years=frozenset(CalendarYear.objects.values_list("year", flat=True)),
        tz=ZoneInfo(settings.TIME_ZONE),
    )


def load_calendar() -> WorkCalendar:
    """The working calendar from the database, cached per process for ``CACHE_SECONDS``.

    The short cache bounds how long another process keeps a stale calendar after an admin edit without
    needing a cross-process signal; when the reloaded calendar equals the cached one, the cached
    instance (with its already-built table) is kept, so a reload costs three small queries.
    """
    global _cached, _last
    now = _time.monotonic()
    cached = _cached
    if cached is not None and now - cached[1] < CACHE_SECONDS:
        return cached[0]
    generation = _generation
    fresh = _calendar_from_db()
    with _cache_lock:
        if _last is not None and _last == fresh:
            fresh = _last
        if generation == _generation:
            _cached = (fresh, now)
            _last = fresh
    _warn_unknown_years(_years_to_check(datetime.now(fresh.tz).date()), fresh)
    return fresh


def _years_to_check(today: date) -> list[int]:
    # Next year's schedule is normally published in November; from then on its absence is worth a warning.
    return [today.year, today.year + 1] if today.month >= 11 else [today.year]


def _unknown_years_message(years: Iterable[int]) -> str:
    years = list(years)
    if not years:
        return ""
    from django.utils.translation import gettext

    label = "、".join(str(year) for year in years)
    return gettext("%(years)s 年的节假日尚未录入，期限按仅周末休息计算，请管理员尽快录入") % {"years": label}


def _warn_unknown_years(years: list[int], calendar: WorkCalendar) -> list[int]:
    unknown = [year for year in years if not calendar.is_known(year)]
    new = [year for year in unknown if year not in _warned_years]
    if new:
        _warned_years.update(new)
        logger.warning(
            "working calendar: holidays for %s not entered; deadlines in those years count weekends only",
            ", ".join(str(year) for year in new),
        )
    return unknown


def calendar_status(today: date | None = None, calendar: WorkCalendar | None = None) -> dict[str, Any]:
    """Whether the calendar covers the current year (and, from November on, the next one).

    Returns ``{"ok": bool, "unknown_years": [...], "checked_years": [...], "message": str}``; the message is
    the Chinese text shown to staff in the banner, empty when all is well. Logs a WARNING once per
    process per missing year.
    """
    calendar = calendar or load_calendar()
    if today is None:
        today = datetime.now(calendar.tz).date()
    checked = _years_to_check(today)
    unknown = _warn_unknown_years(checked, calendar)
    return {
        "ok": not unknown,
        "unknown_years": unknown,
        "checked_years": checked,
        "message": _unknown_years_message(unknown),
    }
