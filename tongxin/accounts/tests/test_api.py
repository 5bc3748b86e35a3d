"""/api/v1/me and /api/v1/departments over HTTP, with a session and with a bearer token."""

from __future__ import annotations

import pytest
from django.test import Client

from tongxin.accounts.services import api_token_create
from tongxin.workorders.tests.test_api import (
    API,
    _fast_password_hashing,  # noqa: F401 - autouse fixture
    assert_error,
    client_for,
)


@pytest.mark.django_db
def test_me_lists_roles_with_their_scopes(world):
    body = client_for(world, "handler").get(f"{API}/me").json()
    assert body["username"] == "handler" and body["is_admin"] is False
    assert body["roles"] == [{"role": "handler", "role_label": "承办人", "area": None,
                              "department": {"id": world.housing.pk, "code": "D-HOUSING-A", "name": "甲区住建局"}}]
    body = client_for(world, "dispatcher_b").get(f"{API}/me").json()
    assert body["roles"] == [{"role": "dispatcher", "role_label": "派单员", "department": None,
                              "area": {"code": "150603", "name": "乙区", "level": "district"}}]
    assert client_for(world, "admin").get(f"{API}/me").json()["is_admin"] is True
    assert client_for(world, "nobody").get(f"{API}/me").json()["roles"] == []


@pytest.mark.django_db
def test_me_with_a_bearer_token_and_a_revoked_one(world):
    token, plain = api_token_create(user=world.user("leader"), name="dashboard")
    client = Client(headers={"Authorization": f"Bearer {plain}"})
    assert client.get(f"{API}/me").json()["username"] == "leader"
    token.refresh_from_db()
    assert token.last_used_at is not None
    token.revoked_at = token.last_used_at
    token.save()
    assert_error(client.get(f"{API}/me"), 401, "unauthenticated")
    assert_error(Client(headers={"Authorization": "Basic dXNlcjpwYXNz"}).get(f"{API}/me"), 401, "unauthenticated")


@pytest.mark.django_db
def test_inactive_user_token_is_refused(world):
    user = world.user("operator")
    _token, plain = api_token_create(user=user)
    user.is_active = False
    user.save()
    assert_error(Client(headers={"Authorization": f"Bearer {plain}"}).get(f"{API}/me"), 401, "unauthenticated")


@pytest.mark.django_db
def test_departments_list_and_filters(world):
    client = client_for(world, "dispatcher")

    def codes(query: str = "") -> list[str]:
        response = client.get(f"{API}/departments{query}")
        assert response.status_code == 200, response.content
        return [d["code"] for d in response.json()]

    assert codes() == ["D-CENTRE", "D-EDU-B", "D-HOUSING-A", "D-WATER"]
    first = client.get(f"{API}/departments").json()[0]
    assert first == {"id": world.centre.pk, "code": "D-CENTRE", "name": "12345热线中心", "kind": "centre",
                     "kind_label": "12345热线中心", "area": {"code": "150600", "name": "测试市", "level": "city"},
                     "phone": "", "active": True}
    assert codes("?kind=enterprise") == ["D-WATER"]
    # District A's town: its district's bureau and the city-wide units, not district B's.
    assert codes("?area_code=150602001") == ["D-CENTRE", "D-HOUSING-A", "D-WATER"]
    assert codes("?q=教育") == ["D-EDU-B"]
    world.water.active = False
    world.water.save()
    assert "D-WATER" not in codes()
    assert "D-WATER" in codes("?include_inactive=true")
    assert_error(client.get(f"{API}/departments?area_code=000"), 422, "validation_error", "area_code")
    assert_error(client.get(f"{API}/departments?kind=club"), 422, "validation_error", "kind")
