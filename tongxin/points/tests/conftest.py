"""Fixtures of the points tests: the test world, two households of community A with a resident each,
one household in district B, a clerk of district A and one of district B, a second committee member."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tongxin.accounts.choices import Role
from tongxin.accounts.services import role_grant
from tongxin.regions.choices import AreaLevel
from tongxin.regions.services import area_upsert
from tongxin.residents import services as resident_services
from tongxin.testing import World, make_user, square


@dataclass
class Town:
    world: World
    resident: Any
    neighbour: Any
    far_resident: Any  # district B
    clerk: Any
    clerk_b: Any
    supervisor_a: Any  # a second committee member of district A


def make_town(world: World) -> Town:
    from tongxin.points.services import points_defaults_ensure

    points_defaults_ensure()  # a transactional test's flush removed the migration's rows
    household = resident_services.household_create(area=world.community_a, grid=world.grid_a, address="甲社区幸福小区1号楼101",
                                                   building="1号楼", unit="1单元", room="101")
    resident = resident_services.resident_add(household=household, name="王小明", phone="13900001111")
    other = resident_services.household_create(area=world.community_a, grid=world.grid_a, address="甲社区幸福小区1号楼102",
                                               building="1号楼", unit="1单元", room="102")
    neighbour = resident_services.resident_add(household=other, name="李四", phone="13900002222")
    community_b = area_upsert(code="150603001001", name="乙社区", level=AreaLevel.COMMUNITY, parent=world.town_b,
                              boundary=square(109, 37, 0.5))
    far = resident_services.household_create(area=community_b, address="乙街道某小区5号", building="5号楼")
    far_resident = resident_services.resident_add(household=far, name="赵六", phone="13900005555")
    clerk = make_user("clerk", display_name="窗口甲")
    role_grant(user=clerk, role=Role.CLERK, area=world.district_a)
    clerk_b = make_user("clerk_b", display_name="窗口乙")
    role_grant(user=clerk_b, role=Role.CLERK, area=world.district_b)
    supervisor_a = make_user("supervisor_a", display_name="督办甲")
    role_grant(user=supervisor_a, role=Role.SUPERVISOR, area=world.district_a)
    for name, user in (("clerk", clerk), ("clerk_b", clerk_b), ("supervisor_a", supervisor_a)):
        world.users[name] = user
    return Town(world=world, resident=resident, neighbour=neighbour, far_resident=far_resident, clerk=clerk,
                clerk_b=clerk_b, supervisor_a=supervisor_a)


@pytest.fixture
def town(world: World) -> Town:
    return make_town(world)


def resident_cookie(resident: Any) -> tuple[str, str]:
    """The signed household-code session cookie of ``resident`` (as the SMS login would set it)."""
    from django.http import HttpResponse

    from tongxin.residents.services import LoginResult
    from tongxin.residents.session import COOKIE, session_start

    response = HttpResponse()
    household = resident.household
    session_start(response, LoginResult(kind="h", target_id=household.pk, resident_id=resident.pk,
                                        code_version=household.code_version))
    return COOKIE, response.cookies[COOKIE].value


def sign_in_resident(client: Any, resident: Any) -> None:
    name, value = resident_cookie(resident)
    client.cookies[name] = value


@pytest.fixture(autouse=True)
def _static_root(settings):
    from pathlib import Path

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
