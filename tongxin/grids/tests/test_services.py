"""The grids services through their real paths, and every validation path."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tongxin.core.datums import from_wgs84
from tongxin.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongxin.grids import services
from tongxin.grids.choices import ReportStatus
from tongxin.grids.models import Opinion, Patrol
from tongxin.workorders.models import Attachment, WorkOrder

from .conftest import jpeg

IN_A = (37.1, 107.1)  # (lat, lng) inside grid A1
IN_B = (37.1, 109.1)  # inside grid B


def fields(exc) -> set[str]:
    return set(exc.value.fields)


# --- patrols ---------------------------------------------------------------------------------------

def test_patrol_start_checkin_end(gw):
    worker = gw.user("grid_worker")
    patrol = services.patrol_start(actor=worker, grid_id=gw.w.grid_a.pk, lat=IN_A[0], lng=IN_A[1], accuracy=12)
    assert patrol.grid_path == gw.w.grid_a.path and patrol.ended_at is None
    services.patrol_checkin(actor=worker, patrol_id=patrol.pk, lat=37.11, lng=107.1)
    # a GCJ-02 point (as a WeChat page would send) is stored in WGS-84
    glng, glat = from_wgs84(107.12, 37.11, "gcj02")
    checkin = services.patrol_checkin(actor=worker, patrol_id=patrol.pk, lat=glat, lng=glng, datum="gcj02")
    assert checkin.datum == "gcj02" and abs(checkin.lng - 107.12) < 1e-6 and abs(checkin.lat - 37.11) < 1e-6
    outside = services.patrol_checkin(actor=worker, patrol_id=patrol.pk, lat=37.3, lng=107.1)
    assert outside.inside_grid is False and checkin.inside_grid is True
    ended = services.patrol_end(actor=worker, patrol_id=patrol.pk, note="巡查正常")
    assert ended.ended_at is not None and ended.note == "巡查正常"
    # 0.01° of latitude ≈ 1112 m, 0.02° of longitude at 37.11° ≈ 1775 m, then back and 0.19° north
    assert 1112 + 1775 < ended.distance_m < 1112 + 1775 + 1780 + 21200
    assert patrol.checkins.count() == 4
    with pytest.raises(Conflict):
        services.patrol_checkin(actor=worker, patrol_id=patrol.pk, lat=IN_A[0], lng=IN_A[1])
    with pytest.raises(Conflict):
        services.patrol_end(actor=worker, patrol_id=patrol.pk)


def test_patrol_start_validation(gw):
    worker = gw.user("grid_worker")
    with pytest.raises(ValidationFailed) as exc:
        services.patrol_start(actor=worker, grid_id="")
    assert fields(exc) == {"grid_id"}
    with pytest.raises(ValidationFailed) as exc:
        services.patrol_start(actor=worker, grid_id="x")
    assert fields(exc) == {"grid_id"}
    with pytest.raises(ValidationFailed) as exc:  # grid B is not theirs
        services.patrol_start(actor=worker, grid_id=gw.grid_b.pk)
    assert exc.value.fields["grid_id"] == "该网格不是您负责的网格"
    for lat, lng, datum, field in ((37.1, None, "wgs84", "lng"), ("abc", 107.1, "wgs84", "lat"),
                                   (float("nan"), 107.1, "wgs84", "lat"), (51.5, -0.1, "wgs84", "lat"),
                                   (37.1, 107.1, "mars", "datum")):
        with pytest.raises(ValidationFailed) as exc:
            services.patrol_start(actor=worker, grid_id=gw.w.grid_a.pk, lat=lat, lng=lng, datum=datum)
        assert fields(exc) == {field}, (lat, lng, datum)
    for accuracy in ("far", -1, 9000):
        with pytest.raises(ValidationFailed) as exc:
            services.patrol_start(actor=worker, grid_id=gw.w.grid_a.pk, lat=37.1, lng=107.1, accuracy=accuracy)
        assert fields(exc) == {"accuracy"}
    assert not Patrol.objects.exists()
    with pytest.raises(PermissionDenied):
        services.patrol_start(actor=gw.user("leader"), grid_id=gw.w.grid_a.pk)


def test_one_patrol_at_a_time(gw):
    worker = gw.user("grid_worker_c")  # community A: both grids
    services.patrol_start(actor=worker, grid_id=gw.w.grid_a.pk)
    with pytest.raises(Conflict):
        services.patrol_start(actor=worker, grid_id=gw.grid_a2.pk)


def test_checkin_validation_and_ownership(gw):
    worker = gw.user("grid_worker")
    patrol = services.patrol_start(actor=worker, grid_id=gw.w.grid_a.pk)
    with pytest.raises(ValidationFailed) as exc:
        services.patrol_checkin(actor=worker, patrol_id=patrol.pk, lat=None, lng=None)
    assert fields(exc) == {"lat"}
    with pytest.raises(ValidationFailed) as exc:
        services.patrol_checkin(actor=worker, patrol_id=patrol.pk, lat=37.1, lng=107.1, note="x" * 201)
    assert fields(exc) == {"note"}
    with pytest.raises(NotFound):  # another town's worker: as if missing
        services.patrol_checkin(actor=gw.user("grid_worker_b"), patrol_id=patrol.pk, lat=IN_B[0], lng=IN_B[1])
    with pytest.raises(NotFound):
        services.patrol_end(actor=gw.user("grid_worker_b"), patrol_id=patrol.pk)
    with pytest.raises(PermissionDenied):  # a colleague of the same community sees it but may not act
        services.patrol_end(actor=gw.user("grid_worker_c"), patrol_id=patrol.pk)
    with pytest.raises(NotFound):
        services.patrol_end(actor=worker, patrol_id="nope")
    with pytest.raises(ValidationFailed) as exc:
        services.patrol_end(actor=worker, patrol_id=patrol.pk, note="x" * 501)
    assert fields(exc) == {"note"}


# --- field reports ---------------------------------------------------------------------------------

def test_report_defaults_to_patrol_grid_and_strips_exif(gw):
    worker = gw.user("grid_worker_c")
    patrol = services.patrol_start(actor=worker, grid_id=gw.grid_a2.pk)
    report = services.field_report_create(actor=worker, text="楼道堆放杂物", photo=jpeg(exif_gps=True),
                                          lat=37.1, lng=107.3, category_code=gw.w.category_leaf.code)
    assert report.grid == gw.grid_a2 and report.patrol == patrol and report.status == ReportStatus.OPEN
    with report.photo.open("rb") as f:
        image = Image.open(io.BytesIO(f.read()))
        assert image.format == "JPEG" and not image.getexif()


def test_report_validation(gw):
    worker = gw.user("grid_worker_c")  # two grids and no patrol: the grid must be chosen
    with pytest.raises(ValidationFailed) as exc:
        services.field_report_create(actor=worker, text="", photo=None, lat="x", lng=1, category_code="NOPE")
    assert fields(exc) == {"grid_id", "text", "photo", "lat", "category_code"}
    with pytest.raises(ValidationFailed) as exc:
        services.field_report_create(actor=worker, grid_id=gw.w.grid_a.pk, text="x" * 2001, photo=jpeg())
    assert fields(exc) == {"text"}
    not_image = SimpleUploadedFile("a.jpg", b"%PDF-1.4 not an image", content_type="image/jpeg")
    with pytest.raises(ValidationFailed) as exc:
        services.field_report_create(actor=worker, grid_id=gw.w.grid_a.pk, text="占道经营", photo=not_image)
    assert exc.value.fields == {"photo": "现场照片不是有效的图片"}
    empty = SimpleUploadedFile("a.jpg", b"", content_type="image/jpeg")
    with pytest.raises(ValidationFailed) as exc:
        services.field_report_create(actor=worker, grid_id=gw.w.grid_a.pk, text="占道经营", photo=empty)
    assert fields(exc) == {"photo"}
    big = jpeg()
    big.size = 11 * 1024 * 1024
    with pytest.raises(ValidationFailed) as exc:
        services.field_report_create(actor=worker, grid_id=gw.w.grid_a.pk, text="占道经营", photo=big)
    assert "MB" in exc.value.fields["photo"]
    with pytest.raises(ValidationFailed) as exc:
        services.field_report_create(actor=worker, grid_id=gw.grid_b.pk, text="占道经营", photo=jpeg())
    assert fields(exc) == {"grid_id"}
    with pytest.raises(PermissionDenied):
        services.field_report_create(actor=gw.user("leader"), grid_id=gw.w.grid_a.pk, text="占道经营", photo=jpeg())


def _report(gw, who="grid_worker"):
    return services.field_report_create(actor=gw.user(who), grid_id=gw.w.grid_a.pk, text="路灯不亮\n在3号楼前",
                                        photo=jpeg(), lat=IN_A[0], lng=IN_A[1])


def test_settle_on_the_spot(gw):
    report = _report(gw)
    worker = gw.user("grid_worker")
    with pytest.raises(ValidationFailed) as exc:
        services.field_report_settle(actor=worker, report_id=report.pk, result_text="", result_photo=None)
    assert fields(exc) == {"result_text", "result_photo"}
    settled = services.field_report_settle(actor=worker, report_id=report.pk, result_text="已更换灯泡",
                                           result_photo=jpeg())
    assert settled.status == ReportStatus.SETTLED and settled.settled_at and settled.result_photo
    assert settled.work_order_id is None and not WorkOrder.objects.exists()
    with pytest.raises(Conflict):
        services.field_report_settle(actor=worker, report_id=report.pk, result_text="again", result_photo=jpeg())
    with pytest.raises(Conflict):
        services.field_report_raise(actor=worker, report_id=report.pk)


def test_raise_creates_a_grid_work_order_with_the_photo(gw):
    report = _report(gw)
    raised = services.field_report_raise(actor=gw.user("grid_worker"), report_id=report.pk,
                                         category_code=gw.w.category_leaf.code)
    order = WorkOrder.objects.get(pk=raised.work_order_id)
    assert raised.status == ReportStatus.RAISED and raised.work_order_number == order.number
    assert order.channel == "grid" and order.area == gw.w.grid_a and order.category == gw.w.category_leaf
    assert order.title == "路灯不亮" and abs(order.lat - IN_A[0]) < 1e-6
    assert Attachment.objects.filter(order=order, content_type="image/jpeg").count() == 1


def test_raise_and_settle_validation_and_scope(gw):
    report = _report(gw)
    with pytest.raises(ValidationFailed) as exc:
        services.field_report_raise(actor=gw.user("grid_worker"), report_id=report.pk, kind="praise")
    assert fields(exc) == {"kind"}
    with pytest.raises(ValidationFailed) as exc:
        services.field_report_raise(actor=gw.user("grid_worker"), report_id=report.pk, category_code="NOPE")
    assert fields(exc) == {"category_code"}
    with pytest.raises(NotFound):
        services.field_report_raise(actor=gw.user("grid_worker_b"), report_id=report.pk)
    with pytest.raises(NotFound):
        services.field_report_settle(actor=gw.user("grid_worker_b"), report_id=report.pk, result_text="x",
                                     result_photo=jpeg())
    with pytest.raises(PermissionDenied):  # the leader reads it but does not handle it
        services.field_report_settle(actor=gw.user("leader"), report_id=report.pk, result_text="x", result_photo=jpeg())
    assert not WorkOrder.objects.exists()


# --- opinions --------------------------------------------------------------------------------------

def test_opinion_create_and_validation(gw):
    worker = gw.user("grid_worker")
    op = services.opinion_create(actor=worker, grid_id=gw.w.grid_a.pk, topic_code="environment",
                                 text="希望增加垃圾分类投放点", address="3号楼2单元")
    assert op.topic.name == "环境" and op.grid_path == gw.w.grid_a.path
    with pytest.raises(ValidationFailed) as exc:
        services.opinion_create(actor=worker, grid_id=gw.grid_b.pk, topic_code="", text="", address="x" * 201)
    assert exc.value.fields == {"grid_id": "该网格不是您负责的网格", "topic_code": "请选择主题",
                                "text": "内容不能为空", "address": "住户地址不能超过 200 个字符（现有 201 个）"}
    with pytest.raises(ValidationFailed) as exc:
        services.opinion_create(actor=worker, grid_id=gw.w.grid_a.pk, topic_code="nope", text="x" * 1001)
    assert fields(exc) == {"topic_code", "text"}
    with pytest.raises(PermissionDenied):
        services.opinion_create(actor=gw.user("leader"), grid_id=gw.w.grid_a.pk, topic_code="other", text="x")
    assert Opinion.objects.count() == 1


def test_stale_patrols_are_closed_once(gw):
    from datetime import timedelta

    from django.utils import timezone

    worker = gw.user("grid_worker")
    patrol = services.patrol_start(actor=worker, grid_id=gw.w.grid_a.pk, lat=IN_A[0], lng=IN_A[1])
    services.patrol_checkin(actor=worker, patrol_id=patrol.pk, lat=37.11, lng=107.1)
    fresh = services.patrol_start(actor=gw.user("grid_worker_b"), grid_id=gw.grid_b.pk)
    Patrol.objects.filter(pk=patrol.pk).update(started_at=timezone.now() - timedelta(hours=13))
    assert services.patrol_close_stale() == 1
    patrol.refresh_from_db()
    last = patrol.checkins.order_by("at").last()
    assert patrol.ended_at == last.at and 1100 < patrol.distance_m < 1125 and "自动结束" in patrol.note
    assert Patrol.objects.get(pk=fresh.pk).ended_at is None
    assert services.patrol_close_stale() == 0
    services.patrol_start(actor=worker, grid_id=gw.w.grid_a.pk)  # the worker can start again


def test_opinion_topics_ensure_is_idempotent(gw):
    from tongxin.grids.models import OpinionTopic

    OpinionTopic.objects.filter(code="other").delete()
    assert services.opinion_topics_ensure() == 1
    assert services.opinion_topics_ensure() == 0
    assert [t.name for t in OpinionTopic.objects.all()] == ["民生", "治安", "环境", "物业", "邻里", "其他"]
