"""Concurrency on PostgreSQL with real parallel clients (threads, each with its own connection):
fifty buyers for the last five items; one resident spending from many phones at once; the last place
of an activity. Skipped on SQLite (set DATABASE_URL to a PostgreSQL server)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tongxin.core.errors import ValidationFailed
from tongxin.points import services
from tongxin.points.models import Account, Item, Redemption, Signup
from tongxin.points.selectors import ledger_verify
from tongxin.residents import services as resident_services
from tongxin.residents.models import Resident
from tongxin.testing import run_together

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks; set DATABASE_URL"),
    pytest.mark.django_db(transaction=True),
]


def buyers(world, n: int) -> list[Resident]:
    out = []
    for i in range(n):
        household = resident_services.household_create(area=world.community_a, address=f"甲社区{i}号", building=f"{i}号楼")
        resident = resident_services.resident_add(household=household, name=f"买家{i}", phone=f"1390000{i:04d}")
        services.points_earn(resident=resident, rule_code="report_confirmed", cause_key=f"seed:{i}")  # 5 points
        out.append(resident)
    return out


def fresh(pk: int) -> Resident:
    return Resident.objects.select_related("household__area", "household__grid").get(pk=pk)


def test_fifty_buyers_for_the_last_five_items(town):
    people = buyers(town.world, 50)
    item = services.item_create(actor=town.supervisor_a, area=town.world.community_a, name="最后五瓶洗洁精",
                                price=5, stock=5)
    results = run_together([lambda pk=r.pk: services.redemption_create(resident=fresh(pk), item_id=item.pk)
                            for r in people])
    ok = [v for kind, v in results if kind == "ok"]
    errors = [v for kind, v in results if kind == "error"]
    assert len(ok) == 5, results
    assert len(errors) == 45 and all(isinstance(e, ValidationFailed) and "item_id" in e.fields for e in errors), errors
    assert Item.objects.get(pk=item.pk).stock == 0
    assert Redemption.objects.count() == 5
    assert not Account.objects.filter(balance__lt=0).exists()
    assert sorted(Account.objects.filter(balance=0).values_list("resident_id", flat=True)) == sorted(
        r.resident_id for r in ok)
    assert ledger_verify() == (50, [])


def test_one_resident_many_phones_never_negative(town):
    (person,) = buyers(town.world, 1)
    services.points_earn(resident=person, rule_code="report_confirmed", cause_key="more")  # 10 points
    item = services.item_create(actor=town.supervisor_a, area=town.world.community_a, name="纸巾", price=4, stock=20)
    results = run_together([lambda: services.redemption_create(resident=fresh(person.pk), item_id=item.pk)
                            for _ in range(10)])
    assert sum(kind == "ok" for kind, _v in results) == 2, results
    assert Account.objects.get(resident=person).balance == 2
    assert Item.objects.get(pk=item.pk).stock == 18  # the refused buyers' decrements rolled back
    assert ledger_verify() == (1, [])


def test_the_same_cause_pays_once_under_a_race(town):
    results = run_together([lambda: services.points_earn(resident=fresh(town.resident.pk), rule_code="vote_cast",
                                                         cause_key="ballot:race") for _ in range(8)])
    assert all(kind == "ok" for kind, _v in results), results
    assert len({v.pk for _k, v in results}) == 1
    assert Account.objects.get(resident=town.resident).balance == 2


def test_the_last_places_of_an_activity(town):
    people = buyers(town.world, 12)
    now = timezone.now()
    activity = services.activity_create(actor=town.supervisor_a, area=town.world.community_a, title="清扫楼道",
                                        location="1号楼", lat=37.1, lng=107.1, capacity=3,
                                        starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=3))
    results = run_together([lambda pk=r.pk: services.signup_create(resident=fresh(pk), activity=activity) for r in people])
    assert sum(kind == "ok" for kind, _v in results) == 3, results
    assert Signup.objects.filter(activity=activity).count() == 3
