"""The points API: the clerk's check, the pickup, balances for staff of the area (404 elsewhere)."""

from __future__ import annotations

import pytest

from tongxin.points import services
from tongxin.testing import PASSWORD

pytestmark = pytest.mark.django_db


def login(client, username):
    assert client.login(username=username, password=PASSWORD)


def test_check_api(client, town):
    token = services.priority_token_make(resident=town.resident)
    login(client, "clerk")
    response = client.post("/api/v1/points/checks", {"token": token}, content_type="application/json")
    assert response.status_code == 200 and response.json() == {"tier": "暂无等级", "privileges": []}
    bad = client.post("/api/v1/points/checks", {"token": "x"}, content_type="application/json")
    assert bad.status_code == 422 and "token" in bad.json()["fields"]
    client.logout()
    login(client, "handler")
    assert client.post("/api/v1/points/checks", {"token": token}, content_type="application/json").status_code == 404


def test_balances_api_scoped(client, town):
    services.points_earn(resident=town.resident, rule_code="vote_cast", cause_key="b:1")
    login(client, "grid_worker")
    body = client.get(f"/api/v1/points/residents/{town.resident.pk}/balances").json()
    assert body == {"resident_id": town.resident.pk, "material": 0, "virtue": 2, "tier": None}
    assert client.get(f"/api/v1/points/residents/{town.far_resident.pk}/balances").status_code == 404
    client.logout()
    login(client, "leader_b")
    assert client.get(f"/api/v1/points/residents/{town.resident.pk}/balances").status_code == 404


def test_pickup_api(client, town):
    for i in range(2):
        services.points_earn(resident=town.resident, rule_code="report_confirmed", cause_key=f"r:{i}")
    item = services.item_create(actor=town.supervisor_a, area=town.world.community_a, name="米", price=10, stock=1)
    redemption = services.redemption_create(resident=town.resident, item_id=item.pk)
    login(client, "leader_b")
    payload = {"pickup_code": redemption.pickup_code}
    assert client.post("/api/v1/points/pickups", payload, content_type="application/json").status_code == 404
    client.logout()
    login(client, "supervisor_a")
    response = client.post("/api/v1/points/pickups", payload, content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "picked_up"
    assert client.post("/api/v1/points/pickups", payload, content_type="application/json").status_code == 409
    assert client.get("/api/v1/points/rules").status_code == 200
