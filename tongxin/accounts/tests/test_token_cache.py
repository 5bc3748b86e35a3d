"""The per-process bearer-token cache (ADR 0008): a verified token is trusted for
TONGXIN_TOKEN_CACHE_SECONDS with its user and scope; revocation, deactivation and role changes saved in
this process take effect at once, changes that bypass the model (queryset updates, other processes)
within the bound."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from tongxin.accounts import services as account_services
from tongxin.accounts.models import ApiToken, RoleAssignment
from tongxin.accounts.services import api_token_authenticate, api_token_create, role_grant
from tongxin.workorders.tests.test_api import (
    API,
    _fast_password_hashing,  # noqa: F401 - autouse fixture
    assert_error,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    account_services.invalidate_token_cache()
    yield
    account_services.invalidate_token_cache()


class Clock:
    """Stands in for time.monotonic inside accounts.services."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1000.0
        monkeypatch.setattr(account_services.time, "monotonic", lambda: self.now)


def test_a_cached_token_needs_no_query_and_carries_the_scope(world, django_assert_num_queries):
    _token, plain = api_token_create(user=world.user("operator"))
    first = api_token_authenticate(plain)
    with django_assert_num_queries(0):
        again = api_token_authenticate(plain)
    assert again.pk == first.pk and again is not first  # a copy per request
    assert again._tongxin_scope.area_roles == first._tongxin_scope.area_roles
    again.display_name = "changed by a request"
    assert api_token_authenticate(plain).display_name != "changed by a request"


def test_revoking_a_token_takes_effect_at_once(world):
    token, plain = api_token_create(user=world.user("leader"))
    client = Client(headers={"Authorization": f"Bearer {plain}"})
    assert client.get(f"{API}/me").status_code == 200
    token.revoked_at = timezone.now()
    token.save()
    assert_error(client.get(f"{API}/me"), 401, "unauthenticated")


def test_deleting_a_token_or_deactivating_its_user_takes_effect_at_once(world):
    user = world.user("operator")
    token, plain = api_token_create(user=user)
    assert api_token_authenticate(plain) is not None
    token.delete()
    assert api_token_authenticate(plain) is None
    _token, plain = api_token_create(user=user)
    assert api_token_authenticate(plain) is not None
    user.is_active = False
    user.save()
    assert api_token_authenticate(plain) is None


def test_a_role_granted_or_removed_reaches_the_cached_scope_at_once(world):
    user = world.user("nobody")
    _token, plain = api_token_create(user=user)
    assert api_token_authenticate(plain)._tongxin_scope.roles == frozenset()
    role_grant(user=user, role="leader", area=world.city)
    assert "leader" in api_token_authenticate(plain)._tongxin_scope.roles
    RoleAssignment.objects.get(user=user, role="leader").delete()
    assert api_token_authenticate(plain)._tongxin_scope.roles == frozenset()


def test_a_change_that_bypasses_the_signals_applies_within_the_bound(world, settings, monkeypatch):
    settings.TONGXIN_TOKEN_CACHE_SECONDS = 5
    clock = Clock(monkeypatch)
    token, plain = api_token_create(user=world.user("operator"))
    assert api_token_authenticate(plain) is not None
    # As another process would: an UPDATE this process never hears of.
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    clock.now += 4.9
    assert api_token_authenticate(plain) is not None  # still trusted, inside the documented bound
    clock.now += 0.2
    assert api_token_authenticate(plain) is None


def test_zero_switches_the_cache_off(world, settings, django_assert_num_queries):
    settings.TONGXIN_TOKEN_CACHE_SECONDS = 0
    token, plain = api_token_create(user=world.user("operator"))
    assert api_token_authenticate(plain) is not None
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    assert api_token_authenticate(plain) is None


def test_a_wrong_token_is_never_cached(world, django_assert_num_queries):
    for _ in range(2):
        with django_assert_num_queries(1):
            assert api_token_authenticate("tx_not-a-real-token") is None
