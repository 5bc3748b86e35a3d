"""The demo's consultations, seeded around a stand-in for the well-known household."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from tongxin.demo.participation import seed_participation
from tongxin.demo.residents import DEMO_PHONE
from tongxin.participation.models import Participation, Topic
from tongxin.residents.models import Resident

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent_and_leaves_the_visitor_a_vote(world, estate):
    # The demo's phones start with 12 (no network uses it), which the service refuses: bulk-made like the demo.
    demo = Resident.objects.create(household=estate.households[1], name="王晓明", phone=DEMO_PHONE,
                                   birth_date=dt.date(1986, 4, 12), is_owner=True)
    staff = SimpleNamespace(grid_workers={world.grid_a.pk: world.user("grid_worker")})
    assert seed_participation(staff) == 4
    assert seed_participation(staff) == 0
    assert Topic.objects.count() == 4
    statuses = sorted(Topic.objects.values_list("status", flat=True))
    assert statuses == ["closed", "closed", "open", "open"]
    renew = Topic.objects.get(title__startswith="续聘物业")
    assert not Participation.objects.filter(topic=renew, elector__household_id=demo.household_id).exists()
