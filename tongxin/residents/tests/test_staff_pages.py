"""The staff pages of basic information (/grid/info/): scoping (404 outside the area, ids guessed),
read-only leaders (403 on writes), validation shown beside the field, masked lists, the audited
reveal, and the change history on each record's page."""

from __future__ import annotations

import pytest
from django.test import Client

from tongxin.accounts.choices import Role
from tongxin.accounts.services import role_grant
from tongxin.core.models import AuditEvent
from tongxin.regions.choices import AreaLevel
from tongxin.regions.services import area_upsert
from tongxin.residents import services
from tongxin.residents.models import Building, Household, RecordChange, Resident
from tongxin.testing import PASSWORD, make_user, square

from .conftest import PHONE
from .test_basic_info import make_id

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def stranger(world):
    """A grid worker of a community in district B: must see nothing of community A."""
    community = area_upsert(code="150603001001", name="乙社区", level=AreaLevel.COMMUNITY, parent=world.town_b,
                            boundary=square(109, 37, 0.5))
    grid = area_upsert(code="150603001001G01", name="乙一网格", level=AreaLevel.GRID, parent=community,
                       boundary=square(109, 37, 0.25))
    user = make_user("grid_worker_b")
    role_grant(user=user, role=Role.GRID_WORKER, area=grid)
    return user


def test_another_communitys_grid_worker_gets_404_for_every_record_by_id(place, stranger):
    client = client_for(stranger)
    building = Building.objects.get(name="3号楼")
    urls = [
        f"/grid/info/households/{place.household.pk}/", f"/grid/info/households/{place.household.pk}/edit/",
        f"/grid/info/households/{place.household.pk}/residents/new/",
        f"/grid/info/residents/{place.resident.pk}/", f"/grid/info/residents/{place.resident.pk}/edit/",
        f"/grid/info/buildings/{building.pk}/", f"/grid/info/buildings/{building.pk}/edit/",
        f"/grid/info/merchants/{place.merchant.pk}/", f"/grid/info/merchants/{place.merchant.pk}/edit/",
        "/grid/info/households/999999/", "/grid/info/residents/999999/",
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert client.post(f"/grid/info/residents/{place.resident.pk}/reveal/").status_code == 404
    assert client.post(f"/grid/info/households/{place.household.pk}/edit/", {"address": "x"}).status_code == 404
    assert not AuditEvent.objects.filter(event_type="personal_data_reveal").exists()
    listing = client.get("/grid/info/households/").content.decode()
    assert place.household.address not in listing and "没有找到住户" in listing
    residents = client.get("/grid/info/residents/?q=王").content.decode()
    assert "王*" not in residents


def test_people_without_a_role_see_no_pages(place):
    nobody = client_for(place.world.user("nobody"))
    assert nobody.get("/grid/info/households/").status_code == 404
    handler = client_for(place.world.user("handler"))
    assert handler.get(f"/grid/info/households/{place.household.pk}/").status_code == 404
    assert Client().get("/grid/info/households/").status_code == 302  # to the sign-in page


def test_leader_reads_but_cannot_write_or_reveal(place):
    client = client_for(place.world.user("leader"))
    page = client.get(f"/grid/info/households/{place.household.pk}/").content.decode()
    assert place.household.address in page and "编辑住户" not in page and "登记居民" not in page
    assert client.get(f"/grid/info/households/{place.household.pk}/edit/").status_code == 403
    assert client.get("/grid/info/households/new/").status_code == 403
    assert client.post(f"/grid/info/residents/{place.resident.pk}/reveal/").status_code == 403
    assert client.get("/grid/info/import/").status_code == 403


def test_lists_are_masked_and_search_finds_by_phone_tail_and_id_number(place):
    client = client_for(place.world.user("grid_worker"))
    page = client.get("/grid/info/residents/").content.decode()
    assert "王*" in page and "139****1111" in page and "1506**********1238" in page
    assert PHONE not in page and "王小明" not in page
    assert "王*" in client.get("/grid/info/residents/?q=1111").content.decode()
    found = client.get("/grid/info/residents/?q=150602199001011238").content.decode()
    assert "王*" in found and "李*" not in found
    households = client.get("/grid/info/households/?q=101").content.decode()
    assert "3号楼2单元101" in households and "3号楼2单元102" not in households


def test_grid_worker_registers_a_household_then_a_resident_and_the_history_shows_it(place):
    worker = place.world.user("grid_worker")
    client = client_for(worker)
    bad = client.post("/grid/info/households/new/", {
        "area": place.world.community_a.pk, "grid": place.world.grid_a.pk, "address": "", "floor_area": "很大"})
    text = bad.content.decode()
    assert bad.status_code == 422 and "地址不能为空" in text and "面积必须是数字（平方米）" in text
    ok = client.post("/grid/info/households/new/", {
        "area": place.world.community_a.pk, "grid": place.world.grid_a.pk, "new_building": "7号楼", "unit": "1单元",
        "room": "502", "address": "甲社区幸福小区7号楼1单元502", "floor_area": "96.5"})
    assert ok.status_code == 302
    household = Household.objects.get(room="502")
    assert household.building_ref.name == "7号楼" and str(household.floor_area) == "96.50"
    bad_id = make_id(born="19900101", seq="777")
    bad_id = bad_id[:17] + ("1" if bad_id[17] == "0" else "0")
    bad = client.post(f"/grid/info/households/{household.pk}/residents/new/", {
        "name": "赵大", "phone": "1234", "id_number": bad_id})
    text = bad.content.decode()
    assert bad.status_code == 422 and "身份证号校验位不正确" in text and "手机号应为 11 位数字" in text
    ok = client.post(f"/grid/info/households/{household.pk}/residents/new/", {
        "name": "赵大", "phone": "13812345678", "id_number": make_id(born="19900101", seq="777"), "is_owner": "on",
        "id_checked": "on"})
    resident = Resident.objects.get(name="赵大")
    assert ok.status_code == 302 and resident.is_owner and resident.verified_at and resident.household == household
    page = client.get(f"/grid/info/residents/{resident.pk}/").content.decode()
    assert "138****5678" in page and "13812345678" not in page and "已当面核验身份证" in page
    assert "赵*" in page and "赵大" not in page  # the name is personal data: masked, in the history too
    client.post(f"/grid/info/residents/{resident.pk}/edit/", {
        "name": "赵大", "phone": "13812345679", "is_owner": "on", "active": "on"})
    page = client.get(f"/grid/info/residents/{resident.pk}/").content.decode()
    assert "138****5678" in page and "138****5679" in page and "13812345679" not in page
    changes = RecordChange.objects.filter(object_type="resident", object_id=resident.pk)
    assert [c.action for c in changes] == ["updated", "created"] and all(c.actor_id == worker.pk for c in changes)


def test_reveal_shows_the_full_phone_once_and_audits_it(place):
    worker = place.world.user("grid_worker")
    client = client_for(worker)
    response = client.post(f"/grid/info/residents/{place.resident.pk}/reveal/")
    assert response.status_code == 200 and PHONE in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    event = AuditEvent.objects.get(event_type="personal_data_reveal", object_type="resident")
    assert event.actor_id == worker.pk and event.object_id == str(place.resident.pk)
    assert client.get(f"/grid/info/residents/{place.resident.pk}/reveal/").status_code == 405


def test_grid_worker_cannot_place_a_record_outside_their_grid_by_posting_an_id(place, stranger):
    client = client_for(place.world.user("grid_worker"))
    from tongxin.regions.models import Area

    grid_b = Area.objects.get(code="150603001001G01")
    response = client.post("/grid/info/households/new/", {
        "area": grid_b.parent_id, "grid": grid_b.pk, "address": "乙社区1号"})
    assert response.status_code == 422 and "不在您的管辖范围内" in response.content.decode()
    assert not Household.objects.filter(address="乙社区1号").exists()


def test_building_and_merchant_pages(place):
    client = client_for(place.world.user("admin"))
    bad = client.post("/grid/info/buildings/new/", {"area": place.world.community_a.pk, "name": "", "floors": "abc"})
    assert bad.status_code == 422 and "楼栋名称不能为空" in bad.content.decode()
    ok = client.post("/grid/info/buildings/new/", {"area": place.world.community_a.pk, "grid": place.world.grid_a.pk,
                                                   "name": "8号楼", "floors": "11", "units": "2",
                                                   "lat": "37.1", "lng": "107.1"})
    building = Building.objects.get(name="8号楼")
    assert ok.status_code == 302 and building.floors == 11 and building.lat == 37.1
    assert "8号楼" in client.get("/grid/info/buildings/").content.decode()
    bad = client.post(f"/grid/info/merchants/{place.merchant.pk}/edit/", {
        "name": "小王便利店", "address": "甲社区商业街8号", "contact_phone": "858-1234"})
    assert bad.status_code == 422 and "手机号应为 11 位数字" in bad.content.decode()
    ok = client.post(f"/grid/info/merchants/{place.merchant.pk}/edit/", {
        "name": "小王便利店", "address": "甲社区商业街8号", "contact_phone": "0477-8581234",
        "licence_number": "91150602MA0000000X"})
    assert ok.status_code == 302
    page = client.get(f"/grid/info/merchants/{place.merchant.pk}/").content.decode()
    assert "047*****1234" in page and "0477-8581234" not in page and "139****3333" in page


def test_list_query_count_is_pinned(place, django_assert_max_num_queries):
    for n in range(30):
        household = services.household_create(area=place.world.community_a, grid=place.world.grid_a,
                                               address=f"甲社区9号楼{n}", building="9号楼", unit="1单元", room=str(n))
        services.resident_add(household=household, name=f"居民{n}", phone=f"1370000{n:04d}")
    client = client_for(place.world.user("grid_worker"))
    for kind in ("households", "residents", "buildings", "merchants"):
        with django_assert_max_num_queries(12):
            assert client.get(f"/grid/info/{kind}/").status_code == 200
