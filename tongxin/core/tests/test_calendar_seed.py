"""The working calendar in the database: seeding from chinesecalendar, loading, status and warnings,
and the places that surface them (command, context processor, health check, admin hooks)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from tongxin.core import workcalendar
from tongxin.core.admin import CalendarDayForm, WorkingPeriodForm
from tongxin.core.calendar_seed import calendar_seed_from_chinesecalendar, chinesecalendar_years
from tongxin.core.choices import AuditEventType, CalendarDayKind
from tongxin.core.context_processors import calendar_warning
from tongxin.core.health import health_check
from tongxin.core.models import AuditEvent, CalendarDay, CalendarYear, WorkingPeriod
from tongxin.core.views import healthz
from tongxin.core.workcalendar import (
    DEFAULT_PERIODS,
    add_working_time,
    calendar_status,
    invalidate_calendar_cache,
    load_calendar,
)

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_calendar_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts without a cached calendar and with no year already warned about."""
    monkeypatch.setattr(workcalendar, "_warned_years", set())
    invalidate_calendar_cache()
    yield
    invalidate_calendar_cache()


@pytest.fixture
def calendar_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    # The "tongxin" logger does not propagate to the root logger (settings.LOGGING), where caplog listens.
    logger = logging.getLogger("tongxin.calendar")
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.WARNING, logger="tongxin.calendar")
    yield caplog
    logger.removeHandler(caplog.handler)


def test_package_years() -> None:
    years = chinesecalendar_years()
    assert years[0] == 2004
    assert 2025 in years
    assert 2026 in years


def test_seed_writes_holidays_makeup_days_years_and_periods() -> None:
    result = calendar_seed_from_chinesecalendar()

    national_day = CalendarDay.objects.get(date=date(2025, 10, 1))
    assert national_day.kind == CalendarDayKind.HOLIDAY
    assert national_day.name == "国庆节"
    assert CalendarDay.objects.get(date=date(2025, 10, 6)).name == "中秋节"
    makeup = CalendarDay.objects.get(date=date(2025, 9, 28))
    assert makeup.kind == CalendarDayKind.WORKDAY
    assert makeup.name == "国庆节"
    assert CalendarDay.objects.get(date=date(2026, 1, 4)).kind == CalendarDayKind.WORKDAY
    assert CalendarDay.objects.get(date=date(2025, 1, 28)).name == "春节"
    # Weekend holidays are no exception to the weekly rule, so they get no row.
    assert not CalendarDay.objects.filter(date=date(2025, 10, 4)).exists()

    year = CalendarYear.objects.get(year=2025)
    assert year.source == "chinesecalendar 1.11.0"
    assert sorted(CalendarYear.objects.values_list("year", flat=True)) == chinesecalendar_years()
    assert [(p.start, p.end) for p in WorkingPeriod.objects.order_by("start")] == list(DEFAULT_PERIODS)

    assert result["days_created"] == CalendarDay.objects.count()
    assert result["years_created"] == len(chinesecalendar_years())
    assert result["periods_created"] == 2
    event = AuditEvent.objects.get()
    assert event.event_type == AuditEventType.CALENDAR_CHANGED
    assert event.data["action"] == "seed"
    assert event.actor_label == "system"


def test_seed_is_idempotent() -> None:
    calendar_seed_from_chinesecalendar()
    counts = (CalendarDay.objects.count(), CalendarYear.objects.count(), WorkingPeriod.objects.count())
    entered_at = CalendarYear.objects.get(year=2025).entered_at

    again = calendar_seed_from_chinesecalendar()

    assert (CalendarDay.objects.count(), CalendarYear.objects.count(), WorkingPeriod.objects.count()) == counts
    assert again["days_created"] == again["days_updated"] == 0
    assert again["days_unchanged"] == counts[0]
    assert again["years_created"] == again["years_updated"] == 0
    assert again["periods_created"] == 0
    assert CalendarYear.objects.get(year=2025).entered_at == entered_at
    assert AuditEvent.objects.count() == 2  # each run is recorded, even one that changed nothing


def test_seed_repairs_an_edited_row_and_keeps_local_rows_and_periods() -> None:
    WorkingPeriod.objects.create(start=time(9), end=time(17))
    CalendarDay.objects.create(date=date(2025, 10, 1), kind=CalendarDayKind.WORKDAY, name="typo")
    local = CalendarDay.objects.create(date=date(2025, 7, 1), kind=CalendarDayKind.HOLIDAY, name="本市纪念日")

    result = calendar_seed_from_chinesecalendar(years=[2025])

    assert result["days_updated"] == 1
    assert CalendarDay.objects.get(date=date(2025, 10, 1)).kind == CalendarDayKind.HOLIDAY
    assert CalendarDay.objects.filter(pk=local.pk).exists()
    assert list(WorkingPeriod.objects.values_list("start", "end")) == [(time(9), time(17))]
    assert result["periods_created"] == 0


def test_seed_selected_years_only() -> None:
    result = calendar_seed_from_chinesecalendar(years=[2025])
    assert result["years"] == [2025]
    assert list(CalendarYear.objects.values_list("year", flat=True)) == [2025]
    assert {d.year for d in CalendarDay.objects.values_list("date", flat=True)} == {2025}


def test_seed_refuses_unknown_year_and_writes_nothing() -> None:
    with pytest.raises(ValueError, match="2031"):
        calendar_seed_from_chinesecalendar(years=[2025, 2031])
    assert not CalendarDay.objects.exists()
    assert not CalendarYear.objects.exists()
    assert not AuditEvent.objects.exists()


def test_seed_records_actor(django_user_model) -> None:
    user = django_user_model.objects.create_user(username="admin1", password="x" * 12)
    calendar_seed_from_chinesecalendar(years=[2026], actor=user)
    assert AuditEvent.objects.get().actor_id == user.pk


def test_load_calendar_from_database() -> None:
    calendar_seed_from_chinesecalendar(years=[2025, 2026])
    invalidate_calendar_cache()  # the seed invalidates on commit, which a test transaction never reaches
    calendar = load_calendar()
    assert calendar.is_known(2025)
    assert not calendar.is_known(2027)
    assert date(2025, 9, 28) in calendar.workdays
    assert calendar.periods == DEFAULT_PERIODS
    assert add_working_time(datetime(2025, 9, 30, 17, tzinfo=SH), timedelta(hours=2), calendar) == datetime(
        2025, 10, 9, 9, 30, tzinfo=SH
    )
    assert add_working_time(datetime(2025, 12, 31, 17, tzinfo=SH), timedelta(hours=2), calendar) == datetime(
        2026, 1, 4, 9, 30, tzinfo=SH
    )


def test_load_calendar_defaults_and_cache(django_assert_num_queries) -> None:
    calendar = load_calendar()
    assert calendar.periods == DEFAULT_PERIODS  # no WorkingPeriod rows yet
    assert calendar.known_years == frozenset()
    with django_assert_num_queries(0):
        assert load_calendar() is calendar

    WorkingPeriod.objects.create(start=time(9), end=time(17))
    assert load_calendar() is calendar  # still cached
    invalidate_calendar_cache()
    assert load_calendar().periods == ((time(9), time(17)),)


def test_reload_keeps_an_equal_calendar_instance() -> None:
    calendar = load_calendar()
    invalidate_calendar_cache()
    assert load_calendar() is calendar  # same content: the built table is kept


def test_calendar_status_unknown_year_warns_once(calendar_log: pytest.LogCaptureFixture) -> None:
    calendar_seed_from_chinesecalendar()
    invalidate_calendar_cache()
    calendar_log.clear()

    status = calendar_status(today=date(2031, 3, 1))

    assert status["ok"] is False
    assert status["unknown_years"] == [2031]
    assert status["message"] == "2031 年的节假日尚未录入，期限按仅周末休息计算，请管理员尽快录入"
    # (Loading the calendar may also warn about the real current year; only 2031 matters here.)
    assert len(_warnings_about(calendar_log, 2031)) == 1

    calendar_status(today=date(2031, 3, 2))
    assert len(_warnings_about(calendar_log, 2031)) == 1  # once per process


def _warnings_about(log: pytest.LogCaptureFixture, year: int) -> list[logging.LogRecord]:
    return [
        record for record in log.records
        if record.name == "tongxin.calendar" and record.levelno == logging.WARNING and str(year) in record.getMessage()
    ]


def test_calendar_status_checks_next_year_from_november() -> None:
    calendar_seed_from_chinesecalendar(years=[2025, 2026])
    invalidate_calendar_cache()
    assert calendar_status(today=date(2026, 6, 1)) == {
        "ok": True, "unknown_years": [], "checked_years": [2026], "message": "",
    }
    assert calendar_status(today=date(2025, 11, 1))["ok"] is True  # 2026 is known
    november = calendar_status(today=date(2026, 11, 1))
    assert november["unknown_years"] == [2027]
    assert november["checked_years"] == [2026, 2027]


def test_calendar_status_lists_several_years() -> None:
    assert calendar_status(today=date(2030, 12, 1))["message"].startswith("2030、2031 年的节假日尚未录入")


# --- command ----------------------------------------------------------------------------------------


def test_command_seed_and_status() -> None:
    out = StringIO()
    call_command("calendar", "seed", "--year", "2025", "--year", "2026", stdout=out)
    assert "2025–2026" in out.getvalue()
    assert CalendarYear.objects.count() == 2

    today = datetime.now(SH).date()
    for year in (today.year, today.year + 1):
        CalendarYear.objects.get_or_create(year=year)
    out = StringIO()
    call_command("calendar", "status", stdout=out)
    assert "工作日历正常" in out.getvalue()


def test_command_status_fails_when_year_unknown() -> None:
    with pytest.raises(CommandError, match="尚未录入") as excinfo:
        call_command("calendar", "status", stdout=StringIO())
    assert excinfo.value.returncode == 1


def test_command_seed_unknown_year() -> None:
    with pytest.raises(CommandError, match="2031"):
        call_command("calendar", "seed", "--year", "2031", stdout=StringIO())


# --- context processor, health ----------------------------------------------------------------------


def test_context_processor_only_for_signed_in_users(django_user_model) -> None:
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    assert calendar_warning(request) == {"calendar_warning": ""}

    request.user = django_user_model.objects.create_user(username="clerk", password="x" * 12)
    assert "尚未录入" in calendar_warning(request)["calendar_warning"]  # empty database: nothing known


def test_context_processor_silent_when_calendar_complete(django_user_model) -> None:
    today = datetime.now(SH).date()
    for year in (today.year, today.year + 1):
        CalendarYear.objects.create(year=year)
    request = RequestFactory().get("/")
    request.user = django_user_model.objects.create_user(username="clerk", password="x" * 12)
    assert calendar_warning(request) == {"calendar_warning": ""}


def test_health_check_and_view() -> None:
    result = health_check()
    assert result["status"] == "warning"
    assert result["database"] == "ok"
    assert result["calendar"]["ok"] is False

    response = healthz(RequestFactory().get("/healthz"))
    assert response.status_code == 200
    assert json.loads(response.content)["status"] == "warning"

    today = datetime.now(SH).date()
    for year in (today.year, today.year + 1):
        CalendarYear.objects.create(year=year)
    invalidate_calendar_cache()
    assert health_check()["status"] == "ok"


def test_healthz_503_when_database_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import DatabaseError

    import tongxin.core.health as health

    class BrokenConnection:
        def cursor(self):
            raise DatabaseError("down")

    monkeypatch.setattr(health, "connection", BrokenConnection())
    response = healthz(RequestFactory().get("/healthz"))
    assert response.status_code == 503
    assert json.loads(response.content)["database"] == "error"


# --- admin -----------------------------------------------------------------------------------------


def test_admin_save_and_delete_audit_and_invalidate(
    django_user_model, django_capture_on_commit_callbacks
) -> None:
    user = django_user_model.objects.create_superuser(username="root", password="x" * 12)
    request = RequestFactory().post("/admin/")
    request.user = user
    model_admin = admin.site._registry[WorkingPeriod]
    calendar = load_calendar()

    form = WorkingPeriodForm(data={"start": "09:00", "end": "17:00"})
    assert form.is_valid(), form.errors
    with django_capture_on_commit_callbacks(execute=True):
        model_admin.save_model(request, form.save(commit=False), form, change=False)
    event = AuditEvent.objects.get()
    assert event.event_type == AuditEventType.CALENDAR_CHANGED
    assert event.object_type == "core.workingperiod"
    assert event.actor_id == user.pk
    assert event.data["action"] == "add"
    fresh = load_calendar()
    assert fresh is not calendar
    assert fresh.periods == ((time(9), time(17)),)

    with django_capture_on_commit_callbacks(execute=True):
        model_admin.delete_model(request, WorkingPeriod.objects.get())
    assert AuditEvent.objects.filter(data__action="delete").count() == 1
    assert load_calendar().periods == DEFAULT_PERIODS

    CalendarDay.objects.create(date=date(2027, 10, 1), kind=CalendarDayKind.HOLIDAY, name="国庆节")
    day_admin = admin.site._registry[CalendarDay]
    with django_capture_on_commit_callbacks(execute=True):
        day_admin.delete_queryset(request, CalendarDay.objects.all())
    assert not CalendarDay.objects.exists()
    assert AuditEvent.objects.filter(object_type="core.calendarday").count() == 1


def test_working_period_form_refuses_overlap_and_reversed() -> None:
    WorkingPeriod.objects.create(start=time(8, 30), end=time(12))
    assert not WorkingPeriodForm(data={"start": "11:00", "end": "13:00"}).is_valid()
    assert not WorkingPeriodForm(data={"start": "15:00", "end": "14:00"}).is_valid()
    assert WorkingPeriodForm(data={"start": "12:00", "end": "13:00"}).is_valid()  # touching is fine


def test_calendar_day_form_refuses_weekday_makeup_day() -> None:
    assert not CalendarDayForm(data={"date": "2027-10-06", "kind": "workday", "name": "x"}).is_valid()  # Wednesday
    assert CalendarDayForm(data={"date": "2027-10-09", "kind": "workday", "name": "国庆节"}).is_valid()  # Saturday


def test_audit_event_admin_is_read_only() -> None:
    model_admin = admin.site._registry[AuditEvent]
    request = RequestFactory().get("/admin/")
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
