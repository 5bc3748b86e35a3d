"""The mediation test world, on top of the shared ``world``: an organisation at every level of district A
(community A committee, town A centre, district A centre), the city centre, a district-A traffic
committee (professional), town B's centre; one mediator login per organisation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tongxin.mediation import services
from tongxin.mediation.choices import DisputeType, Language, OrgKind
from tongxin.mediation.models import MediationOrg
from tongxin.testing import World, make_user
from tongxin.web.tests.conftest import (  # noqa: F401 - fast passwords and STATIC_ROOT, re-exported
    _fast_passwords_and_static_root,
    pytest_configure,
)


@dataclass
class MediationWorld:
    w: World
    community: MediationOrg
    town: MediationOrg
    district: MediationOrg
    city: MediationOrg
    traffic: MediationOrg
    town_b: MediationOrg
    users: dict[str, Any] = field(default_factory=dict)

    def user(self, name: str) -> Any:
        return self.users.get(name) or self.w.user(name)


def build_mediation_world(w: World) -> MediationWorld:
    community = services.org_ensure(code="M-COMM-A", name="甲社区人民调解委员会", kind=OrgKind.COMMITTEE, area=w.community_a)
    town = services.org_ensure(code="M-TOWN-A", name="甲街道综治中心", kind=OrgKind.GOVERNANCE_CENTRE, area=w.town_a)
    district = services.org_ensure(code="M-DIST-A", name="甲区综治中心", kind=OrgKind.GOVERNANCE_CENTRE, area=w.district_a)
    city = services.org_ensure(code="M-CITY", name="市矛盾纠纷调处化解中心", kind=OrgKind.CITY_CENTRE, area=w.city)
    traffic = services.org_ensure(code="M-TRAFFIC-A", name="甲区交通事故纠纷调解委员会", kind=OrgKind.PROFESSIONAL,
                                  area=w.district_a, specialities=[DisputeType.TRAFFIC])
    town_b = services.org_ensure(code="M-TOWN-B", name="乙街道综治中心", kind=OrgKind.GOVERNANCE_CENTRE, area=w.town_b)
    mw = MediationWorld(w=w, community=community, town=town, district=district, city=city, traffic=traffic, town_b=town_b)
    for username, org, languages, expert in [
        ("m_comm", community, [Language.CHINESE], False),
        ("m_town", town, [Language.CHINESE, Language.MONGOLIAN], False),
        ("m_district", district, [Language.CHINESE], False),
        ("m_city", city, [Language.MONGOLIAN, Language.CHINESE], True),
        ("m_traffic", traffic, [Language.CHINESE], True),
        ("m_town_b", town_b, [Language.CHINESE], False),
    ]:
        user = make_user(username, display_name=f"调解员{username}")
        services.mediator_ensure(org=org, user=user, name=f"调解员{username}", languages=languages, is_expert=expert,
                                 specialities=[DisputeType.TRAFFIC] if org is traffic else [DisputeType.NEIGHBOURHOOD])
        mw.users[username] = user
    return mw


@pytest.fixture
def mw(world) -> MediationWorld:
    return build_mediation_world(world)


def new_case(mw: MediationWorld, *, by: str = "m_comm", org: MediationOrg | None = None, **overrides: Any):
    fields: dict[str, Any] = dict(
        org_id=(org or mw.community).pk, title="邻里漏水纠纷", description="楼上漏水，双方就赔偿协商未果",
        dispute_type=DisputeType.NEIGHBOURHOOD, source="walk_in",
        parties=[{"name": "张三", "phone": "13812345678", "id_number": "150602199001011234"},
                 {"name": "李四", "side": "respondent", "phone": "13900001111"}],
    )
    fields.update(overrides)
    return services.case_create(actor=mw.user(by), **fields)
