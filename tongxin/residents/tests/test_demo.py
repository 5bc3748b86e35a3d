"""The demo's households: seeded in bulk, idempotent, and the printed code opens a working login."""

from __future__ import annotations

import time

import pytest

from tongxin.demo.places import GridInfo, Places
from tongxin.demo.residents import DEMO_PHONE, demo_resident_path, seed_residents
from tongxin.residents.models import Household, Merchant, Resident

from .conftest import last_sms_code

pytestmark = pytest.mark.django_db


def _places(world) -> Places:
    grid = GridInfo(area=world.grid_a, geom=None, weight=1.0, district_code="150603", town_code=world.town_a.code,
                    urban=True, address_stem="甲区甲街道甲社区")
    return Places(city=world.city, districts={}, towns={}, communities=[world.community_a], grids=[grid])


def test_seed_residents_is_fast_idempotent_and_its_code_logs_in(world, client, django_capture_on_commit_callbacks):
    began = time.perf_counter()
    report = seed_residents(_places(world))
    assert time.perf_counter() - began < 20
    assert report.households == Household.objects.count() == 48
    assert Merchant.objects.count() == 5 and Resident.objects.count() >= 48
    assert report.demo_url_path == demo_resident_path()
    again = seed_residents(_places(world))
    assert again.households == 48 and Household.objects.count() == 48
    path = demo_resident_path()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(path, {"action": "send", "phone": DEMO_PHONE})
    response = client.post(path, {"action": "login", "phone": DEMO_PHONE, "code": last_sms_code(DEMO_PHONE)})
    assert response.status_code == 302 and response["Location"] == "/r/home/"
    assert not Resident.objects.exclude(id_digest="").exists()  # the demo generates no ID numbers
