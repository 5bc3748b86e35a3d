"""Services and selectors on the real database: identity numbers, codes, the SMS login, reports
(photos, EXIF, routing through the engine) and ratings (the callback KPIs, reopening)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from tongxin.core.errors import Conflict, NotFound, ValidationFailed
from tongxin.residents import selectors, services
from tongxin.residents.choices import CodeState, PointSource
from tongxin.residents.models import LoginCode, Rating, Report
from tongxin.residents.ratelimit import RateLimited
from tongxin.workorders import services as wo
from tongxin.workorders.choices import Channel, Status
from tongxin.workorders.models import Attachment
from tongxin.workorders.selectors import kpi_summary

from .conftest import ID_NUMBER, OTHER_PHONE, PHONE, jpeg_bytes, last_sms_code, upload

pytestmark = pytest.mark.django_db


def test_id_number_is_kept_only_as_digest_and_mask(place):
    resident = place.resident
    assert resident.id_masked == "1506**********1238"
    assert ID_NUMBER not in resident.id_digest and len(resident.id_digest) == 64
    assert services.resident_id_matches(resident=resident, id_number=ID_NUMBER.lower())
    assert not services.resident_id_matches(resident=resident, id_number="150602199001011246")
    with pytest.raises(ValidationFailed) as err:
        services.resident_add(household=place.household, name="赵六", phone="13900009999", id_number="150602199001011239")
    assert "id_number" in err.value.fields  # wrong check digit


def test_household_floor_area_and_validation(place):
    assert str(place.household.floor_area) == "89.50"
    with pytest.raises(ValidationFailed) as err:
        services.household_create(area=place.world.community_a, address="x", floor_area="-3")
    assert "floor_area" in err.value.fields
    with pytest.raises(ValidationFailed) as err:
        services.resident_add(household=place.household, name="王小明", phone=PHONE)
    assert "phone" in err.value.fields


def test_code_resolve_reissue_and_revoke(place):
    token = place.token
    assert selectors.code_resolve(token).state == CodeState.VALID
    new = services.code_reissue(place=place.household)
    assert new != token
    assert selectors.code_resolve(token).state == CodeState.REPLACED
    assert selectors.code_resolve(new).place == place.household
    services.code_revoke(place=place.household)
    assert selectors.code_resolve(new).state == CodeState.REVOKED
    with pytest.raises(Conflict):
        services.code_token(place.household)
    again = services.code_reissue(place=place.household)
    assert selectors.code_resolve(again).state == CodeState.VALID
    assert selectors.code_resolve(services.code_token(place.merchant)).place == place.merchant


def _login(place, django_capture_on_commit_callbacks, household=None, phone=PHONE):
    household = household or place.household
    with django_capture_on_commit_callbacks(execute=True):
        services.login_code_request(place=household, phone=phone, ip="10.0.0.1")
    return services.login_code_verify(place=household, phone=phone, code=last_sms_code(phone), ip="10.0.0.1")


def test_sms_login_binds_to_the_household(place, django_capture_on_commit_callbacks):
    result = _login(place, django_capture_on_commit_callbacks)
    assert (result.kind, result.target_id, result.resident_id) == ("h", place.household.pk, place.resident.pk)
    stored = LoginCode.objects.get(phone=PHONE)
    assert stored.used_at is not None and len(stored.digest) == 64
    assert last_sms_code(PHONE) not in stored.digest


def test_sms_code_is_single_use_and_expires(place, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.login_code_request(place=place.household, phone=PHONE, ip="10.0.0.1")
    code = last_sms_code(PHONE)
    LoginCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationFailed) as err:
        services.login_code_verify(place=place.household, phone=PHONE, code=code, ip="10.0.0.1")
    assert "code" in err.value.fields
    LoginCode.objects.update(expires_at=timezone.now() + timedelta(minutes=5))
    services.login_code_verify(place=place.household, phone=PHONE, code=code, ip="10.0.0.1")
    with pytest.raises(ValidationFailed):
        services.login_code_verify(place=place.household, phone=PHONE, code=code, ip="10.0.0.1")


def test_wrong_codes_are_limited(place, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.login_code_request(place=place.household, phone=PHONE, ip="10.0.0.1")
    code = last_sms_code(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        with pytest.raises(ValidationFailed, match=f"还可尝试 {left} 次"):
            services.login_code_verify(place=place.household, phone=PHONE, code=wrong, ip="10.0.0.1")
    with pytest.raises(ValidationFailed, match="次数过多"):
        services.login_code_verify(place=place.household, phone=PHONE, code=wrong, ip="10.0.0.1")
    with pytest.raises(ValidationFailed):  # the right code no longer helps
        services.login_code_verify(place=place.household, phone=PHONE, code=code, ip="10.0.0.1")


def test_code_for_a_phone_of_another_household_is_silently_not_sent(place, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.login_code_request(place=place.household, phone=OTHER_PHONE, ip="10.0.0.1")  # no error: reveals nothing
    assert not LoginCode.objects.exists()
    with pytest.raises(ValidationFailed):
        services.login_code_verify(place=place.household, phone=OTHER_PHONE, code="123456", ip="10.0.0.1")


def test_code_requests_are_rate_limited_per_phone_and_ip(place, settings):
    services.login_code_request(place=place.household, phone=PHONE, ip="10.0.0.1")
    with pytest.raises(RateLimited) as err:
        services.login_code_request(place=place.household, phone=PHONE, ip="10.0.0.1")
    assert err.value.status == 429 and "phone" in err.value.fields
    settings.TONGXIN_RESIDENT_RATE_CODE_IP = "3/3600"
    for n in range(2):
        services.login_code_request(place=place.household, phone=f"1370000000{n}", ip="10.0.0.2")
    services.login_code_request(place=place.household, phone="13700000009", ip="10.0.0.2")
    with pytest.raises(RateLimited):
        services.login_code_request(place=place.household, phone="13700000008", ip="10.0.0.2")


def _reporter(place):
    return services.Reporter(household=place.household, merchant=None, resident=place.resident,
                             name=place.resident.name, phone=place.resident.phone)


def test_report_creates_a_routed_order_with_clean_photos(place):
    report = services.report_create(
        reporter=_reporter(place), content="3号楼门前垃圾堆放多日无人清理",
        photos=[upload(jpeg_bytes(gps=(107.1, 37.1))), upload(jpeg_bytes(colour="blue"), "b.png")],
        category_code="C010101",
    )
    order = report.order
    assert order.channel == Channel.QR and order.status == Status.ACCEPTED
    assert order.citizen_phone == PHONE and order.category.code == "C010101"
    assert (report.point_source, report.lat, report.lng) == (PointSource.EXIF, 37.1, 107.1)
    assert order.area == place.world.grid_a  # placed by the photo's point
    attachments = list(Attachment.objects.filter(order=order))
    assert len(attachments) == 2 and report.photos == 2
    for attachment in attachments:
        stored = Image.open(io.BytesIO(attachment.file.read()))
        assert stored.format == "JPEG"
        assert not stored.getexif(), "EXIF must be stripped from the stored copy"
    # The engine routes it like any other order.
    suggestion_order = wo.work_order_dispatch(order_id=order.pk, actor=place.world.user("dispatcher"),
                                              lead_department_id=place.world.housing.pk)
    assert suggestion_order.status == Status.DISPATCHED


def test_report_without_point_uses_the_household_area(place):
    report = services.report_create(reporter=_reporter(place), content="楼道灯坏了")
    assert report.point_source == PointSource.NONE and report.lat is None
    assert report.order.area == place.world.community_a
    assert report.order.address == place.household.address


def test_device_point_wins_over_exif(place):
    report = services.report_create(reporter=_reporter(place), content="路面塌陷", lat="37.3", lng="107.3",
                                    point_source="map", photos=[upload(jpeg_bytes(gps=(107.1, 37.1)))])
    assert (report.point_source, report.lat, report.lng) == (PointSource.MAP, 37.3, 107.3)


@pytest.mark.parametrize(("data", "name"), [
    (b"%PDF-1.4 not an image", "a.pdf"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "a.svg"),
    (b"\xff\xd8\xff\xe0" + b"garbage" * 10, "broken.jpg"),
    (b"MZ\x90\x00executable", "photo.jpg"),
])
def test_uploads_that_are_not_images_are_refused(place, data, name):
    with pytest.raises(ValidationFailed) as err:
        services.report_create(reporter=_reporter(place), content="x", photos=[upload(data, name)])
    assert "photos" in err.value.fields
    assert not Report.objects.exists()


def test_too_large_too_many_and_bomb_uploads_are_refused(place, monkeypatch):
    from tongxin.residents import conf

    big = upload(jpeg_bytes())
    big.size = conf.MAX_PHOTO_BYTES + 1
    with pytest.raises(ValidationFailed) as err:
        services.report_create(reporter=_reporter(place), content="x", photos=[big])
    assert "8 MB" in err.value.fields["photos"]
    with pytest.raises(ValidationFailed) as err:
        services.report_create(reporter=_reporter(place), content="x", photos=[upload(jpeg_bytes()) for _ in range(7)])
    assert "最多" in err.value.fields["photos"]
    monkeypatch.setattr(conf, "MAX_PHOTO_PIXELS", 1000)
    with pytest.raises(ValidationFailed) as err:
        services.report_create(reporter=_reporter(place), content="x", photos=[upload(jpeg_bytes((100, 100)))])
    assert "像素" in err.value.fields["photos"]
    with pytest.raises(ValidationFailed) as err:
        services.report_create(reporter=_reporter(place), content="  ")
    assert "content" in err.value.fields
    assert not Report.objects.exists()


def _replied(place, content="小区路灯不亮"):
    report = services.report_create(reporter=_reporter(place), content=content, category_code="C010101")
    world = place.world
    wo.work_order_dispatch(order_id=report.order_id, actor=world.user("dispatcher"), lead_department_id=world.housing.pk)
    wo.work_order_sign(order_id=report.order_id, actor=world.user("handler"))
    wo.work_order_reply(order_id=report.order_id, actor=world.user("handler"), text="已更换灯泡，恢复照明")
    return Report.objects.get(pk=report.pk)


def test_rating_feeds_the_callback_kpis(place):
    report = _replied(place)
    assert selectors.report_get(place=place.household, report_id=report.pk).can_rate
    services.report_rate(report=report, satisfaction="satisfied", note="很快")
    report.order.refresh_from_db()
    assert report.order.status == Status.CLOSED and report.order.satisfaction == "satisfied"
    now = timezone.now()
    [overall] = kpi_summary(actor=place.world.user("admin"), start=now - timedelta(days=1), end=now + timedelta(days=1))
    assert overall["satisfaction_rate"] == 1.0
    with pytest.raises(Conflict):
        services.report_rate(report=report, satisfaction="satisfied")


def test_rating_before_the_reply_is_refused(place):
    report = services.report_create(reporter=_reporter(place), content="噪音扰民")
    with pytest.raises(Conflict) as err:
        services.report_rate(report=report, satisfaction="satisfied")
    assert err.value.code == "not_replied"


def test_unsatisfied_needs_a_cause_and_can_reopen_within_the_window(place):
    report = _replied(place)
    with pytest.raises(ValidationFailed) as err:
        services.report_rate(report=report, satisfaction="unsatisfied")
    assert "cause" in err.value.fields
    rating = services.report_rate(report=report, satisfaction="unsatisfied", cause="not_solved", note="灯还是不亮",
                                  reopen=True)
    new = rating.reopened_order
    assert new.redo_of_id == report.order_id and new.status == Status.DISPATCHED
    assert Report.objects.filter(order=new, household=place.household).exists()  # still on my list


def test_reopen_window_and_cause(place, settings):
    report = _replied(place)
    with pytest.raises(ValidationFailed) as err:
        services.report_rate(report=report, satisfaction="unsatisfied", cause="policy_limit", reopen=True)
    assert "reopen" in err.value.fields
    settings.TONGXIN_RESIDENT_REOPEN_DAYS = 0
    from tongxin.workorders.models import WorkOrder

    WorkOrder.objects.filter(pk=report.order_id).update(replied_at=timezone.now() - timedelta(hours=1))
    with pytest.raises(ValidationFailed) as err:
        services.report_rate(report=report, satisfaction="unsatisfied", cause="not_solved", reopen=True)
    assert "reopen" in err.value.fields
    services.report_rate(report=report, satisfaction="unsatisfied", cause="not_solved")  # a plain callback still works
    assert Rating.objects.get(report=report).reopened_order is None


def test_another_households_request_is_not_found(place):
    report = services.report_create(reporter=_reporter(place), content="井盖缺失")
    with pytest.raises(NotFound):
        selectors.report_get(place=place.other_household, report_id=report.pk)
    assert selectors.report_list(place=place.other_household) == []
    assert [r.order.pk for r in selectors.report_list(place=place.household)] == [report.order_id]


def test_board_is_located_and_anonymised(place):
    services.report_create(reporter=_reporter(place), content="王小明 13900001111 反映路灯", lat=37.12345, lng=107.12345)
    services.report_create(reporter=_reporter(place), content="没有位置的诉求")
    items = selectors.board_items()
    assert len(items) == 1
    item = items[0]
    assert (item.lat, item.lng) == (37.123, 107.123)
    assert "13900001111" not in str(item.__dict__) and "王" not in str(item.__dict__)


def test_large_photo_is_downscaled_upright_and_stripped():
    from PIL import Image as PILImage

    from tongxin.residents.photos import photo_prepare

    image = PILImage.new("RGB", (4000, 3000), "green")
    exif = PILImage.Exif()
    exif[0x0112] = 6  # rotated 90° clockwise by the phone
    exif.get_ifd(0x8825).update({1: "N", 2: (39.0, 48.0, 0.0), 3: "E", 4: (109.0, 58.0, 48.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    photo = photo_prepare(upload(out.getvalue()))
    assert (photo.width, photo.height) == (1500, 2000)  # half-scale decode, then turned upright
    assert photo.point == (109.98, 39.8)
    stored = PILImage.open(io.BytesIO(photo.content.read()))
    assert not stored.getexif() and stored.size == (1500, 2000)


def test_expired_login_codes_are_purged(place):
    services.login_code_request(place=place.household, phone=PHONE, ip="10.0.0.1")
    assert services.login_codes_purge() == 0
    LoginCode.objects.update(expires_at=timezone.now() - timedelta(days=2))
    assert services.login_codes_purge() == 1 and not LoginCode.objects.exists()
    assert services.login_codes_purge() == 0


def test_periodic_task_is_registered():
    from tongxin.residents import tasks

    assert callable(tasks.login_codes_purge_task)
