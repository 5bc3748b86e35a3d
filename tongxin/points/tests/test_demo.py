"""The demo's points: seeded through the services, idempotent, and the ledger verifies."""

from __future__ import annotations

import pytest

from tongxin.demo.organisation import Staff
from tongxin.demo.places import GridInfo, Places
from tongxin.demo.points import seed_points
from tongxin.demo.residents import DEMO_PHONE, seed_residents
from tongxin.points.models import Activity, Appeal, Item, PendingAward, Redemption
from tongxin.points.selectors import balances_of, ledger_verify
from tongxin.residents.models import Resident

pytestmark = pytest.mark.django_db


def test_seed_points(world):
    grid = GridInfo(area=world.grid_a, geom=None, weight=1.0, district_code="150602", town_code=world.town_a.code,
                    urban=True, address_stem="甲区甲街道甲社区")
    seed_residents(Places(city=world.city, districts={}, towns={}, communities=[world.community_a], grids=[grid]))
    staff = Staff(supervisors=[world.user("supervisor")], grid_workers={world.grid_a.pk: world.user("grid_worker")})
    lines: list[str] = []
    assert seed_points(staff, log=lines.append) == 1
    demo = Resident.objects.filter(phone=DEMO_PHONE).order_by("id").first()
    balances = balances_of(demo)
    assert balances.material == 8 * 5 - 20  # eight confirmed reports, one redemption
    assert balances.virtue == 12 * 2 + 50 + 50 - 20  # votes, two commendations, a deduction (under appeal)
    assert Item.objects.count() == 4 and Activity.objects.count() == 2
    assert Redemption.objects.count() == 1 and Appeal.objects.count() == 1 and PendingAward.objects.count() == 1
    assert ledger_verify()[1] == []
    assert seed_points(staff, log=lines.append) == 0 and Item.objects.count() == 4
    assert "clerk" in lines[0]
