"""Personal data (PIPL): no unmasked phone in the log or in an exported workbook, ID numbers stored as a
keyed digest, and the retention run that anonymises finished work orders and dispute cases."""

from __future__ import annotations

import io
import logging
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tongxin.core.models import AuditEvent
from tongxin.workorders.models import WorkOrder, WorkOrderEvent
from tongxin.workorders.tests.test_api import (
    CITIZEN_PHONE,
    _fast_password_hashing,  # noqa: F401 - autouse fixture
    client_for,
    order_in,
)

PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")  # a full mainland mobile number


@pytest.fixture(autouse=True)
def _tmp_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path


@pytest.mark.django_db
def test_no_full_phone_in_the_log_while_orders_are_taken_handled_and_listed(world, caplog):
    caplog.set_level(logging.DEBUG)
    order = order_in(world, "replied")
    for role in ("operator", "dispatcher", "handler", "leader"):
        client = client_for(world, role)
        client.get("/orders/")
        client.get(f"/orders/{order.pk}/")
        client.get("/api/v1/work-orders")
        client.get(f"/api/v1/work-orders/{order.pk}")
    client_for(world, "operator").get(f"/api/v1/work-orders/{order.pk}/citizen")  # the audited reveal
    text = "\n".join(record.getMessage() + " " + str(record.args or "") for record in caplog.records)
    assert not PHONE.findall(text), PHONE.findall(text)
    assert CITIZEN_PHONE not in text


@pytest.mark.django_db
def test_order_list_pages_mask_the_phone(world):
    order_in(world, "dispatched")
    for role in ("operator", "dispatcher", "handler", "grid_worker", "leader", "admin"):
        for url in ("/orders/", "/api/v1/work-orders", "/dashboard/orders/"):
            body = client_for(world, role).get(url).content.decode()
            assert CITIZEN_PHONE not in body, (role, url)


@pytest.mark.django_db
def test_the_dashboard_workbook_holds_no_full_phone(world):
    from openpyxl import load_workbook

    order_in(world, "closed")
    order_in(world, "dispatched")
    response = client_for(world, "leader").get("/dashboard/reports/xlsx/")
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    book = load_workbook(io.BytesIO(content), read_only=True)
    cells = [str(value) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
             for value in row if value is not None]
    assert cells, "the workbook is empty: the scan would prove nothing"
    found = [cell for cell in cells if PHONE.search(cell)]
    assert not found, found


@pytest.mark.django_db
def test_resident_id_numbers_are_stored_as_a_keyed_digest(world, settings):
    from tongxin.residents import services as residents
    from tongxin.residents.models import Resident
    from tongxin.residents.tests.conftest import ID_NUMBER, make_place

    residents._owner_cache.clear()
    place = make_place(world)
    row = Resident.objects.filter(pk=place.resident.pk).values().get()
    dump = " ".join(str(value) for value in row.values())
    assert ID_NUMBER not in dump and ID_NUMBER[6:14] not in row.get("id_masked", "")
    import hashlib

    assert hashlib.sha256(ID_NUMBER.encode()).hexdigest() not in dump  # keyed: an unkeyed hash would be brute-forced
    assert residents.resident_id_matches(resident=place.resident, id_number=ID_NUMBER)
    settings.SECRET_KEY = "another-installation-key-" + "x" * 40
    assert not residents.resident_id_matches(resident=place.resident, id_number=ID_NUMBER)
    residents._owner_cache.clear()


# --- retention -------------------------------------------------------------------------------------

def _age(order: WorkOrder, days: int) -> None:
    past = timezone.now() - timedelta(days=days)
    WorkOrderEvent.objects.filter(order=order).update(at=past)
    WorkOrder.objects.filter(pk=order.pk).update(closed_at=past)


@pytest.mark.django_db
def test_retention_anonymises_old_finished_orders_only(world, settings):
    old, recent, open_old = order_in(world, "closed"), order_in(world, "closed"), order_in(world, "dispatched")
    _age(old, 400)
    _age(open_old, 400)
    out = io.StringIO()
    call_command("retention", "--days", "365", "--dry-run", stdout=out)
    assert "将匿名化 1 条" in out.getvalue()
    assert WorkOrder.objects.get(pk=old.pk).citizen_phone == CITIZEN_PHONE  # a dry run changes nothing
    settings.TONGXIN_RETENTION_DAYS = 365
    call_command("retention", stdout=io.StringIO())
    old.refresh_from_db()
    assert old.citizen_phone == "" and old.citizen_name == "" and old.content  # the request itself stays
    assert WorkOrder.objects.get(pk=recent.pk).citizen_phone == CITIZEN_PHONE
    assert WorkOrder.objects.get(pk=open_old.pk).citizen_phone == CITIZEN_PHONE  # still being handled
    audit = AuditEvent.objects.get(event_type="retention_anonymised", object_type="work_order")
    assert audit.data["count"] == 1 and CITIZEN_PHONE not in str(audit.data)
    call_command("retention", stdout=io.StringIO())  # idempotent: nothing left, no new audit row
    assert AuditEvent.objects.filter(event_type="retention_anonymised", object_type="work_order").count() == 1


@pytest.mark.django_db
def test_retention_anonymises_parties_of_old_finished_cases(world):
    from tongxin.mediation import services as mediation
    from tongxin.mediation.models import CaseEvent, Party
    from tongxin.mediation.tests.conftest import build_mediation_world, new_case

    mw = build_mediation_world(world)
    old, live = new_case(mw), new_case(mw)
    mediation.case_withdraw(case_id=old.pk, actor=mw.user("m_comm"), note="申请人撤回")
    CaseEvent.objects.filter(case=old).update(at=timezone.now() - timedelta(days=400))
    CaseEvent.objects.filter(case=live).update(at=timezone.now() - timedelta(days=400))
    call_command("retention", "--days", "365", stdout=io.StringIO())
    party = Party.objects.filter(case=old).first()
    assert party.name.endswith("*") and not any(  # sealed, masked and digest forms all go
        getattr(party, f) for f in ("phone_enc", "phone_masked", "id_number_enc", "id_digest", "id_masked"))
    kept = Party.objects.filter(case=live).first()
    assert kept.phone_enc and kept.id_number_enc and kept.id_digest  # a case still open keeps its parties
    assert AuditEvent.objects.filter(event_type="retention_anonymised", object_type="dispute_case").count() == 1


@pytest.mark.django_db
def test_the_nightly_retention_job_runs_the_configured_period(world, settings):
    from tongxin.core.tasks import retention_task

    old = order_in(world, "closed")
    _age(old, 400)
    settings.TONGXIN_RETENTION_DAYS = 0
    assert retention_task.call_local() == {}
    assert WorkOrder.objects.get(pk=old.pk).citizen_phone == CITIZEN_PHONE
    settings.TONGXIN_RETENTION_DAYS = 365
    counts = retention_task.call_local()
    assert counts["tongxin.workorders.retention.anonymise_closed_before"] == 1
    assert WorkOrder.objects.get(pk=old.pk).citizen_phone == ""


def test_retention_is_off_unless_configured(settings):
    settings.TONGXIN_RETENTION_DAYS = 0
    out = io.StringIO()
    call_command("retention", stdout=out)
    assert "不做处理" in out.getvalue()


@pytest.mark.django_db
def test_anonymous_client_cannot_read_personal_data():
    assert Client().get("/api/v1/work-orders/1/citizen").status_code == 401
