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


def test_seeded_households_link_their_buildings_and_have_owners_and_adults(world):
    from datetime import date

    from tongxin.residents import selectors
    from tongxin.residents.models import Building

    seed_residents(_places(world))
    assert Building.objects.count() == 2  # 1号楼, 2号楼 of the one community
    assert not Household.objects.filter(building_ref__isnull=True).exists()
    assert all(h.building == h.building_ref.name for h in Household.objects.select_related("building_ref"))
    households = selectors.households_in_scope(area=world.community_a)
    assert selectors.owners_of(households).count() == 48  # one owner per household
    adults = selectors.adult_residents_of(households, on=date(2026, 5, 27)).count()
    assert 48 <= adults < Resident.objects.count()  # every household has an adult; some children


def test_data_migration_turns_building_text_into_linked_buildings(world):
    """The 0003 data migration, run on households that only have the text (as before it existed)."""
    import importlib

    from django.apps import apps

    from tongxin.residents.models import Building

    migration = importlib.import_module("tongxin.residents.migrations.0003_buildings_from_text")
    rows = [Household.objects.create(area=world.community_a, grid=world.grid_a, address=f"甲区幸福小区{b}号楼{n}",
                                     building=f"{b}号楼", room=str(n)) for b in (1, 2) for n in (101, 102)]
    Household.objects.create(area=world.community_a, address="平房1号")  # no building: stays unlinked
    migration.forwards(apps, None)
    assert sorted(Building.objects.values_list("name", "address")) == [("1号楼", "甲区幸福小区1号楼"),
                                                                       ("2号楼", "甲区幸福小区2号楼")]
    for household in Household.objects.filter(pk__in=[r.pk for r in rows]).select_related("building_ref"):
        assert household.building_ref.name == household.building
    assert Household.objects.filter(building_ref__isnull=True).count() == 1
    migration.forwards(apps, None)  # twice: nothing new
    assert Building.objects.count() == 2
