"""受理 (work_order_create): validation of every input, where the order lands, its number, repeats.

Every refused call must leave the database as it was: no order, no event, no number consumed.
"""

from __future__ import annotations

import math

import pytest
from django.conf import settings

from tongxin.core.datums import from_wgs84, wgs84_to_gcj02
from tongxin.core.errors import PermissionDenied, ValidationFailed
from tongxin.workorders.choices import Action, Status
from tongxin.workorders.models import DailyCounter, WorkOrder, WorkOrderEvent

from .engine_helpers import (  # noqa: F401 - fast_password_hashing is an autouse fixture
    POINT_A,
    POINT_B,
    at,
    create,
    fast_password_hashing,
    time_travel,
)

pytestmark = pytest.mark.django_db


def _counts():
    return (WorkOrder.objects.count(), WorkOrderEvent.objects.count(), list(DailyCounter.objects.values_list("day", "last")))


def refused(world, field, *, actor="operator", **kwargs):
    """Create must fail on ``field`` and write nothing."""
    before = _counts()
    with pytest.raises(ValidationFailed) as caught:
        create(world, actor=actor, **kwargs)
    assert caught.value.status == 422
    assert caught.value.code == "validation_error"
    assert field in caught.value.fields, caught.value.fields
    assert caught.value.fields[field]  # a reason, in words
    assert _counts() == before
    return caught.value


def test_a_valid_request_is_accepted_with_its_event(world):
    order = create(world)
    assert order.status == Status.ACCEPTED
    assert order.version == 1
    assert order.area == world.grid_a and order.area_path == world.grid_a.path
    assert (order.lat, order.lng) == (37.1, 107.1)
    assert order.accepted_by == world.user("operator")
    (event,) = WorkOrderEvent.objects.filter(order=order)
    assert (event.action, event.from_status, event.to_status) == (Action.ACCEPT, "", Status.ACCEPTED)
    assert event.actor_role == "operator" and event.data == {"channel": "hotline"}


@pytest.mark.parametrize("content", ["", "   ", None])
def test_content_is_required(world, content):
    refused(world, "content", content=content)


def test_content_length_limit(world):
    limit = settings.TONGXIN_MAX_CONTENT_CHARS
    error = refused(world, "content", content="长" * (limit + 1))
    assert str(limit) in error.fields["content"]
    assert create(world, content="长" * limit).content == "长" * limit


def test_ten_megabytes_of_text_is_refused(world):
    refused(world, "content", content="x" * (10 * 1024 * 1024))


@pytest.mark.parametrize(("field", "value"), [("title", "题" * 201), ("address", "址" * 301),
                                              ("external_id", "e" * 65), ("citizen_name", "名" * 61)])
def test_other_text_limits(world, field, value):
    refused(world, field, **{field: value})


@pytest.mark.parametrize(("field", "value"), [("channel", "fax"), ("kind", "rant"), ("urgency", "asap"),
                                              ("channel", None), ("kind", "")])
def test_unknown_choices(world, field, value):
    refused(world, field, **{field: value})


def test_unknown_or_inactive_category(world):
    refused(world, "category_code", category_code="C99")
    world.category_other.active = False
    world.category_other.save()
    refused(world, "category_code", category_code="C02")
    assert create(world, category_code=None).category is None  # the dispatcher classifies later


@pytest.mark.parametrize(("lat", "lng"), [(51.5, -0.12), (-33.9, 151.2), (37.1, 150.0), (60.0, 107.1), (0.0, 0.0)])
def test_points_outside_china(world, lat, lng):
    refused(world, "lat", lat=lat, lng=lng)


@pytest.mark.parametrize(("lat", "lng", "field"), [(37.1, None, "lng"), (None, 107.1, "lat")])
def test_lat_and_lng_come_together(world, lat, lng, field):
    refused(world, field, lat=lat, lng=lng)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "abc", "NaN"])
def test_coordinates_must_be_finite_numbers(world, bad):
    refused(world, "lat", lat=bad, lng=107.1)
    refused(world, "lat", lat=37.1, lng=bad)


def test_numeric_strings_are_accepted(world):
    order = create(world, lat="37.1", lng="107.1")
    assert (order.lat, order.lng, order.area) == (37.1, 107.1, world.grid_a)


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_a_point_in_another_datum_is_stored_in_wgs84(world, crs):
    lng, lat = from_wgs84(107.1, 37.1, crs)
    assert abs(lng - 107.1) > 1e-4  # the datums really differ here
    order = create(world, lat=lat, lng=lng, crs=crs)
    order.refresh_from_db()
    assert order.lng == pytest.approx(107.1, abs=1e-6)
    assert order.lat == pytest.approx(37.1, abs=1e-6)
    assert order.area == world.grid_a


def test_gcj02_shift_decides_the_area(world):
    # A WGS-84 point just inside grid A's east edge (107.25): read naively as GCJ-02 it would land outside.
    gcj_lng, gcj_lat = wgs84_to_gcj02(107.249, 37.1)
    assert gcj_lng > 107.25
    order = create(world, lat=gcj_lat, lng=gcj_lng, crs="gcj02")
    assert order.area == world.grid_a


def test_unknown_crs(world):
    refused(world, "crs", crs="epsg:3857")


def test_area_code(world):
    refused(world, "area_code", area_code="999999")
    order = create(world, area_code=world.town_a.code, lat=None, lng=None)
    assert order.area == world.town_a
    # An explicit area wins over the point.
    assert create(world, area_code=world.community_a.code).area == world.community_a


def test_no_location_lands_in_the_city_and_a_point_outside_every_area_too(world):
    assert create(world, lat=None, lng=None).area == world.city
    assert create(world, lat=30.0, lng=120.0).area == world.city  # in China, outside the test city


@pytest.mark.parametrize("phone", ["abc", "12", "1381234567890123456789", "138 1234 567a", "--138"])
def test_phone_format(world, phone):
    refused(world, "citizen_phone", citizen_phone=phone)


@pytest.mark.parametrize(("phone", "stored"), [("138 1234 5678", "13812345678"), ("0477-8123456", "0477-8123456"),
                                               ("+8613812345678", "+8613812345678"), ("", "")])
def test_valid_phones(world, phone, stored):
    assert create(world, citizen_phone=phone).citizen_phone == stored


def test_anonymous_keeps_neither_name_nor_phone(world):
    order = create(world, anonymous=True, citizen_name="张三", citizen_phone="not-a-phone")
    order.refresh_from_db()
    assert (order.anonymous, order.citizen_name, order.citizen_phone) == (True, "", "")


def test_grid_worker_reports_inside_their_grid_through_the_grid_channel(world):
    order = create(world, actor="grid_worker", channel="grid")
    assert order.area == world.grid_a and order.channel == "grid"
    refused(world, "channel", actor="grid_worker", channel="hotline")
    refused(world, "area_code", actor="grid_worker", channel="grid", **POINT_B)
    refused(world, "area_code", actor="grid_worker", channel="grid", lat=37.4, lng=107.4)  # town A, outside the grid


def test_who_may_record_a_request(world):
    for username in ("handler", "leader", "nobody"):
        before = _counts()
        with pytest.raises(PermissionDenied):
            create(world, actor=username)
        assert _counts() == before
    # A district-B dispatcher records district-B requests only.
    assert create(world, actor="dispatcher_b", **POINT_B).area == world.town_b
    refused(world, "area_code", actor="dispatcher_b")


def test_numbers_are_13_digits_day_and_sequence_in_local_time(world):
    with time_travel(at(2025, 3, 3, 9, 0)) as clock:
        first = [create(world).number for _ in range(3)]
        clock.set(at(2025, 3, 3, 23, 59))
        first.append(create(world).number)
        clock.set(at(2025, 3, 4, 0, 30))  # 16:30 UTC on the 3rd: the local date counts
        second = [create(world).number for _ in range(2)]
    assert first == ["2025030300001", "2025030300002", "2025030300003", "2025030300004"]
    assert second == ["2025030400001", "2025030400002"]
    numbers = list(WorkOrder.objects.values_list("number", flat=True))
    assert len(numbers) == len(set(numbers))
    assert all(len(n) == 13 and n.isdigit() for n in numbers)


def test_a_refused_request_consumes_no_number(world):
    with time_travel(at(2025, 3, 3, 9, 0)):
        assert create(world).number == "2025030300001"
        refused(world, "citizen_phone", citizen_phone="abc")
        assert create(world).number == "2025030300002"


def test_repeat_is_same_phone_and_category_within_30_days(world):
    with time_travel(at(2025, 3, 1, 9, 0)) as clock:
        first = create(world, citizen_phone="13900000001")
        assert not first.is_repeat
        clock.set(at(2025, 3, 20, 9, 0))
        assert create(world, citizen_phone="13900000001").is_repeat
        assert not create(world, citizen_phone="13900000002").is_repeat  # another caller
        assert not create(world, citizen_phone="13900000001", category_code="C02").is_repeat  # another category
        assert not create(world, citizen_phone="13900000001", category_code=None).is_repeat
        assert not create(world, anonymous=True).is_repeat
        clock.set(at(2025, 5, 1, 9, 0))  # more than 30 days after the last C010101 call of this phone
        assert not create(world, citizen_phone="13900000001").is_repeat
