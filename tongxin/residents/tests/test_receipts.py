"""随手拍 as a durable receipt (ADR 0010): the request writes the report and its photos' bytes in one
transaction and answers 已收到; ``report_register`` (the Huey task, the minute sweep, inline mode, the
admin's retry) makes the work order exactly once. Task mode is forced here (``TONGXIN_REPORT_REGISTER
= task``) and the task is "lost" (never scheduled), so each test decides when registration runs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from tongxin.core.errors import Conflict, ValidationFailed
from tongxin.residents import selectors, services
from tongxin.residents.models import Report, ReportUpload
from tongxin.residents.session import COOKIE, SALT
from tongxin.residents.tasks import report_register_sweep_task, report_register_task
from tongxin.testing import PASSWORD
from tongxin.workorders import services as wo
from tongxin.workorders.models import Attachment, WorkOrder, WorkOrderEvent

from .conftest import PHONE, jpeg_bytes, upload

CSRF = "receiptcsrftoken0123456789abcdef"


def _reporter(place):
    return services.Reporter(household=place.household, merchant=None, resident=place.resident,
                             name=place.resident.name, phone=PHONE)


def _client(place) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = CSRF
    client.cookies[COOKIE] = signing.get_cookie_signer(salt=COOKIE + SALT).sign(
        f"h:{place.household.pk}:{place.resident.pk}:1")
    return client


def _age(report: Report, seconds: int = 120) -> None:
    Report.objects.filter(pk=report.pk).update(created_at=timezone.now() - timedelta(seconds=seconds))


def test_the_receipt_is_durable_without_the_task_and_the_sweep_registers_it(place, task_mode,
                                                                             django_capture_on_commit_callbacks):
    photo = jpeg_bytes((320, 240), gps=(107.21, 37.31))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        report = services.report_create(reporter=_reporter(place), content="小区门口路灯不亮\n已经三天了",
                                        photos=[upload(photo)], kind="complaint", category_code="C010101")
    assert len(callbacks) == 1 and task_mode == [report.pk]  # scheduled on commit, then "lost"
    report.refresh_from_db()
    assert (report.state, report.order_id, report.photos) == ("received", None, 1)
    assert report.receipt.startswith("R") and len(report.receipt) == 16
    assert (report.content, report.kind, report.category_code, report.channel) == (
        "小区门口路灯不亮\n已经三天了", "complaint", "C010101", "qr")
    (staged,) = ReportUpload.objects.filter(report=report)
    assert bytes(staged.data) == photo and staged.content_type == "image/jpeg"
    assert not WorkOrder.objects.exists() and not Attachment.objects.exists()

    # The sweep leaves a fresh receipt to its task; once it is older than the sweep's delay it registers it.
    assert report_register_sweep_task.call_local() == 0
    _age(report)
    assert report_register_sweep_task.call_local() == 1
    report.refresh_from_db()
    order = report.order
    assert report.state == "registered" and report.registered_at is not None
    assert (order.channel, order.kind, order.category.code, order.title) == ("qr", "complaint", "C010101", "小区门口路灯不亮")
    assert order.citizen_phone == PHONE and order.citizen_name == place.resident.name
    assert (report.point_source, round(report.lng, 2), round(report.lat, 2)) == ("exif", 107.21, 37.31)
    assert Attachment.objects.filter(order=order).count() == 1
    assert not ReportUpload.objects.exists()  # the staged bytes are gone once attached
    assert (report.content, report.reporter_name) == ("", "")  # one copy of the text and name: the order's
    note = WorkOrderEvent.objects.filter(order=order).order_by("id").first().note
    assert report.receipt in note
    assert report_register_sweep_task.call_local() == 0  # nothing left: never twice


def test_the_task_run_twice_makes_one_order(place, task_mode):
    report = services.report_create(reporter=_reporter(place), content="井盖缺失", photos=[upload(jpeg_bytes())])
    assert report_register_task.call_local(report.pk) == "registered"
    assert report_register_task.call_local(report.pk) == "skipped"
    _age(report)
    assert services.report_register_sweep() == 0
    assert WorkOrder.objects.count() == 1 and Attachment.objects.count() == 1
    assert Report.objects.get().order_id == WorkOrder.objects.get().pk


def test_a_photo_corrupt_beyond_its_header_is_dropped_with_a_note(place, task_mode):
    good = jpeg_bytes((320, 240), colour="blue")
    broken = jpeg_bytes((320, 240))
    broken = broken[: len(broken) // 2]  # a sound header, half the scan data: only a full decode finds it
    report = services.report_create(reporter=_reporter(place), content="垃圾堆放",
                                    photos=[upload(good, "a.jpg"), upload(broken, "b.jpg")])
    assert report.photos == 2  # both passed the request's header check
    outcome = services.report_register(report_id=report.pk)
    assert outcome.outcome == "registered"
    report.refresh_from_db()
    assert report.photos == 1 and Attachment.objects.filter(order=report.order).count() == 1
    note = WorkOrderEvent.objects.filter(order=report.order).order_by("id").first().note
    assert "第 2 张照片（b.jpg）无法识别" in note and "已舍弃" in note


def test_the_request_still_refuses_what_a_header_shows(place, task_mode, monkeypatch):
    from tongxin.residents import conf

    for data, name in [(b"%PDF-1.4 not an image", "a.pdf"), (b"GIF89a" + b"\x00" * 3, "short.gif"),
                       (b"\x89PNG\r\n\x1a\n" + b"junk" * 10, "bad.png")]:
        with pytest.raises(ValidationFailed) as err:
            services.report_create(reporter=_reporter(place), content="x", photos=[upload(data, name)])
        assert "有效的图片" in err.value.fields["photos"], name
    monkeypatch.setattr(conf, "MAX_PHOTO_PIXELS", 1000)
    with pytest.raises(ValidationFailed) as err:
        services.report_create(reporter=_reporter(place), content="x", photos=[upload(jpeg_bytes((100, 100)))])
    assert "像素" in err.value.fields["photos"]
    assert not Report.objects.exists() and not ReportUpload.objects.exists()


def test_an_engine_refusal_marks_the_receipt_failed_kept_and_visible_to_staff(place, task_mode):
    from tongxin.workorders.models import Category

    report = services.report_create(reporter=_reporter(place), content="楼道灯坏了", photos=[upload(jpeg_bytes())],
                                    category_code="C010101")
    Category.objects.filter(code="C010101").update(active=False)  # retired between the receipt and the worker
    assert services.report_register(report_id=report.pk).outcome == "failed"
    report.refresh_from_db()
    assert report.state == "failed" and report.order_id is None and "category" in report.failure
    assert ReportUpload.objects.filter(report=report).count() == 1  # the bytes are kept for the operator
    assert not WorkOrder.objects.exists()
    _age(report)
    assert services.report_register_sweep() == 0  # a failed one waits for an operator, not the sweep
    assert selectors.reports_failed() == [report]

    # Staff see it in the admin under 状态 = 登记失败, with the reason; the resident sees 已收到.
    user = place.world.user("admin")
    user.is_staff = user.is_superuser = True
    user.save()
    admin = Client()
    assert admin.login(username="admin", password=PASSWORD)
    page = admin.get("/admin/residents/report/?state__exact=failed")
    assert page.status_code == 200 and report.receipt in page.content.decode()
    assert "分类 C010101 不存在或已停用" in admin.get(f"/admin/residents/report/{report.pk}/change/").content.decode()
    assert _client(place).get(f"/api/v1/residents/requests/{report.pk}").json()["status_label"] == "已收到"

    # The operator fixes the cause and retries (the admin action): the order is made, once.
    Category.objects.filter(code="C010101").update(active=True)
    response = admin.post("/admin/residents/report/", {"action": "retry_registration", "_selected_action": [report.pk]})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.state == "registered" and report.order.category.code == "C010101"
    assert WorkOrder.objects.count() == 1 and not ReportUpload.objects.exists()


def test_unexpected_errors_are_counted_then_the_receipt_fails(place, task_mode, monkeypatch):
    from tongxin.residents import conf

    report = services.report_create(reporter=_reporter(place), content="噪音扰民")

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(wo, "work_order_create", broken)
    for attempt in range(1, conf.REPORT_REGISTER_ATTEMPTS):
        with pytest.raises(RuntimeError):
            services.report_register(report_id=report.pk)
        report.refresh_from_db()
        assert (report.state, report.attempts) == ("received", attempt)  # still the sweep's
    _age(report)
    assert services.report_register_sweep() == 0  # the fifth attempt, from the sweep, gives up
    report.refresh_from_db()
    assert report.state == "failed" and "RuntimeError: database went away" in report.failure
    assert not WorkOrder.objects.exists()


def test_the_resident_sees_received_then_the_orders_status(place, task_mode):
    client = _client(place)
    response = client.post("/api/v1/residents/reports", {"content": "路面塌陷，请尽快处理",
                                                         "category_code": "C010101", "photos": [upload(jpeg_bytes())]},
                           HTTP_X_CSRFTOKEN=CSRF)
    assert response.status_code == 201, response.content
    body = response.json()
    report = Report.objects.get()
    assert (body["id"], body["receipt"], body["number"]) == (report.pk, report.receipt, None)
    assert (body["status"], body["status_label"], body["can_rate"]) == ("received", "已收到", False)
    assert client.get(f"/api/v1/residents/requests/{report.pk}").json()["status"] == "received"
    listing = client.get("/r/requests/").content.decode()
    assert "已收到" in listing and report.receipt in listing and f"/r/requests/{report.pk}/" in listing
    detail = client.get(f"/r/requests/{report.pk}/?submitted=1").content.decode()
    assert "回执号" in detail and report.receipt in detail and 'id="refresh"' in detail
    assert 'id="rate"' not in detail
    rated = client.post(f"/api/v1/residents/requests/{report.pk}/rating", json.dumps({"satisfaction": "satisfied"}),
                        content_type="application/json", HTTP_X_CSRFTOKEN=CSRF)
    assert rated.status_code == 409  # nothing to rate before the order exists
    with pytest.raises(Conflict):
        services.report_rate(report=report, satisfaction="satisfied")

    services.report_register(report_id=report.pk)
    report.refresh_from_db()
    after = client.get(f"/api/v1/residents/requests/{report.pk}").json()
    assert (after["id"], after["number"], after["status"]) == (report.pk, report.order.number, "accepted")
    assert after["status_label"] == "已收到，等待分派"
    detail = client.get(f"/r/requests/{report.pk}/").content.decode()
    assert report.order.number in detail and 'id="refresh"' not in detail

    # Replied: the resident rates it by the same id; a reopened request appears under its own report id.
    world = place.world
    wo.work_order_dispatch(order_id=report.order_id, actor=world.user("dispatcher"), lead_department_id=world.housing.pk)
    wo.work_order_sign(order_id=report.order_id, actor=world.user("handler"))
    wo.work_order_reply(order_id=report.order_id, actor=world.user("handler"), text="已回填")
    rated = client.post(f"/api/v1/residents/requests/{report.pk}/rating", json.dumps(
        {"satisfaction": "unsatisfied", "cause": "not_solved", "reopen": True}),
        content_type="application/json", HTTP_X_CSRFTOKEN=CSRF)
    assert rated.status_code == 201, rated.content
    new = Report.objects.exclude(pk=report.pk).get()
    assert rated.json()["reopened_request_id"] == new.pk and new.state == "registered" and new.receipt != report.receipt
    assert client.get(f"/api/v1/residents/requests/{new.pk}").json()["number"] == new.order.number


def test_the_page_form_takes_the_receipt_path(place, task_mode):
    client = _client(place)
    response = client.post("/r/report/", {"content": "楼下占道经营", "kind": "complaint",
                                          "csrfmiddlewaretoken": CSRF})
    report = Report.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/r/requests/{report.pk}/?submitted=1"
    page = client.get(response["Location"]).content.decode()
    assert "已收到您的诉求" in page and report.receipt in page and "data-draft-clear" in page


def test_inline_mode_registers_in_the_request_and_survives_a_failure(place, settings, monkeypatch):
    settings.TONGXIN_REPORT_REGISTER = "inline"
    report = services.report_create(reporter=_reporter(place), content="井盖缺失")
    assert report.state == "registered" and report.order is not None

    def broken(**kwargs):
        raise RuntimeError("engine down")

    monkeypatch.setattr(wo, "work_order_create", broken)
    response = _client(place).post("/api/v1/residents/reports", {"content": "路灯不亮"}, HTTP_X_CSRFTOKEN=CSRF)
    assert response.status_code == 201 and response.json()["status"] == "received"  # the receipt is safe
    assert Report.objects.filter(state="received", order__isnull=True, attempts=1).count() == 1


def test_receipt_numbers_are_unique_and_do_not_count(place, task_mode):
    reports = [services.report_create(reporter=_reporter(place), content=f"诉求{i}") for i in range(20)]
    receipts = [r.receipt for r in reports]
    assert len(set(receipts)) == 20
    assert receipts != sorted(receipts)  # random, not a sequence a household could read counts from


def test_the_data_migration_registers_the_reports_made_before_receipts(place, settings):
    """0005 on reports written before receipts existed (each with its order): registered, a receipt each."""
    import importlib

    from django.apps import apps

    settings.TONGXIN_REPORT_REGISTER = "inline"
    migration = importlib.import_module("tongxin.residents.migrations.0005_report_receipts")
    reports = [services.report_create(reporter=_reporter(place), content=f"旧诉求{i}", kind="complaint",
                                      category_code="C010101") for i in range(3)]
    for i, report in enumerate(reports):  # as an old row looked: no receipt fields of its own
        Report.objects.filter(pk=report.pk).update(state="received", receipt=f"old{i}", kind="", channel="",
                                                   category_code="", registered_at=None)
    migration.existing_reports_registered(apps, None)
    rows = list(Report.objects.order_by("pk"))
    assert [r.state for r in rows] == ["registered"] * 3
    assert all(r.receipt.startswith("R") and len(r.receipt) == 16 for r in rows) and len({r.receipt for r in rows}) == 3
    assert [(r.kind, r.channel, r.category_code) for r in rows] == [("complaint", "qr", "C010101")] * 3
    assert all(r.registered_at == r.order.accepted_at for r in rows)
