"""An actor's scopes (actor_scope, area_q) and the rules of granting a role (role_grant)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction

from tongxin.accounts.choices import Role
from tongxin.accounts.models import RoleAssignment, User
from tongxin.accounts.selectors import ActorScope, actor_scope, department_users, users_with_area_role
from tongxin.accounts.services import role_grant
from tongxin.core.choices import AuditEventType
from tongxin.core.errors import ValidationFailed
from tongxin.core.models import AuditEvent
from tongxin.regions.models import Area

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The world creates 13 users; Django's default PBKDF2 would spend about 15 s on them.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def fresh(user):
    """A new instance: actor_scope memoises on the user object."""
    return User.objects.get(pk=user.pk)


def paths_in(q):
    return set(Area.objects.filter(q).values_list("path", flat=True)) if q is not None else set()


def test_area_and_department_scopes(world):
    operator = actor_scope(world.user("operator"))
    assert operator.area_roles == {Role.OPERATOR: (world.city.path,)} and operator.department_roles == {}
    assert operator.roles == {Role.OPERATOR} and not operator.is_admin
    handler = actor_scope(world.user("handler"))
    assert handler.department_roles == {Role.HANDLER: (world.housing.pk,)} and handler.area_roles == {}
    assert handler.all_department_ids == (world.housing.pk,)
    assert handler.area_q() is None
    grid = actor_scope(world.user("grid_worker"))
    assert grid.area_role_covers({Role.GRID_WORKER}, world.grid_a.path) == Role.GRID_WORKER
    assert grid.area_role_covers({Role.GRID_WORKER}, world.community_a.path) is None  # above the grid
    assert grid.area_role_covers({Role.OPERATOR}, world.grid_a.path) is None  # another role


def test_admins_and_strangers(world):
    assert actor_scope(world.user("admin")).is_admin
    superuser = User.objects.create_superuser(username="root", password="x")
    assert actor_scope(superuser).is_admin and Role.ADMIN in actor_scope(superuser).roles
    nobody = actor_scope(world.user("nobody"))
    assert nobody.roles == frozenset() and nobody.area_q() is None
    assert actor_scope(None) == ActorScope(user_id=None)
    assert actor_scope(AnonymousUser()) == ActorScope(user_id=None)
    inactive = fresh(world.user("operator"))
    inactive.is_active = False
    inactive.save()
    assert actor_scope(User.objects.get(pk=inactive.pk)).user_id == inactive.pk  # the login layer refuses them


def test_area_q_keeps_the_outermost_of_nested_scopes(world):
    user = fresh(world.user("dispatcher_b"))  # district B
    role_grant(user=user, role=Role.SUPERVISOR, area=world.town_b)  # nested inside district B
    role_grant(user=user, role=Role.OPERATOR, area=world.community_a)  # a separate branch
    scope = actor_scope(fresh(user))
    assert scope.all_area_paths == tuple(sorted({world.district_b.path, world.town_b.path, world.community_a.path}))
    q = scope.area_q("path")
    assert str(q).count("startswith") == 2  # town B adds nothing inside district B
    assert paths_in(q) == {world.district_b.path, world.town_b.path, world.community_a.path, world.grid_a.path}
    # Each role still covers only its own area.
    assert scope.area_role_covers({Role.SUPERVISOR}, world.district_b.path) is None
    assert scope.area_role_covers({Role.SUPERVISOR}, world.town_b.path) == Role.SUPERVISOR
    assert scope.area_role_covers({Role.DISPATCHER}, world.town_b.path) == Role.DISPATCHER
    assert scope.area_role_covers({Role.OPERATOR}, world.grid_a.path) == Role.OPERATOR
    assert scope.area_role_covers({Role.OPERATOR}, world.town_a.path) is None


def test_a_city_scope_covers_everything(world):
    user = fresh(world.user("leader"))
    role_grant(user=user, role=Role.LEADER, area=world.district_a)
    q = actor_scope(fresh(user)).area_q("path")
    assert str(q).count("startswith") == 1
    assert paths_in(q) == set(Area.objects.values_list("path", flat=True))


def test_scope_is_read_once_per_user_object(world, django_assert_num_queries):
    user = fresh(world.user("dispatcher"))
    with django_assert_num_queries(1):
        first = actor_scope(user)
    with django_assert_num_queries(0):
        assert actor_scope(user) is first


def test_role_grant_validation(world):
    user = fresh(world.user("nobody"))
    cases = [
        ({"role": Role.HANDLER}, "department"),
        ({"role": Role.HANDLER, "area": world.city}, "department"),
        ({"role": Role.HANDLER, "department": world.housing, "area": world.city}, "department"),
        ({"role": Role.OPERATOR}, "area"),
        ({"role": Role.OPERATOR, "department": world.housing}, "area"),
        ({"role": Role.LEADER, "area": world.city, "department": world.housing}, "area"),
        ({"role": "mayor", "area": world.city}, "role"),
    ]
    for kwargs, field in cases:
        before = (RoleAssignment.objects.count(), AuditEvent.objects.count())
        with pytest.raises(ValidationFailed) as caught:
            role_grant(user=user, **kwargs)
        assert field in caught.value.fields, kwargs
        assert (RoleAssignment.objects.count(), AuditEvent.objects.count()) == before


def test_role_grant_is_audited_and_idempotent(world):
    user = fresh(world.user("nobody"))
    audits = AuditEvent.objects.filter(event_type=AuditEventType.ROLE_GRANTED, object_id=str(user.pk))
    first = role_grant(user=user, role=Role.HANDLER, department=world.water, actor=world.user("admin"))
    again = role_grant(user=user, role=Role.HANDLER, department=world.water, actor=world.user("admin"))
    assert first.pk == again.pk
    assert audits.count() == 1
    assert audits.get().data == {"role": "handler", "area": None, "department": "D-WATER"}
    assert actor_scope(fresh(user)).department_roles == {Role.HANDLER: (world.water.pk,)}


def test_the_database_refuses_a_scope_of_the_wrong_kind(world):
    user = fresh(world.user("nobody"))
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleAssignment.objects.create(user=user, role=Role.HANDLER, area=world.city)
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleAssignment.objects.create(user=user, role=Role.OPERATOR, area=world.city, department=world.housing)


def test_recipients_by_department_and_area(world):
    assert {u.username for u in department_users(world.housing.pk)} == {"handler", "handler2"}
    assert {u.username for u in users_with_area_role({Role.SUPERVISOR}, world.grid_a.path)} == {"supervisor"}
    assert {u.username for u in users_with_area_role({Role.DISPATCHER}, world.town_b.path)} == {
        "dispatcher", "dispatcher_b"}
    assert {u.username for u in users_with_area_role({Role.DISPATCHER}, world.town_a.path)} == {"dispatcher"}
