"""The grid roster (一格一长一警一专多兼): services, the database constraint, audit, the API's scoping."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from tongxin.core.choices import AuditEventType
from tongxin.core.errors import Conflict, ValidationFailed
from tongxin.core.models import AuditEvent
from tongxin.regions.choices import GRID_ROSTER_CHANGED, AreaLevel, GridDuty
from tongxin.regions.models import GridMember
from tongxin.regions.selectors import grid_roster, grids_served_by
from tongxin.regions.services import (
    area_upsert,
    grid_member_assign,
    grid_member_phone_reveal,
    grid_member_remove,
    grid_member_update,
)
from tongxin.testing import square
from tongxin.workorders.tests.test_api import (
    API,
    _fast_password_hashing,  # noqa: F401 - autouse fixture
    assert_error,
    client_for,
)

D = GridDuty


@pytest.fixture
def grid(world):
    return world.grid_a


@pytest.fixture
def grid_b(world):
    community = area_upsert(code="150603001001", name="乙社区", level=AreaLevel.COMMUNITY, parent=world.town_b,
                            boundary=square(109, 37, 0.5))
    return area_upsert(code="150603001001G01", name="乙一网格", level=AreaLevel.GRID, parent=community,
                       boundary=square(109, 37, 0.25))


def roster_events():
    return list(AuditEvent.objects.filter(event_type=GRID_ROSTER_CHANGED).order_by("id"))


# --- services ---------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_one_leader_one_officer_one_full_time_many_part_time(world, grid):
    actor = world.user("leader")
    leader = grid_member_assign(grid=grid, name="王建国", phone="13900000001", duty=D.LEADER, actor=actor)
    grid_member_assign(grid=grid, name="李警官", phone="13900000002", duty=D.OFFICER, actor=actor)
    grid_member_assign(grid=grid, name="赵专职", phone="13900000003", duty=D.FULL_TIME, actor=actor,
                       user=world.user("grid_worker"))
    for n in range(3):
        grid_member_assign(grid=grid, name=f"兼职{n}", phone=f"1370000000{n}", duty=D.PART_TIME, actor=actor)
    with pytest.raises(ValidationFailed) as caught:
        grid_member_assign(grid=grid, name="另一网格长", phone="13900000009", duty=D.LEADER, actor=actor)
    assert "duty" in caught.value.fields and "王建国" in caught.value.fields["duty"]
    assert [m.duty for m in grid_roster(grid)] == [D.LEADER, D.OFFICER, D.FULL_TIME] + [D.PART_TIME] * 3
    assert str(leader) == "网格长 · 王建国 · 139****0001"
    events = roster_events()
    assert len(events) == 6 and events[0].actor_id == actor.pk and events[0].data["action"] == "assigned"
    assert "13900000001" not in str(events[0].data)  # personal data masked in the log


@pytest.mark.django_db
def test_the_database_enforces_one_active_holder(world, grid):
    grid_member_assign(grid=grid, name="王建国", phone="13900000001", duty=D.LEADER)
    with pytest.raises(IntegrityError), transaction.atomic():
        GridMember.objects.create(grid=grid, name="绕过服务", phone="13900000002", duty=D.LEADER)
    # Part-timers are many; an inactive former leader does not count.
    GridMember.objects.create(grid=grid, name="前任", phone="13900000003", duty=D.LEADER, active=False)
    GridMember.objects.create(grid=grid, name="兼一", phone="13900000004", duty=D.PART_TIME)
    GridMember.objects.create(grid=grid, name="兼二", phone="13900000005", duty=D.PART_TIME)


@pytest.mark.django_db
@pytest.mark.parametrize(("kwargs", "field"), [
    ({"name": ""}, "name"),
    ({"name": "很" * 61}, "name"),
    ({"phone": ""}, "phone"),
    ({"phone": "12345"}, "phone"),
    ({"phone": "23900000001"}, "phone"),
    ({"phone": "1390000000"}, "phone"),
    ({"duty": "captain"}, "duty"),
    ({"since": "2025-13-01"}, "since"),
])
def test_assign_validation(world, grid, kwargs, field):
    values = {"name": "王建国", "phone": "13900000001", "duty": D.LEADER, **kwargs}
    with pytest.raises(ValidationFailed) as caught:
        grid_member_assign(grid=grid, **values)
    assert field in caught.value.fields
    assert not GridMember.objects.exists() and not roster_events()


@pytest.mark.django_db
def test_only_a_grid_has_a_roster(world):
    with pytest.raises(ValidationFailed) as caught:
        grid_member_assign(grid=world.community_a, name="王建国", phone="13900000001", duty=D.LEADER)
    assert "不是网格" in caught.value.fields["grid"]


@pytest.mark.django_db
def test_change_duty_phone_account_then_remove(world, grid):
    part = grid_member_assign(grid=grid, name="钱兼职", phone="13700000001", duty=D.PART_TIME)
    grid_member_assign(grid=grid, name="赵专职", phone="13900000003", duty=D.FULL_TIME)
    with pytest.raises(ValidationFailed):  # the full-time post is taken
        grid_member_update(member=part, duty=D.FULL_TIME)
    full = GridMember.objects.get(duty=D.FULL_TIME)
    grid_member_remove(member=full, reason="调离", actor=world.user("leader"))
    promoted = grid_member_update(member=part, duty=D.FULL_TIME, phone="13700000009", user=world.user("grid_worker"),
                                  actor=world.user("leader"))
    assert promoted.duty == D.FULL_TIME and promoted.phone == "13700000009"
    last = roster_events()[-1]
    assert last.data["action"] == "updated"
    assert last.data["changes"]["duty"] == ["part_time", "full_time"]
    assert last.data["changes"]["phone"] == ["137****0001", "137****0009"]
    assert last.data["changes"]["user"] == [None, world.user("grid_worker").pk]
    removed = GridMember.objects.get(pk=full.pk)
    assert removed.active is False and removed.until is not None
    assert roster_events()[-2].data["action"] == "removed" and roster_events()[-2].data["changes"]["reason"] == "调离"
    with pytest.raises(Conflict):
        grid_member_remove(member=removed)
    with pytest.raises(Conflict):
        grid_member_update(member=removed, name="复活")
    with pytest.raises(ValidationFailed) as caught:
        grid_member_update(member=promoted, until="2000-01-01")
    assert "until" in caught.value.fields
    count = len(roster_events())
    grid_member_update(member=promoted, name=promoted.name)  # no change: no audit row
    assert len(roster_events()) == count
    assert [m.name for m in grid_roster(grid)] == ["钱兼职"]
    assert [m.name for m in grid_roster(grid, include_inactive=True)] == ["钱兼职", "赵专职"]


@pytest.mark.django_db
def test_a_person_serves_several_grids(world, grid, grid_b):
    user = world.user("grid_worker")
    grid_member_assign(grid=grid, name="赵专职", phone="13900000003", duty=D.FULL_TIME, user=user)
    grid_member_assign(grid=grid_b, name="赵专职", phone="13900000003", duty=D.PART_TIME, user=user)
    assert [g.code for g in grids_served_by(user)] == ["150602001001G01", "150603001001G01"]
    grid_member_remove(member=GridMember.objects.get(grid=grid_b))
    assert [g.code for g in grids_served_by(user)] == ["150602001001G01"]
    assert grids_served_by(world.user("nobody")) == []


@pytest.mark.django_db
def test_reveal_is_audited(world, grid):
    member = grid_member_assign(grid=grid, name="王建国", phone="13900000001", duty=D.LEADER)
    assert grid_member_phone_reveal(member=member, actor=world.user("operator")) == "13900000001"
    event = AuditEvent.objects.get(event_type=AuditEventType.PERSONAL_DATA_REVEAL)
    assert event.actor_id == world.user("operator").pk and event.object_type == "grid_member"
    assert event.data == {"field": "phone", "masked": "139****0001", "grid": grid.code}


# --- the API ----------------------------------------------------------------------------------------

ROSTER = f"{API}/regions/grids/150602001001G01/roster"


@pytest.mark.django_db
def test_api_assign_list_update_remove(world, grid):
    leader = client_for(world, "leader")
    created = leader.post(ROSTER, {"name": "王建国", "phone": "13900000001", "duty": "leader",
                                   "username": "grid_worker"}, content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["phone"] == "139****0001" and body["username"] == "grid_worker" and body["duty_label"] == "网格长"
    member_id = body["id"]
    listed = client_for(world, "operator").get(ROSTER).json()
    assert [(m["name"], m["phone"]) for m in listed] == [("王建国", "139****0001")]
    patched = leader.patch(f"{API}/regions/roster/{member_id}", {"duty": "full_time", "username": ""},
                           content_type="application/json").json()
    assert patched["duty"] == "full_time" and patched["username"] is None
    removed = leader.post(f"{API}/regions/roster/{member_id}/remove", {"reason": "退休"},
                          content_type="application/json").json()
    assert removed["active"] is False
    assert client_for(world, "operator").get(ROSTER).json() == []
    assert len(client_for(world, "operator").get(f"{ROSTER}?include_inactive=true").json()) == 1


@pytest.mark.django_db
def test_api_errors_name_the_field(world, grid):
    leader = client_for(world, "leader")
    assert_error(leader.post(ROSTER, {"name": "王", "phone": "123", "duty": "leader"},
                             content_type="application/json"), 422, "validation_error", "phone")
    assert_error(leader.post(ROSTER, {"name": "王", "phone": "13900000001", "duty": "boss"},
                             content_type="application/json"), 422, "validation_error", "duty")
    assert_error(leader.post(ROSTER, {"name": "王", "phone": "13900000001", "duty": "leader", "username": "ghost"},
                             content_type="application/json"), 422, "validation_error", "username")
    assert_error(leader.post(ROSTER, {"phone": "13900000001", "duty": "leader"},
                             content_type="application/json"), 422, "validation_error", "name")
    assert_error(leader.get(f"{API}/regions/grids/150602001001/roster"), 404, "not_found")  # a community


@pytest.mark.django_db
def test_api_scoping_and_permissions(world, grid):
    member = grid_member_assign(grid=grid, name="王建国", phone="13900000001", duty=D.LEADER,
                                user=world.user("grid_worker"))
    reveal = f"{API}/regions/roster/{member.pk}/reveal-phone"
    # Outside the jurisdiction (district B) or without an area role: 404, as if the grid did not exist.
    for username in ("leader_b", "dispatcher_b", "handler", "nobody"):
        client = client_for(world, username)
        assert_error(client.get(ROSTER), 404, "not_found")
        assert_error(client.post(reveal), 404, "not_found")
        assert_error(client.patch(f"{API}/regions/roster/{member.pk}", {"name": "x"},
                                  content_type="application/json"), 404, "not_found")
    assert_error(client_for(world, None).get(ROSTER), 401, "unauthenticated")
    # Readers in the jurisdiction may read but not change.
    for username in ("operator", "grid_worker"):
        client = client_for(world, username)
        assert client.get(ROSTER).status_code == 200
        assert_error(client.post(ROSTER, {"name": "王", "phone": "13900000002", "duty": "officer"},
                                 content_type="application/json"), 403, "forbidden")
        assert_error(client.post(f"{API}/regions/roster/{member.pk}/remove", {}, content_type="application/json"),
                     403, "forbidden")
    assert client_for(world, "admin").post(ROSTER, {"name": "李警官", "phone": "13900000002", "duty": "officer"},
                                           content_type="application/json").status_code == 201
    # The reveal: full number, audited with who.
    assert client_for(world, "operator").post(reveal).json() == {"phone": "13900000001"}
    assert AuditEvent.objects.filter(event_type=AuditEventType.PERSONAL_DATA_REVEAL,
                                     actor_id=world.user("operator").pk).count() == 1
    assert client_for(world, "grid_worker").get(f"{API}/regions/my-grids").json() == [
        {"code": "150602001001G01", "name": "甲一网格", "duties": ["leader"]}]


@pytest.mark.django_db
def test_a_member_outside_any_area_role_reads_their_own_grid(world, grid, grid_b):
    # handler holds only a department role; serving grid B on the roster lets them read grid B only.
    grid_member_assign(grid=grid_b, name="孙兼职", phone="13700000001", duty=D.PART_TIME, user=world.user("handler"))
    client = client_for(world, "handler")
    assert client.get(f"{API}/regions/grids/150603001001G01/roster").status_code == 200
    assert_error(client.get(ROSTER), 404, "not_found")


@pytest.mark.django_db
def test_roster_list_query_count(world, grid, django_assert_max_num_queries):
    for n in range(8):
        grid_member_assign(grid=grid, name=f"兼职{n}", phone=f"1370000000{n}", duty=D.PART_TIME,
                           user=world.user("grid_worker") if n % 2 else None)
    client = client_for(world, "operator")
    with django_assert_max_num_queries(8):
        assert len(client.get(ROSTER).json()) == 8


@pytest.mark.django_db
def test_admin_lists_the_roster_masked_and_read_only(world, grid):
    from django.test import Client

    from tongxin.testing import make_user

    grid_member_assign(grid=grid, name="王建国", phone="13900000001", duty=D.LEADER)
    client = Client()
    client.force_login(make_user("root", superuser=True))
    page = client.get("/admin/regions/gridmember/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "139****0001" in text and "13900000001" not in text and "王建国" in text
    assert client.get("/admin/regions/gridmember/add/").status_code == 403
