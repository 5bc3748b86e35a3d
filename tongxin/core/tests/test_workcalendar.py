"""Deadline arithmetic: named edge cases from the 2025–2026 schedules, and property tests against a slow,
obviously-correct reference that walks the working periods day by day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from chinese_calendar import constants
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tongxin.core.choices import LimitUnit
from tongxin.core.workcalendar import (
    DEFAULT_PERIODS,
    WorkCalendar,
    add_working_days,
    add_working_time,
    deadline_after,
    working_time_between,
)

SH = ZoneInfo("Asia/Shanghai")

# The real schedule as chinesecalendar 1.11.0 ships it (2004–2026), weekend holidays included on purpose:
# they must be harmless.
CN = WorkCalendar(
    holidays=frozenset(constants.holidays),
    workdays=frozenset(constants.workdays),
    known_years=frozenset(range(2004, 2027)),
)
# Only 2024–2026 known: 2027 onwards must fall back to weekends-only.
CN_2024_2026 = WorkCalendar(
    holidays=frozenset(d for d in constants.holidays if 2024 <= d.year <= 2026),
    workdays=frozenset(d for d in constants.workdays if 2024 <= d.year <= 2026),
    known_years=frozenset({2024, 2025, 2026}),
)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


# --- reference implementation ---------------------------------------------------------------------


def ref_is_working_day(day: date, cal: WorkCalendar) -> bool:
    if day in cal.workdays:
        return True
    if day in cal.holidays:
        return False
    return day.isoweekday() <= 5


def ref_spans(day: date, cal: WorkCalendar) -> list[tuple[datetime, datetime]]:
    if not ref_is_working_day(day, cal):
        return []
    return [(datetime.combine(day, s, tzinfo=cal.tz), datetime.combine(day, e, tzinfo=cal.tz)) for s, e in cal.periods]


def ref_add(start: datetime, duration: timedelta, cal: WorkCalendar) -> datetime:
    """Walk period by period, spending the remaining duration."""
    cursor = start.astimezone(cal.tz)
    if duration == timedelta(0):
        return cursor
    remaining = duration
    day = cursor.date()
    while True:
        for span_start, span_end in ref_spans(day, cal):
            begin = max(span_start, cursor)
            if begin >= span_end:
                continue
            available = span_end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        day += timedelta(days=1)


def ref_between(a: datetime, b: datetime, cal: WorkCalendar) -> timedelta:
    """Sum the overlap of [a, b] with every working span."""
    if b < a:
        return -ref_between(b, a, cal)
    a, b = a.astimezone(cal.tz), b.astimezone(cal.tz)
    total = timedelta(0)
    day = a.date()
    while day <= b.date():
        for span_start, span_end in ref_spans(day, cal):
            lo, hi = max(span_start, a), min(span_end, b)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total


# --- named cases ----------------------------------------------------------------------------------


def test_chinesecalendar_agrees_with_the_dates_the_examples_rely_on() -> None:
    assert chinese_calendar.is_workday(date(2025, 9, 28))  # Sunday, makeup workday for National Day
    assert chinese_calendar.is_workday(date(2025, 10, 11))  # Saturday, makeup workday
    assert all(chinese_calendar.is_holiday(date(2025, 10, d)) for d in range(1, 9))
    assert all(chinese_calendar.is_holiday(date(2026, 1, d)) for d in range(1, 4))
    assert chinese_calendar.is_workday(date(2026, 1, 4))  # Sunday, makeup workday for New Year


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        pytest.param(at(2025, 10, 9, 9, 0), hours(1), at(2025, 10, 9, 10, 0), id="plain"),
        pytest.param(at(2025, 10, 9, 11, 0), hours(1), at(2025, 10, 9, 12, 0), id="ends-at-noon-not-14:30"),
        pytest.param(at(2025, 10, 9, 17, 0), hours(1), at(2025, 10, 9, 18, 0), id="ends-at-18:00"),
        pytest.param(at(2025, 10, 9, 11, 0), hours(1.5), at(2025, 10, 9, 15, 0), id="across-lunch"),
        pytest.param(at(2025, 10, 9, 12, 30), hours(1), at(2025, 10, 9, 15, 30), id="start-during-lunch"),
        pytest.param(at(2025, 10, 9, 7, 0), hours(1), at(2025, 10, 9, 9, 30), id="start-before-08:30"),
        pytest.param(at(2025, 10, 9, 19, 0), hours(1), at(2025, 10, 10, 9, 30), id="start-in-the-evening"),
        pytest.param(at(2025, 10, 9, 17, 59), timedelta(minutes=1), at(2025, 10, 9, 18, 0), id="17:59+1min"),
        pytest.param(at(2025, 10, 9, 17, 59), timedelta(minutes=2), at(2025, 10, 10, 8, 31), id="17:59+2min"),
        pytest.param(at(2025, 10, 1, 10, 0), hours(1), at(2025, 10, 9, 9, 30), id="start-on-national-day"),
        pytest.param(at(2025, 9, 30, 17, 0), hours(2), at(2025, 10, 9, 9, 30), id="over-national-day"),
        pytest.param(at(2025, 9, 26, 17, 0), hours(2), at(2025, 9, 28, 9, 30), id="into-makeup-sunday"),
        pytest.param(at(2025, 10, 10, 17, 0), hours(2), at(2025, 10, 11, 9, 30), id="into-makeup-saturday"),
        pytest.param(at(2025, 10, 10, 17, 0), hours(9), at(2025, 10, 13, 9, 30), id="through-makeup-saturday"),
        pytest.param(at(2025, 12, 31, 17, 0), hours(2), at(2026, 1, 4, 9, 30), id="year-boundary-makeup-sunday"),
        pytest.param(at(2025, 10, 17, 17, 0), hours(2), at(2025, 10, 20, 9, 30), id="ordinary-weekend"),
        pytest.param(at(2025, 10, 9, 8, 30), hours(7), at(2025, 10, 9, 18, 0), id="one-full-day-same-day"),
        pytest.param(at(2025, 10, 9, 9, 0), hours(7), at(2025, 10, 10, 9, 0), id="one-full-day-next-day"),
        pytest.param(at(2025, 10, 9, 8, 30), hours(14), at(2025, 10, 10, 18, 0), id="two-full-days"),
    ],
)
def test_add_working_time_named_cases(start: datetime, duration: timedelta, expected: datetime) -> None:
    result = add_working_time(start, duration, CN)
    assert result == expected
    assert result.tzinfo == SH
    assert result == ref_add(start, duration, CN)


def test_zero_duration_returns_start_even_outside_working_time() -> None:
    saturday_night = at(2025, 10, 18, 23, 0)
    assert add_working_time(saturday_night, timedelta(0), CN) == saturday_night


def test_start_in_other_timezone_is_converted() -> None:
    start = datetime(2025, 10, 9, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    result = add_working_time(start, hours(1), CN)
    assert result == at(2025, 10, 9, 10, 0)
    assert result.tzinfo is SH


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_working_time(datetime(2025, 10, 9, 9, 0), hours(1), CN)
    with pytest.raises(ValueError, match="timezone-aware"):
        working_time_between(datetime(2025, 10, 9, 9, 0), at(2025, 10, 9, 10, 0), CN)


def test_negative_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_working_time(at(2025, 10, 9, 9, 0), hours(-1), CN)


def test_outside_supported_range_is_refused() -> None:
    with pytest.raises(ValueError, match="supported range"):
        add_working_time(at(1980, 1, 2, 9, 0), hours(1), CN)
    with pytest.raises(ValueError, match="supported range"):
        add_working_time(at(2100, 12, 30, 9, 0), hours(100), CN)


def test_unknown_year_counts_weekends_only() -> None:
    assert CN_2024_2026.is_known(2026)
    assert not CN_2024_2026.is_known(2027)
    # 2027-10-01 is a Friday: a holiday in reality, but nobody entered 2027, so it is a working day.
    assert CN_2024_2026.is_working_day(date(2027, 10, 1))
    assert add_working_time(at(2027, 10, 1, 10, 0), hours(1), CN_2024_2026) == at(2027, 10, 1, 11, 0)
    # And weekends still rest: Friday 17:00 + 2h → Monday 09:30.
    assert add_working_time(at(2027, 10, 1, 17, 0), hours(2), CN_2024_2026) == at(2027, 10, 4, 9, 30)


def test_working_day_rule() -> None:
    assert CN.is_working_day(date(2025, 9, 28))  # makeup Sunday
    assert not CN.is_working_day(date(2025, 10, 1))  # holiday Wednesday
    assert not CN.is_working_day(date(2025, 10, 4))  # holiday Saturday
    assert not CN.is_working_day(date(2025, 10, 18))  # plain Saturday
    assert CN.is_working_day(date(2025, 10, 20))  # plain Monday


def test_is_working_time_includes_period_ends() -> None:
    assert CN.is_working_time(at(2025, 10, 9, 12, 0))
    assert CN.is_working_time(at(2025, 10, 9, 8, 30))
    assert not CN.is_working_time(at(2025, 10, 9, 12, 1))
    assert not CN.is_working_time(at(2025, 10, 1, 10, 0))


def test_add_working_days() -> None:
    assert CN.daily_working_time == hours(7)
    assert add_working_days(at(2025, 9, 30, 10, 0), 1, CN) == at(2025, 10, 9, 10, 0)
    assert add_working_days(at(2025, 10, 9, 15, 0), 3, CN) == at(2025, 10, 13, 15, 0)  # via makeup Saturday
    # From a weekend, a working day is the whole of the next working day.
    assert add_working_days(at(2025, 10, 18, 10, 0), 1, CN) == at(2025, 10, 20, 18, 0)
    assert add_working_days(at(2025, 10, 9, 15, 0), 0, CN) == at(2025, 10, 9, 15, 0)


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (2.5, LimitUnit.WORKING_HOURS, at(2025, 9, 30, 11, 30)),
        (3, LimitUnit.WORKING_DAYS, at(2025, 10, 11, 9, 0)),  # 9 Oct, 10 Oct, makeup Saturday 11 Oct
        (0.5, "working_days", at(2025, 9, 30, 15, 0)),  # 3.5 h: 3 h to noon, 0.5 h after 14:30
        (24, LimitUnit.NATURAL_HOURS, at(2025, 10, 1, 9, 0)),  # natural hours ignore the holiday
        (24, "natural_hours", at(2025, 10, 1, 9, 0)),
    ],
)
def test_deadline_after(value: float, unit: LimitUnit | str, expected: datetime) -> None:
    result = deadline_after(at(2025, 9, 30, 9, 0), value, unit, CN)
    assert result == expected
    assert result.tzinfo is SH


def test_deadline_after_unknown_unit() -> None:
    with pytest.raises(ValueError, match="unknown limit unit"):
        deadline_after(at(2025, 9, 30, 9, 0), 1, "fortnights", CN)


def test_working_time_between_examples() -> None:
    assert working_time_between(at(2025, 10, 17, 17, 0), at(2025, 10, 20, 9, 30), CN) == hours(2)
    assert working_time_between(at(2025, 9, 30, 17, 0), at(2025, 10, 9, 9, 30), CN) == hours(2)
    assert working_time_between(at(2025, 10, 9, 12, 0), at(2025, 10, 9, 14, 30), CN) == timedelta(0)
    assert working_time_between(at(2025, 10, 9, 10, 0), at(2025, 10, 9, 9, 0), CN) == -hours(1)
    assert working_time_between(at(2025, 10, 4, 10, 0), at(2025, 10, 5, 10, 0), CN) == timedelta(0)


def test_calendar_validation() -> None:
    with pytest.raises(ValueError, match="at least one"):
        WorkCalendar(periods=())
    with pytest.raises(ValueError, match="overlaps"):
        WorkCalendar(periods=((time(8), time(12)), (time(11), time(13))))
    with pytest.raises(ValueError, match="end after"):
        WorkCalendar(periods=((time(12), time(8)),))
    # Periods given out of order are sorted.
    cal = WorkCalendar(periods=((time(14, 30), time(18)), (time(8, 30), time(12))))
    assert cal.periods == DEFAULT_PERIODS
    assert cal == WorkCalendar()


def test_custom_single_period() -> None:
    cal = WorkCalendar(periods=((time(9), time(17)),))
    assert cal.daily_working_time == hours(8)
    assert add_working_time(at(2025, 10, 9, 16, 0), hours(2), cal) == at(2025, 10, 10, 10, 0)


# --- properties -----------------------------------------------------------------------------------

starts = st.datetimes(
    min_value=datetime(2024, 6, 1), max_value=datetime(2026, 12, 31, 23, 59, 59), timezones=st.just(SH),
)
starts_any_zone = st.datetimes(
    min_value=datetime(2024, 6, 1), max_value=datetime(2026, 12, 31),
    timezones=st.sampled_from([SH, UTC, ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")]),
)
durations = st.one_of(
    st.timedeltas(min_value=timedelta(0), max_value=hours(120)),
    st.integers(min_value=0, max_value=120 * 60).map(lambda m: timedelta(minutes=m)),
    st.integers(min_value=0, max_value=30).map(lambda d: hours(7 * d)),  # whole working days
)


@st.composite
def calendars(draw: st.DrawFn) -> WorkCalendar:
    """Random periods (1–3 non-overlapping spans) and random holidays/makeup days around 2025."""
    minute_marks = sorted(draw(st.sets(st.integers(min_value=0, max_value=24 * 60 - 1), min_size=2, max_size=6)))
    if len(minute_marks) % 2:
        minute_marks = minute_marks[:-1]
    # At least an hour of work a day: with a minute a day, the longest sums drawn below (2 × 210 h) would
    # run past the supported range (2100), which add_working_time rightly refuses.
    assume(sum(b - a for a, b in zip(minute_marks[::2], minute_marks[1::2], strict=True)) >= 60)
    periods = tuple(
        (time(a // 60, a % 60), time(b // 60, b % 60)) for a, b in zip(minute_marks[::2], minute_marks[1::2], strict=True)
    )
    days = st.dates(min_value=date(2024, 6, 1), max_value=date(2027, 3, 1))
    return WorkCalendar(
        holidays=frozenset(draw(st.sets(days, max_size=40))),
        workdays=frozenset(draw(st.sets(days, max_size=10))),
        periods=periods,
        known_years=frozenset({2025}),
    )


calendar_choice = st.one_of(st.just(CN), st.just(CN_2024_2026), calendars())
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(cal=calendar_choice, start=starts_any_zone, duration=durations)
def test_matches_reference(cal: WorkCalendar, start: datetime, duration: timedelta) -> None:
    assert add_working_time(start, duration, cal) == ref_add(start, duration, cal)


@PROPERTY
@given(cal=calendar_choice, start=starts, duration=durations)
def test_result_is_working_time_or_start(cal: WorkCalendar, start: datetime, duration: timedelta) -> None:
    result = add_working_time(start, duration, cal)
    assert result.tzinfo is cal.tz
    if duration == timedelta(0):
        assert result == start
    else:
        assert result > start
        assert cal.is_working_time(result)


@PROPERTY
@given(cal=calendar_choice, start=starts, a=durations, b=durations)
def test_additive(cal: WorkCalendar, start: datetime, a: timedelta, b: timedelta) -> None:
    assert add_working_time(add_working_time(start, a, cal), b, cal) == add_working_time(start, a + b, cal)


@PROPERTY
@given(cal=calendar_choice, s1=starts, s2=starts, d1=durations, d2=durations)
def test_monotonic(cal: WorkCalendar, s1: datetime, s2: datetime, d1: timedelta, d2: timedelta) -> None:
    s1, s2 = min(s1, s2), max(s1, s2)
    d1, d2 = min(d1, d2), max(d1, d2)
    assert add_working_time(s1, d1, cal) <= add_working_time(s2, d1, cal)
    assert add_working_time(s1, d1, cal) <= add_working_time(s1, d2, cal)


@PROPERTY
@given(cal=calendar_choice, start=starts_any_zone, duration=durations)
def test_between_inverts_add(cal: WorkCalendar, start: datetime, duration: timedelta) -> None:
    assert working_time_between(start, add_working_time(start, duration, cal), cal) == duration


@PROPERTY
@given(cal=calendar_choice, a=starts_any_zone, b=starts_any_zone)
def test_between_matches_reference(cal: WorkCalendar, a: datetime, b: datetime) -> None:
    assume(abs(a - b) < timedelta(days=120))  # keep the reference walk short
    assert working_time_between(a, b, cal) == ref_between(a, b, cal)
    assert working_time_between(a, b, cal) == -working_time_between(b, a, cal)


@PROPERTY
@given(start=starts, days=st.integers(min_value=0, max_value=40))
def test_add_working_days_is_days_times_daily_time(start: datetime, days: int) -> None:
    assert add_working_days(start, days, CN) == ref_add(start, hours(7 * days), CN)
