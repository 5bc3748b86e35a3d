"""Basic information on the real database: ID numbers (GB 11643-1999), phones, buildings, households,
residents and merchants with their change history; the selectors other rooms call (scope, adults,
owners, confirmed reports)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from tongxin.core.errors import ValidationFailed
from tongxin.core.models import AuditEvent
from tongxin.residents import selectors, services
from tongxin.residents.choices import ChangeAction, RecordType
from tongxin.residents.models import Building, Household, RecordChange, Resident
from tongxin.workorders import services as wo
from tongxin.workorders.choices import Status

from .conftest import PHONE

pytestmark = pytest.mark.django_db


def make_id(prefix: str = "150602", born: str = "19900101", seq: str = "123") -> str:
    """A valid 18-digit ID number (check character by ISO 7064 MOD 11-2)."""
    body = prefix + born + seq
    return body + services.ID_CHECK[sum(int(c) * w for c, w in zip(body, services.ID_WEIGHTS, strict=True)) % 11]


def fields_of(call) -> dict:
    with pytest.raises(ValidationFailed) as err:
        call()
    return err.value.fields


# --- ID numbers and phones ----------------------------------------------------------------------------

def test_id_parse_checks_check_digit_province_and_birth_date():
    parsed = services.id_parse(make_id(born="20080229"))
    assert parsed.birth_date == date(2008, 2, 29) and parsed.region == "150602"
    good = make_id()
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    assert "校验位" in fields_of(lambda: services.id_parse(bad_check))["id_number"]
    assert "省级" in fields_of(lambda: services.id_parse(make_id(prefix="990602")))["id_number"]
    assert "不存在" in fields_of(lambda: services.id_parse(make_id(born="19900230")))["id_number"]
    assert "不合理" in fields_of(lambda: services.id_parse(make_id(born="18990101")))["id_number"]
    tomorrow = (timezone.localdate() + timedelta(days=1)).strftime("%Y%m%d")
    assert "不合理" in fields_of(lambda: services.id_parse(make_id(born=tomorrow)))["id_number"]
    assert "18 位" in fields_of(lambda: services.id_parse("15060219900101123"))["id_number"]


def test_x_check_character_is_accepted_in_either_case():
    number = next(make_id(seq=f"{n:03d}") for n in range(1000) if make_id(seq=f"{n:03d}").endswith("X"))
    assert services.id_parse(number.lower()).number == number


@pytest.mark.parametrize(("value", "ok"), [
    ("13912345678", "13912345678"), ("+86 139-1234-5678", "13912345678"), ("12012345678", None),
    ("1391234567", None), ("139123456789", None), ("", ""),
])
def test_mobile_numbers(value, ok):
    if ok is None:
        assert "13–19" in fields_of(lambda: services.mobile_normalise(value))["phone"]
    else:
        assert services.mobile_normalise(value) == ok


@pytest.mark.parametrize(("value", "ok"), [
    ("0477-8581234", "0477-8581234"), ("04778581234", "0477-8581234"), ("010-62345678", "010-62345678"),
    ("(0477)8581234", "0477-8581234"), ("13912345678", "13912345678"), ("8581234", None), ("0477-0581234", None),
])
def test_contact_phones_take_a_landline_with_area_code(value, ok):
    if ok is None:
        with pytest.raises(ValidationFailed) as err:
            services.contact_phone_normalise(value)
        assert "contact_phone" in err.value.fields
    else:
        assert services.contact_phone_normalise(value) == ok


# --- buildings and households -------------------------------------------------------------------------

def test_building_validation_names_each_field(world):
    errors = fields_of(lambda: services.building_create(
        area=world.community_a, grid=world.grid_a, name="", floors="0", units="x", lat="91", lng="110",
        footprint='{"type": "Point", "coordinates": [1, 2]}'))
    assert set(errors) == {"name", "floors", "units", "lat", "footprint"}
    assert errors["floors"] == "层数应在 1 到 200 之间" and errors["units"] == "单元数必须是整数"
    outside = fields_of(lambda: services.building_create(area=world.community_a, grid=world.town_b, name="1号楼"))
    assert outside == {"grid": "所选网格不属于该社区"}
    assert "社区" in fields_of(lambda: services.building_create(area=world.town_a, name="1号楼"))["area"]


def test_building_footprint_gives_its_point_and_rename_follows_to_households(world):
    square = {"type": "Polygon", "coordinates": [[[107.1, 37.1], [107.1005, 37.1], [107.1005, 37.1005],
                                                  [107.1, 37.1005], [107.1, 37.1]]]}
    building = services.building_create(area=world.community_a, grid=world.grid_a, name="5号楼", floors=18, units=3,
                                        footprint=square)
    assert 107.1 < building.lng < 107.1005 and 37.1 < building.lat < 37.1005
    household = services.household_create(area=world.community_a, grid=world.grid_a, address="甲社区5号楼1单元101",
                                           building=building, unit="1单元", room="101")
    assert household.building == "5号楼" and household.building_ref == building
    services.building_update(building=building, grid=world.grid_a, name="5栋", floors=18, units=3, footprint=square)
    household.refresh_from_db()
    assert household.building == "5栋" and household.building_ref_id == building.pk
    [change, created] = RecordChange.objects.filter(object_type=RecordType.BUILDING, object_id=building.pk)
    assert change.action == ChangeAction.UPDATED and change.changes["name"] == ["5号楼", "5栋"]
    assert created.action == ChangeAction.CREATED
    assert "同名" in fields_of(lambda: services.building_create(area=world.community_a, name="5栋"))["name"]
    big = {"type": "Polygon", "coordinates": [[[107, 37], [107.5, 37], [107.5, 37.5], [107, 37.5], [107, 37]]]}
    assert "过大" in fields_of(lambda: services.building_create(area=world.community_a, name="6号楼",
                                                               footprint=big))["footprint"]


def test_household_building_text_registers_the_building_once(place):
    # The fixture's two households name "3号楼": one Building, both linked, text kept equal.
    [building] = Building.objects.filter(area=place.world.community_a, name="3号楼")
    assert set(building.households.values_list("pk", flat=True)) == {place.household.pk, place.other_household.pk}
    errors = fields_of(lambda: services.household_create(
        area=place.world.community_a, grid=place.world.grid_a, address="", building="3号楼", unit="2单元", room="101",
        floor_area="abc"))
    assert errors == {"address": "地址不能为空", "floor_area": "面积必须是数字（平方米）"}
    dup = fields_of(lambda: services.household_create(
        area=place.world.community_a, grid=place.world.grid_a, address="x", building="3号楼", unit="2单元", room="101"))
    assert dup == {"room": "本社区已登记该楼栋、单元、门牌号的住户"}


def test_household_update_records_only_what_changed(place):
    admin = place.world.user("admin")
    household = place.household
    services.household_update(household=household, actor=admin, address=household.address, grid=place.world.grid_a,
                              building="3号楼", unit="2单元", room="101", floor_area="92")
    change = RecordChange.objects.filter(object_type=RecordType.HOUSEHOLD, object_id=household.pk).first()
    assert change.action == ChangeAction.UPDATED and change.changes == {"floor_area": ["89.50", "92.00"]}
    assert change.actor_id == admin.pk and change.actor_label == "admin"
    before = RecordChange.objects.count()
    services.household_update(household=household, actor=admin, address=household.address, grid=place.world.grid_a,
                              building="3号楼", unit="2单元", room="101", floor_area="92.00")
    assert RecordChange.objects.count() == before  # nothing changed, nothing recorded


def test_grid_worker_writes_only_in_own_grid(place):
    worker = place.world.user("grid_worker")
    errors = fields_of(lambda: services.household_create(area=place.world.community_a, address="甲社区平房1号",
                                                         actor=worker))
    assert "grid" in errors  # the worker's scope is the grid: a record must name it
    household = services.household_create(area=place.world.community_a, grid=place.world.grid_a,
                                          address="甲社区平房1号", actor=worker)
    assert RecordChange.objects.get(object_type="household", object_id=household.pk).actor_id == worker.pk
    leader = place.world.user("leader")  # leaders read, never write
    assert fields_of(lambda: services.household_create(area=place.world.community_a, grid=place.world.grid_a,
                                                       address="甲社区平房2号", actor=leader))


# --- residents ------------------------------------------------------------------------------------------

def test_resident_birth_date_comes_from_the_id_number(place):
    resident = services.resident_add(household=place.household, name="王小红", phone="13900004444",
                                     id_number=make_id(born="20100315"), is_owner=False)
    assert resident.birth_date == date(2010, 3, 15) and resident.id_masked.startswith("1506")
    errors = fields_of(lambda: services.resident_add(household=place.household, name="王大", phone="13900005555",
                                                      id_number=make_id(born="19800101", seq="555"),
                                                      birth_date="1980-01-02"))
    assert errors == {"birth_date": "出生日期与身份证号不一致"}
    typed = services.resident_add(household=place.household, name="王奶奶", birth_date="1940-05-01")
    assert typed.birth_date == date(1940, 5, 1) and typed.phone == ""  # no phone: an elder or a child
    errors = fields_of(lambda: services.resident_add(household=place.household, name="", phone="139", birth_date="1940-13-01"))
    assert set(errors) == {"name", "phone", "birth_date"}


def test_one_id_number_one_active_resident(place):
    number = make_id(born="19850606", seq="666")
    services.resident_add(household=place.household, name="张三", id_number=number)
    errors = fields_of(lambda: services.resident_add(household=place.other_household, name="张三", id_number=number))
    assert "id_number" in errors


def test_resident_update_history_is_masked_and_verification_follows_the_data(place):
    admin = place.world.user("admin")
    resident = place.resident
    services.resident_update(resident=resident, actor=admin, name=resident.name, phone=PHONE, is_owner=True,
                             id_checked=True)
    resident.refresh_from_db()
    assert resident.verified_at is not None and resident.is_owner
    services.resident_update(resident=resident, actor=admin, name=resident.name, phone="13700007777", is_owner=True)
    resident.refresh_from_db()
    assert resident.verified_at is None  # the phone changed: the check was of the old data
    change = RecordChange.objects.filter(object_type="resident", object_id=resident.pk).first()
    assert change.changes["phone"] == ["139****1111", "137****7777"]
    assert "13900001111" not in str(change.changes) and "13700007777" not in str(change.changes)
    assert "id_number" not in str(change.changes) and resident.id_digest not in str(change.changes)
    assert "id_checked" in fields_of(lambda: services.resident_update(
        resident=place.other_resident, actor=admin, name="李四", phone=place.other_resident.phone, id_checked=True))


def test_sms_login_verifies_a_resident_with_an_id_on_file(place, django_capture_on_commit_callbacks):
    from .conftest import last_sms_code

    for resident in (place.resident, place.other_resident):
        household = resident.household
        with django_capture_on_commit_callbacks(execute=True):
            services.login_code_request(place=household, phone=resident.phone, ip="10.0.0.9")
        services.login_code_verify(place=household, phone=resident.phone, code=last_sms_code(resident.phone),
                                   ip="10.0.0.9")
    place.resident.refresh_from_db()
    place.other_resident.refresh_from_db()
    assert place.resident.verified_at is not None  # an ID on file and its own phone
    assert place.other_resident.verified_at is None  # no ID number: nothing to verify against


# --- merchants and reveals ------------------------------------------------------------------------------

def test_merchant_validation_and_reveal_is_audited(place):
    errors = fields_of(lambda: services.merchant_create(name="", address="", area=place.world.community_a,
                                                        licence_number="123", contact_phone="8581234"))
    assert set(errors) == {"name", "address", "licence_number", "contact_phone"}
    merchant = services.merchant_create(name="老李修车", address="甲社区商业街9号", area=place.world.community_a,
                                        grid=place.world.grid_a, licence_number="91150602MA0N5XQY2A",
                                        contact_phone="0477-8581234")
    assert merchant.contact_phone == "0477-8581234"
    admin = place.world.user("admin")
    assert services.personal_data_reveal(actor=admin, record=merchant, field="contact_phone") == "0477-8581234"
    event = AuditEvent.objects.get(event_type="personal_data_reveal", object_type="merchant")
    assert event.actor_id == admin.pk and event.data == {"field": "contact_phone", "masked": "047*****1234"}


# --- selectors other rooms call ---------------------------------------------------------------------------

def test_scope_selectors_narrow_by_area_grid_and_building(place, world):
    b = services.building_create(area=world.community_a, grid=world.grid_a, name="9号楼")
    h9 = services.household_create(area=world.community_a, grid=world.grid_a, address="9号楼1单元1", building=b,
                                   unit="1单元", room="1")
    bare = services.household_create(area=world.community_a, address="甲社区平房3号")  # no grid
    ids = lambda qs: set(qs.values_list("pk", flat=True))  # noqa: E731
    everything = {place.household.pk, place.other_household.pk, h9.pk, bare.pk}
    assert ids(selectors.households_in_scope(area=world.district_a)) == everything
    assert ids(selectors.households_in_scope(area=world.community_a.pk)) == everything
    assert ids(selectors.households_in_scope(area=world.district_b)) == set()
    assert ids(selectors.households_in_scope(grid=world.grid_a)) == everything - {bare.pk}
    assert ids(selectors.households_in_scope(area=world.grid_a)) == everything - {bare.pk}
    assert ids(selectors.households_in_scope(area=world.town_a, building=b)) == {h9.pk}
    assert ids(selectors.households_in_scope(area=999999)) == set()
    names = set(selectors.buildings_in_scope(grid=world.grid_a).values_list("name", flat=True))
    assert names == {"3号楼", "9号楼"}
    assert not selectors.buildings_in_scope(area=world.district_b).exists()


def test_adults_are_counted_on_the_day_and_leap_day_births_come_of_age_on_1_march(place):
    household = place.household
    leap = services.resident_add(household=household, name="闰日生", id_number=make_id(born="20080229", seq="229"))
    services.resident_add(household=household, name="无生日", phone="13900006666")  # unknown: never counted
    gone = services.resident_add(household=household, name="已迁出", birth_date="1970-01-01")
    Resident.objects.filter(pk=gone.pk).update(active=False)
    qs = Household.objects.filter(pk=household.pk)
    names = lambda on: set(selectors.adult_residents_of(qs, on=on).values_list("name", flat=True))  # noqa: E731
    assert names(date(2026, 2, 28)) == {"王小明"}  # born 1990; the leap-day child is not 18 yet
    assert names(date(2026, 3, 1)) == {"王小明", "闰日生"}
    assert leap.birth_date == date(2008, 2, 29)
    assert selectors.adult_cutoff(date(2028, 2, 29)) == date(2010, 2, 28)


def test_owners_of_and_resident_get(place):
    services.resident_update(resident=place.resident, name="王小明", phone=PHONE, is_owner=True)
    qs = selectors.households_in_scope(area=place.world.community_a)
    assert list(selectors.owners_of(qs)) == [place.resident]
    assert selectors.resident_get(place.resident.pk) == place.resident
    assert selectors.resident_get("x") is None and selectors.resident_get(10**9) is None


def _report(place, content):
    reporter = services.Reporter(household=place.household, merchant=None, resident=place.resident,
                                 name=place.resident.name, phone=place.resident.phone)
    return services.report_create(reporter=reporter, content=content, category_code="C010101")


def _to_replied(place, report):
    world = place.world
    wo.work_order_dispatch(order_id=report.order_id, actor=world.user("dispatcher"), lead_department_id=world.housing.pk)
    wo.work_order_sign(order_id=report.order_id, actor=world.user("handler"))
    wo.work_order_reply(order_id=report.order_id, actor=world.user("handler"), text="已处理")


def test_report_confirmations_count_closed_orders_once_and_skip_set_aside_ones(place):
    world = place.world
    start = timezone.now() - timedelta(minutes=1)
    closed = _report(place, "路灯不亮")
    _to_replied(place, closed)
    services.report_rate(report=closed, satisfaction="satisfied")
    unsatisfied = _report(place, "垃圾未清")
    _to_replied(place, unsatisfied)
    services.report_rate(report=unsatisfied, satisfaction="unsatisfied", cause="policy_limit")  # closed: counts
    redone = _report(place, "井盖松动")
    _to_replied(place, redone)
    rating = services.report_rate(report=redone, satisfaction="unsatisfied", cause="not_solved", reopen=True)
    invalid = _report(place, "测试")
    wo.work_order_mark_invalid(order_id=invalid.order_id, actor=world.user("dispatcher"), note="无实际诉求")
    police = _report(place, "有人打架")
    wo.work_order_transfer_police(order_id=police.order_id, actor=world.user("operator"), note="治安案件")
    duplicate = _report(place, "路灯不亮（再报）")
    wo.work_order_merge(order_id=duplicate.order_id, actor=world.user("dispatcher"), into_id=closed.order_id)
    open_one = _report(place, "还在办理")
    _to_replied(place, open_one)  # replied, not yet confirmed
    end = timezone.now() + timedelta(minutes=1)
    rows = selectors.report_confirmations(since=start, until=end)
    assert {r.order_id for r in rows} == {closed.order_id, unsatisfied.order_id}
    row = next(r for r in rows if r.order_id == closed.order_id)
    assert (row.report_id, row.resident_id, row.household_id) == (closed.pk, place.resident.pk, place.household.pk)
    assert start <= row.confirmed_at < end
    assert selectors.report_confirmations(since=end, until=end + timedelta(days=1)) == []
    # The redo's new order carries the request on: once it closes, the request is confirmed (once).
    new = rating.reopened_order
    wo.work_order_sign(order_id=new.pk, actor=world.user("handler"))
    wo.work_order_reply(order_id=new.pk, actor=world.user("handler"), text="已更换井盖")
    wo.work_order_callback(order_id=new.pk, actor=world.user("operator"), satisfaction="satisfied")
    later = selectors.report_confirmations(since=start, until=timezone.now() + timedelta(minutes=1))
    assert {r.order_id for r in later} == {closed.order_id, unsatisfied.order_id, new.pk}
    assert Status.CLOSED == "closed"
