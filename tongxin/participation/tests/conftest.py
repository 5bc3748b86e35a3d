"""Fixtures of the participation tests: the test world, one building of four households in grid A
(owners with their floor areas; one household has two adults), a household in another building, and
helpers to build topics through the services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from tongxin.participation import services
from tongxin.participation.services import TopicInput
from tongxin.residents import services as rs
from tongxin.residents.models import Building, Household, Resident
from tongxin.testing import World

AREAS = (Decimal("90.00"), Decimal("60.00"), Decimal("120.50"), Decimal("80.00"))


@dataclass
class Estate:
    world: World
    building: Building
    households: list[Household]
    owners: list[Resident]  # one owner per household, same order
    tenant: Resident  # an adult of household 0 who is not an owner (verified)
    child: Resident  # a minor of household 1
    other_household: Household  # another building of the same grid
    other_owner: Resident
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    rs._owner_cache.clear()
    yield
    cache.clear()
    rs._owner_cache.clear()


def id_number(birth: dt.date, seq: int) -> str:
    """A well-formed 18-digit resident ID (GB 11643 check digit) for ``birth``."""
    body = f"150602{birth:%Y%m%d}{seq % 1000:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]
    return body + check


def person(household: Household, name: str, phone: str, birth: dt.date, seq: int, *, owner: bool = False) -> Resident:
    return rs.resident_add(household=household, name=name, phone=phone, id_number=id_number(birth, seq),
                           is_owner=owner, id_checked=True)


def make_estate(world: World) -> Estate:
    rs.channel_owner_ensure(area=world.city)
    households, owners = [], []
    for i, area in enumerate(AREAS):
        household = rs.household_create(area=world.community_a, grid=world.grid_a,
                                        address=f"甲社区幸福小区3号楼1单元{101 + i}", building="3号楼", unit="1单元",
                                        room=str(101 + i), floor_area=area)
        owner = person(household, f"业主{i}", f"1390000{1000 + i}", dt.date(1980, 1, 1), 100 + i, owner=True)
        households.append(household)
        owners.append(owner)
    tenant = person(households[0], "租客甲", "13900002000", dt.date(1990, 5, 1), 200)
    child = person(households[1], "小明", "13900002001", dt.date.today() - dt.timedelta(days=365 * 10), 201)
    other = rs.household_create(area=world.community_a, grid=world.grid_a, address="甲社区幸福小区5号楼1单元101",
                                building="5号楼", unit="1单元", room="101", floor_area=Decimal("70"))
    other_owner = person(other, "五号楼业主", "13900003000", dt.date(1970, 1, 1), 300, owner=True)
    building = Building.objects.get(area=world.community_a, name="3号楼")
    return Estate(world=world, building=building, households=households, owners=owners, tenant=tenant, child=child,
                  other_household=other, other_owner=other_owner)


@pytest.fixture
def estate(world: World) -> Estate:
    return make_estate(world)


def topic_input(world: World, **overrides: Any) -> TopicInput:
    now = timezone.now()
    values: dict[str, Any] = {
        "title": "小区停车位划线方案", "body": "请各户选择您支持的方案。", "kind": "livelihood", "scope_kind": "grid",
        "area_id": world.grid_a.pk, "choice_mode": "single", "max_choices": 1,
        "opens_at": now - dt.timedelta(minutes=5), "closes_at": now + dt.timedelta(days=7),
        "eligibility": "household", "secret": False, "publication": "on_close", "allow_change": False,
        "options": ["方案一：地面划线", "方案二：立体车库", "维持现状"],
    }
    values.update(overrides)
    return TopicInput(**values)


def property_input(estate: Estate, **overrides: Any) -> TopicInput:
    values: dict[str, Any] = {"title": "续聘物业服务企业", "kind": "property", "matter": "item4", "scope_kind": "building",
                              "area_id": None, "building_id": estate.building.pk, "eligibility": "owner", "options": ()}
    values.update(overrides)
    return topic_input(estate.world, **values)


def open_topic(world: World, data: TopicInput, actor: str = "grid_worker"):
    topic = services.topic_create(actor=world.user(actor), data=data)
    return services.topic_open(actor=world.user(actor), topic_id=topic.pk)


def option_id(topic, label_or_stance: str) -> int:
    for option in topic.options.all():
        if label_or_stance in (option.label, option.stance):
            return option.pk
    raise AssertionError(label_or_stance)
