"""Receipts on PostgreSQL with real parallel workers (threads, each with its own connection): two
workers, or a worker and the sweep, registering the same receipt make one work order. Skipped on
SQLite (set DATABASE_URL to a PostgreSQL server)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tongxin.residents import services
from tongxin.residents.models import Report, ReportUpload
from tongxin.testing import run_together
from tongxin.workorders.models import Attachment, WorkOrder

from .conftest import PHONE, jpeg_bytes, upload

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks; set DATABASE_URL"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _task_mode(settings, monkeypatch):
    settings.TONGXIN_REPORT_REGISTER = "task"
    monkeypatch.setattr(services, "_schedule_register", lambda pk: None)  # the task is "lost"


def _receipts(place, n: int) -> list[Report]:
    reporter = services.Reporter(household=place.household, merchant=None, resident=place.resident,
                                 name=place.resident.name, phone=PHONE)
    return [services.report_create(reporter=reporter, content=f"井盖缺失 {i}", photos=[upload(jpeg_bytes())])
            for i in range(n)]


def test_two_workers_on_one_receipt_make_one_order(place):
    (report,) = _receipts(place, 1)
    results = run_together([lambda: services.report_register(report_id=report.pk).outcome for _ in range(4)])
    assert sorted(v for _k, v in results) == ["registered", "skipped", "skipped", "skipped"], results
    assert WorkOrder.objects.count() == 1 and Attachment.objects.count() == 1
    assert Report.objects.get().order_id == WorkOrder.objects.get().pk and not ReportUpload.objects.exists()


def test_workers_and_sweeps_racing_over_many_receipts_make_one_order_each(place):
    reports = _receipts(place, 6)
    Report.objects.update(created_at=timezone.now() - timedelta(minutes=5))  # the sweep may take them all
    calls = [lambda pk=r.pk: services.report_register(report_id=pk).outcome for r in reports]
    calls += [lambda: services.report_register_sweep() for _ in range(2)]
    results = run_together(calls)
    assert all(kind == "ok" for kind, _v in results), results
    assert WorkOrder.objects.count() == 6
    assert Report.objects.filter(state="registered", order__isnull=False).count() == 6
    assert len(set(Report.objects.values_list("order_id", flat=True))) == 6
    assert Attachment.objects.count() == 6 and not ReportUpload.objects.exists()
