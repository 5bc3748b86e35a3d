"""The report endpoint's receipt in one statement (ADR 0011): the cookie is checked by signature only,
and on PostgreSQL the receipt's one statement confirms the session (active resident, the household's
current code) while it writes the report and its photos; elsewhere the session is read first. Either
way a session that no longer holds answers 401 and writes nothing, and the rows are the same."""

from __future__ import annotations

import json

import pytest
from django.core import signing
from django.db import connection
from django.db.models.signals import post_save, pre_save
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tongxin.core.errors import Unauthenticated
from tongxin.residents import receipts, services
from tongxin.residents.models import Report, ReportUpload
from tongxin.residents.receipts import Claims
from tongxin.residents.session import COOKIE, SALT

from .conftest import PHONE, jpeg_bytes, upload

CSRF = "statementcsrftoken0123456789abcd"
ON_POSTGRES = connection.vendor == "postgresql"


def _client(value: str) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = CSRF
    client.cookies[COOKIE] = signing.get_cookie_signer(salt=COOKIE + SALT).sign(value)
    return client


def _household_client(place, version: int = 1) -> Client:
    return _client(f"h:{place.household.pk}:{place.resident.pk}:{version}")


def _post(client: Client, *, photos: int = 1, content: str = "楼道灯坏了，晚上看不见") -> object:
    data: dict[str, object] = {"content": content, "kind": "help", "lat": "39.81", "lng": "109.98"}
    if photos:
        data["photos"] = [upload(jpeg_bytes((80, 60), colour=c), name=f"p{i}.jpg")
                          for i, c in enumerate(["red", "blue", "green"][:photos])]
    return client.post("/api/v1/residents/reports", data, HTTP_X_CSRFTOKEN=CSRF)


def _columns(report: Report) -> dict[str, object]:
    values = {f.attname: getattr(report, f.attname) for f in Report._meta.concrete_fields}
    for key in ("id", "receipt", "created_at"):
        values.pop(key)
    return values


def test_report_and_photos_written_with_the_reporter_taken_from_the_database(place, task_mode,
                                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(_household_client(place), photos=3)
    assert response.status_code == 201, response.content
    body = json.loads(response.content)
    report = Report.objects.get(pk=body["id"])
    assert body["receipt"] == report.receipt and body["status_label"] and body["photos"] == 3
    assert (report.household_id, report.merchant_id, report.resident_id) == (place.household.pk, None, place.resident.pk)
    assert (report.phone, report.reporter_name, report.state, report.channel) == (PHONE, "王小明", "received", "app")
    assert (report.lat, report.lng, report.point_source, report.photos) == (39.81, 109.98, "device", 3)
    uploads = list(ReportUpload.objects.filter(report=report).order_by("index"))
    assert [(u.index, u.name, u.content_type) for u in uploads] == [
        (1, "p0.jpg", "image/jpeg"), (2, "p1.jpg", "image/jpeg"), (3, "p2.jpg", "image/jpeg")]
    assert bytes(uploads[0].data)[:3] == b"\xff\xd8\xff"
    assert task_mode == [report.pk]


def test_a_merchant_contact_reports_as_the_merchant(place, task_mode):
    response = _post(_client(f"m:{place.merchant.pk}:0:1"), photos=0)
    assert response.status_code == 201, response.content
    report = Report.objects.get(pk=json.loads(response.content)["id"])
    assert (report.household_id, report.merchant_id, report.resident_id) == (None, place.merchant.pk, None)
    assert (report.phone, report.reporter_name, report.photos) == ("13900003333", "王店长", 0)
    assert not ReportUpload.objects.filter(report=report).exists()


@pytest.mark.parametrize("how", ["resident_removed", "code_reissued", "code_revoked", "other_household",
                                 "merchant_revoked", "unknown_kind"])
def test_a_session_that_no_longer_holds_answers_401_and_writes_nothing(place, task_mode, how):
    household, resident, merchant = place.household, place.resident, place.merchant
    client = _household_client(place)
    if how == "resident_removed":
        resident.active = False
        resident.save(update_fields=["active"])
    elif how == "code_reissued":
        household.code_version = 2
        household.save(update_fields=["code_version"])
    elif how == "code_revoked":
        household.code_revoked_at = timezone.now()
        household.save(update_fields=["code_revoked_at"])
    elif how == "other_household":  # a resident id paired with a household they do not belong to
        client = _client(f"h:{place.other_household.pk}:{resident.pk}:1")
    elif how == "merchant_revoked":
        merchant.code_revoked_at = timezone.now()
        merchant.save(update_fields=["code_revoked_at"])
        client = _client(f"m:{merchant.pk}:0:1")
    else:
        client = _client(f"x:{household.pk}:{resident.pk}:1")
    response = _post(client, photos=2)
    assert response.status_code == 401, response.content
    assert json.loads(response.content)["code"] == "unauthenticated"
    assert not Report.objects.exists() and not ReportUpload.objects.exists() and task_mode == []


def test_a_forged_cookie_answers_401_before_anything_is_read(place, task_mode, django_assert_num_queries):
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = CSRF
    client.cookies[COOKIE] = f"h:{place.household.pk}:{place.resident.pk}:1:forged"
    with django_assert_num_queries(0):
        response = _post(client)
    assert response.status_code == 401 and not Report.objects.exists()


def test_a_bad_input_is_named_before_the_session_is_confirmed(place, task_mode):
    place.resident.active = False
    place.resident.save(update_fields=["active"])
    response = _post(_household_client(place), content="   ")
    assert response.status_code == 422
    assert "content" in json.loads(response.content)["fields"]


def test_the_csrf_header_is_still_required(place, task_mode):
    client = _household_client(place)
    response = client.post("/api/v1/residents/reports", {"content": "路灯不亮"})
    assert response.status_code == 403 and not Report.objects.exists()


def test_the_report_models_have_no_save_hooks_the_statement_would_skip():
    for model in (Report, ReportUpload):
        assert not pre_save.has_listeners(model) and not post_save.has_listeners(model), model
        assert model.save is __import__("django.db.models", fromlist=["Model"]).Model.save, model


@pytest.mark.skipif(not ON_POSTGRES, reason="the one-statement receipt is PostgreSQL's (data-modifying CTEs)")
class TestOnPostgres:
    def test_the_statement_path_runs_and_writes_what_the_orm_path_writes(self, place, task_mode):
        assert receipts.enabled()
        photo = jpeg_bytes((120, 90), colour="blue")
        common = {"content": "垃圾满了没人清", "kind": "complaint", "lat": 39.8, "lng": 109.9, "category_code": "C01",
                  "category_suggested": "C0101", "channel": "app", "point_source": "map"}
        claims = Claims(kind="h", place_id=place.household.pk, resident_id=place.resident.pk, version=1)
        fast = services.report_create(claims=claims, photos=[upload(photo, name="a.jpg")], **common)
        reporter = services.Reporter(household=place.household, merchant=None, resident=place.resident,
                                     name=place.resident.name, phone=place.resident.phone)
        slow = services.report_create(reporter=reporter, photos=[upload(photo, name="a.jpg")], **common)
        assert _columns(fast) == _columns(slow)  # in memory: what the caller sees
        fast_row, slow_row = Report.objects.get(pk=fast.pk), Report.objects.get(pk=slow.pk)
        assert _columns(fast_row) == _columns(slow_row)  # in the table
        assert fast_row.receipt == fast.receipt and abs((fast_row.created_at - slow_row.created_at).total_seconds()) < 60
        (fu,), (su,) = ReportUpload.objects.filter(report=fast_row), ReportUpload.objects.filter(report=slow_row)
        assert (fu.index, fu.name, fu.content_type, bytes(fu.data)) == (su.index, su.name, su.content_type, bytes(su.data))

    def test_a_receipt_number_drawn_twice_is_drawn_again(self, place, task_mode, monkeypatch):
        claims = Claims(kind="h", place_id=place.household.pk, resident_id=place.resident.pk, version=1)
        first = services.report_create(claims=claims, content="第一条")
        numbers = iter([first.receipt, "R261202-ZZZZZZZZ"])
        monkeypatch.setattr(services, "receipt_number", lambda at=None: next(numbers))
        second = services.report_create(claims=claims, content="第二条", photos=[upload(jpeg_bytes())])
        assert second.receipt == "R261202-ZZZZZZZZ" and Report.objects.count() == 2
        assert ReportUpload.objects.filter(report_id=second.pk).count() == 1

    def test_a_stale_claim_raises_unauthenticated_from_the_service(self, place, task_mode):
        claims = Claims(kind="h", place_id=place.household.pk, resident_id=place.resident.pk, version=9)
        with pytest.raises(Unauthenticated):
            services.report_create(claims=claims, content="版本已作废", photos=[upload(jpeg_bytes())])
        assert not Report.objects.exists() and not ReportUpload.objects.exists()


@pytest.mark.skipif(not ON_POSTGRES, reason="the one-statement receipt is PostgreSQL's (data-modifying CTEs)")
@pytest.mark.django_db(transaction=True)
def test_a_report_request_is_one_round_trip_to_postgresql(world, task_mode):
    from .conftest import make_place

    place = make_place(world)
    client = _household_client(place)
    assert _post(client).status_code == 201  # warms the channel owner's per-process cache and the statement
    with CaptureQueriesContext(connection) as queries:
        response = _post(client, photos=2)
    assert response.status_code == 201, response.content
    assert len(queries) == 1, [q["sql"][:80] for q in queries]
    assert queries[0]["sql"].startswith("WITH who AS")
    assert Report.objects.count() == 2 and ReportUpload.objects.count() == 3 and len(task_mode) == 2


@pytest.mark.parametrize("mode", ["task", "inline"])
def test_the_201_body_is_what_the_schema_declares(place, settings, monkeypatch, mode):
    """The endpoint renders its 201 itself (no pydantic pass on the way out): the body must be exactly
    what RequestOut would have made of the same values, in both registration modes."""
    from tongxin.residents.schemas import RequestOut

    settings.TONGXIN_REPORT_REGISTER = mode
    monkeypatch.setattr(services, "_schedule_register", lambda report_id: None)
    response = _post(_household_client(place), photos=1)
    assert response.status_code == 201, response.content
    body = json.loads(response.content)
    validated = json.loads(RequestOut.model_validate(body).model_dump_json())
    assert set(body) == set(RequestOut.model_fields)
    for key, value in validated.items():
        if key in ("accepted_at", "replied_at") and value is not None:  # same instant, maybe another spelling
            from datetime import datetime

            assert datetime.fromisoformat(body[key].replace("Z", "+00:00")) == datetime.fromisoformat(
                value.replace("Z", "+00:00")), key
        else:
            assert body[key] == value, key
    assert body["status"] == ("received" if mode == "task" else body["status"]) and body["photos"] == 1
    if mode == "inline":
        assert body["number"]  # inline made the order in the same request


def test_the_orders_note_is_written_in_the_servers_language_whoever_asks(place, settings):
    """Inline registration runs inside the resident's request: an English-speaking phone must not
    turn the order's stored acceptance note into English (docs/i18n.md: records stay as written)."""
    from tongxin.workorders.models import WorkOrderEvent

    settings.TONGXIN_REPORT_REGISTER = "inline"
    client = _household_client(place)
    response = client.post("/api/v1/residents/reports", {"content": "路灯不亮", "kind": "help"},
                           HTTP_X_CSRFTOKEN=CSRF, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 201, response.content
    report = Report.objects.get(pk=json.loads(response.content)["id"])
    assert report.order_id is not None
    notes = list(WorkOrderEvent.objects.filter(order_id=report.order_id).values_list("note", flat=True))
    assert any(n.startswith("居民通过移动端提交（住户），回执号 " + report.receipt) for n in notes), notes
