"""The demo's 码上生活: households with residents and merchants in a few communities of 康巴什区 and
东胜区, each with its signed code, and one well-known household whose code ``tongxin demo`` prints.

Deterministic (a fixed seed), bulk-inserted (a few hundred rows in well under a second), idempotent:
a second run adds nothing. Phones start with 12 (no network uses that prefix); ID numbers are never
generated — the demo keeps no ID digests. Each household's first resident owns it (业主) and every
resident has a birth date (most adults, some children), so owners' votes and adult counts have data.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from tongxin.residents.models import Building, Household, Merchant, Resident
from tongxin.residents.services import channel_owner_ensure, code_url

from .content import SURNAMES, person_name
from .places import Places

DEMO_PHONE = "12000000001"
DEMO_NAME = "王晓明"
GRIDS_PER_DISTRICT = 3
BUILDINGS, UNITS, FLOORS, DOORS = 2, 2, 6, 2  # 48 households per grid
SHOPS = ["便利店", "面馆", "理发店", "药店", "五金店"]


@dataclass
class ResidentsReport:
    households: int
    residents: int
    merchants: int
    demo_url_path: str


def _phone(rng: random.Random) -> str:
    return "12" + "".join(str(rng.randrange(10)) for _ in range(9))


def seed_residents(places: Places, log: Callable[[str], Any] | None = None) -> ResidentsReport:
    say = log or (lambda _message: None)
    channel_owner_ensure(area=places.city)
    if Household.objects.exists():
        say("码上生活：住户已存在，跳过")
        return ResidentsReport(Household.objects.count(), Resident.objects.count(), Merchant.objects.count(),
                               demo_resident_path() or "")
    rng = random.Random(20260527)
    grids = [g for code in ("150603", "150602") for g in
             [g for g in places.grids if g.district_code == code and g.urban][:GRIDS_PER_DISTRICT]]
    households: list[Household] = []
    merchants: list[Merchant] = []
    buildings: dict[tuple[int, str], Building] = {}
    for info in grids:
        community = info.area.parent
        assert community is not None  # a grid always lies in a community
        estate = f"{community.name.removesuffix('社区').removesuffix('居委会')}小区"
        for b in range(1, BUILDINGS + 1):
            if (community.pk, f"{b}号楼") not in buildings:  # two grids of one community share its buildings
                buildings[(community.pk, f"{b}号楼")] = Building(
                    area=community, grid=info.area, name=f"{b}号楼", address=f"{info.address_stem}{estate}{b}号楼",
                    floors=FLOORS, units=UNITS)
            for u in range(1, UNITS + 1):
                for floor in range(1, FLOORS + 1):
                    for door in range(1, DOORS + 1):
                        room = f"{floor}{door:02d}"
                        households.append(Household(
                            area=community, grid=info.area, building=f"{b}号楼", unit=f"{u}单元", room=room,
                            address=f"{info.address_stem}{estate}{b}号楼{u}单元{room}",
                            floor_area=Decimal(rng.choice([62, 75, 89, 96, 108, 121, 135])) + Decimal("0.50"),
                        ))
        for n, shop in enumerate(SHOPS, start=1):
            merchants.append(Merchant(
                name=f"{rng.choice(SURNAMES)}记{shop}", address=f"{info.address_stem}{estate}底商{n}号",
                area=community, grid=info.area, licence_number=f"9115060{rng.randrange(10**10):010d}X",
                contact_name=person_name(rng), contact_phone=_phone(rng),
            ))
    Building.objects.bulk_create(list(buildings.values()), batch_size=500)
    by_name = {(b.area_id, b.name): b.pk for b in Building.objects.all()}
    for household in households:
        household.building_ref_id = by_name[(household.area_id, household.building)]
    Household.objects.bulk_create(households, batch_size=500)
    Merchant.objects.bulk_create(merchants, batch_size=500)
    households = list(Household.objects.order_by("id"))
    residents: list[Resident] = []
    today = date(2026, 5, 27)  # fixed: the demo is the same whenever it is seeded

    def born(adult: bool) -> date:
        return today - timedelta(days=rng.randint(19 * 365, 80 * 365) if adult else rng.randint(365, 17 * 365))

    for index, household in enumerate(households):
        if index == 0:
            residents.append(Resident(household=household, name=DEMO_NAME, phone=DEMO_PHONE, is_owner=True,
                                      birth_date=date(1986, 4, 12)))
            residents.append(Resident(household=household, name="王" + rng.choice("丽芳静敏"), phone=_phone(rng),
                                      birth_date=date(1988, 9, 3)))
            continue
        for n in range(rng.choice([1, 2, 2, 3])):
            adult = n < 2 or rng.random() < 0.3  # the third is usually a child (no phone)
            residents.append(Resident(household=household, name=person_name(rng), phone=_phone(rng) if adult else "",
                                      is_owner=n == 0, birth_date=born(adult)))
    Resident.objects.bulk_create(residents, batch_size=1000, ignore_conflicts=True)
    path = demo_resident_path() or ""
    say(f"码上生活：{len(households)} 户、{len(residents)} 位居民、{len(merchants)} 个商户（{len(grids)} 个网格）")
    return ResidentsReport(len(households), len(residents), len(merchants), path)


def demo_resident_path() -> str | None:
    """The well-known household's code URL path (/r/<token>/), read back from the database."""
    resident = Resident.objects.filter(phone=DEMO_PHONE).select_related("household").order_by("id").first()
    if resident is None or resident.household.code_revoked_at is not None:
        return None
    return code_url(resident.household)
